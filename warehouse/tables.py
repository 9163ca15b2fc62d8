"""SQLAlchemy tables for form-derived data, built from the column registry.

``restricted.derived_columns`` records every form-derived column the warehouse has created
(zone, table, column, kind, XLSForm path, position). The loader builds its ``sa.Table``
objects from that registry, so it always writes to the schema that exists, whichever form
versions are on disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from warehouse import ops
from warehouse.derive import KEY_COLUMNS, LINEAGE_COLUMNS, DerivedTable, root_table
from warehouse.naming import sql_name

SQL_TYPES: dict[str, type[sa.types.TypeEngine]] = {
    "integer": sa.BigInteger, "decimal": sa.Double, "text": sa.Text, "choice": sa.Text,
    "choices": sa.Text, "date": sa.Date, "datetime": sa.DateTime, "time": sa.Time,
    "boolean": sa.Boolean, "flag": sa.SmallInteger,
}


@dataclass(frozen=True)
class TableShape:
    zone: str
    name: str
    form_id: str
    parent: str | None
    columns: tuple[tuple[str, str, str | None], ...]  # (column, kind, choice), in registry order

    @property
    def is_repeat(self) -> bool:
        return self.parent is not None

    @property
    def key(self) -> tuple[str, ...]:
        return KEY_COLUMNS if self.is_repeat else ("_id",)

    @property
    def grain(self) -> str:
        return grain(self.name, self.form_id, self.is_repeat)[0]


def grain(table: str, form_id: str, is_repeat: bool) -> tuple[str, str]:
    """What one row of a form table is, in English and Indonesian."""
    if is_repeat:
        group = table.split("__", 1)[-1]
        return (f"One row per item of repeat group {group} in a submission of form {form_id}; "
                "key (_id, _parent_index, _index).",
                f"Satu baris per butir kelompok ulangan {group} dalam satu kiriman formulir {form_id}; "
                "kunci (_id, _parent_index, _index).")
    return (f"One row per submission of form {form_id}; key _id (the Kobo submission id).",
            f"Satu baris per kiriman formulir {form_id}; kunci _id (id kiriman Kobo).")


def shape_of(table: DerivedTable) -> TableShape:
    return TableShape(table.zone, table.name, table.form_id, table.parent,
                      tuple((c.name, c.kind, c.choice) for c in table.columns.values()))


def build_tables(shapes: list[TableShape], metadata: sa.MetaData | None = None) -> dict[tuple[str, str], sa.Table]:
    """``sa.Table`` objects for shapes of one or more forms, parents before children."""
    metadata = metadata or sa.MetaData(naming_convention=ops.NAMING_CONVENTION)
    out: dict[tuple[str, str], sa.Table] = {}
    for s in sorted(shapes, key=lambda s: (s.parent is not None, s.name)):
        cols: list[sa.SchemaItem] = [sa.Column("_id", sa.BigInteger(), nullable=False, autoincrement=False)]
        if s.is_repeat:
            cols += [sa.Column("_parent_index", sa.Integer(), nullable=False, server_default="0"),
                     sa.Column("_index", sa.Integer(), nullable=False)]
            # Every repeat row references its submission: deleting the submission removes
            # it, whatever the nesting depth (_parent_index says which item it sits under).
            cols.append(sa.ForeignKeyConstraint(
                ["_id"], [f"{s.zone}.{root_table(s.name, s.form_id)}._id"], ondelete="CASCADE",
                name=f"fk_{s.name}__id_{sql_name(s.form_id)}"[:63]))
        cols += [sa.Column(name, SQL_TYPES[kind]()) for name, kind, _ in s.columns]
        cols += [sa.Column("_loaded_at", sa.DateTime()), sa.Column("_sync_run_id", sa.String(64))]
        cols.append(sa.PrimaryKeyConstraint(*s.key, name=f"pk_{s.name}"[:63]))
        out[(s.zone, s.name)] = sa.Table(s.name, metadata, *cols, schema=s.zone, comment=s.grain)
    return out


def load_shapes(conn: sa.Connection, form_id: str | None = None) -> dict[tuple[str, str], TableShape]:
    """The registered tables (of one form, or all), by (zone, table)."""
    reg = ops.derived_columns
    q = sa.select(reg).order_by(reg.c.zone, reg.c.table_name, reg.c.position)
    if form_id is not None:
        q = q.where(reg.c.form_id == form_id)
    grouped: dict[tuple[str, str], list] = {}
    for row in conn.execute(q):
        grouped.setdefault((row.zone, row.table_name), []).append(row)
    return {
        key: TableShape(key[0], key[1], rows[0].form_id, rows[0].parent_table,
                        tuple((r.column_name, r.kind, r.choice) for r in rows if r.column_name not in LINEAGE_COLUMNS
                              and r.column_name not in KEY_COLUMNS))
        for key, rows in grouped.items()
    }


# The registry needs one row per table even when a table has only key columns (a parent
# kept for its children's foreign keys); this marker column records such tables.
TABLE_MARKER = "_id"
