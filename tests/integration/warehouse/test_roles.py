"""PostgreSQL zone roles: each logs in (as a member user) and reads only its zones.

  R1 suara_analyst reads analytics only;
  R2 suara_viewer reads reporting only (including tables created after the upgrade);
  R3 suara_restricted reads every zone and writes restricted only.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from tests.unit.warehouse.sample_forms import FORM_ID, V1, versions
from warehouse import Warehouse

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

READ = {
    "analytics": f"SELECT count(*) FROM analytics.{FORM_ID}",
    "restricted": "SELECT count(*) FROM restricted.manifest",
    "reporting": "SELECT count(*) FROM reporting.indicator_probe",
}


@pytest.fixture
def upgraded(pg_warehouse_url):
    with Warehouse(pg_warehouse_url) as wh:
        wh.upgrade(versions(V1))
        with wh.engine.begin() as c:  # a reporting table created later, as the indicator refresh does
            c.exec_driver_sql("CREATE TABLE reporting.indicator_probe (n integer)")
    yield pg_warehouse_url


def _login_as(url: str, role: str):
    """A throw-away LOGIN user that is a member of ``role`` (trust auth locally), and its engine."""
    user = f"t_{role}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE ROLE "{user}" LOGIN IN ROLE {role}')
    return user, admin, sa.create_engine(make_url(url).set(username=user), isolation_level="AUTOCOMMIT")


def _allowed(engine, sql: str) -> bool:
    try:
        with engine.connect() as c:
            c.exec_driver_sql(sql)
        return True
    except ProgrammingError as exc:
        assert "permission denied" in str(exc.orig)
        return False


@pytest.mark.parametrize(("role", "reads"), [
    ("suara_analyst", {"analytics"}),
    ("suara_viewer", {"reporting"}),
    ("suara_restricted", {"analytics", "restricted", "reporting"}),
])
def test_role__logs_in__reads_only_its_zones(upgraded, role, reads):
    """R1–R3: Should let each role read exactly its zones and refuse the others."""
    user, admin, engine = _login_as(upgraded, role)
    try:
        assert {zone for zone, sql in READ.items() if _allowed(engine, sql)} == reads
        can_write_restricted = _allowed(
            engine, "INSERT INTO restricted.watermarks (form_id, last_id, updated_at) VALUES ('x', 1, now())")
        assert can_write_restricted is (role == "suara_restricted")
        assert not _allowed(engine, f"DELETE FROM analytics.{FORM_ID}")
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP ROLE "{user}"')
        admin.dispose()
