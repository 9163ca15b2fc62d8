"""Alembic environment for the fixed warehouse tables (``warehouse.ops``).

The URL never comes from a file: ``Warehouse.upgrade`` hands over its open connection in
``config.attributes["connection"]``; run by hand (``alembic -x`` is not needed), the URL comes
from ``Settings`` (``WAREHOUSE_URL``). Alembic's version table lives in ``restricted``.
"""

from __future__ import annotations

from alembic import context

from warehouse.migrate import VERSION_TABLE, VERSION_TABLE_SCHEMA, ensure_schemas
from warehouse.ops import metadata


def _run(connection) -> None:
    ensure_schemas(connection)
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        version_table_schema=VERSION_TABLE_SCHEMA,
        include_schemas=True,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from suara.settings import load_settings
    from warehouse.session import create_engine, writer

    engine = create_engine(load_settings().warehouse_url)
    try:
        with engine.connect() as conn:
            _run(writer(conn))
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run them against a database.")
run_migrations_online()
