"""validate_batch: each expectation family catches its defect, on its own, per submission.

Rules (issue 5): VR1 valid rows continue typed; VR2 a failing submission is quarantined
whole, with one reason per failed expectation; VR3 reasons name table/field/expectation,
never a value; VR4 each version's rows are judged by that version; VR5 only an unusable batch
fails as a whole.
"""

from __future__ import annotations

import pandas as pd
import pytest

from suara.errors import UnusableBatchError
from suara.normalise import Normalised
from tests.unit.validation.forms import batch, good, tiny_form
from validation import validate_batch

FORM = tiny_form()


def run(*subs, forms=(FORM,)):
    norm, versions = batch(list(forms), list(subs))
    return validate_batch(versions, norm)


def codes(result, _id):
    q = {q._id: q for q in result.quarantined}.get(_id)
    return sorted({(r.code, r.table, r.field) for r in q.reasons}) if q else []


def test_validate__clean_submission__valid_and_typed():
    """VR1."""
    result = run(good(1), good(2))
    assert result.quarantined == []
    sub = result.valid["tiny"]
    assert sub["_id"].tolist() == [1, 2]
    assert str(sub["total"].dtype) == "Int64" and str(sub["share"].dtype) == "Float64"
    assert str(sub["when"].dtype) == "datetime64[ns]"
    assert result.valid["tiny__kids"]["kid_age"].tolist() == [3, 9, 3, 9]


@pytest.mark.parametrize(("change", "expected"), [
    ({"grp__total": "ten"}, ("VAL_TYPE", "tiny", "total")),
    ({"grp__when": "30/04/2024"}, ("VAL_TYPE", "tiny", "when")),
    ({"grp__women": None}, ("VAL_REQUIRED", "tiny", "women")),
    ({"code": None}, ("VAL_REQUIRED", "tiny", "code")),
    ({"grp__why": None, "grp__picks": "b"}, None),  # why is not required: no reason
    ({"grp__picks": "a"}, ("VAL_IRRELEVANT", "tiny", "why")),
    ({"consent": "maybe"}, ("VAL_CHOICE", "tiny", "consent")),
    ({"grp__picks": "a zzz"}, ("VAL_CHOICE", "tiny", "picks")),
    ({"grp__total": "101"}, ("VAL_CONSTRAINT", "tiny", "total")),
    ({"code": "X7"}, ("VAL_CONSTRAINT", "tiny", "code")),
    ({"grp__women": "11"}, ("VAL_CONSTRAINT", "tiny", "women")),
    ({"grp__picks": "a none"}, ("VAL_CONSTRAINT", "tiny", "picks")),
    ({"grp__when": "2999-01-01"}, ("VAL_TYPE", "tiny", "when")),
    ({"grp__when": "2200-01-01"}, ("VAL_CONSTRAINT", "tiny", "when")),
])
def test_validate__one_defect__one_reason(change, expected):
    """VR2: the defective submission alone is held, with the reason for its defect."""
    result = run(good(1), good(2, **change))
    assert codes(result, 1) == []
    if expected is None:
        assert result.quarantined == []
    else:
        assert expected in codes(result, 2)
        assert result.valid["tiny"]["_id"].tolist() == [1]
        assert set(result.valid["tiny__kids"]["_id"]) == {1}


def test_validate__irrelevant_group__answers_flagged_and_required_waived():
    sub = good(2, consent="no", kids=None)
    result = run(sub)
    found = codes(result, 2)
    assert ("VAL_IRRELEVANT", "tiny", "total") in found
    assert all(code != "VAL_REQUIRED" for code, _, _ in found)
    clean = good(3, consent="no", kids=None, grp__total=None, grp__women=None, grp__picks=None,
                 grp__when=None, grp__why=None, share=None)
    assert run(clean).quarantined == []


def test_validate__repeat_row_fails__whole_submission_held():
    """VR2: one bad repeat row holds the submission and all of its rows."""
    result = run(good(1), good(2, kids=[{"kids/kid_age": "5"}, {"kids/kid_age": "30"}]))
    assert ("VAL_CONSTRAINT", "tiny__kids", "kid_age") in codes(result, 2)
    assert set(result.valid["tiny__kids"]["_id"]) == {1}


def test_validate__duplicate_uuid__every_copy_held():
    result = run(good(1), good(2, _uuid="uuid-1"), good(3))
    assert ("VAL_DUPLICATE_ID", "tiny", "_uuid") in codes(result, 1)
    assert ("VAL_DUPLICATE_ID", "tiny", "_uuid") in codes(result, 2)
    assert codes(result, 3) == []


def test_validate__unknown_version__held_with_reason():
    result = run(good(1), good(2, __version__="zzz"))
    assert codes(result, 2) == [("VAL_UNKNOWN_VERSION", "tiny", "_form_version")]
    assert result.valid["tiny"]["_id"].tolist() == [1]


