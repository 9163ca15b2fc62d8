"""Whole-table reads in chunks at driver level, for the steps that read every row (the release
step's k-anonymity decision, the reporting refresh's indicator sums).

``pandas.read_sql`` goes through SQLAlchemy's result, which wraps every fetched tuple in a
``Row`` before pandas takes it apart again: at a million rows that was ~6 s of a single-core
tail while the other core sat idle (measured: 125 ms of 280 ms per 20,000 rows read twice).
Here the driver's tuples go straight into ``DataFrame.from_records``, which converts the
columns exactly as ``read_sql`` does (the same object-array conversion, floats coerced), and
on PostgreSQL a server-side cursor keeps memory bounded by one chunk, as ``stream_results``
did.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa

from warehouse.session import is_sqlite

_cursor_names = (f"suara_read_{n}" for n in itertools.count(1))
PG_FETCH_ROWS = 2_000  # rows per round trip of a PostgreSQL server-side cursor


def read_chunks(conn: sa.Connection, sql: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``sql`` (plain SQL text, no parameters) as frames of at most ``chunk_rows``
    rows, columns named as the query names them; nothing for an empty result. Runs inside
    the caller's transaction."""
    driver = conn.connection.driver_connection
    sqlite = is_sqlite(conn)
    # A named cursor lives on the server. Its rows are fetched a few thousand at a time: libpq
    # holds each fetched batch whole beside the Python tuples made from it, and a million-row
    # release fetched 50,000 at a time went ~20 MB past what SQLAlchemy's small batches held.
    cur = driver.cursor() if sqlite else driver.cursor(name=next(_cursor_names))
    batch = chunk_rows if sqlite else min(chunk_rows, PG_FETCH_ROWS)
    try:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        rows: list = []
        while more := cur.fetchmany(min(batch, chunk_rows - len(rows))):
            rows += more
            if len(rows) == chunk_rows:
                yield pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
                rows = []
        if rows:
            yield pd.DataFrame.from_records(rows, columns=names, coerce_float=True)
    finally:
        cur.close()
