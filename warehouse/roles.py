"""PostgreSQL roles, one per zone, created and granted by ``suara warehouse upgrade``.

| role               | may read                          | may write      |
|--------------------|-----------------------------------|----------------|
| ``suara_restricted`` | restricted, analytics, reporting | restricted     |
| ``suara_analyst``    | analytics only                   | nothing        |
| ``suara_viewer``     | reporting only                   | nothing        |

The roles are NOLOGIN group roles: people and services log in as their own users, granted
membership (``GRANT suara_analyst TO alice``), so no shared password exists. The pipeline
itself runs as the owner of the schemas (the user in ``WAREHOUSE_URL``). Default privileges
make tables the owner creates later (new forms, new indicator tables) readable by the same
roles without another grant.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from suara.errors import WarehouseError
from warehouse.session import ANALYTICS, REPORTING, RESTRICTED, ZONES

RESTRICTED_ROLE, ANALYST_ROLE, VIEWER_ROLE = "suara_restricted", "suara_analyst", "suara_viewer"
ROLES = (RESTRICTED_ROLE, ANALYST_ROLE, VIEWER_ROLE)
READERS = {ANALYTICS: (ANALYST_ROLE, RESTRICTED_ROLE), REPORTING: (VIEWER_ROLE, RESTRICTED_ROLE),
           RESTRICTED: (RESTRICTED_ROLE,)}


def _statements() -> list[str]:
    out = [
        f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
        f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        for role in ROLES
    ]
    for zone in ZONES:
        out.append(f"REVOKE ALL ON SCHEMA {zone} FROM PUBLIC")
        out.append(f"REVOKE ALL ON ALL TABLES IN SCHEMA {zone} FROM PUBLIC")
        readers = ", ".join(READERS[zone])
        out += [
            f"GRANT USAGE ON SCHEMA {zone} TO {readers}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {zone} TO {readers}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {zone} GRANT SELECT ON TABLES TO {readers}",
        ]
    out += [
        f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {RESTRICTED} TO {RESTRICTED_ROLE}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {RESTRICTED} TO {RESTRICTED_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {RESTRICTED} GRANT INSERT, UPDATE, DELETE ON TABLES TO {RESTRICTED_ROLE}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {RESTRICTED} GRANT USAGE ON SEQUENCES TO {RESTRICTED_ROLE}",
    ]
    return out


def grant_roles(conn: sa.Connection) -> None:
    """Create the zone roles if missing and (re)grant them; idempotent, in the caller's transaction."""
    try:
        for stmt in _statements():
            conn.exec_driver_sql(stmt)
    except ProgrammingError as exc:
        raise WarehouseError(
            "Could not create or grant the zone roles (suara_restricted, suara_analyst, suara_viewer).",
            code="WH_040",
            hint="Run `suara warehouse upgrade` as a user with CREATEROLE that owns the warehouse "
                 f"schemas (database said: {exc.orig.__class__.__name__}).",
        ) from None
