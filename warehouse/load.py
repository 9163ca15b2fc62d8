"""Loading one batch: rows, deletions, quarantine, manifest and watermark in ONE transaction.

Order inside the transaction (the caller owns it; nothing here commits):

1. erase ``batch.erase`` everywhere: data rows in every zone (repeat rows first), their
   quarantine entry and manifest entry (a now-quarantined submission is re-entered below);
2. upsert submission rows by ``_id`` in each zone; repeat rows of those submissions are
   deleted and inserted again (a repeat item removed by an edit disappears);
3. hold quarantined submissions (payload encrypted); release held ones that now loaded;
4. upsert manifest entries; set the watermark; append the privacy audit.

If anything raises, the caller's rollback leaves the warehouse exactly as before: rows,
manifest and watermark move together or not at all (design.md invariants 2 and 3).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from cryptography.fernet import Fernet

from suara.errors import WarehouseError
from warehouse import ops
from warehouse import quarantine as qmod
from warehouse.derive import CANDIDATE_PREFIX, KEY_COLUMNS, candidate_name
from warehouse.fastload import (
    delete_where_in,
    insert_columns,
    insert_copied,
    insert_rows,
    max_ids,
    select_where_in,
    typed_columns,
    upsert_rows,
)
from warehouse.naming import flag_name, sql_name
from warehouse.session import ANALYTICS, RESTRICTED, is_sqlite
from warehouse.tables import TableShape


@dataclass(frozen=True)
class ManifestEntry:
    _id: int
    uuid: str | None
    state: str                       # loaded | quarantined | withheld
    form_version: str | None = None
    validation_status: str | None = None


@dataclass
class LoadBatch:
    """Everything one page of one form changes in the warehouse.

    ``loaded`` and ``withheld`` map submission ids to their ``_uuid`` for the manifest;
    ``erase`` lists ids to remove from every zone first (deleted on the server, consent
    withdrawn, or now quarantined: those are re-entered by ``quarantine`` in the same
    transaction). ``validation_status`` and ``form_versions`` (id → value) fill the manifest.
    """

    run_id: str
    analytics: Mapping[str, pd.DataFrame] = field(default_factory=dict)   # table → typed frame
    restricted: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    loaded: Mapping[int, str | None] = field(default_factory=dict)
    withheld: Mapping[int, str | None] | Collection[int] = field(default_factory=dict)
    quarantine: Sequence[Any] = ()               # QuarantineItem or (id, uuid, version, reasons, payload)
    erase: Collection[int] = ()
    validation_status: Mapping[int, str | None] = field(default_factory=dict)
    form_versions: Mapping[int, str | None] = field(default_factory=dict)
    watermark: int | None = None
    audit: Any = None                            # PrivacyAudit (to_dict() / dataclass) or dict


@dataclass
class LoadCounts:
    """Submission counts; pulled = loaded + quarantined + withheld, loaded includes updated."""

    pulled: int = 0
    loaded: int = 0
    updated: int = 0
    deleted: int = 0
    quarantined: int = 0
    withheld: int = 0

    def __add__(self, other: LoadCounts) -> LoadCounts:
        return LoadCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _flag_plan(shape: TableShape, present: Collection[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(choices column, [(flag column, choice)]) for the 0/1 columns the frame lacks."""
    plan = []
    for col in (name for name, kind, _ in shape.columns if kind == "choices" and name in present):
        wanted = [(name, choice) for name, kind, choice in shape.columns
                  if kind == "flag" and name not in present and choice is not None
                  and flag_name(col, choice) == name]
        if wanted:
            plan.append((col, wanted))
    return plan


def identical(a: list, b: list, plain: bool = False) -> bool:
    """Whether two value lists would store the same values. ``==`` alone says 1 == 1.0 == True
    and 0.0 == -0.0, which the drivers store differently, so types (and the sign of zero) are
    checked too unless both lists are ``plain`` (only str/None or only int/None)."""
    if a is b:
        return True
    if a != b:
        return False
    return plain or all(x.__class__ is y.__class__ and (x.__class__ is not float or x != 0 or str(x) == str(y))
                        for x, y in zip(a, b, strict=True))


