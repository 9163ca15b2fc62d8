"""Running the Alembic migrations of the fixed tables, configured in code (no alembic.ini).

Migrations live in ``warehouse/migrations`` (``env.py``, ``script.py.mako``,
``versions/<rev>_<slug>.py``); the version table is ``restricted.alembic_version``.
To add one: ``alembic.command.revision(alembic_config(), message="slug")`` from a Python
shell, then edit the generated file (the template lists the team's rules).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from warehouse.session import RESTRICTED, ZONES, is_sqlite

VERSION_TABLE = "alembic_version"
VERSION_TABLE_SCHEMA = RESTRICTED
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def ensure_schemas(conn: sa.Connection) -> None:
    """One schema per zone on PostgreSQL (SQLite attaches them as files at connect time)."""
    if is_sqlite(conn):
        return
    for zone in ZONES:
        conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{zone}"')


def alembic_config(conn: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: sa.Connection) -> str | None:
    ctx = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "version_table_schema": VERSION_TABLE_SCHEMA}
    )
    return ctx.get_current_revision()


def upgrade_fixed(conn: sa.Connection) -> None:
    """Bring the fixed tables to head inside the caller's transaction."""
    command.upgrade(alembic_config(conn), "head")
