"""Each project rule against a small form that breaks it (and the valid base that does not)."""

from __future__ import annotations

import sys
import types

import pytest

from suara.forms import load_form
from suara.forms.rules import (
    RULES,
    filter_columns,
    is_confidential,
    references,
    rule_choice_filters,
    rule_choice_names,
    rule_confidential,
    rule_default_language,
    rule_direct_identifiers,
    rule_encryption,
    rule_file_name,
    rule_languages,
    rule_media_files,
    rule_names,
    rule_pii_class,
    rule_plain_columns,
    rule_privacy_policy,
    rule_references,
    rule_select_lists,
    rule_version,
    rule_xpath_supported,
    run_rules,
)
from tests.unit.suara.forms.forms_md import LINE, PUBLIC_KEY, form, variant

RELEASE = ("| microdata | restricted |", "| microdata | release |")


def found(rule, f) -> list[tuple[str, str]]:
    return [(x.code, x.where) for x in rule(f)]


def at(name: str) -> str:
    return f"test_form.md line {LINE[name]} ({'choices' if name in ('yes', 'no', 'jb', 'bt', 'bdg', 'tng') else 'survey'})"


def test_the_base_form_passes_every_rule():
    assert run_rules(form()) == []


def test_every_rule_is_registered_once():
    assert len(RULES) == len(set(RULES))
    assert rule_xpath_supported in RULES and rule_confidential in RULES


# -- languages --------------------------------------------------------------------------------


def test_a_label_missing_in_one_language_is_an_error_naming_the_row_and_column():
    f = form(("| Union member? | Anggota serikat? |", "| Union member? | |"))
    [finding] = rule_languages(f)
    assert (finding.code, finding.where) == ("FORM_202", at("member"))
    assert "'label'" in finding.message and "Indonesian (id)" in finding.message
    assert "label::Indonesian (id)" in finding.hint


def test_a_hint_missing_in_english_is_an_error():
    f = form(("| In years | Dalam tahun |", "| | Dalam tahun |"))
    assert found(rule_languages, f) == [("FORM_202", at("age"))]


def test_a_choice_label_missing_in_one_language_is_an_error():
    f = form(("| West Java | Jawa Barat |", "| West Java | |"))
    assert found(rule_languages, f) == [("FORM_202", at("jb"))]


def test_a_form_without_a_project_language_is_an_error():
    f = form(("label::English (en) | label::Indonesian (id) | hint::English (en) | hint::Indonesian (id) |",
              "label::English (en) | label::Javanese (jv) | hint::English (en) | hint::Javanese (jv) |"),
             ("| list_name | name | label::English (en) | label::Indonesian (id) |",
              "| list_name | name | label::English (en) | label::Javanese (jv) |"),
             ("| Indonesian (id) |", "| Javanese (jv) |"))
    assert found(rule_languages, f) == [("FORM_201", "test_form.md")]


def test_a_plain_label_column_beside_translated_ones_is_an_error():
    f = form(("| pii_class | pii_rule |", "| pii_class | pii_rule | label |"),
             ("| S | |", "| S | | Member? |"))
    [finding] = rule_plain_columns(f)
    assert finding.code == "FORM_203" and finding.where == "test_form.md, 'survey' sheet header"
    assert "'label'" in finding.message


def test_default_language_must_match_a_column_suffix_exactly():
    f = form(("| Indonesian (id) | MIIB", "| Indonesian | MIIB"))
    [finding] = rule_default_language(f)
    assert finding.code == "FORM_204" and "'Indonesian'" in finding.message
    assert "Indonesian (id)" in finding.message  # says what the columns use


def test_a_missing_default_language_is_an_error():
    f = form(("| Indonesian (id) | MIIB", "| | MIIB"))
    assert [x.code for x in rule_default_language(f)] == ["FORM_204"]


# -- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Age", "age_in_years_at_the_time_of_the_interview", "umur_anda_é", "_age"])
def test_names_must_be_lower_case_ascii_of_at_most_32_characters(bad):
    f = form(("| integer | age |", f"| integer | {bad} |"), ("${age} >= 18 |", f"${{{bad}}} >= 18 |"),
             ("if(${age} >= 18", f"if(${{{bad}}} >= 18"))
    assert found(rule_names, f) == [("FORM_205", at("age"))]


def test_a_32_character_name_is_fine():
    name = "a" * 32
    f = form(("| integer | age |", f"| integer | {name} |"), ("${age} >= 18 |", f"${{{name}}} >= 18 |"),
             ("if(${age} >= 18", f"if(${{{name}}} >= 18"))
    assert rule_names(f) == []


def test_a_name_used_twice_in_different_groups_is_an_error_naming_both_places():
    f = form(("| calculate | adult |", "| calculate | province |"))
    [finding] = rule_names(f)
    assert (finding.code, finding.where) == ("FORM_206", at("adult"))
    assert at("province") in finding.message


