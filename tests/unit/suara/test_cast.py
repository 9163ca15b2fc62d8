"""Kobo strings become typed columns by field kind; cells that do not parse are reported."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.cast import cast_frame, field_kind, table_fields
from suara.forms import form_from_markdown, load_forms

FORM = form_from_markdown("""
| survey   |                  |            |       |                                   |            |
|          | type             | name       | label | calculation                       | parameters |
|          | integer          | n_int      | N     |                                   |            |
|          | decimal          | n_dec      | D     |                                   |            |
|          | date             | d          | D     |                                   |            |
|          | dateTime         | dt         | DT    |                                   |            |
|          | time             | t          | T     |                                   |            |
|          | select_one yn    | one        | O     |                                   |            |
|          | select_multiple yn | many     | M     |                                   |            |
|          | geopoint         | gp         | G     |                                   |            |
|          | acknowledge      | ack        | A     |                                   |            |
|          | range            | r          | R     |                                   | start=0 end=10 step=0.5 |
|          | calculate        | c_count    |       | count-selected(${many})           |            |
|          | calculate        | c_flag     |       | if(${one} = 'yes', 1, 0)          |            |
|          | calculate        | c_ratio    |       | ${n_int} div 2                    |            |
|          | calculate        | c_text     |       | concat(${one}, 'x')               |            |
|          | calculate        | c_bool     |       | ${n_int} > 2                      |            |
|          | note             | nt         | Note  |                                   |            |
|          | begin_repeat     | rep        | Rep   |                                   |            |
|          | integer          | rep_n      | RN    |                                   |            |
|          | end_repeat       |            |       |                                   |            |
| choices  |                  |            |       |                                   |            |
|          | list_name        | name       | label |                                   |            |
|          | yn               | yes        | Yes   |                                   |            |
|          | yn               | no         | No    |                                   |            |
| settings |                  |            |       |                                   |            |
|          | form_id          | version    |       |                                   |            |
|          | castme           | 1          |       |                                   |            |
""")


@pytest.mark.parametrize(("name", "kind"), [
    ("n_int", "integer"), ("n_dec", "decimal"), ("d", "date"), ("dt", "datetime"), ("t", "time"),
    ("one", "choice"), ("many", "choices"), ("gp", "geopoint"), ("ack", "boolean"),
    ("r", "decimal"), ("c_count", "integer"), ("c_flag", "integer"), ("c_ratio", "decimal"),
    ("c_text", "text"), ("c_bool", "boolean"),
])
def test_field_kind__by_type_and_calculation(name, kind):
    assert field_kind(FORM, FORM.field(name)) == kind


def test_table_fields__submission_and_repeat__split_by_level():
    assert "rep_n" not in {f.name for f in table_fields(FORM, "castme")}
    assert "nt" not in {f.name for f in table_fields(FORM, "castme")}
    assert [f.name for f in table_fields(FORM, "castme__rep")] == ["rep_n"]
    with pytest.raises(KeyError):
        table_fields(FORM, "castme__nope")


def test_cast_frame__good_values__typed_dtypes():
    frame = pd.DataFrame({
        "_id": ["1", "2"], "n_int": ["12", None], "n_dec": ["1.5", "-2"],
        "d": ["2024-02-29", None], "dt": ["2024-01-31T10:15:00.000+07:00", None],
        "ack": ["OK", None], "many": ["yes  no", None], "t": ["10:15:00.000+07:00", None],
        "gp": ["-6.2 106.8 0 5", None], "_form_version": ["1", "1"],
    }, dtype=object)
    typed, errors = cast_frame(FORM, "castme", frame)
    assert errors == []
    assert str(typed["n_int"].dtype) == "Int64" and typed["n_int"].iloc[0] == 12
    assert pd.isna(typed["n_int"].iloc[1])
    assert str(typed["n_dec"].dtype) == "Float64"
    assert str(typed["d"].dtype) == "datetime64[ns]"
    assert str(typed["dt"].dtype) == "datetime64[ns, UTC]"
    assert typed["dt"].iloc[0] == pd.Timestamp("2024-01-31T03:15:00Z")
    assert typed["ack"].iloc[0] is True or bool(typed["ack"].iloc[0]) is True
    assert typed["many"].iloc[0] == "yes no"
    assert str(typed["_id"].dtype) == "Int64"
    assert typed["_form_version"].tolist() == ["1", "1"]


def test_cast_frame__bad_values__reported_and_emptied():
    frame = pd.DataFrame({
        "n_int": ["3.5", "x", "7"], "n_dec": ["1,5", "2", None], "d": ["2999-01-01", "31/01/2024", "2024-01-31"],
        "t": ["25h", None, "10:00"], "gp": ["north", None, "1 2"], "ack": ["maybe", "OK", None],
    }, index=[10, 11, 12], dtype=object)
    typed, errors = cast_frame(FORM, "castme", frame)
    assert {(e.row, e.field) for e in errors} == {
        (10, "n_int"), (11, "n_int"), (10, "n_dec"), (10, "d"), (11, "d"), (10, "t"), (10, "gp"),
        (10, "ack"),
    }
    assert typed["n_int"].isna().tolist() == [True, True, False]
    assert typed.index.tolist() == [10, 11, 12]


def test_cast_frame__real_forms__every_field_has_a_kind(forms_dir):
    for form in load_forms(forms_dir):
        tables = [form.form_id] + [f"{form.form_id}__{g.name}" for g in form.repeats]
        for table in tables:
            fields = table_fields(form, table)
            frame = pd.DataFrame({f.name: [None] for f in fields}, dtype=object)
            typed, errors = cast_frame(form, table, frame)
            assert errors == [] and list(typed.columns) == [f.name for f in fields]


def test_cast_frame__javarosa_nan_from_a_calculation__empty_not_an_error():
    frame = pd.DataFrame({"c_ratio": ["NaN", "Infinity", "0.5"]}, dtype=object)
    typed, errors = cast_frame(FORM, "castme", frame)
    assert errors == []
    assert typed["c_ratio"].isna().tolist() == [True, True, False]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.integers(-10**20, 10**20).map(str),
                          st.sampled_from(["inf", "-inf", "1e400", "1e3", " 5", "2.5", "nan"])),
                min_size=1, max_size=20))
def test_cast_frame__any_strings__never_raises_and_typed_iff_whole_number(values):
    frame = pd.DataFrame({"n_int": values, "n_dec": values, "d": values, "many": values}, dtype=object)
    typed, errors = cast_frame(FORM, "castme", frame)
    bad_int = {e.row for e in errors if e.field == "n_int"}
    for i, v in enumerate(values):
        got = typed["n_int"].iloc[i]
        if i in bad_int or v is None or v in ("", "NaN", "Infinity", "-Infinity"):
            assert pd.isna(got)
        else:
            assert float(v) == got and abs(got) <= 2**53  # exact, whole, in range
    for i in bad_int:
        assert values[i] not in (None, "")
    assert all(math.isfinite(x) for x in typed["n_dec"].dropna())  # no inf/NaN as a value


_YEAR_CASES = ["2026-11-28T10:25:24.123+07:00", "1677-12-31", "1678-01-01", "2261-12-31", "2262-01-01",
               " 2020-01-01", "\t1999-", "٢٠٢٠-01-01", "2020", "20200101", "abcd-", "", "0000-", "9999-1"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(_YEAR_CASES), st.text(max_size=8),
                          st.from_regex(r"\s*\d{4}-.{0,3}", fullmatch=True)), max_size=20))
def test_year_in_range__vectorised__same_as_the_regex(values):
    from suara.cast import _YEAR, _year_in_range

    raw = pd.array(values, dtype=object).to_numpy()
    want = [v is None or ((m := _YEAR.match(v)) is not None and 1678 <= int(m.group(1)) <= 2261)
            for v in values]
    assert _year_in_range(raw, raw != None).tolist() == want  # noqa: E711