def test_validate__version_bump__old_rows_judged_by_their_version():
    """VR4: v2 adds a required question; v1 submissions without it stay valid."""
    v2 = tiny_form("2", extra="|          | integer | extra_q | Extra | yes |  |  |  |")
    old = good(1)
    new_ok = good(2, __version__="2", extra_q="5")
    new_bad = good(3, __version__="2")  # lacks the question v2 requires
    result = run(old, new_ok, new_bad, forms=(FORM, v2))
    assert codes(result, 1) == [] and codes(result, 2) == []
    assert ("VAL_REQUIRED", "tiny", "extra_q") in codes(result, 3)
    typed = result.valid["tiny"]
    assert typed["_id"].tolist() == [1, 2]
    assert str(typed["extra_q"].dtype) == "Int64"  # one dtype across versions


def test_validate__choice_added_in_new_version__old_version_rejects_it():
    v2 = tiny_form("2", choices="|          | yn | dk | DK |  |  |  |  |")
    result = run(good(1, consent="dk"), good(2, __version__="2", consent="dk", grp__total=None,
                                          grp__women=None, grp__picks=None, grp__when=None,
                                          grp__why=None, share=None, kids=None),
                 forms=(FORM, v2))
    assert ("VAL_CHOICE", "tiny", "consent") in codes(result, 1)
    assert codes(result, 2) == []


def test_validate__reasons_never_hold_values():
    """VR3."""
    secret = "E99-3175012345678901"
    result = run(good(1, code=secret, grp__total=secret))
    text = repr(result.quarantined) + repr(result.summary()) + repr(result.outcomes)
    assert result.quarantined and secret not in text


def test_validate__no_submission_table__unusable_batch():
    """VR5."""
    with pytest.raises(UnusableBatchError):
        validate_batch({"1": FORM}, Normalised(form_id="tiny", frames={}))


def test_validate__summary__counts_by_code():
    result = run(good(1), good(2, consent="maybe"), good(3, grp__total="500"))
    summary = result.summary()
    assert summary["submissions"] == 3 and summary["quarantined"] == 2 and summary["valid"] == 1
    assert summary["by_code"]["VAL_CHOICE"] == 1 and summary["by_code"]["VAL_CONSTRAINT"] == 1


def test_validate__empty_batch__nothing_held():
    norm, versions = batch([FORM], [])
    result = validate_batch(versions, norm)
    assert result.quarantined == [] and result.submissions == 0
    assert all(isinstance(f, pd.DataFrame) for f in result.valid.values())


def test_data_docs__pages_of_a_run__counts_added_up(tmp_path):
    from validation.datadocs import build_data_docs

    first = run(good(1), good(2, consent="maybe")).without_rows()
    second = run(good(3), good(4, consent="maybe"), good(5, consent="maybe")).without_rows()
    assert first.valid == {}
    index = build_data_docs([first, second], tmp_path)
    page = (tmp_path / "tiny.html").read_text(encoding="utf-8")
    assert index.exists()
    # 5 submissions, 3 held for VAL_CHOICE on consent: the row shows 5 checked, 3 failing.
    assert ">5</b>" in page and ">3</b>" in page
    row = next(r for r in page.split("<tr>") if "code from list &#39;yn&#39;" in r and "consent" in r)
    assert ">5</td>" in row and ">3</td>" in row


NESTED = """
| survey   |                |      |       |                  |                   |
|          | type           | name | label | relevant         | constraint        |
|          | select_one yn  | a    | A     |                  |                   |
|          | begin_repeat   | hh   | HH    | ${a} = 'yes'     |                   |
|          | integer        | size | Size  |                  |                   |
|          | begin_repeat   | mem  | Mem   | ${size} > 1      |                   |
|          | integer        | age  | Age   |                  | . <= ${size} * 10 |
|          | end_repeat     |      |       |                  |                   |
|          | end_repeat     |      |       |                  |                   |
| choices  |                |      |       |                  |                   |
|          | list_name      | name | label |                  |                   |
|          | yn             | yes  | Yes   |                  |                   |
|          | yn             | no   | No    |                  |                   |
| settings |                |      |       |                  |                   |
|          | form_id        | version |    |                  |                   |
|          | nest           | 1    |       |                  |                   |
"""


def test_validate__nested_repeat__refers_to_its_enclosing_repeat_row():
    from suara.forms import form_from_markdown

    form = form_from_markdown(NESTED)

    def sub(_id, households):
        return {"_id": _id, "_uuid": f"u{_id}", "__version__": "1", "a": "yes",
                "hh": [{"hh/size": size, "hh/mem": [{"hh/mem/age": age} for age in ages]}
                       for size, ages in households]}

    ok = sub(1, [("3", ["25", "30"]), ("2", ["19"])])
    irrelevant = sub(2, [("3", ["25"]), ("1", ["9"])])   # mem of a 1-person household
    too_old = sub(3, [("2", ["21"]), ("5", ["49", "51"])])  # 51 > 5 * 10 in the second household
    norm, versions = batch([form], [ok, irrelevant, too_old])
    result = validate_batch(versions, norm)
    assert codes(result, 1) == []
    assert codes(result, 2) == [("VAL_IRRELEVANT", "nest__mem", "age")]
    assert codes(result, 3) == [("VAL_CONSTRAINT", "nest__mem", "age")]