def test_a_group_name_clashing_with_a_field_is_an_error():
    f = form(("| begin_group | grp_work |", "| begin_group | age |"))
    assert [x.code for x in rule_names(f)] == ["FORM_206"]


@pytest.mark.parametrize("bad", ["dont know", "tidak-tahu", "ya!"])
def test_choice_names_must_be_short_ascii_codes(bad):
    f = form(("| yn | no | No |", f"| yn | {bad} | No |"))
    [finding] = rule_choice_names(f)
    assert (finding.code, finding.where) == ("FORM_207", at("no"))
    assert "'yn'" in finding.message


# -- privacy classes --------------------------------------------------------------------------


def test_a_field_without_pii_class_is_an_error():
    f = form(("| if(${age} >= 18, 1, 0) | | | - |", "| if(${age} >= 18, 1, 0) | | | |"))
    assert found(rule_pii_class, f) == [("FORM_208", at("adult"))]


def test_an_unknown_pii_class_is_an_error():
    f = form(("| In years | Dalam tahun | | . >= 18 | | | | Q |", "| In years | Dalam tahun | | . >= 18 | | | | q |"))
    [finding] = rule_pii_class(f)
    assert (finding.code, finding.where) == ("FORM_209", at("age"))
    assert "'q'" in finding.message and "D, O, Q, S, M, -" in finding.hint


def test_an_unknown_pii_class_on_a_group_is_an_error():
    f = form(("| Work | Pekerjaan | | | | | | | | - |", "| Work | Pekerjaan | | | | | | | | Z |"))
    assert found(rule_pii_class, f) == [("FORM_209", at("grp_work"))]


def test_class_d_on_a_respondent_answer_is_an_error():
    f = form(("| In years | Dalam tahun | | . >= 18 | | | | Q |", "| In years | Dalam tahun | | . >= 18 | | | | D |"))
    [finding] = rule_direct_identifiers(f)
    assert (finding.code, finding.where) == ("FORM_210", at("age"))


def test_class_d_text_must_be_pseudonymised_or_dropped():
    f = form(("| D | pseudonym |", "| D | |"))
    assert found(rule_direct_identifiers, f) == [("FORM_210", at("enum_code"))]
    assert rule_direct_identifiers(form(("| D | pseudonym |", "| D | drop |"))) == []


def test_class_d_is_fine_on_username_metadata():
    assert rule_direct_identifiers(form()) == []


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["", "1", "26112801", "2026113201", "v2026112801", "20261128011"])
def test_the_version_must_be_a_yyyymmddrr_stamp(version):
    f = form(("| 2026112801 |", f"| {version} |"))
    assert [x.code for x in rule_version(f)] == ["FORM_211"]


def test_a_markdown_file_must_be_named_for_its_form_id():
    assert rule_file_name(form()) == []
    [finding] = rule_file_name(form(source="forms/other.md"))
    assert finding.code == "FORM_221" and "test_form.md" in finding.hint


# -- confidential forms -----------------------------------------------------------------------


def test_a_form_is_confidential_unless_its_policy_releases_microdata():
    assert is_confidential(form())
    assert not is_confidential(form(RELEASE))
    assert is_confidential(form(("| microdata | restricted |", "| k | 10 |")))


def test_a_confidential_form_needs_a_public_key():
    f = form((f"| {PUBLIC_KEY} |", "| |"))
    assert [x.code for x in rule_confidential(f)] == ["FORM_212"]


@pytest.mark.parametrize("kind", ["geopoint", "geotrace", "geoshape", "image", "audio", "video", "file",
                                  "background-audio", "start-geopoint"])
def test_a_confidential_form_captures_no_location_or_media(kind):
    f = form(("| select_one yn | member |", f"| {kind} | member |"))
    assert found(rule_confidential, f) == [("FORM_213", at("member"))]
    assert rule_confidential(form(RELEASE, ("| select_one yn | member |", f"| {kind} | member |"))) == []


def test_a_confidential_audit_has_no_parameters():
    f = form(("| audit | audit | | | | | | | | | |", "| audit | audit | | | | | | | | | track-changes=true |"))
    [finding] = rule_confidential(f)
    assert (finding.code, finding.where) == ("FORM_214", at("audit"))


def test_a_confidential_form_never_uses_last_saved():
    f = form(("| ${age} >= 18 |", "| ${last-saved#age} >= 18 |"))
    assert found(rule_confidential, f) == [("FORM_216", at("member"))]


def test_a_confidential_form_asks_no_free_text():
    f = form(("| regex(., '^E[0-9]{2}$') |", "| |"))
    assert found(rule_confidential, f) == [("FORM_215", at("enum_code"))]


# -- references, lists, filters ---------------------------------------------------------------


def test_references_reads_names_including_last_saved():
    assert references("${a} + ${ b } and ${last-saved#c}") == ["a", "b", "c"]


