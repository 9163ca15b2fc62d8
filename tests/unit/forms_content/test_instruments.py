"""The three committed instruments in forms/: they convert, and they keep the project's rules.

What a user would notice if these failed: a form Kobo rejects or ODK Collect cannot open, a
question shown in one language only, a field the privacy stage cannot classify, a cascade
that leaves a required question with no answer, or a harassment form that leaks through
device storage or media.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil

import pytest
from pyxform.xls2xform import convert

from suara.forms import Form, load_form
from suara.forms.model import GEO_TYPES, PII_CLASSES
from tests.conftest import FORMS_DIR

FORM_IDS = ("ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment")
HARASSMENT = "ilo_vh_reporting"
LANGS = ("English (en)", "Indonesian (id)")
PYXFORM_SHEETS = {"survey", "choices", "settings"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PII_RULE_RE = re.compile(
    r"^(month|duration|province|drop|pseudonym|hmac|band:\d+(,\d+)*|band_year:\d{4}(,\d{4})*)$"
)


@pytest.fixture(scope="module", params=FORM_IDS)
def form(request) -> Form:
    return load_form(FORMS_DIR / f"{request.param}.md")


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return {fid: load_form(FORMS_DIR / f"{fid}.md") for fid in FORM_IDS}


def _survey_rows(form: Form):
    return form.sheets.rows("survey")


# -- conversion ---------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", FORM_IDS)
def test_converts_with_no_errors_and_no_warnings(form_id):
    form = load_form(FORMS_DIR / f"{form_id}.md")
    # pyxform's dict input rejects unknown sheets; a file path ignores them. Check both.
    as_dict = {k: v for k, v in form.sheets.to_dict().items() if k in PYXFORM_SHEETS}
    validate = shutil.which("java") is not None  # ODK Validate is a Java program
    for source in (as_dict, str(FORMS_DIR / f"{form_id}.md")):
        warnings: list[str] = []
        result = convert(xlsform=source, warnings=warnings, validate=validate, form_name="data")
        assert warnings == []
        assert f'id="{form_id}"' in result.xform
        assert f'version="{form.version}"' in result.xform
        assert '<translation lang="Indonesian (id)" default="true()">' in result.xform


def test_settings(form):
    s = form.settings
    assert s["form_id"] == form.sheets.source.rsplit("/", 1)[-1].removesuffix(".md")
    assert s["default_language"] == "Indonesian (id)"
    assert set(form.languages) == set(LANGS)
    assert re.fullmatch(r"\d{10}", form.version)
    dt.date(int(form.version[:4]), int(form.version[4:6]), int(form.version[6:8]))  # a real date
    assert "instance_name" not in s  # would tempt staff to type a factory or a person into it


def test_only_the_harassment_form_is_encrypted(forms):
    assert forms[HARASSMENT].encrypted
    assert not forms["ilo_rights_baseline"].encrypted
    assert not forms["ilo_org_assessment"].encrypted


# -- names and classes --------------------------------------------------------------------


def test_names_are_valid_and_unique_form_wide(form):
    names = [f.name for f in form.fields if not f.generated] + [g.name for g in form.groups]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    bad = [n for n in names if not NAME_RE.match(n)]
    assert bad == []


def test_every_survey_row_has_a_privacy_class(form):
    missing = [r.where for r in _survey_rows(form) if r.get("pii_class") not in PII_CLASSES]
    assert missing == []
    assert all(f.pii_class in PII_CLASSES for f in form.fields)
    assert all(g.pii_class == "-" for g in form.groups)


BRIEF_CLASSES = {
    # forms-content.md 3.6, 4.7 and 5.5 ("Pipeline handling"), plus the metadata rows.
    "ilo_rights_baseline": {
        "D": "username enum_code",
        "O": "factory",
        "Q": "province district sex age_band education tenure job_group migrant contract",
        "S": "ss_bpjskes u_member m_preg m_anc m_anc_visits m_anc_place m_anc_bpjs m_anc_time "
        "m_leave m_leave_paid m_pressure",
        "M": "start end today deviceid audit",
    },
    "ilo_vh_reporting": {
        "D": "username enum_code fu_code",
        "Q": "province district sex age3 contract3 role3 i_when district_label",
        "S": "e_verbal e_threat e_physical e_sx_comment e_sx_touch e_sx_online e_sx_quid "
        "e_sx_force e_econ e_gender e_preg e_witness n_psy n_phys n_sex n_econ n_gb any_vh "
        "exp_yes i_type i_who i_who_sex i_where i_often i_reported i_to_whom i_outcome "
        "i_retaliation i_why_not i_impact x_distress",
        "M": "start end audit",
    },
    "ilo_org_assessment": {
        "D": "username assessor_code",
        "O": "factory workers_f workers_m workers_total tr_provider",
        "Q": "province district resp_roles year_est confed federation federation_other top_women",
        "M": "start end today",
    },
}


def test_classes_follow_the_brief(form):
    expected = {n: cls for cls, names in BRIEF_CLASSES[form.form_id].items() for n in names.split()}
    actual = {f.name: f.pii_class for f in form.fields}
    assert {n: actual.get(n) for n in expected} == expected
    # Everything the brief does not list is a plain answer.
    others = {n: c for n, c in actual.items() if n not in expected}
    assert set(others.values()) == {"-"}


def test_pii_rules_use_the_vocabulary(form):
    for f in form.fields:
        if f.pii_rule:
            assert PII_RULE_RE.match(f.pii_rule), (f.name, f.pii_rule)
            for prefix in ("band:", "band_year:"):
                if f.pii_rule.startswith(prefix):
                    edges = [int(x) for x in f.pii_rule[len(prefix) :].split(",")]
                    assert edges == sorted(set(edges)), f.name


def test_direct_identifiers_never_reach_analysts_raw(form):
    # Staff codes and accounts become pseudonyms; the follow-up code is dropped; exact times too.
    for f in form.fields:
        if f.pii_class == "D":
            assert f.pii_rule in ("pseudonym", "drop"), f.name
        if f.type in ("start", "end"):
            assert f.pii_rule == "duration"
        if f.type in ("today", "deviceid"):
            assert f.pii_rule in ("month", "drop")
    if form.has_field("factory"):
        assert form.field("factory").pii_rule == "hmac"


def test_district_coarsens_to_province_through_the_dist_list(form):
    district = form.field("district")
    assert district.pii_rule == "province"
    provinces = set(form.choice_lists["prov"].names)
    for c in form.choices(district).choices:
        assert c.extra.get("prov") in provinces, c.name


# -- languages ------------------------------------------------------------------------------


def _both_or_neither(texts: dict[str, str]) -> bool:
    present = {lang for lang, t in texts.items() if t.strip()}
    return present in (set(), set(LANGS))


def test_every_text_is_in_both_languages(form):
    for f in form.fields:
        for what in ("labels", "hints", "constraint_message", "required_message"):
            assert _both_or_neither(getattr(f, what)), (f.name, what)
        if f.has_value and not f.is_metadata and f.type != "calculate":
            assert set(f.labels) == set(LANGS), f.name  # every question has a label
        if f.required:
            assert set(f.required_message) == set(LANGS), f.name
        if f.constraint:
            assert set(f.constraint_message) == set(LANGS), f.name
    for g in form.groups:
        assert set(g.labels) == set(LANGS), g.name
    for cl in form.choice_lists.values():
        for c in cl.choices:
            assert set(c.labels) == set(LANGS), (cl.name, c.name)


def test_no_untranslated_columns(form):
    for sheet in ("survey", "choices"):
        for col in form.sheets.headers[sheet]:
            assert col not in ("label", "hint", "constraint_message", "required_message"), col
            if "::" in col:
                assert col.split("::", 1)[1] in LANGS, col


# -- choices and cascades -----------------------------------------------------------------


def test_every_referenced_choice_list_exists(form):
    for f in form.fields:
        if f.is_select:
            assert f.list_name in form.choice_lists, f.name
    assert not [f for f in form.fields if "or_other" in f.raw.get("type", "")]


def test_cascades_never_leave_a_required_question_without_choices(form):
    # choice_filter "<column>=${parent}": every answer to the parent must keep a choice.
    for f in form.fields:
        m = re.fullmatch(r"(\w+)=\$\{(\w+)\}", f.choice_filter or "")
        if not m:
            continue
        column, parent = m.groups()
        parent_values = form.choices(form.field(parent)).names
        offered = {c.extra.get(column) for c in form.choices(f).choices}
        assert set(parent_values) <= offered, (f.name, set(parent_values) - offered)


def test_choice_filter_columns_exist(form):
    for f in form.fields:
        for column in re.findall(r"\b(prov|district|conf)\s*=", f.choice_filter or ""):
            assert all(column in c.extra for c in form.choices(f).choices), (f.name, column)


# -- consent ----------------------------------------------------------------------------


def _conditions(value: str) -> list[tuple[str, str]]:
    return [tuple(part.split("=", 1)) for part in value.split(",")]


def test_consent_policy_names_real_fields_and_answers(form):
    policy = form.policy
    for key in ("consent_fields", "microdata", "k", "quasi_identifiers", "pseudonym_domain"):
        assert policy.get(key), key
    assert policy["pseudonym_domain"] == form.form_id
    assert policy["microdata"] in ("release", "restricted")
    assert int(policy["k"]) >= 5
    for key in ("consent_fields", "withdrawn_fields", "share_fields"):
        for name, value in _conditions(policy.get(key, "")) if policy.get(key) else []:
            f = form.field(name)
            if f.is_select:
                assert value in form.choices(f).names, (key, name, value)
            else:
                assert f.type == "calculate" and value in ("0", "1"), (key, name)
    for name in policy["quasi_identifiers"].split(","):
        assert form.field(name).pii_class in ("Q", "O"), name
    for name in policy.get("l_fields", "").split(",") if policy.get("l_fields") else []:
        assert form.field(name).pii_class == "S", name


def test_sensitive_questions_are_only_asked_after_consent(form):
    gate = _conditions(form.policy["consent_fields"])[0][0]
    # x_distress is the enumerator's observation, recorded for supervision after any contact.
    enumerator_only = {"x_distress"}
    for f in form.fields:
        if f.pii_class == "S" and f.type != "calculate" and f.name not in enumerator_only:
            chain = " ".join(form.relevant_chain(f))
            assert f"${{{gate}}}" in chain, f.name


def test_expected_policies(forms):
    assert forms["ilo_rights_baseline"].policy["consent_fields"] == "eligible=1"
    assert forms["ilo_org_assessment"].policy["consent_fields"] == "consent_org=yes"
    vh = forms[HARASSMENT].policy
    assert (vh["consent_fields"], vh["withdrawn_fields"], vh["microdata"], vh["k"]) == (
        "go=1",
        "withdrawn=1",
        "restricted",
        "10",
    )
    assert vh["l_fields"] == "i_type,i_who"


# -- the harassment form's extra safeguards (forms-content.md 2.3 and 6.5) ----------------


def test_harassment_form_stores_nothing_unencrypted_on_the_device(forms):
    vh = forms[HARASSMENT]
    banned = {"audio", "image", "video", "file", "background-audio"} | GEO_TYPES
    assert [f.name for f in vh.fields if f.type in banned] == []
    for row in _survey_rows(vh) + vh.sheets.rows("choices"):
        assert not any("last-saved" in v for v in row.cells.values()), row.where
    assert vh.field("audit").parameters == ""  # no track-changes, no location
    assert vh.settings["auto_send"] == "true" and vh.settings["auto_delete"] == "true"
    assert vh.settings["submission_url"].startswith("https://")


def test_harassment_form_carries_the_demo_public_key(forms):
    pem = (FORMS_DIR / "keys" / "demo_public.pem").read_text().splitlines()
    body = "".join(line for line in pem if not line.startswith("-----"))
    assert forms[HARASSMENT].settings["public_key"] == body


def test_harassment_form_has_no_free_text_for_the_respondent(forms):
    texts = [f for f in forms[HARASSMENT].fields if f.type == "text"]
    assert [f.name for f in texts] == ["enum_code"]
    assert texts[0].constraint.startswith("regex(")


# -- media ----------------------------------------------------------------------------------


def test_umk_table_covers_every_district_within_the_answer_range(forms):
    baseline = forms["ilo_rights_baseline"]
    assert "pulldata('umk'" in baseline.field("umk_ref").calculation
    with open(FORMS_DIR / "umk.csv", newline="", encoding="utf-8") as fh:
        rows = {r["district_code"]: r for r in csv.DictReader(fh)}
    districts = set(baseline.choice_lists["dist"].names)
    assert districts <= set(rows), districts - set(rows)
    for code in districts:
        amount = int(rows[code]["umk_amount"])
        # The recall question only accepts Rp 1-10 million; a right answer must be enterable.
        assert 1_000_000 <= amount <= 10_000_000, code
