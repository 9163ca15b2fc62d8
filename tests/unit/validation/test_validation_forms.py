"""Each real instrument: clean synthetic submissions pass; every injected defect is caught
with the matching reason; both engines (fast, GX) agree is tested in integration."""

from __future__ import annotations

import pytest

from suara.forms import load_forms
from suara.normalise import normalise
from suara.synth import (
    EDGE_IRRELEVANT_ANSWER,
    EDGE_MISSING_REQUIRED,
    EDGE_OUT_OF_RANGE,
    EDGE_UNKNOWN_CHOICE,
    EDGE_WRONG_VERSION,
    generate_labelled,
    version_uid,
)
from validation import validate_batch

EXPECTED = {
    EDGE_OUT_OF_RANGE: "VAL_CONSTRAINT",
    EDGE_UNKNOWN_CHOICE: "VAL_CHOICE",
    EDGE_MISSING_REQUIRED: "VAL_REQUIRED",
    EDGE_IRRELEVANT_ANSWER: "VAL_IRRELEVANT",
    EDGE_WRONG_VERSION: "VAL_UNKNOWN_VERSION",
}


@pytest.fixture(scope="module")
def forms(forms_dir):
    return {f.form_id: f for f in load_forms(forms_dir)}


@pytest.mark.parametrize("form_id", ["ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"])
def test_real_form__clean_and_defective_submissions(forms, form_id):
    form = forms[form_id]
    labelled = generate_labelled(form, 400, seed=7, edge_share=0.4, edge_kinds=tuple(EXPECTED))
    norm = normalise({form.version: form}, form, [s.submission for s in labelled],
                     version_map={version_uid(form): form.version})
    result = validate_batch({form.version: form}, norm)
    held = {q._id: {r.code for r in q.reasons} for q in result.quarantined}
    edges = [s for s in labelled if s.edge]
    assert edges, "the generator should inject defects"
    for s in labelled:
        sid = s.submission["_id"]
        if s.edge is None:
            assert sid not in held, f"clean submission {sid} held: {held.get(sid)}"
        else:
            assert EXPECTED[s.edge] in held.get(sid, set()), (s.edge, s.field)
    assert len(result.valid[form_id]) == len(labelled) - len(held)


def test_real_form__version_bump__old_submissions_judged_by_their_version(forms_dir):
    """v2 of the baseline drops the choice sex=refuse: v1 submissions that use it stay valid,
    the same answer under v2 is held."""
    from suara.forms import form_from_markdown

    text = (forms_dir / "ilo_rights_baseline.md").read_text(encoding="utf-8")
    v1 = form_from_markdown(text)
    lines = [ln for ln in text.splitlines() if not ln.startswith("| | sex | refuse |")]
    v2_text = "\n".join(lines).replace(f"| {v1.version} |", "| 2099010101 |")
    v2 = form_from_markdown(v2_text)
    assert v2.version == "2099010101" and "refuse" not in v2.choice_lists["sex"].names
    old = [s for s in generate_labelled(v1, 300, seed=5) if s.submission.get("grp_demo/sex") == "refuse"]
    assert old, "the generator should produce some sex=refuse answers"
    new = [dict(s.submission, _id=s.submission["_id"] + 10_000, _uuid=s.submission["_uuid"] + "-v2",
                __version__=version_uid(v2)) for s in old]
    versions = {v1.version: v1, v2.version: v2}
    norm = normalise(versions, v2, [s.submission for s in old] + new,
                     version_map={version_uid(v1): v1.version, version_uid(v2): v2.version})
    result = validate_batch(versions, norm)
    held = {q._id: {(r.code, r.field) for r in q.reasons} for q in result.quarantined}
    assert not any(s.submission["_id"] in held for s in old)
    assert all(("VAL_CHOICE", "sex") in held[s["_id"]] for s in new)


