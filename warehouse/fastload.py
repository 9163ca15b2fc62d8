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
import re
from collections.abc import Iterable, Sequence

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


def column_lists(frame: pd.DataFrame, kinds: dict[str, str], sqlite: bool, table: str) -> dict[str, list]:
    """Each column of ``kinds`` as driver-ready values; a column that does not fit its kind is
    named in the error, its values never are."""
    out = {}
    for name, kind in kinds.items():
        try:
            out[name] = column_values(frame[name], kind, sqlite)
        except (ValueError, TypeError):
            raise WarehouseError(
                f"Column {table}.{name} holds values that are not {kind}.",
                code="WH_020",
                hint="Frames must be typed by suara.cast before loading; check the validation stage.",
            ) from None
    return out


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


_stage_counter = iter(range(1, 1 << 62))


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


def delete_where_in(conn: sa.Connection, table: sa.Table, column: str, values: Sequence,
                    extra: sa.ColumnElement[bool] | None = None) -> int:
    """DELETE rows whose ``column`` is in ``values`` (chunked); returns the rows deleted."""
    total = 0
    values = list(values)
    for i in range(0, len(values), ID_CHUNK):
        cond = _in(conn, table.c[column], values[i:i + ID_CHUNK])
        if extra is not None:
            cond = sa.and_(cond, extra)
        total += conn.execute(table.delete().where(cond)).rowcount or 0
    return total


def select_where_in(conn: sa.Connection, table: sa.Table, column: str, values: Sequence,
                    extra: sa.ColumnElement[bool] | None = None) -> set:
    """The subset of ``values`` present in ``table.column``."""
    found: set = set()
    values = list(values)
    for i in range(0, len(values), ID_CHUNK):
        cond = _in(conn, table.c[column], values[i:i + ID_CHUNK])
        if extra is not None:
            cond = sa.and_(cond, extra)
        found.update(conn.execute(sa.select(table.c[column]).where(cond)).scalars())
    return found
