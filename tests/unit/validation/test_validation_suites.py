"""Suites derived from the Form model: deterministic, reviewed, and complete."""

from __future__ import annotations

import json

import pytest

from suara.forms import load_forms
from suara.xpath import XPathUnsupported
from tests.unit.validation.forms import tiny_form
from validation.suites import (
    SNAPSHOT_DIR,
    check_form,
    choices_regex,
    form_suites,
    snapshot,
    translate_constraint,
)


def test_snapshots__match_the_forms(forms_dir):
    """The reviewed JSON in validation/expectations is what the forms generate today
    (regenerate with: python -m validation --write)."""
    for form in load_forms(forms_dir):
        path = SNAPSHOT_DIR / f"{form.form_id}.json"
        assert path.read_text(encoding="utf-8") == snapshot(form), f"{path.name} is stale"
        assert json.loads(path.read_text())["version"] == form.version


def test_suites__same_form_twice__identical():
    assert snapshot(tiny_form()) == snapshot(tiny_form())


def test_suites__tiny_form__families_present():
    suites = form_suites(tiny_form())
    assert set(suites) == {"tiny", "tiny__kids"}
    by = {(s["meta"]["code"], s["meta"]["field"]): s for s in suites["tiny"]}
    assert by[("VAL_CHOICE", "consent")]["kwargs"]["value_set"] == ["yes", "no"]
    assert by[("VAL_CONSTRAINT", "total")]["type"] == "expect_column_values_to_be_between"
    assert by[("VAL_CONSTRAINT", "code")]["kwargs"]["regex"] == "^E[0-9]{2}$"
    assert by[("VAL_CONSTRAINT", "women")]["kwargs"]["column"] == "chk__constraint__women"
    assert ("VAL_REQUIRED", "total") in by and ("VAL_IRRELEVANT", "why") in by
    assert ("VAL_TYPE", "when") in by and ("VAL_DUPLICATE_ID", "_uuid") in by
    kids = {(s["meta"]["code"], s["meta"]["field"]) for s in suites["tiny__kids"]}
    assert ("VAL_CONSTRAINT", "kid_age") in kids and ("VAL_IRRELEVANT", "kid_age") in kids


@pytest.mark.parametrize(("expr", "kind", "expected"), [
    (". >= 0 and . <= 20", "integer",
     ("expect_column_values_to_be_between",
      {"min_value": 0, "strict_min": False, "max_value": 20, "strict_max": False})),
    ("0 < .", "decimal", ("expect_column_values_to_be_between", {"min_value": 0, "strict_min": True})),
    ("string-length(.) <= 5", "text",
     ("expect_column_value_lengths_to_be_between", {"max_value": 5, "strict_max": False})),
    ("regex(., '^A[0-9]{2}$')", "text", ("expect_column_values_to_match_regex", {"regex": "^A[0-9]{2}$"})),
    (". >= 0 and . <= ${total}", "integer", None),
    (". <= today()", "date", None),
    (". >= 1 and . >= 2", "integer", None),
    ("regex(., 'x')", "integer", None),
])
def test_translate_constraint__gx_equivalent_or_computed(expr, kind, expected):
    assert translate_constraint(expr, kind) == expected


def test_translate_constraint__unsupported__refused():
    with pytest.raises(XPathUnsupported):
        translate_constraint("/data/x > 1", "integer")


def test_choices_regex__tokens_only():
    import re

    rx = re.compile(choices_regex(("a", "b.c")))
    assert rx.search("a b.c") and rx.search("a")
    assert not rx.search("a bxc") and not rx.search("ab") and not rx.search("a  b.c")


def test_check_form__unevaluable_constraint__reported_with_place():
    form = tiny_form(extra="|          | integer | q2 | Q2 |  |  | . = pulldata('f', 'a', 'b', 'c') |  |")
    problems = check_form(form)
    assert len(problems) == 1 and "q2" in problems[0] and "pulldata" in problems[0]


def test_check_form__real_forms__nothing_unchecked(forms_dir):
    for form in load_forms(forms_dir):
        assert check_form(form) == []


def test_snapshot_check__changed_form__reported_stale(tmp_path, forms_dir, capsys):
    from validation.suites import main

    text = (forms_dir / "ilo_vh_reporting.md").read_text(encoding="utf-8")
    (tmp_path / "ilo_vh_reporting.md").write_text(text.replace("^E[0-9]{2}$", "^E[0-9]{3}$"),
                                                  encoding="utf-8")
    assert main(["--forms", str(tmp_path)]) == 1
    assert "ilo_vh_reporting.json" in capsys.readouterr().out
    (tmp_path / "ilo_vh_reporting.md").write_text(text, encoding="utf-8")
    assert main(["--forms", str(tmp_path)]) == 0
