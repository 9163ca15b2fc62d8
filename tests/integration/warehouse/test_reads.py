"""Whole-table reads at driver level give the frames ``pandas.read_sql`` gives, in chunks.

  R1 every column type the release and the refresh read (integers with and without NULLs,
     decimals, text with NULLs, a column of NULLs only, booleans) comes back with the values
     and dtypes ``read_sql`` produces, on SQLite and PostgreSQL;
  R2 rows arrive in chunks of at most the chunk size, in query order, none lost; an empty
     result yields no frame.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from warehouse import reads
from warehouse.reads import read_chunks

pytestmark = pytest.mark.integration

ROWS = [
    (1, 10, 1.5, "a", None, True),
    (2, None, None, None, None, False),
    (3, 30, 2.25, "c", None, None),
    (4, 40, 3.0, "d", None, True),
    (5, 50, 4.75, "e", None, False),
]


@pytest.fixture
def engine(warehouse_url):
    eng = sa.create_engine(warehouse_url)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (_id BIGINT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, "
                          "s VARCHAR(8), empty VARCHAR(8), b BOOLEAN)")
        c.execute(sa.text("INSERT INTO t VALUES (:i, :n, :x, :s, :e, :b)"),
                  [dict(zip("inxseb", r, strict=True)) for r in ROWS])
    yield eng
    eng.dispose()


def test_frames_match_read_sql(engine):
    sql = "SELECT _id, n, x, s, empty, b FROM t ORDER BY _id"
    with engine.connect() as c:
        expected = pd.read_sql(sa.text(sql), c)
        got = pd.concat(list(read_chunks(c, sql, 2)), ignore_index=True)
    pd.testing.assert_frame_equal(got, expected)
    assert got["n"].isna().tolist() == [False, True, False, False, False]
    assert got["x"].tolist()[::2] == [1.5, 2.25, 4.75]


def test_chunks_are_bounded_and_ordered(engine, monkeypatch):
    monkeypatch.setattr(reads, "PG_FETCH_ROWS", 1)  # PostgreSQL: a chunk gathered over fetches
    with engine.connect() as c:
        chunks = list(read_chunks(c, "SELECT _id FROM t ORDER BY _id DESC", 2))
        empty = list(read_chunks(c, "SELECT _id FROM t WHERE _id > 99", 2))
    assert [len(x) for x in chunks] == [2, 2, 1]
    assert pd.concat(chunks)["_id"].tolist() == [5, 4, 3, 2, 1]
    assert empty == []
