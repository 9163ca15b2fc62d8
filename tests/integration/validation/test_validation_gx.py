"""The same suites through Great Expectations: same rows as the fast engine, no raw answer in
any output, quiet (no tqdm bars), and Data Docs that render offline."""

from __future__ import annotations

import logging
import re

import pytest

from suara.forms import load_forms
from suara.normalise import normalise
from suara.synth import generate_labelled, version_uid
from tests.unit.validation.forms import batch, good, tiny_form
from validation import validate_batch
from validation.datadocs import build_data_docs

NIK = "3175012345678901"        # a planted national ID number
PHONE = "+6281234567890"        # and a planted phone number


@pytest.mark.parametrize("form_id", ["ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"])
def test_gx_engine__real_form__same_quarantine_as_fast_engine(forms_dir, form_id):
    form = {f.form_id: f for f in load_forms(forms_dir)}[form_id]
    labelled = generate_labelled(form, 120, seed=11, edge_share=0.5)
    norm = normalise({form.version: form}, form, [s.submission for s in labelled],
                     version_map={version_uid(form): form.version})
    fast = validate_batch({form.version: form}, norm)
    gx = validate_batch({form.version: form}, norm, engine="gx")
    assert fast.quarantined, "the defects should be found"
    assert [(q._id, q.reasons) for q in gx.quarantined] == [(q._id, q.reasons) for q in fast.quarantined]
    assert [(o.code, o.field, o.failed) for o in gx.outcomes] == \
        [(o.code, o.field, o.failed) for o in fast.outcomes]


def _planted_batch():
    form = tiny_form()
    subs = [
        good(1),
        good(2, code=f"{NIK} {PHONE}"),                     # regex constraint fails
        good(3, grp__total=NIK),                             # does not parse as integer
        good(4, consent=PHONE),                              # not a choice
        good(5, grp__picks="a", grp__why=f"call {PHONE}"),   # answer to an irrelevant question
        good(6, grp__picks=f"a {NIK}"),                      # unknown code in a select_multiple
        good(7, grp__when=NIK),                              # not a date
        good(8, kids=[{"kids/kid_age": NIK}]),              # repeat row, bad integer
    ]
    return batch([form], subs)


@pytest.mark.parametrize("engine", ["fast", "gx"])
def test_validation__planted_identifier__in_no_output(engine, tmp_path, caplog, capfd):
    """Issue 5: results, artifacts, Data Docs, logs and stderr name form, field, expectation and
    counts — never a raw answer."""
    caplog.set_level(logging.DEBUG)
    norm, versions = _planted_batch()
    result = validate_batch(versions, norm, engine=engine)
    assert {q._id for q in result.quarantined} == {2, 3, 4, 5, 6, 7, 8}
    index = build_data_docs([result], tmp_path / "docs")
    outputs = {
        "quarantine reasons": repr(result.quarantined),
        "reasons as stored": repr([[r.as_dict() for r in q.reasons] for q in result.quarantined]),
        "summary artifact": repr(result.summary()),
        "outcomes": repr(result.outcomes),
        "logs": "\n".join(r.getMessage() for r in caplog.records),
    }
    for page in index.parent.glob("*.html"):
        outputs[f"data docs {page.name}"] = page.read_text(encoding="utf-8")
    captured = capfd.readouterr()
    outputs["stdout"], outputs["stderr"] = captured.out, captured.err
    for what, text in outputs.items():
        for planted in (NIK, PHONE, "6281234567890"):
            assert planted not in text, f"{planted} leaked into {what}"
    assert "Calculating Metrics" not in captured.err  # no tqdm bar (stack.md P14)
    # …and the pages do say what failed.
    page = (index.parent / "tiny.html").read_text(encoding="utf-8")
    assert "VAL_TYPE" in page and "total" in page and "VAL_CHOICE" in page


def test_data_docs__render_offline__no_external_reference(tmp_path):
    norm, versions = _planted_batch()
    index = build_data_docs(validate_batch(versions, norm), tmp_path)
    for page in tmp_path.glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "<style>" in html
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), page.name
        assert "<script" not in html and "@import" not in html
        for target in re.findall(r'href="([^"]+)"', html):
            assert (tmp_path / target).exists(), f"{page.name} links to missing {target}"
    assert index.name == "index.html" and "tiny" in index.read_text(encoding="utf-8")


def test_form_gx_suites__real_form__one_suite_per_table(forms_dir):
    from validation.gx_engine import form_gx_suites
    from validation.suites import form_suites

    for form in [f for f in load_forms(forms_dir) if f.form_id == "ilo_org_assessment"]:
        suites = form_gx_suites(form)
        assert set(suites) == set(form_suites(form))
        for table, suite in suites.items():
            assert suite.name == f"{table}@{form.version}"
            assert len(suite.expectations) == len(form_suites(form)[table])
            codes = {e.meta["code"] for e in suite.expectations}
            assert codes <= {"VAL_TYPE", "VAL_REQUIRED", "VAL_IRRELEVANT", "VAL_CHOICE",
                             "VAL_CONSTRAINT", "VAL_CROSS_FIELD", "VAL_DUPLICATE_ID"}


def test_gx_engine__expectation_gx_cannot_evaluate__fails_loudly_not_silently():
    """stack.md P11: a between on a text column gives no unexpected rows, only exception_info;
    the engine must refuse rather than report 'no failures'."""
    import pandas as pd

    from suara.errors import ValidationSetupError
    from validation.gx_engine import failing_masks

    spec = {"type": "expect_column_values_to_be_between",
            "kwargs": {"column": "n", "min_value": 0, "max_value": 10},
            "meta": {"code": "VAL_CONSTRAINT", "table": "t", "field": "n", "expectation": "0..10"}}
    frame = pd.DataFrame({"n": pd.Series(["42", "x", "7"], dtype=object)})
    with pytest.raises(ValidationSetupError, match="could not evaluate"):
        failing_masks([spec], frame)
    typed = pd.DataFrame({"n": pd.array([42, None, 7], dtype="Int64")})
    assert failing_masks([spec], typed)[0].tolist() == [True, False, False]
