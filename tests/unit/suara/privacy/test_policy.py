"""The policy derived from pii_class / pii_rule / suara_policy, on a test form and the real forms."""

from __future__ import annotations

import pytest

from suara.errors import FormDefinitionError
from suara.forms import load_forms
from suara.privacy.policy import KINDS, ZONES, policy_for
from tests.unit.suara.privacy.conftest import SURVEY, make_form


def names(policy, table, zone):
    return policy.column_names(table, zone)


def test_direct_identifiers_never_reach_either_zone_as_values(form):
    p = policy_for(form)
    for zone in ZONES:
        cols = names(p, "tform", zone)
        assert "enum_code" not in cols and "fu_code" not in cols and "username" not in cols
    # Staff codes and accounts become pseudonyms in the secure dataset only.
    assert {"enum_code_pseudonym", "username_pseudonym"} <= set(names(p, "tform", "restricted"))
    assert not {"enum_code_pseudonym", "username_pseudonym"} & set(names(p, "tform", "analytics"))


def test_unclassified_field_is_dropped_and_reported(form):
    p = policy_for(form)
    assert p.unclassified == ["mystery"]
    assert all("mystery" not in names(p, "tform", z) for z in ZONES)


def test_metadata_become_duration_and_months_and_device_data_never_passes(form):
    cols = {c.name: c for c in policy_for(form).columns("tform", "analytics")}
    assert cols["interview_minutes"].source == "start,end" and cols["interview_minutes"].kind == "integer"
    assert "start_month" in cols and "today_month" in cols
    assert not {"start", "end", "today", "deviceid", "gps"} & set(cols)


def test_quasi_identifiers_are_coarsened_for_analytics_and_exact_in_restricted(form):
    p = policy_for(form)
    a, r = set(names(p, "tform", "analytics")), set(names(p, "tform", "restricted"))
    assert {"district_province", "incident_date_quarter", "year_est_band", "workers_band"} <= a
    assert not {"district", "incident_date", "year_est", "workers"} & a
    assert {"district", "incident_date", "year_est", "workers"} <= r
    assert "note_q" in r and "note_q" not in a  # free-text QI: restricted until recoded by hand


def test_organisations_are_keyed_pseudonyms_in_both_zones(form):
    p = policy_for(form)
    for zone in ZONES:
        col = next(c for c in p.columns("tform", zone) if c.source == "factory")
        assert (col.name, col.treatment) == ("factory_pseudonym", "hmac")


def test_sensitive_fields_follow_the_microdata_setting():
    restricted = policy_for(make_form("k=5"))
    released = policy_for(make_form("microdata=release;l_fields=vh_type"))
    assert "vh_type" not in names(restricted, "tform", "analytics")
    assert "vh_type" in names(released, "tform", "analytics")
    assert released.l_columns("tform") == ["vh_type"]


def test_repeat_tables_have_their_keys_and_fields(form):
    p = policy_for(form)
    assert list(p.tables) == ["tform", "tform__kids"]
    assert names(p, "tform__kids", "analytics") == ["_id", "_parent_index", "_index", "kid_age_band", "kid_note"]


def test_declared_quasi_identifiers_map_to_their_analytics_columns():
    p = policy_for(make_form("quasi_identifiers=district,sex,factory"))
    assert p.quasi_identifiers("tform") == ["district_province", "factory_pseudonym", "sex"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [("fuzz", "unknown pii_rule 'fuzz'"), ("band:9,3", "ascending"), ("month", "needs a date")],
)
def test_bad_pii_rule_names_the_row(rule, message):
    survey = SURVEY.replace("| | select_one sex | sex | Q | |", f"| | select_one sex | sex | Q | {rule} |")
    with pytest.raises(FormDefinitionError) as err:
        policy_for(make_form("k=5", survey=survey))
    assert message in str(err.value) and "line" in str(err.value) and "'sex'" in str(err.value)


@pytest.mark.parametrize(
    ("policy", "message"),
    [("microdata=public", "neither release nor restricted"), ("k=1", "≥ 2"),
     ("consent_fields=nope=yes", "no field 'nope'"), ("colour=blue", "unknown key"),
     ("consent_fields=consent", "not field=value")],
)
def test_bad_policy_sheet_is_a_form_error(policy, message):
    with pytest.raises(FormDefinitionError) as err:
        policy_for(make_form(policy))
    assert message in str(err.value)


def test_keep_on_a_direct_identifier_is_refused():
    survey = SURVEY.replace("| | text | fu_code | D | |", "| | text | fu_code | D | keep |")
    with pytest.raises(FormDefinitionError, match="never passes"):
        policy_for(make_form("k=5", survey=survey))


def test_real_forms_give_valid_columns(forms_dir):
    for form in load_forms(forms_dir):
        p = policy_for(form)
        for table in p.tables:
            for zone in ZONES:
                cols = p.columns(table, zone)
                assert len({c.name for c in cols}) == len(cols)
                assert all(c.kind in KINDS and c.zone == zone for c in cols)
                # Fail closed: nothing of class D reaches analytics, under any name.
                assert not [c for c in cols if zone == "analytics" and c.pii_class == "D"]
        assert p.unclassified == []
