"""Frame columns → driver values per kind (the loader's fast paths write these as they are)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from suara.errors import WarehouseError
from warehouse.fastload import column_values, frame_rows


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