def test_an_unknown_reference_is_an_error_naming_row_and_column():
    f = form(("| ${age} >= 18 |", "| ${agee} >= 18 |"))
    [finding] = rule_references(f)
    assert (finding.code, finding.where) == ("FORM_217", at("member"))
    assert "'relevant'" in finding.message and "${agee}" in finding.message


def test_an_unknown_reference_in_a_label_is_an_error():
    f = form(("| Union member? |", "| Union member, ${nama}? |"))
    assert found(rule_references, f) == [("FORM_217", at("member"))]


def test_a_select_with_a_missing_list_is_an_error():
    f = form(("| select_one yn | member |", "| select_one yesno | member |"))
    [finding] = rule_select_lists(f)
    assert (finding.code, finding.where) == ("FORM_218", at("member")) and "'yesno'" in finding.message


@pytest.mark.parametrize(("expr", "columns"), [
    ("prov=${province}", {"prov"}),
    ("conf=${confed} or conf='any'", {"conf"}),
    ("selected(${exp_yes}, name)", {"name"}),
    ("name != 'nobody' and region = 'x y'", {"name", "region"}),
])
def test_filter_columns_reads_the_choice_columns(expr, columns):
    assert filter_columns(expr) == columns


def test_a_choice_filter_on_a_column_the_list_lacks_is_an_error():
    f = form(("| prov=${province} |", "| province=${province} |"))
    [finding] = rule_choice_filters(f)
    assert (finding.code, finding.where) == ("FORM_219", at("district"))
    assert "'province'" in finding.message and "'dist'" in finding.message


def test_an_expression_the_evaluator_cannot_handle_is_refused():
    pytest.importorskip("suara.xpath")
    f = form(("| if(${age} >= 18, 1, 0) |", "| instance('x')/root/item |"))
    [finding] = rule_xpath_supported(f)
    assert (finding.code, finding.where) == ("FORM_220", at("adult"))
    assert "calculation of 'adult'" in finding.message


# -- checks delivered by other packages -------------------------------------------------------


def test_an_unknown_pii_rule_is_reported_by_the_privacy_policy_at_its_row():
    pytest.importorskip("suara.privacy")
    f = form(("| . >= 18 | | | | Q | |", "| . >= 18 | | | | Q | fortnight |"))
    [finding] = rule_privacy_policy(f)
    assert finding.is_error and finding.where == at("age") and "'fortnight'" in finding.message


def test_encryption_settings_are_checked_by_suara_crypto():
    pytest.importorskip("suara.crypto.form_rules")
    assert rule_encryption(form()) == []
    broken = form((f"| {PUBLIC_KEY} |", "| MIIBnotakey |"))
    assert [x.severity for x in rule_encryption(broken)] == ["error"]


def test_an_absent_optional_module_skips_its_rule_silently(monkeypatch):
    monkeypatch.setitem(sys.modules, "suara.xpath", None)  # import now fails as "not found"
    assert rule_xpath_supported(form(("| if(${age} >= 18, 1, 0) |", "| instance('x')/a |"))) == []


def test_a_broken_optional_module_is_a_warning_not_a_silent_skip(monkeypatch):
    monkeypatch.setitem(sys.modules, "suara.xpath", types.ModuleType("suara.xpath"))  # no unevaluable()
    [finding] = rule_xpath_supported(form())
    assert (finding.severity, finding.code) == ("warning", "FORM_222")
    assert "suara.xpath.unevaluable" in finding.message


def test_a_pulldata_file_must_sit_beside_the_form_with_the_columns_read(tmp_path):
    path = tmp_path / "test_form.md"
    path.write_text(variant(("| if(${age} >= 18, 1, 0) |",
                             "| pulldata('umk','umk_amount','district_code',${district}) |")))
    f = load_form(path)
    [missing] = rule_media_files(f)
    assert (missing.code, missing.where) == ("FORM_226", f"{path} line {LINE['adult']} (survey)")
    (tmp_path / "umk.csv").write_text("district,umk_amount\n3216,5558515\n")
    assert [(x.code, "'district_code'" in x.message) for x in rule_media_files(f)] == [("FORM_227", True)]
    (tmp_path / "umk.csv").write_text("district_code,umk_amount,umk_year\n3216,5558515,2025\n")
    assert rule_media_files(f) == []


def test_xpath_rule__pulldata_in_a_constraint__refused_at_check_time():
    """A constraint calling pulldata() cannot be checked row by row: refused, naming the row."""
    f = form(("| if(${age} >= 18, 1, 0) |", "| if(${age} >= 18, 1, 0) |"))
    bad = f.fields[0]
    import dataclasses

    broken = dataclasses.replace(f, fields=(dataclasses.replace(bad, constraint="pulldata('umk','a','b','c') > 1"),
                                            *f.fields[1:]))
    findings = rule_xpath_supported(broken)
    assert [x.code for x in findings] == ["FORM_220"]
    assert f"constraint of '{bad.name}'" in findings[0].message
