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
