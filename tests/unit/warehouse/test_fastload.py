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
