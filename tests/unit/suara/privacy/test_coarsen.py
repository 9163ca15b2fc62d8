"""Coarsening transforms and their next levels."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from suara.privacy.coarsen import (
    band_labels,
    duration_minutes,
    next_level,
    province_map,
    to_band,
    to_band_year,
    to_month,
    to_province,
    to_quarter,
)


def test_month_and_quarter_keep_the_device_local_date():
    s = pd.Series(["2024-03-31T23:30:00.000+07:00", None, "2023-12-01"])
    assert to_month(s).tolist()[::2] == ["2024-03", "2023-12"]
    assert to_quarter(s).tolist()[::2] == ["2024-Q1", "2023-Q4"]
    assert to_month(s).isna().tolist() == [False, True, False]


def test_duration_in_minutes_and_clock_errors_are_missing():
    start = pd.Series(["2024-03-12T09:15:00+07:00", "2024-03-12T09:15:00+07:00", "2024-03-12T09:15:00+07:00"])
    end = pd.Series(["2024-03-12T09:40:29+07:00", "2024-03-12T08:15:00+07:00", "2024-03-14T09:15:00+07:00"])
    assert duration_minutes(start, end).tolist()[0] == 25
    assert duration_minutes(start, end).isna().tolist() == [False, True, True]


def test_sizes_fall_in_the_declared_bands():
    s = pd.Series([0, 499, 500, 999, 1000, 2999, 3000, None], dtype="Int64")
    assert to_band(s, (500, 1000, 3000)).tolist()[:7] == [
        "<500", "<500", "500-999", "500-999", "1000-2999", "1000-2999", "3000+"]
    assert to_band_year(pd.Series([1999, 2000, 2020]), (2000, 2010, 2020)).tolist() == [
        "<2000", "2000-2009", "2020+"]


def test_district_maps_to_province_and_unknown_districts_do_not_pass(form):
    mapping = province_map(form, form.field("district"))
    assert mapping == {"3204": "32", "3374": "33"}
    assert to_province(pd.Series(["3374", "9999", None]), mapping).tolist()[0] == "33"
    assert to_province(pd.Series(["3374", "9999", None]), mapping).isna().tolist() == [False, True, True]


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=50))
def test_wider_bands_contain_the_narrower_band_of_each_value(values):
    edges = (500.0, 1000.0, 3000.0, 6000.0)
    narrow = to_band(pd.Series(values), edges)
    fn, _, wider = next_level("band", edges)
    assert fn(narrow).tolist() == to_band(pd.Series(values), wider).tolist()


def test_month_goes_to_quarter_then_year_then_stops():
    fn, t, _ = next_level("month")
    q = fn(pd.Series(["2024-05", None]))
    assert (q[0], t) == ("2024-Q2", "quarter")
    fn2, t2, _ = next_level(t)
    assert (fn2(q)[0], t2) == ("2024", "year")
    assert next_level("year") is None and next_level("keep") is None


def test_band_labels_name_their_last_member():
    assert band_labels((2000, 2010)) == ["<2000", "2000-2009", "2010+"]
