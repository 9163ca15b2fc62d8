"""The release step: analytics rows written from their candidate twins, decided over the whole table.

Each page of a sync writes the rows the anonymiser would release into the restricted zone's
candidate tables (warehouse/derive.py, ``candidate_name``). After the pages, ``release``
reads the columns a decision needs (the quasi-identifiers) of *every* candidate row, asks the
decision which rows to release and with which values, and brings analytics to that state:

* rows released but absent, or whose candidate was reloaded (``_loaded_at`` moved), or whose
  decided values differ from what analytics holds, are (re)written from the twin, with their
  repeat rows; cells the decision changed (suppressed, recoded) are then updated;
* rows analytics holds that are no longer released are deleted with their repeat rows.

So analytics is a function of the candidate set alone: a rerun, a crash, a halved page size
or a late page change nothing, and a row withheld while its class was small is released once
the class reaches k. The step is one transaction; it runs only when a batch or an erasure has
been written since the last release (``pending``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from pandas.api.types import union_categoricals

from warehouse import ops
from warehouse.derive import candidate_name
from warehouse.fastload import column_values, insert_rows
from warehouse.load import _audit_json
from warehouse.naming import sql_name
from warehouse.reads import read_chunks
from warehouse.session import ANALYTICS, RESTRICTED, is_sqlite
from warehouse.tables import TableShape

RELEASE_EVENT = "release"
_IDS = "_suara_release_ids"

# table → decided rows (``_id`` and the decision's columns, final values), plus an audit
# (counts only) stored in privacy_audits.
Decision = Callable[[dict[str, pd.DataFrame]], tuple[dict[str, pd.DataFrame], Mapping]]


@dataclass
class ReleaseCounts:
    candidates: int = 0   # submissions waiting in the candidate table
    released: int = 0     # submissions in analytics after the step
    written: int = 0      # submissions (re)written to analytics by this step
    removed: int = 0      # submissions taken out of analytics by this step

    @property
    def withheld(self) -> int:
        return self.candidates - self.released

    def as_dict(self) -> dict[str, int]:
        return {"candidates": self.candidates, "released": self.released, "written": self.written,
                "removed": self.removed, "withheld": self.withheld}


def pending(conn: sa.Connection, form_id: str) -> bool:
    """Whether anything was written for the form since its last release (the latest audit
    row is a batch's or an erasure's, not a release's)."""
    a = ops.privacy_audits
    last = conn.execute(sa.select(a.c.audit).where(a.c.form_id == form_id)
                        .order_by(a.c.audit_id.desc()).limit(1)).scalar_one_or_none()
    if last is None:
        return False
    try:
        return json.loads(last).get("event") != RELEASE_EVENT
    except (ValueError, AttributeError):
        return True


CHUNK = 50_000  # rows per read: the release reads whole tables, memory stays bounded by this


def _loaded_expr(conn: sa.Connection) -> str:
    """``_loaded_at`` as a number (microseconds): one float per row instead of one string."""
    if is_sqlite(conn):
        return 'CAST(round((julianday("_loaded_at") - 2440587.5) * 86400000000) AS INTEGER) AS "_loaded_at"'
    return 'CAST(EXTRACT(EPOCH FROM "_loaded_at") * 1000000 AS BIGINT) AS "_loaded_at"'


def _read(conn: sa.Connection, schema: str, table: str, cols: Sequence[str], *, loaded: bool = False) -> pd.DataFrame:
    """``_id`` and ``cols`` of every row, ordered by ``_id``; text columns as categoricals.

    The driver makes one string object per cell; read in chunks and kept as codes with one
    copy of each distinct value, a million rows of quasi-identifiers take megabytes, not
    hundreds of them."""
    q = conn.dialect.identifier_preparer.quote
    select = ", ".join([q("_id"), *(q(c) for c in cols), *([_loaded_expr(conn)] if loaded else [])])
    parts = []
    for chunk in read_chunks(conn, f"SELECT {select} FROM {q(schema)}.{q(table)} ORDER BY _id", CHUNK):
        for c in cols:
            # pandas 3 reads text as its ``str`` dtype, not object: both become codes.
            if chunk[c].dtype == object or pd.api.types.is_string_dtype(chunk[c].dtype):
                chunk[c] = pd.Categorical(chunk[c])
        parts.append(chunk)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ["_id", *cols, *(["_loaded_at"] if loaded else [])]})
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    for c in cols:  # chunks' categoricals with different categories concatenate as object
        pieces = [p[c] for p in parts]
        if len(parts) > 1 and all(isinstance(x.dtype, pd.CategoricalDtype) for x in pieces):
            out[c] = union_categoricals(pieces, ignore_order=True)
    return out


