"""Deterministic views of the warehouse for exact comparisons (tests, `suara check`).

``dump(zone)`` lists every table of a zone with its rows sorted by all columns, leaving out
what legitimately differs between two runs that loaded the same data: lineage columns
(``_loaded_at``, ``_sync_run_id``), timestamps and run ids of the fixed tables (marked
volatile in ``warehouse.ops``), ciphertext, and the per-run logs.
"""

from __future__ import annotations

import sqlalchemy as sa

from warehouse import ops
from warehouse.derive import LINEAGE_COLUMNS
from warehouse.migrate import VERSION_TABLE
from warehouse.session import ZONES


def _tables(conn: sa.Connection, zone: str) -> list[str]:
    return sorted(t for t in sa.inspect(conn).get_table_names(schema=zone) if t != VERSION_TABLE)


def table_counts(conn: sa.Connection) -> dict[str, int]:
    """'zone.table' → row count, for every table in every zone."""
    out = {}
    for zone in ZONES:
        for name in _tables(conn, zone):
            t = sa.table(name, schema=zone)
            out[f"{zone}.{name}"] = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    return out


def _volatile(zone: str, name: str) -> set[str]:
    fixed = ops.metadata.tables.get(f"{zone}.{name}")
    if fixed is None:
        return set(LINEAGE_COLUMNS)
    return {c.name for c in fixed.columns if c.info.get("volatile")}


def dump(conn: sa.Connection, zone: str) -> dict[str, list[dict]]:
    """'table' → rows (dicts without volatile columns), sorted; per-run log tables left out."""
    out: dict[str, list[dict]] = {}
    for name in _tables(conn, zone):
        if name in {t.name for t in ops.metadata.tables.values() if t.key in ops.LOG_TABLES}:
            continue
        table = sa.Table(name, sa.MetaData(), schema=zone, autoload_with=conn)
        cols = [c for c in table.columns if c.name not in _volatile(zone, name)]
        rows = conn.execute(sa.select(*cols).order_by(*cols)).mappings().all()
        out[name] = [dict(r) for r in rows]
    return out
