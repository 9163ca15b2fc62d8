"""The schema plan: what ``suara warehouse upgrade`` will change, printed before it is applied.

A plan has two parts: the Alembic migrations of the fixed tables (reviewed code in
``warehouse/migrations``) and the form-derived changes, computed by comparing the forms'
derived schema with the column registry. Form-derived changes only ever add: create a table,
add a column, add the 0/1 columns of new choices. Nothing is dropped or rewritten; a type or
zone change is refused before anything is touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from warehouse import ops
from warehouse.derive import (
    KEY_COLUMNS,
    LINEAGE_COLUMNS,
    FormSchema,
    candidate_name,
    check_compatible,
    check_not_withdrawn,
)
from warehouse.dictionary import (
    choice_label_rows,
    column_map_rows,
    dictionary_rows,
    table_catalogue_rows,
)
from warehouse.session import ANALYTICS, RESTRICTED
from warehouse.tables import SQL_TYPES, TABLE_MARKER, build_tables, shape_of

CREATE_TABLE = "create table"
ADD_COLUMN = "add column"
ADD_CHOICE_COLUMNS = "add choice columns"


@dataclass(frozen=True)
class PlanStep:
    action: str
    zone: str
    table: str
    form_id: str
    columns: tuple[tuple[str, str], ...]  # (column, kind)

    def __str__(self) -> str:
        where = f"{self.zone}.{self.table}"
        if self.action == CREATE_TABLE:
            return f"create table {where} ({len(self.columns)} form columns)"
        if self.action == ADD_COLUMN:
            name, kind = self.columns[0]
            return f"add column {where}.{name} ({kind})"
        return f"add choice columns {where}: {', '.join(c for c, _ in self.columns)}"


@dataclass
class SchemaPlan:
    fixed_from: str | None
    fixed_to: str | None
    steps: list[PlanStep] = field(default_factory=list)
    dictionaries: list[tuple[str, str]] = field(default_factory=list)  # (form_id, version)
    roles: bool = False

    @property
    def fixed_pending(self) -> bool:
        return self.fixed_from != self.fixed_to

    @property
    def is_empty(self) -> bool:
        """True when the warehouse's tables already match (catalogues are always rewritten)."""
        return not self.fixed_pending and not self.steps

    def lines(self) -> list[str]:
        out = []
        if self.fixed_pending:
            out.append(f"migrate fixed tables: {self.fixed_from or 'empty'} → {self.fixed_to}")
        else:
            out.append(f"fixed tables up to date (revision {self.fixed_to})")
        out += [str(s) for s in self.steps] or ["form tables up to date"]
        if self.dictionaries:
            forms = sorted({f for f, _ in self.dictionaries})
            out.append(f"refresh choice labels and data dictionary: {', '.join(forms)} "
                       f"({len(self.dictionaries)} form versions)")
        if self.roles:
            out.append("grant zone roles: suara_restricted, suara_analyst, suara_viewer")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def registry(conn: sa.Connection) -> dict[tuple[str, str, str], tuple[str, str | None]]:
    """(zone, table, column) → (kind, version it was added in); empty before the first upgrade."""
    if not sa.inspect(conn).has_table(ops.derived_columns.name, schema=ops.derived_columns.schema):
        return {}
    reg = ops.derived_columns
    return {(r.zone, r.table_name, r.column_name): (r.kind, r.added_in_version)
            for r in conn.execute(sa.select(reg))}


def form_steps(existing: dict[tuple[str, str, str], tuple[str, str | None]],
               schemas: Iterable[FormSchema]) -> list[PlanStep]:
    """Steps that bring the registry up to the schemas; raises on a type or zone change."""
    present_tables = {(z, t) for z, t, _ in existing}
    steps: list[PlanStep] = []
    for schema in schemas:
        for version, tables in schema.by_version.items():
            check_compatible(schema.form_id, existing, tables.values(), version)
        own = {t.name for t in schema.tables.values()}
        latest = list(schema.by_version)[-1]
        check_not_withdrawn(schema.form_id, [(t, c) for z, t, c in existing if z == ANALYTICS and t in own],
                            schema.by_version[latest], latest)
        for (zone, tname), t in schema.tables.items():
            cols = [(c.name, c.kind) for c in t.columns.values()]
            if (zone, tname) not in present_tables:
                steps.append(PlanStep(CREATE_TABLE, zone, tname, schema.form_id, tuple(cols)))
                continue
            new = [c for c in t.columns.values() if (zone, tname, c.name) not in existing]
            plain = [c for c in new if c.kind != "flag"]
            steps += [PlanStep(ADD_COLUMN, zone, tname, schema.form_id, ((c.name, c.kind),)) for c in plain]
            flags = [(c.name, c.kind) for c in new if c.kind == "flag"]
            if flags:
                steps.append(PlanStep(ADD_CHOICE_COLUMNS, zone, tname, schema.form_id, tuple(flags)))
    return steps


