"""Warehouse fixtures: every test runs on SQLite and, when enabled, on PostgreSQL."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL
from tests.unit.warehouse.sample_forms import V1, versions
from warehouse import Warehouse

RESTRICTED_KEY = "test-restricted-key-0123456789abcdef"


@contextmanager
def fresh_pg_database(request):
    """A new PostgreSQL database for one test, dropped afterwards (schemas are per database)."""
    request.getfixturevalue("pg_url")  # skips when PostgreSQL tests are disabled
    name = f"suara_wh_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as c:
            c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                      {"n": name})
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path):
    """An empty warehouse URL: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wh.db"
        return
    with fresh_pg_database(request) as url:
        yield url


@pytest.fixture
def pg_warehouse_url(request):
    with fresh_pg_database(request) as url:
        yield url


@pytest.fixture
def wh(warehouse_url):
    """A warehouse upgraded with version 1 of the sample form."""
    w = Warehouse(warehouse_url, restricted_key=RESTRICTED_KEY)
    w.upgrade(versions(V1))
    yield w
    w.close()