def test_real_form__repeat_count_mismatch__held(forms):
    """The training repeat has one entry per selected topic (repeat_count)."""
    form = forms["ilo_org_assessment"]
    subs = [s.submission for s in generate_labelled(form, 200, seed=9)]
    with_tr = [s for s in subs if any(isinstance(v, list) and len(v) > 1 for v in s.values())]
    assert with_tr, "some assessments should have trained on several topics"
    broken = dict(with_tr[0])
    key = next(k for k, v in broken.items() if isinstance(v, list) and len(v) > 1)
    broken[key] = broken[key][:-1]
    norm = normalise({form.version: form}, form, [broken, with_tr[1]],
                     version_map={version_uid(form): form.version})
    result = validate_batch({form.version: form}, norm)
    held = {q._id: {(r.code, r.field) for r in q.reasons} for q in result.quarantined}
    assert held == {broken["_id"]: {("VAL_CROSS_FIELD", "tr")}}


CROSS = {  # a calculated total that disagrees with its parts, per form
    "ilo_rights_baseline": ("eligible", "VAL_CROSS_FIELD"),
    "ilo_vh_reporting": ("go", "VAL_CROSS_FIELD"),
    "ilo_org_assessment": ("mem_total", "VAL_CROSS_FIELD"),
}


@pytest.mark.parametrize("form_id", sorted(CROSS))
def test_real_form__type_duplicate_and_cross_field_defects(forms, form_id):
    form = forms[form_id]
    clean = [s.submission for s in generate_labelled(form, 60, seed=4)]
    integer_path = next(f.path for f in form.value_fields() if f.type == "integer" or
                        (f.type == "calculate" and f.name == CROSS[form_id][0]))
    typed = next(s for s in clean if integer_path in s)
    cross_field, code = CROSS[form_id]
    # A respondent who went through the whole form (gate = 1), so every part is answered.
    cross = next(s for s in clean if s is not typed and s.get(form.field(cross_field).path) not in (None, "", "0"))
    dup_a, dup_b = [s for s in clean if s is not typed and s is not cross][:2]
    bad_type = dict(typed, **{integer_path: "twelve"})
    value = cross[form.field(cross_field).path]
    bad_cross = dict(cross, **{form.field(cross_field).path: str(int(float(value)) + 1)})
    dup = dict(dup_b, _uuid=dup_a["_uuid"])
    subs = [bad_type if s is typed else bad_cross if s is cross else dup if s is dup_b else s for s in clean]
    norm = normalise({form.version: form}, form, subs, version_map={version_uid(form): form.version})
    result = validate_batch({form.version: form}, norm)
    held = {q._id: {(r.code, r.field) for r in q.reasons} for q in result.quarantined}
    assert ("VAL_TYPE", form.field_at(integer_path).name) in held[typed["_id"]]
    assert (code, cross_field) in held[cross["_id"]]
    assert ("VAL_DUPLICATE_ID", "_uuid") in held[dup_a["_id"]] and ("VAL_DUPLICATE_ID", "_uuid") in held[dup["_id"]]
    assert set(held) == {typed["_id"], cross["_id"], dup_a["_id"], dup["_id"]}


def test_real_form__cascade_violations__held_as_choice(forms):
    """choice_filter: a district outside the chosen province, a filtered-out code in a
    select_multiple."""
    form = forms["ilo_vh_reporting"]
    clean = [s.submission for s in generate_labelled(form, 300, seed=12)]
    district = form.field("district").path
    sub = next(s for s in clean if s.get(district))
    prov = form.choice_lists["dist"].get(sub[district]).extra["prov"]
    other = next(c.name for c in form.choice_lists["dist"].choices if c.extra.get("prov") != prov)
    to_whom = form.field("i_to_whom").path
    multi = next(s for s in clean if s.get(to_whom) and s is not sub)
    subs = [dict(sub, **{district: other}), dict(multi, **{to_whom: multi[to_whom] + " nobody"})]
    norm = normalise({form.version: form}, form, subs, version_map={version_uid(form): form.version})
    result = validate_batch({form.version: form}, norm)
    held = {q._id: {(r.code, r.field, r.expectation.split(" ")[0]) for r in q.reasons}
            for q in result.quarantined}
    assert held[sub["_id"]] == {("VAL_CHOICE", "district", "choice")}
    assert ("VAL_CHOICE", "i_to_whom", "choice") in held[multi["_id"]]