@dataclass
class Prepared:
    """A frame as driver-ready columns (in table order, with flags and lineage)."""

    values: dict[str, list]
    plain: set[str]        # columns whose lists compare exactly with == (see ``identical``)
    nullable: set[str]     # columns holding None

    @property
    def columns(self) -> list[str]:
        return list(self.values)

    def rows(self, columns: Sequence[str] | None = None) -> list[tuple]:
        cols = self.values.values() if columns is None else [self.values[c] for c in columns]
        return list(zip(*cols, strict=True))

    def same(self, other: Prepared, column: str) -> bool:
        return identical(self.values[column], other.values[column],
                         column in self.plain and column in other.plain)


def _flag_values(prepared: Prepared, shape: TableShape, memo: dict) -> dict[str, list]:
    """0/1 choice columns the frame lacks, from their converted select_multiple answers (NULL
    when unanswered). ``memo`` carries the flags from one zone to the next: the restricted and
    candidate frames of a page usually hold the same answers (checked with ``identical``)."""
    out: dict[str, list] = {}
    for col, wanted in _flag_plan(shape, prepared.values.keys()):
        answers = prepared.values[col]
        choices = tuple(choice for _, choice in wanted)
        hit = memo.get((col, choices))
        if hit is None or not identical(hit[0], answers, hit[1] and col in prepared.plain):
            # One split per distinct answer (a page repeats few of them), then a transpose:
            # a regex or a set test per choice and row costs ten times more.
            seen: dict[str | None, tuple] = {None: (None,) * len(choices)}
            per_row = []
            for v in answers:
                key = None if v is None else str(v)
                flags = seen.get(key)
                if flags is None:
                    picked = set(key.split())
                    flags = seen[key] = tuple(int(c in picked) for c in choices)
                per_row.append(flags)
            columns = [list(c) for c in zip(*per_row, strict=True)] if per_row else [[] for _ in choices]
            hit = memo[(col, choices)] = (answers, col in prepared.plain, columns)
        out.update(zip((name for name, _ in wanted), hit[2], strict=True))
        if col in prepared.nullable:  # a flag is NULL exactly where its answer is
            prepared.nullable.update(name for name, _ in wanted)
    return out


def _prepare(zone: str, table: str, frame: pd.DataFrame, shape: TableShape | None, run_id: str,
             now: dt.datetime, sqlite: bool, memo: dict) -> Prepared:
    """The frame's rows as driver-ready columns of the table (with flags and lineage).
    ``memo`` is the batch's: columns and flags converted for one zone serve the next."""
    if shape is None:
        raise WarehouseError(
            f"The warehouse has no table {zone}.{table}.",
            code="WH_021", hint="Run `suara warehouse upgrade` after changing a form or its policy.")
    frame = frame.rename(columns={c: sql_name(c) for c in frame.columns})
    known = {name: kind for name, kind, _ in shape.columns}
    unknown = [c for c in frame.columns if c not in known and c not in KEY_COLUMNS]
    if unknown:
        raise WarehouseError(
            f"{zone}.{table} has no column {', '.join(sorted(unknown)[:5])}.",
            code="WH_021", hint="Run `suara warehouse upgrade` after changing a form or its policy.")
    key = list(shape.key)
    if frame.duplicated(subset=key, keep="last").any():
        frame = frame.drop_duplicates(subset=key, keep="last")
    kinds = {k: "integer" for k in shape.key}
    kinds.update({name: kind for name, kind, _ in shape.columns if name in frame.columns})
    prepared = Prepared(*typed_columns(frame, kinds, sqlite, table, memo))
    flags = _flag_values(prepared, shape, memo)
    prepared.values.update(flags)
    prepared.plain.update(flags)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    n = len(frame)
    prepared.values.update(_loaded_at=[stamp] * n, _sync_run_id=[run_id] * n)
    return prepared


def _audit_json(audit: Any) -> str:
    if hasattr(audit, "to_dict"):
        audit = audit.to_dict()
    elif is_dataclass(audit):
        audit = asdict(audit)
    return json.dumps(audit, sort_keys=True, default=str)


class _Ceilings:
    """The highest ``_id`` each table of the form, and the form's manifest and quarantine,
    held when the batch began (one query). Ids above it cannot be there, so a page of new
    submissions (the usual page) skips its look-ups and deletes; a page that re-sends old ids
    (edits, refetches) still runs them. This holds because a table only loses rows before
    this module writes to it: erasing deletes, and each zone's rows are looked up before they
    are written. Quarantine is the exception (``qmod.put`` fills it before ``release_loaded``
    reads it), so its look-up runs whenever the batch quarantines anything."""

    def __init__(self, conn: sa.Connection, form_id: str, tables: Sequence[sa.Table]):
        targets = [(t, {}) for t in tables]
        targets += [(ops.manifest, {"form_id": form_id}), (ops.quarantine, {"form_id": form_id})]
        self._max = dict(zip((t for t, _ in targets), max_ids(conn, targets), strict=True))

    def may_hold(self, table: sa.Table, ids: Collection[int]) -> bool:
        if not ids:
            return False
        if table not in self._max:
            return True
        top = self._max[table]
        return top is not None and min(ids) <= top


