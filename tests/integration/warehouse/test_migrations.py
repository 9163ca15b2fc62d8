"""The Alembic migrations build exactly the fixed tables that warehouse/ops.py declares."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.unit.warehouse.sample_forms import FORM_ID, V1, versions
from warehouse import Warehouse
from warehouse.migrate import VERSION_TABLE, alembic_config, ensure_schemas, head_revision
from warehouse.ops import metadata

pytestmark = pytest.mark.integration


def _fixed_only(obj, name, type_, reflected, compare_to):
    # Form-derived tables are planned from the forms, not declared in ops.py.
    if type_ == "table":
        return name != VERSION_TABLE and f"{obj.schema}.{name}" in metadata.tables
    return True


def test_migrations__head__match_ops_models(warehouse_url):
    """Should leave no difference between the migrated database and warehouse/ops.py."""
    with Warehouse(warehouse_url) as wh:
        plan = wh.upgrade(versions(V1))
        assert plan.fixed_to == head_revision() == "0004"
        with wh.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "include_schemas": True, "include_object": _fixed_only, "compare_type": True,
                "target_metadata": metadata})
            diffs = compare_metadata(ctx, metadata)
    # Table comments are documentation only; SQLite cannot store them.
    diffs = [d for d in diffs if not (isinstance(d, tuple) and "comment" in d[0])]
    assert diffs == []


def test_upgrade__warehouse_at_0001__migrates_to_head_and_fills_catalogue(warehouse_url):
    """Should bring an older warehouse forward with its data and report the step in the plan."""
    with Warehouse(warehouse_url) as wh:
        with wh.engine.connect() as conn, conn.begin():
            ensure_schemas(conn)
            command.upgrade(alembic_config(conn), "0001")
        plan = wh.upgrade(versions(V1))
        catalogue = {r["table_name"]: r for r in wh.dump("analytics")["table_catalogue"]}
    assert "migrate fixed tables: 0001 → 0004" in str(plan)
    assert catalogue[FORM_ID]["grain_en"].startswith("One row per submission of form wh_demo")
    assert catalogue[f"{FORM_ID}__kids"]["parent_table"] == FORM_ID
    assert catalogue[f"{FORM_ID}__kids"]["grain_id"].startswith("Satu baris per butir kelompok ulangan kids")
