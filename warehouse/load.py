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
    column_lists,
    delete_where_in,
    insert_rows,
    select_where_in,
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


def _flag_values(frame: pd.DataFrame, shape: TableShape) -> dict[str, list]:
    """0/1 choice columns the frame lacks, from their select_multiple answer (NULL when unanswered)."""
    out: dict[str, list] = {}
    for col in (name for name, kind, _ in shape.columns if kind == "choices" and name in frame.columns):
        wanted = [(name, choice) for name, kind, choice in shape.columns
                  if kind == "flag" and name not in frame.columns and choice is not None
                  and flag_name(col, choice) == name]
        if not wanted:
            continue
        # One split per answer, then set lookups: a regex per choice costs ten times more.
        answers = [None if v is None or v is pd.NA or v != v else set(str(v).split())
                   for v in frame[col].tolist()]
        for name, choice in wanted:
            out[name] = [None if a is None else int(choice in a) for a in answers]
    return out


def _prepare(zone: str, table: str, frame: pd.DataFrame, shape: TableShape | None, run_id: str,
             now: dt.datetime, sqlite: bool) -> tuple[list[str], list[tuple]]:
    """The table's columns and the frame's rows as driver-ready tuples (with flags and lineage)."""
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
    frame = frame.drop_duplicates(subset=list(shape.key), keep="last")
    kinds = {k: "integer" for k in shape.key}
    kinds.update({name: kind for name, kind, _ in shape.columns if name in frame.columns})
    values = column_lists(frame, kinds, sqlite, table)
    values.update(_flag_values(frame, shape))
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    values.update(_loaded_at=[stamp] * len(frame), _sync_run_id=[run_id] * len(frame))
    return list(values), list(zip(*values.values(), strict=True))


def _audit_json(audit: Any) -> str:
    if hasattr(audit, "to_dict"):
        audit = audit.to_dict()
    elif is_dataclass(audit):
        audit = asdict(audit)
    return json.dumps(audit, sort_keys=True, default=str)


def _target(zone: str, table: str) -> tuple[str, str]:
    """Where a zone's frame is written: analytics rows wait in their candidate twin."""
    return (RESTRICTED, candidate_name(table)) if zone == ANALYTICS else (zone, table)


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
    if erase:
        for k in roots:
            existed |= select_where_in(conn, tables[k], "_id", erase)
        for k in (*children, *roots):
            delete_where_in(conn, tables[k], "_id", erase)
        for t in (ops.quarantine, ops.manifest):
            delete_where_in(conn, t, "_id", erase, t.c.form_id == form_id)

    # 2. upsert rows, per zone: submission rows first, then their repeat rows. Analytics
    # frames go to the candidate twins; warehouse/release.py moves them on to analytics.
    loaded: set[int] = set()
    updated: set[int] = set()
    batch_ids = {int(i) for i in batch.loaded}
    for zone, frames in ((ANALYTICS, batch.analytics), (RESTRICTED, batch.restricted)):
        frames = {_target(zone, sql_name(t))[1]: f for t, f in frames.items()}
        if not frames:
            continue
        top = _target(zone, root)
        if top[1] not in frames:
            raise WarehouseError(f"A {zone} batch for {form_id} has repeat rows but no submission rows.",
                                 code="WH_022", hint="Pass the submission frame with its repeat frames.")
        cols, rows = _prepare(zone, root, frames[top[1]], shapes.get(top), batch.run_id, now, sqlite)
        ids = [row[0] for row in rows]
        present = select_where_in(conn, tables[top], "_id", ids)
        if zone == ANALYTICS:
            updated |= present
        loaded.update(ids)
        twins = top[1].startswith(CANDIDATE_PREFIX)
        zone_tables = [k for k in form_tables if k[0] == top[0] and k[1].startswith(CANDIDATE_PREFIX) == twins]
        # A reloaded submission that this zone no longer receives (an edit withdrew consent
        # to share, say) leaves it, so no stale row outlives its new version.
        gone = sorted(batch_ids - set(ids) - quarantined_ids)
        clear = sorted(present | set(select_where_in(conn, tables[top], "_id", gone) if gone else ()))
        if clear:
            for k in zone_tables:
                if k != top:
                    delete_where_in(conn, tables[k], "_id", clear)
            if gone:
                delete_where_in(conn, tables[top], "_id", gone)
        # New submissions (the usual page of an incremental sync) need no conflict handling:
        # a plain insert is an upsert when no key exists, and COPY can write it directly.
        write = upsert_rows if present else insert_rows
        write(conn, tables[top], cols, rows, ("_id",))
        for tname, child in frames.items():
            if tname == top[1]:
                continue
            k = (top[0], tname)
            ccols, crows = _prepare(zone, tname, child, shapes.get(k), batch.run_id, now, sqlite)
            insert_rows(conn, tables[k], ccols, crows)

    # 3. quarantine
    qmod.put(conn, form_id, items, fernet, batch.run_id, now)
    if loaded:
        qmod.release_loaded(conn, form_id, sorted(loaded), now)

    # 4. manifest, watermark, audit
    def entry(i: int, uuid: str | None, state: str) -> ManifestEntry:
        return ManifestEntry(i, uuid, state, batch.form_versions.get(i), batch.validation_status.get(i))

    entries = {int(i): entry(int(i), u, "loaded") for i, u in batch.loaded.items()}
    entries.update({i: entry(i, None, "loaded") for i in loaded - entries.keys()})
    entries.update({int(i): entry(int(i), u, "withheld") for i, u in withheld.items()})
    for i in items:
        entries[int(i._id)] = ManifestEntry(int(i._id), i._uuid, "quarantined", i.form_version,
                                            batch.validation_status.get(int(i._id)))
    if entries:
        m = ops.manifest
        mcols = ["form_id", "_id", "_uuid", "validation_status", "state", "form_version", "updated_run", "updated_at"]
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        rows = [(form_id, i, e.uuid, e.validation_status, e.state, e.form_version, batch.run_id, stamp)
                for i, e in sorted(entries.items())]
        known = select_where_in(conn, m, "_id", list(entries), m.c.form_id == form_id)
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