def _target(zone: str, table: str) -> tuple[str, str]:
    """Where a zone's frame is written: analytics rows wait in their candidate twin."""
    return (RESTRICTED, candidate_name(table)) if zone == ANALYTICS else (zone, table)


def _insert(conn: sa.Connection, key: tuple[str, str], prepared: Prepared,
            shapes: Mapping[tuple[str, str], TableShape], tables: Mapping[tuple[str, str], sa.Table],
            written: Mapping[tuple[str, str], Prepared]) -> None:
    """Insert new rows. A candidate twin whose restricted table was just written with the same
    keys copies every column holding identical values (and the same SQL type) from those rows
    in the database, and binds only the rest (``insert_copied``)."""
    table = tables[key]
    source = next((k for k in written if k[0] == RESTRICTED and (RESTRICTED, candidate_name(k[1])) == key), None)
    src = written.get(source) if source is not None else None
    if src is not None:
        keys = list(shapes[key].key)
        if all(c in src.values and src.same(prepared, c) for c in keys):
            origin = tables[source]
            shared = [c for c in prepared.values if c not in keys and c in src.values and c in origin.c
                      and type(origin.c[c].type) is type(table.c[c].type) and src.same(prepared, c)]
            if shared:
                rest = [c for c in prepared.values if c not in keys and c not in shared]
                insert_copied(conn, table, origin, keys, shared, rest, prepared.rows([*keys, *rest]))
                return
    insert_columns(conn, table, prepared.values, prepared.nullable)


