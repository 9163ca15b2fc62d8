"""Bulk writes, one fast path per dialect, inside the caller's transaction.

* SQLite: the driver's own ``executemany`` on tuples (C loop; SQLAlchemy's per-row
  processing would triple the cost) with ``INSERT … ON CONFLICT DO UPDATE``.
* PostgreSQL: psycopg 3 ``COPY`` — straight into the table for plain inserts, or into a
  temporary staging table followed by one ``INSERT … SELECT … ON CONFLICT DO UPDATE``.

Frames are converted column by column into plain Python values of the column's kind (stack.md
P15: per-row conversion costs as much as the insert). On SQLite, dates and times are written
in the text format SQLAlchemy's own SQLite types read back, so ORM/Core reads see real dates.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from suara.errors import WarehouseError
from warehouse.session import is_sqlite

ID_CHUNK = 10_000  # ids per DELETE … IN (…): under SQLite's 32,766 and PostgreSQL's 65,535 binds
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?")


def _datetimes(s: pd.Series) -> pd.Series:
    """Naive UTC timestamps (aware values are converted; naive ones are taken as UTC)."""
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s


def _time(v) -> dt.time | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, dt.time):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.datetime):
        return v.time()
    m = _TIME.match(str(v))
    if not m:
        return None
    h, mi, sec, frac = m.groups()
    return dt.time(int(h), int(mi), int(sec or 0), int((frac or "0").ljust(6, "0")))


def column_values(s: pd.Series, kind: str, sqlite: bool) -> list:
    """One column as a list of Python values (None for missing) ready for the driver."""
    if kind in ("integer", "flag"):
        if not pd.api.types.is_integer_dtype(s):
            s = pd.to_numeric(s, errors="raise")
        return s.astype("Int64").to_numpy(dtype=object, na_value=None).tolist()
    if kind == "decimal":
        return pd.to_numeric(s, errors="raise").astype("Float64").to_numpy(dtype=object, na_value=None).tolist()
    if kind == "boolean":
        if not (pd.api.types.is_bool_dtype(s) or s.dtype == "boolean"):
            s = s.map(lambda v: None if v is None or v is pd.NA or v != v
                      else str(v).strip().lower() in ("1", "true", "yes", "1.0")).astype("boolean")
        values = s.astype("boolean").to_numpy(dtype=object, na_value=None).tolist()
        return [None if v is None else int(v) for v in values] if sqlite else values
    if kind == "datetime":
        s = _datetimes(s)
        if sqlite:
            return s.dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object).where(s.notna(), None).tolist()
        return [None if v is pd.NaT else v.to_pydatetime() for v in s]
    if kind == "date":
        if not pd.api.types.is_datetime64_any_dtype(s):
            s = pd.to_datetime(s, errors="coerce", format="mixed")
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        if sqlite:
            return s.dt.strftime("%Y-%m-%d").astype(object).where(s.notna(), None).tolist()
        return [None if v is pd.NaT else v.date() for v in s]
    if kind == "time":
        values = [_time(v) for v in s.tolist()]
        return [None if v is None else v.isoformat(timespec="microseconds") for v in values] if sqlite else values
    # text, choice, choices: strings as given
    return s.to_numpy(dtype=object, na_value=None).tolist()


_TEXT_KINDS = frozenset({"text", "choice", "choices"})
_INT_KINDS = frozenset({"integer", "flag"})


def _text_block(frame: pd.DataFrame, names: list[str]) -> tuple[list[list], bool, list[bool]]:
    """Object columns that pass through as given, converted together: one 2-D copy, one
    missing-value mask and one ``tolist`` instead of a Series, an ``isna`` and a ``to_numpy``
    per column (those per-column round trips were most of the load stage's CPU). Also says
    whether every value is a string or None, and which columns hold None."""
    # Column-major: a frame's values come out Fortran-ordered, so the transpose is the
    # contiguous one (no copy in isna's or infer_dtype's ravel).
    columns = frame[names].to_numpy(dtype=object, copy=True).T
    missing = pd.isna(columns)
    if missing.any():
        columns[missing] = None
    strings = pd.api.types.infer_dtype(columns.ravel(order="K"), skipna=True) in ("string", "empty")
    return columns.tolist(), strings, missing.any(axis=1).tolist()


def _stored_arrays(frame: pd.DataFrame, names: list[str]) -> list[np.ndarray] | None:
    """The arrays pandas keeps the named object columns in (no copy), or None if this pandas
    does not expose them (``_get_column_array`` is internal, in pandas since 1.x)."""
    get = getattr(frame, "_get_column_array", None)
    if get is None:
        return None
    at = {c: i for i, c in enumerate(frame.columns)}
    arrays = [get(at[n]) for n in names]
    return arrays if all(isinstance(a, np.ndarray) and a.ndim == 1 for a in arrays) else None


def _text_columns(frame: pd.DataFrame, names: list[str], memo: dict | None
                  ) -> tuple[list[list], list[bool], list[bool]]:
    """``_text_block`` for ``names``, per column: (values, only str/None, holds None).

    With ``memo`` (one per batch), a column stored in the same memory as one converted
    before — the restricted and candidate frames of a page share most columns (anonymising
    builds both from the same arrays) — gets that column's list back, the same object: its
    conversion is skipped and ``identical`` sees ``a is b``. The memo holds each array, so
    its memory cannot be reused for another column while the batch lasts."""
    arrays = _stored_arrays(frame, names) if memo is not None else None
    if arrays is None:
        lists, strings, missing = _text_block(frame, names)
        return lists, [strings] * len(names), missing
    keys = [("text", a.__array_interface__["data"][0], a.strides[0], len(a)) for a in arrays]
    todo = [j for j, k in enumerate(keys) if k not in memo]
    if todo:
        lists, strings, missing = _text_block(frame, [names[j] for j in todo])
        for j, values, holds_none in zip(todo, lists, missing, strict=True):
            memo[keys[j]] = (arrays[j], values, strings, holds_none)
    hits = [memo[k] for k in keys]
    return [h[1] for h in hits], [h[2] for h in hits], [h[3] for h in hits]


def _int_column(s: pd.Series) -> list:
    """An integer-typed column as Python ints (None for missing) without an object round trip."""
    values = s.to_numpy(dtype=np.int64, na_value=0).tolist()
    missing = s.isna().to_numpy()
    if missing.any():
        for i in np.flatnonzero(missing).tolist():
            values[i] = None
    return values


def typed_columns(frame: pd.DataFrame, kinds: dict[str, str], sqlite: bool, table: str,
                  memo: dict | None = None) -> tuple[dict[str, list], set[str], set[str]]:
    """``column_lists``; the columns known to hold only str/None or only int/None (for those,
    ``==`` on the lists is exact: no 1 == 1.0 == True); and the columns holding None.
    ``memo`` (a dict kept for one batch) lets frames sharing columns convert them once."""
    dtypes = frame.dtypes
    text = [n for n, k in kinds.items() if k in _TEXT_KINDS and pd.api.types.is_object_dtype(dtypes[n])]
    out: dict[str, list] = dict.fromkeys(kinds)  # type: ignore[arg-type]
    plain: set[str] = set()
    nullable: set[str] = set()
    if text:
        columns, strings, missing = _text_columns(frame, text, memo)
        out.update(zip(text, columns, strict=True))
        nullable.update(n for n, m in zip(text, missing, strict=True) if m)
        plain.update(n for n, only_str in zip(text, strings, strict=True) if only_str)
    done = set(text)
    for name, kind in kinds.items():
        if name in done:
            continue
        try:
            if kind in _INT_KINDS and pd.api.types.is_integer_dtype(dtypes[name]):
                out[name] = _int_column(frame[name])
                plain.add(name)
            else:
                out[name] = column_values(frame[name], kind, sqlite)
            if None in out[name]:
                nullable.add(name)
        except (ValueError, TypeError):
            raise WarehouseError(
                f"Column {table}.{name} holds values that are not {kind}.",
                code="WH_020",
                hint="Frames must be typed by suara.cast before loading; check the validation stage.",
            ) from None
    return out, plain, nullable


def column_lists(frame: pd.DataFrame, kinds: dict[str, str], sqlite: bool, table: str) -> dict[str, list]:
    """Each column of ``kinds`` as driver-ready values, in the order of ``kinds``; a column
    that does not fit its kind is named in the error, its values never are.

    The common cases (object text columns; integer-typed integer columns) take fast paths
    that give exactly what ``column_values`` gives; everything else goes through it."""
    return typed_columns(frame, kinds, sqlite, table)[0]


def frame_rows(frame: pd.DataFrame, kinds: dict[str, str], sqlite: bool, table: str) -> list[tuple]:
    cols = column_lists(frame, kinds, sqlite, table)
    return list(zip(*cols.values(), strict=True)) if cols else []


def _q(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _qualified(conn: sa.Connection, table: sa.Table) -> str:
    return f"{_q(conn, table.schema)}.{_q(conn, table.name)}" if table.schema else _q(conn, table.name)


def _copy(conn: sa.Connection, target: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    cols = ", ".join(_q(conn, c) for c in columns)
    with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY {target} ({cols}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def insert_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple],
                key: Sequence[str] = ()) -> None:
    """Insert rows (``key`` is accepted so callers can swap in ``upsert_rows``)."""
    if not rows:
        return
    if is_sqlite(conn):
        marks = ", ".join("?" for _ in columns)
        cols = ", ".join(_q(conn, c) for c in columns)
        conn.connection.driver_connection.executemany(
            f"INSERT INTO {_qualified(conn, table)} ({cols}) VALUES ({marks})", rows)
    else:
        _copy(conn, _qualified(conn, table), columns, rows)


# Bound in place of None on SQLite (see ``insert_columns``); any string would do.
NULL_STANDIN = "suara:null:5b0e3c9a"


def insert_columns(conn: sa.Connection, table: sa.Table, values: Mapping[str, list],
                   nullable: Collection[str] | None = None) -> None:
    """``insert_rows`` from column lists; ``nullable`` names the columns that may hold None
    (None: any column may).

    On SQLite the driver binds None through a failing adapter look-up (~0.4 µs, three times a
    string) and a page holds hundreds of thousands of them, so a column holding None binds a
    stand-in string that ``NULLIF(?, stand-in)`` turns back into NULL. NULLIF returns every
    other value unchanged and no number or blob equals a text value; only a string equal to
    the stand-in could be lost, so a column holding one is bound as it is."""
    columns = list(values)
    if not columns or not values[columns[0]]:
        return
    if not is_sqlite(conn):
        _copy(conn, _qualified(conn, table), columns, zip(*values.values(), strict=True))
        return
    marks, lists = [], []
    for c in columns:
        col = values[c]
        if (nullable is None or c in nullable) and None in col and NULL_STANDIN not in col:
            marks.append(f"NULLIF(?, '{NULL_STANDIN}')")
            lists.append([NULL_STANDIN if v is None else v for v in col])
        else:
            marks.append("?")
            lists.append(col)
    conn.connection.driver_connection.executemany(
        f"INSERT INTO {_qualified(conn, table)} ({', '.join(_q(conn, c) for c in columns)}) "
        f"VALUES ({', '.join(marks)})", zip(*lists, strict=True))


_stage_counter = iter(range(1, 1 << 62))


def insert_copied(conn: sa.Connection, table: sa.Table, source: sa.Table, key: Sequence[str],
                  shared: Sequence[str], columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert rows into ``table`` whose ``shared`` columns are copied, inside the database, from
    the ``source`` rows with the same ``key``; ``rows`` hold the key and then ``columns``.

    The candidate twin of a restricted table repeats most of its columns; binding every value
    a second time was a third of the load stage (sqlite3 binds ~0.3 µs per value; an
    ``INSERT … SELECT`` copies a page in milliseconds). The caller guarantees that ``source``
    holds exactly these values under these keys. The rest travels through a staging table
    (untyped on SQLite, so the target's column affinity applies once, as for a direct insert;
    the target's own types on PostgreSQL, so COPY parses exactly as into the target)."""
    if not rows:
        return
    q = functools.partial(_q, conn)
    stage = q(f"_suara_stage_{next(_stage_counter)}")
    staged = [*key, *columns]
    on = " AND ".join(f"s.{q(k)} = d.{q(k)}" for k in key)
    picks = ", ".join([*(f"d.{q(c)}" for c in staged), *(f"s.{q(c)}" for c in shared)])
    cols = ", ".join(q(c) for c in (*staged, *shared))
    target, src = _qualified(conn, table), _qualified(conn, source)
    if is_sqlite(conn):
        driver = conn.connection.driver_connection
        driver.execute(f"CREATE TEMP TABLE {stage} ({', '.join(q(c) for c in staged)})")
        driver.executemany(f"INSERT INTO {stage} VALUES ({', '.join('?' for _ in staged)})", rows)
        # CROSS JOIN keeps the staged page as the outer loop: one key look-up per row, in
        # page order (the order a direct insert would have used).
        driver.execute(f"INSERT INTO {target} ({cols}) SELECT {picks} FROM {stage} AS d "
                       f"CROSS JOIN {src} AS s ON {on} ORDER BY d.rowid")
        driver.execute(f"DROP TABLE {stage}")
        return
    staged_cols = ", ".join(q(c) for c in staged)
    conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {staged_cols} FROM {target} WITH NO DATA")
    _copy(conn, stage, staged, rows)
    # The id filter lets the planner reach the source rows by its key index; the staging
    # table has no statistics.
    ids = _pg_ids(sorted({r[0] for r in rows}))
    conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {picks} FROM {stage} AS d JOIN {src} AS s "
                         f"ON {on} WHERE s.{q(key[0])} = ANY(%(ids)s::bigint[])", {"ids": ids})
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def _pg_ids(values: Sequence) -> str:
    """An integer array literal: psycopg's list adaptation inspects every element in Python
    (1.5 ms per thousand ids), the server parses this in microseconds."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


def upsert_rows(conn: sa.Connection, table: sa.Table, columns: Sequence[str], rows: list[tuple],
                key: Sequence[str]) -> None:
    """Insert rows, replacing the non-key columns of rows whose key already exists."""
    if not rows:
        return
    cols = ", ".join(_q(conn, c) for c in columns)
    keys = ", ".join(_q(conn, c) for c in key)
    updates = [c for c in columns if c not in key]
    conflict = (f"DO UPDATE SET {', '.join(f'{_q(conn, c)} = excluded.{_q(conn, c)}' for c in updates)}"
                if updates else "DO NOTHING")
    target = _qualified(conn, table)
    if is_sqlite(conn):
        marks = ", ".join("?" for _ in columns)
        conn.connection.driver_connection.executemany(
            f"INSERT INTO {target} ({cols}) VALUES ({marks}) ON CONFLICT ({keys}) {conflict}", rows)
        return
    stage = _q(conn, f"_suara_stage_{next(_stage_counter)}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} (LIKE {target} INCLUDING DEFAULTS) ON COMMIT DROP")
    _copy(conn, stage, columns, rows)
    conn.exec_driver_sql(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT ({keys}) {conflict}")
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def _in(conn: sa.Connection, column: sa.Column, values: list) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter instead of thousands
    (the driver parses every distinct statement, which dominated the cost of big IN lists)."""
    if is_sqlite(conn):
        return column.in_(values)
    return column == sa.any_(sa.bindparam(None, values, type_=postgresql.ARRAY(column.type)))