def _values(s: pd.Series) -> np.ndarray:
    """Plain Python values, missing ones None: comparable whatever the dtype (categorical,
    nullable, object) the read or the decision left."""
    out = s.astype(object).to_numpy(copy=True)
    out[pd.isna(out)] = None
    return out


def _differs(a: pd.DataFrame, b: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    out = np.zeros(len(a), dtype=bool)
    for c in cols:
        out |= _values(a[c]) != _values(b[c])
    return out


def _stage_ids(conn: sa.Connection, ids: np.ndarray) -> None:
    """A temporary table of the ids to move: one join instead of thousands of bound values.
    Fed in slices, so a million ids never become a million Python tuples at once."""
    if is_sqlite(conn):
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {_IDS} (_id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql(f"DELETE FROM {_IDS}")
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {_IDS} (_id BIGINT PRIMARY KEY) ON COMMIT DROP")
        conn.exec_driver_sql(f"TRUNCATE {_IDS}")
    for start in range(0, len(ids), 50_000):
        part = zip(ids[start:start + 50_000].tolist())
        if is_sqlite(conn):
            conn.connection.driver_connection.executemany(f"INSERT INTO {_IDS} VALUES (?)", part)
        else:
            insert_rows(conn, sa.table(_IDS), ["_id"], part)


def _update_cells(conn: sa.Connection, table: sa.Table, column: str, kind: str, rows: pd.DataFrame) -> None:
    """Set ``column`` of the rows ``rows`` (``_id``, ``column``) names, in one statement per dialect."""
    q = conn.dialect.identifier_preparer.quote
    target = f"{q(ANALYTICS)}.{q(table.name)}"
    values = column_values(rows[column], kind, is_sqlite(conn))
    pairs = list(zip(values, rows["_id"].astype(int).tolist(), strict=True))
    if is_sqlite(conn):
        conn.connection.driver_connection.executemany(f"UPDATE {target} SET {q(column)} = ? WHERE _id = ?", pairs)
        return
    fix = "_suara_release_fix"
    conn.exec_driver_sql(f"CREATE TEMP TABLE {fix} ON COMMIT DROP AS SELECT {q(column)}, _id FROM {target} LIMIT 0")
    insert_rows(conn, sa.table(fix), [column, "_id"], pairs)
    conn.exec_driver_sql(f"UPDATE {target} AS t SET {q(column)} = f.{q(column)} FROM {fix} AS f WHERE t._id = f._id")
    conn.exec_driver_sql(f"DROP TABLE {fix}")


def release(conn: sa.Connection, form_id: str, shapes: Mapping[tuple[str, str], TableShape],
            tables: Mapping[tuple[str, str], sa.Table], columns: Mapping[str, Sequence[str]],
            decide: Decision, run_id: str, now: dt.datetime) -> ReleaseCounts:
    """Bring the form's analytics tables to the state ``decide`` gives for the whole candidate
    set. ``columns`` names, per analytics submission table, the columns ``decide`` reads; a
    table it does not name is released whole."""
    root = sql_name(form_id)
    twin_root = candidate_name(root)
    q = conn.dialect.identifier_preparer.quote
    cols = [c for c in columns.get(root, ()) if c in tables[(ANALYTICS, root)].c]
    twin = _read(conn, RESTRICTED, twin_root, cols, loaded=True)
    decided, audit = decide({root: twin[["_id", *cols]]} if cols else {})
    want = twin[["_id", "_loaded_at"]]
    if cols:
        want = want.merge(decided[root][["_id", *cols]], on="_id", how="inner")
    have = _read(conn, ANALYTICS, root, cols, loaded=True)
    want_ids, have_ids = want["_id"].to_numpy(np.int64), have["_id"].to_numpy(np.int64)
    in_analytics = np.isin(want_ids, have_ids)
    stale_ids = np.empty(0, dtype=np.int64)
    if in_analytics.any():
        # Only rows already in analytics are compared (a first release compares none: a merge
        # with the empty analytics table made a column of a million missing values per
        # compared column, ~90 MB at a million rows).
        kept = want.loc[in_analytics].merge(have, on="_id", how="inner", suffixes=("", "_have"))
        check = [*cols, "_loaded_at"]
        stale = _differs(kept[check], kept[[c + "_have" for c in check]].set_axis(check, axis=1), check)
        stale_ids = kept.loc[stale, "_id"].to_numpy(np.int64)
        del kept
    write = np.unique(np.concatenate([want_ids[~in_analytics], stale_ids]))
    removed = np.setdiff1d(have_ids, want_ids)
    del have, have_ids
    counts = ReleaseCounts(candidates=len(twin), released=len(want), written=len(write), removed=len(removed))

    form_keys = [k for k in tables if shapes[k].form_id == form_id]
    children = [k for k in form_keys if k[0] == ANALYTICS and shapes[k].is_repeat]
    # Every candidate written (a first sync, a changed decision): every analytics row is
    # rewritten or removed, so the tables are emptied and copied whole, without staging a
    # million ids and looking each row up in them (~2 s of ~14 s at a million).
    whole = len(write) == len(twin)
    only = "" if whole else f" WHERE _id IN (SELECT _id FROM {_IDS})"
    if len(write) or len(removed):
        if not whole:
            _stage_ids(conn, np.union1d(write, removed))
        for k in [*sorted(children, key=lambda k: -k[1].count("__")), (ANALYTICS, root)]:
            conn.exec_driver_sql(f"DELETE FROM {q(ANALYTICS)}.{q(k[1])}{only}")
    if len(write):
        if not whole:
            _stage_ids(conn, write)
        for k in [(ANALYTICS, root), *sorted(children, key=lambda k: k[1].count("__"))]:
            names = ", ".join(q(c.name) for c in tables[k].columns)
            conn.exec_driver_sql(
                f"INSERT INTO {q(ANALYTICS)}.{q(k[1])} ({names}) SELECT {names} "
                f"FROM {q(RESTRICTED)}.{q(candidate_name(k[1]))}{only}")
        # Cells the decision changed (suppressed, recoded) differ from the twin's values.
        # Both frames are ordered by _id and hold every written id, so rows align by position.
        moved = want.loc[want["_id"].isin(write), ["_id", *cols]].reset_index(drop=True)
        source = twin.loc[twin["_id"].isin(write), cols].reset_index(drop=True)
        kinds = {name: kind for name, kind, _ in shapes[(ANALYTICS, root)].columns}
        for c in cols:
            changed = moved.loc[_differs(moved[[c]], source[[c]], [c])]
            if len(changed):
                _update_cells(conn, tables[(ANALYTICS, root)], c, kinds[c], changed[["_id", c]])
    record = {"event": RELEASE_EVENT, **dict(audit), "release": counts.as_dict()}
    conn.execute(ops.privacy_audits.insert().values(run_id=run_id, form_id=form_id,
                                                    audit=_audit_json(record), created_at=now))
    return counts
