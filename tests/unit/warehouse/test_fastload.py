"""Frame columns → driver values per kind (the loader's fast paths write these as they are)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from suara.errors import WarehouseError
from warehouse.fastload import column_values, frame_rows, typed_columns
from warehouse.load import identical


def test_column_values__aware_datetimes__naive_utc():
    """Should store +07:00 times as UTC, in SQLAlchemy's SQLite text format or as datetimes."""
    s = pd.Series(["2026-01-01T10:00:00+07:00", None])
    assert column_values(s, "datetime", sqlite=True) == ["2026-01-01 03:00:00.000000", None]
    assert column_values(s, "datetime", sqlite=False) == [dt.datetime(2026, 1, 1, 3, 0), None]


def test_column_values__dates_and_times__parsed():
    """Should write dates as dates and Kobo time strings as times."""
    assert column_values(pd.Series(pd.to_datetime(["2026-02-03", None])), "date", sqlite=True) == ["2026-02-03", None]
    assert column_values(pd.Series(["10:30:00.000+07:00", "7:05"]), "time", sqlite=False) == [
        dt.time(10, 30), dt.time(7, 5)]


def test_column_values__nullable_integers_and_booleans__python_values():
    """Should turn Int64 with NA into ints and None, and booleans into 0/1 on SQLite."""
    assert column_values(pd.Series([1, None], dtype="Int64"), "integer", sqlite=False) == [1, None]
    assert column_values(pd.Series(["3", None]), "integer", sqlite=True) == [3, None]
    assert column_values(pd.Series([True, False, None], dtype="boolean"), "boolean", sqlite=True) == [1, 0, None]


def test_frame_rows__not_an_integer__clear_error_without_value():
    """Should name the table and column, never the offending value."""
    frame = pd.DataFrame({"workers": ["many-secret"]})
    with pytest.raises(WarehouseError) as err:
        frame_rows(frame, {"workers": "integer"}, sqlite=True, table="wh_demo")
    assert "wh_demo.workers" in str(err.value) and "many-secret" not in str(err.value)


def test_typed_columns__fast_paths__same_values_as_column_values():
    """Should give exactly what column_values gives, per column, whatever the object column holds."""
    frame = pd.DataFrame({
        "_id": pd.array([1, 2, 3, 4], dtype="Int64"),
        "n": pd.array([5, None, 7, 8], dtype="Int64"),
        "m": [1, 2, 3, 4],
        "t": ["a", None, float("nan"), pd.NA],
        "mixed": [1, 1.0, True, "1"],
        "x": pd.array([1.5, None, -0.0, 2], dtype="Float64"),
    })
    kinds = {"_id": "integer", "n": "integer", "m": "flag", "t": "text", "mixed": "choice", "x": "decimal"}
    values, plain, nullable = typed_columns(frame, kinds, sqlite=True, table="wh_demo")
    expected = {name: column_values(frame[name], kind, sqlite=True) for name, kind in kinds.items()}
    assert list(values) == list(kinds)
    assert {n: [(type(v), v) for v in vs] for n, vs in values.items()} == {
        n: [(type(v), v) for v in vs] for n, vs in expected.items()}
    assert values["t"] == ["a", None, None, None]
    assert plain == {"_id", "n", "m"}  # one block with a non-string: no text column is plain
    assert nullable == {"n", "t", "x"}


def test_identical__equal_under_eq__told_apart_by_type_and_sign():
    """Should tell 1 from 1.0 and True, and 0.0 from -0.0, unless both lists are declared plain."""
    assert identical(["a", None], ["a", None])
    assert not identical([1], [1.0]) and not identical([1], [True]) and not identical([0.0], [-0.0])
    assert identical([1.5, None], [1.5, None]) and not identical(["a"], ["b"], plain=True)


def _zones():
    """A restricted and a candidate frame built as anonymising builds them: side by side from the
    same column objects, the candidate with its own (pseudonymised) name column."""
    ids = pd.Series(pd.array([1, 2, 3], dtype="Int64"))
    shared = pd.Series(["a", None, "c"], dtype=object)
    mixed = pd.Series([1, "x", None], dtype=object)
    restricted = pd.concat([ids, shared, mixed, pd.Series(["name-1", "name-2", None], dtype=object)], axis=1)
    restricted.columns = ["_id", "q1", "q2", "name"]
    candidate = pd.concat([ids, shared, mixed, pd.Series(["p:9f", "p:4a", None], dtype=object)], axis=1)
    candidate.columns = ["_id", "q1", "q2", "name"]
    return restricted, candidate


KINDS = {"_id": "integer", "q1": "text", "q2": "choice", "name": "text"}


def test_typed_columns__with_a_batch_memo__shared_columns_converted_once_same_values():
    """Should hand the candidate frame the very lists converted for the restricted one where the
    two hold the same column, and convert the rest: values exactly as without the memo."""
    restricted, candidate = _zones()
    memo: dict = {}
    first = typed_columns(restricted, KINDS, sqlite=True, table="t", memo=memo)
    second = typed_columns(candidate, KINDS, sqlite=True, table="t", memo=memo)
    assert second[0]["q1"] is first[0]["q1"] and second[0]["q2"] is first[0]["q2"]
    assert second[0]["name"] is not first[0]["name"]
    for frame, got in ((restricted, first), (candidate, second)):
        alone = typed_columns(frame, KINDS, sqlite=True, table="t")
        assert got[0] == alone[0] and got[2] == alone[2]
    assert second[0]["name"] == ["p:9f", "p:4a", None]
    # A column called plain compares exactly with == (only str/None, or only int/None).
    for values, plain, _ in (first, second):
        assert "q2" not in plain
        assert all(len({type(v) for v in values[c]} - {type(None)}) <= 1 for c in plain)


def test_typed_columns__with_a_batch_memo__other_rows_of_the_same_memory_are_not_reused():
    """Should convert again a column that starts at the same place but holds fewer rows (a frame
    filtered after anonymising, say), rather than hand over the longer list."""
    restricted, _ = _zones()
    memo: dict = {}
    typed_columns(restricted, KINDS, sqlite=True, table="t", memo=memo)
    fewer = restricted.iloc[:2]
    got = typed_columns(fewer, KINDS, sqlite=True, table="t", memo=memo)[0]
    assert got["q1"] == ["a", None] and got["name"] == ["name-1", "name-2"]