def _json_value(v):
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"{type(v).__name__} is not an id")


@functools.lru_cache(maxsize=512)
def _where_in_sql(sqlite: bool, verb: str, target: str, column: str, equal: tuple[str, ...]) -> str:
    """One statement text per (table, column, filters): the drivers cache their prepared
    statements by text (sqlite3's statement cache; psycopg prepares a query it sees again),
    so every page after the first skips parsing and planning. The ids travel as ONE
    parameter — a JSON array on SQLite (``json_each``), an array on PostgreSQL."""
    if sqlite:
        cond = f"{column} IN (SELECT value FROM json_each(?))"
        extra = "".join(f" AND {c} = ?" for c in equal)
    else:
        cond = f"{column} = ANY(%s::bigint[])"
        extra = "".join(f" AND {c} = %s" for c in equal)
    head = f"SELECT {column} FROM {target}" if verb == "select" else f"DELETE FROM {target}"
    return f"{head} WHERE {cond}{extra}"


def _driver_where_in(conn: sa.Connection, verb: str, table: sa.Table, column: str, values: list,
                     equal: Mapping[str, object]) -> tuple[set, int]:
    """Integer-key look-up or delete at driver level, skipping SQLAlchemy's per-call statement
    compilation (it expanded a thousand IN binds per call: 15 % of the load stage)."""
    sqlite = is_sqlite(conn)
    names = tuple(equal)
    sql = _where_in_sql(sqlite, verb, _qualified(conn, table), _q(conn, column), tuple(_q(conn, c) for c in names))
    ids = json.dumps(values, default=_json_value) if sqlite else _pg_ids(values)
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql, (ids, *(equal[c] for c in names)))
        if verb == "select":
            return {r[0] for r in cur.fetchall()}, 0
        return set(), cur.rowcount or 0
    finally:
        cur.close()