def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def apply_form_steps(conn: sa.Connection, steps: list[PlanStep], schemas: Iterable[FormSchema]) -> None:
    """Run the steps (DDL and registry rows) and rewrite the analytics catalogues, in the
    caller's transaction."""
    schemas = list(schemas)
    derived = {(t.zone, t.name): t for s in schemas for t in s.tables.values()}
    reg = ops.derived_columns
    positions: dict[tuple[str, str], int] = {}
    for zone, tname, pos in conn.execute(
        sa.select(reg.c.zone, reg.c.table_name, sa.func.max(reg.c.position)).group_by(reg.c.zone, reg.c.table_name)
    ):
        positions[(zone, tname)] = pos
    creates = [s for s in steps if s.action == CREATE_TABLE]
    new_tables = build_tables([shape_of(derived[(s.zone, s.table)]) for s in creates])
    for s in sorted(creates, key=lambda s: derived[(s.zone, s.table)].parent is not None):
        new_tables[(s.zone, s.table)].create(conn)
    records = []
    for s in steps:
        t = derived[(s.zone, s.table)]
        if s.action == CREATE_TABLE:
            records.append(dict(zone=s.zone, table_name=s.table, column_name=TABLE_MARKER, form_id=s.form_id,
                                parent_table=t.parent, position=0, kind="integer", xlsform_path=None,
                                choice=None, added_in_version=None))
        else:
            for name, kind in s.columns:
                conn.exec_driver_sql(
                    f"ALTER TABLE {_quote(conn, s.zone)}.{_quote(conn, s.table)} ADD COLUMN "
                    f"{_quote(conn, name)} {SQL_TYPES[kind]().compile(dialect=conn.dialect)}")
        pos = positions.get((s.zone, s.table), 0)
        for name, _ in s.columns:
            c = t.columns[name]
            pos += 1
            records.append(dict(zone=s.zone, table_name=s.table, column_name=name, form_id=s.form_id,
                                parent_table=t.parent, position=pos, kind=c.kind,
                                xlsform_path=c.xlsform_path, choice=c.choice, added_in_version=c.added_in))
        positions[(s.zone, s.table)] = pos
    if records:
        conn.execute(reg.insert(), records)
    _backfill_candidates(conn, creates, derived)
    for schema in schemas:
        write_catalogues(conn, schema)


def _backfill_candidates(conn: sa.Connection, creates: list[PlanStep], derived: dict) -> None:
    """A candidate table created beside an analytics table that already holds rows (a
    warehouse from before the release step) starts with those rows, so the next release
    keeps them instead of withdrawing them."""
    made = {(s.zone, s.table) for s in creates}
    for (zone, tname), t in derived.items():
        twin = (RESTRICTED, candidate_name(tname))
        if zone != ANALYTICS or twin not in made or (zone, tname) in made:
            continue
        names = ", ".join(_quote(conn, c) for c in [*KEY_COLUMNS[:1 if t.parent is None else 3],
                                                    *t.columns, *LINEAGE_COLUMNS])
        conn.exec_driver_sql(f"INSERT INTO {_quote(conn, RESTRICTED)}.{_quote(conn, twin[1])} ({names}) "
                             f"SELECT {names} FROM {_quote(conn, ANALYTICS)}.{_quote(conn, tname)}")


def write_catalogues(conn: sa.Connection, schema: FormSchema) -> None:
    """Replace the form's rows in choice_labels, data_dictionary, column_map and table_catalogue."""
    for table, rows in ((ops.choice_labels, choice_label_rows(schema)),
                        (ops.data_dictionary, dictionary_rows(schema)),
                        (ops.column_map, column_map_rows(schema)),
                        (ops.table_catalogue, table_catalogue_rows(schema))):
        conn.execute(table.delete().where(table.c.form_id == schema.form_id))
        if rows:
            conn.execute(table.insert(), rows)