def apply_batch(conn: sa.Connection, form_id: str, shapes: Mapping[tuple[str, str], TableShape],
                tables: Mapping[tuple[str, str], sa.Table], batch: LoadBatch,
                fernet: Callable[[], Fernet], now: dt.datetime) -> LoadCounts:
    root = sql_name(form_id)
    sqlite = is_sqlite(conn)
    form_tables = [k for k in tables if shapes[k].form_id == form_id]
    children = [k for k in form_tables if shapes[k].is_repeat]
    roots = [k for k in form_tables if not shapes[k].is_repeat]
    items = [qmod.as_item(i) for i in batch.quarantine]
    quarantined_ids = {int(i._id) for i in items}
    withheld = dict(batch.withheld) if isinstance(batch.withheld, Mapping) else dict.fromkeys(batch.withheld)
    withheld_ids = {int(i) for i in withheld}

    # 1. erase
    erase = sorted({int(i) for i in batch.erase})
    existed: set[int] = set()
    ceilings = _Ceilings(conn, form_id, [tables[k] for k in form_tables])
    if erase:
        for k in roots:
            if ceilings.may_hold(tables[k], erase):
                existed |= select_where_in(conn, tables[k], "_id", erase)
        for k in (*children, *roots):
            if ceilings.may_hold(tables[k], erase):
                delete_where_in(conn, tables[k], "_id", erase)
        for t in (ops.quarantine, ops.manifest):
            if ceilings.may_hold(t, erase):
                delete_where_in(conn, t, "_id", erase, equal={"form_id": form_id})

    # 2. upsert rows, per zone: submission rows first, then their repeat rows. Analytics
    # frames go to the candidate twins; warehouse/release.py moves them on to analytics.
    # Restricted rows go first so that a candidate twin can copy the columns it shares.
    loaded: set[int] = set()
    updated: set[int] = set()
    memo: dict = {}
    written: dict[tuple[str, str], Prepared] = {}
    batch_ids = {int(i) for i in batch.loaded}
    for zone, frames in ((RESTRICTED, batch.restricted), (ANALYTICS, batch.analytics)):
        frames = {_target(zone, sql_name(t))[1]: f for t, f in frames.items()}
        if not frames:
            continue
        top = _target(zone, root)
        if top[1] not in frames:
            raise WarehouseError(f"A {zone} batch for {form_id} has repeat rows but no submission rows.",
                                 code="WH_022", hint="Pass the submission frame with its repeat frames.")
        prepared = _prepare(zone, root, frames[top[1]], shapes.get(top), batch.run_id, now, sqlite, memo)
        ids = prepared.values["_id"]
        present = select_where_in(conn, tables[top], "_id", ids) if ceilings.may_hold(tables[top], ids) else set()
        if zone == ANALYTICS:
            updated |= present
        loaded.update(ids)
        twins = top[1].startswith(CANDIDATE_PREFIX)
        zone_tables = [k for k in form_tables if k[0] == top[0] and k[1].startswith(CANDIDATE_PREFIX) == twins]
        # A reloaded submission that this zone no longer receives (an edit withdrew consent
        # to share, say) leaves it, so no stale row outlives its new version.
        gone = sorted(batch_ids - set(ids) - quarantined_ids)
        if not ceilings.may_hold(tables[top], gone):
            gone = []
        clear = sorted(present | set(select_where_in(conn, tables[top], "_id", gone) if gone else ()))
        if clear:
            for k in zone_tables:
                if k != top:
                    delete_where_in(conn, tables[k], "_id", clear)
            if gone:
                delete_where_in(conn, tables[top], "_id", gone)
        # New submissions (the usual page of an incremental sync) need no conflict handling:
        # a plain insert is an upsert when no key exists, and COPY can write it directly.
        if present:
            upsert_rows(conn, tables[top], prepared.columns, prepared.rows(), ("_id",))
        else:
            _insert(conn, top, prepared, shapes, tables, written)
        written[top] = prepared
        for tname, child in frames.items():
            if tname == top[1]:
                continue
            k = (top[0], tname)
            written[k] = _prepare(zone, tname, child, shapes.get(k), batch.run_id, now, sqlite, memo)
            _insert(conn, k, written[k], shapes, tables, written)

    # 3. quarantine
    qmod.put(conn, form_id, items, fernet, batch.run_id, now)
    if loaded and (items or ceilings.may_hold(ops.quarantine, loaded)):
        qmod.release_loaded(conn, form_id, sorted(loaded), now)

    # 4. manifest, watermark, audit
    # Plain tuples, not ManifestEntry objects: ten thousand of them per 10k submissions.
    versions, statuses = batch.form_versions, batch.validation_status
    entries: dict[int, tuple[str | None, str, str | None]] = {
        int(i): (u, "loaded", versions.get(int(i))) for i, u in batch.loaded.items()}
    entries.update({i: (None, "loaded", versions.get(i)) for i in loaded - entries.keys()})
    entries.update({int(i): (u, "withheld", versions.get(int(i))) for i, u in withheld.items()})
    for i in items:
        entries[int(i._id)] = (i._uuid, "quarantined", i.form_version)
    if entries:
        m = ops.manifest
        mcols = ["form_id", "_id", "_uuid", "validation_status", "state", "form_version", "updated_run", "updated_at"]
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        rows = [(form_id, i, uuid, statuses.get(i), state, version, batch.run_id, stamp)
                for i, (uuid, state, version) in sorted(entries.items())]
        known = (select_where_in(conn, m, "_id", list(entries), equal={"form_id": form_id})
                 if ceilings.may_hold(m, entries) else set())
        write = upsert_rows if known else insert_rows
        write(conn, m, mcols, rows, ("form_id", "_id"))
    if batch.watermark is not None:
        w = ops.watermarks
        conn.execute(w.delete().where(w.c.form_id == form_id))
        conn.execute(w.insert().values(form_id=form_id, last_id=int(batch.watermark), run_id=batch.run_id,
                                       updated_at=now))
    # Every batch that changed rows leaves an audit row: the release step runs when the latest
    # audit row of the form is not its own (warehouse/release.py, ``pending``).
    audit = batch.audit if batch.audit is not None else ({"event": "load"} if loaded or erase else None)
    if audit is not None:
        conn.execute(ops.privacy_audits.insert().values(run_id=batch.run_id, form_id=form_id,
                                                        audit=_audit_json(audit), created_at=now))
    deleted = existed - loaded - quarantined_ids - withheld_ids
    return LoadCounts(pulled=len(loaded) + len(items) + len(withheld_ids - loaded), loaded=len(loaded),
                      updated=len(updated), deleted=len(deleted), quarantined=len(items),
                      withheld=len(withheld_ids - loaded))