def max_ids(conn: sa.Connection, targets: Sequence[tuple[sa.Table, Mapping[str, object]]],
            column: str = "_id") -> list:
    """``max(column)`` of each table among its rows matching the ``equal`` filters, in one
    round trip (each is one step down the key index on both dialects); None for no rows."""
    if not targets:
        return []
    sqlite = is_sqlite(conn)
    mark = "?" if sqlite else "%s"
    col = _q(conn, column)
    parts, params = [], []
    for table, equal in targets:
        where = " AND ".join(f"{_q(conn, c)} = {mark}" for c in equal)
        parts.append(f"(SELECT max({col}) FROM {_qualified(conn, table)}{' WHERE ' + where if where else ''})")
        params.extend(equal.values())
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(f"SELECT {', '.join(parts)}", tuple(params))
        return list(cur.fetchone())
    finally:
        cur.close()


def _integer_column(table: sa.Table, column: str) -> bool:
    """Whether the driver-level path applies: its ids are bound as integers."""
    try:
        return isinstance(table.c[column].type, sa.Integer)
    except KeyError:
        return False


def delete_where_in(conn: sa.Connection, table: sa.Table, column: str, values: Sequence,
                    extra: sa.ColumnElement[bool] | None = None, *,
                    equal: Mapping[str, object] | None = None) -> int:
    """DELETE rows whose ``column`` is in ``values`` (and whose ``equal`` columns have those
    values; ``extra`` is any further condition); returns the rows deleted."""
    values = list(values)
    if not values:
        return 0
    if extra is None and _integer_column(table, column):
        return _driver_where_in(conn, "delete", table, column, values, equal or {})[1]
    total = 0
    for i in range(0, len(values), ID_CHUNK):
        cond = sa.and_(_in(conn, table.c[column], values[i:i + ID_CHUNK]),
                       *(table.c[c] == v for c, v in (equal or {}).items()), *(() if extra is None else (extra,)))
        total += conn.execute(table.delete().where(cond)).rowcount or 0
    return total


def select_where_in(conn: sa.Connection, table: sa.Table, column: str, values: Sequence,
                    extra: sa.ColumnElement[bool] | None = None, *,
                    equal: Mapping[str, object] | None = None) -> set:
    """The subset of ``values`` present in ``table.column`` (among rows matching ``equal``
    and ``extra``)."""
    values = list(values)
    if not values:
        return set()
    if extra is None and _integer_column(table, column):
        return _driver_where_in(conn, "select", table, column, values, equal or {})[0]
    found: set = set()
    for i in range(0, len(values), ID_CHUNK):
        cond = sa.and_(_in(conn, table.c[column], values[i:i + ID_CHUNK]),
                       *(table.c[c] == v for c, v in (equal or {}).items()), *(() if extra is None else (extra,)))
        found.update(conn.execute(sa.select(table.c[column]).where(cond)).scalars())
    return found
