"""Shared test fixtures.

* Every test starts from a clean environment: no Kobo token, warehouse URL or Suara key
  leaks in from the developer's shell.
* PostgreSQL tests (marker ``postgres``) run when ``CI`` or ``SUARA_TEST_POSTGRES`` is set and
  skip otherwise; each test session gets its own throw-away database on 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("DO_NOT_TRACK", "1")

REPO = Path(__file__).resolve().parents[1]
FORMS_DIR = REPO / "forms"
SHARED = REPO.parent / "shared"
PG_ADMIN_URL = os.environ.get("SUARA_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

_ENV_PREFIXES = ("KOBO_", "SUARA_", "WAREHOUSE_URL")


def postgres_enabled() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("SUARA_TEST_POSTGRES"))


def pytest_collection_modifyitems(config, items):
    if postgres_enabled():
        return
    skip = pytest.mark.skip(reason="PostgreSQL tests run when CI or SUARA_TEST_POSTGRES is set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith(_ENV_PREFIXES) and key not in ("SUARA_TEST_POSTGRES", "SUARA_TEST_PG_ADMIN"):
            monkeypatch.delenv(key, raising=False)
    # suara.toml in the working directory must not leak into tests either.
    monkeypatch.setenv("SUARA_CONFIG", str(tmp_path / "no-suara.toml"))
    yield


@pytest.fixture(scope="session")
def forms_dir() -> Path:
    return FORMS_DIR


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def pg_url():
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not postgres_enabled():
        pytest.skip("PostgreSQL tests run when CI or SUARA_TEST_POSTGRES is set")
    import sqlalchemy as sa

    name = f"suara_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
            ), {"n": name})
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
