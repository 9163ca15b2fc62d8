"""pyxform + ODK Validate through ``suara.forms.build``: placed messages, broken workbooks, build.

ODK Validate runs Java (~0.4 s a form), so only two tests here convert with ``validate=True``.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from pyxform.xls2xform import convert as pyxform_convert

from suara.errors import FormDefinitionError
from suara.forms import load_form
from suara.forms.build import build, check_form, check_sources, convert, form_sources, summary
from suara.forms.sheets import read_xlsx
from tests.unit.suara.forms.forms_md import BASE, LINE, form, variant


def write_workbook(path: Path, sheets: dict[str, list[list[str]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


SURVEY_HEAD = ["type", "name", "label::English (en)", "label::Indonesian (id)", "relevant", "pii_class"]
CHOICES = [["list_name", "name", "label::English (en)", "label::Indonesian (id)"],
           ["yn", "yes", "Yes", "Ya"], ["yn", "no", "No", "Tidak"]]
SETTINGS = [["form_id", "version", "default_language"], ["wb_form", "2026112801", "Indonesian (id)"]]
POLICY = [["key", "value"], ["microdata", "release"]]  # not confidential: no public_key needed


def workbook(tmp_path: Path, survey_rows: list[list[str]], **sheets) -> Path:
    content = {"survey": [SURVEY_HEAD, *survey_rows], "choices": CHOICES, "settings": SETTINGS,
               "suara_policy": POLICY}
    content.update(sheets)
    return write_workbook(tmp_path / "wb_form.xlsx", {k: v for k, v in content.items() if v is not None})


# -- conversion -------------------------------------------------------------------------------


def test_the_base_form_converts_and_passes_odk_validate():
    check = check_form(form(), validate=True)
    assert check.findings == [] and check.ok
    assert 'id="test_form"' in check.xform and 'version="2026112801"' in check.xform
    assert 'lang="Indonesian (id)" default="true()"' in check.xform
    assert "pii_class" not in check.xform  # project columns never reach the XForm


def test_a_pyxform_error_keeps_its_message_and_names_the_source_line():
    f = form(("| ${age} >= 18 |", "| ${age} >= 18 and ${grp_x} = 1 |"))
    xform, _, findings = convert(f, validate=False)
    assert xform is None
    [finding] = findings
    assert finding.code == "PYXFORM_999" and finding.is_error
    assert finding.where == f"test_form.md line {LINE['member']} (survey)"
    assert finding.message.startswith("[row : ") and "grp_x" in finding.message


def test_pyxform_warnings_become_warnings_with_code_101():
    f = form(("| username | username |", "| simserial | username |"))
    xform, _, findings = convert(f, validate=False)
    assert xform is not None
    [finding] = findings
    assert (finding.severity, finding.code) == ("warning", "PYXFORM_101")
    assert finding.where == f"test_form.md line {LINE['username']} (survey)"
    assert "simserial" in finding.message


def test_check_reports_rule_errors_beside_pyxform_errors():
    f = form(("| select_one yn | member |", "| select_one yesno | member |"))
    check = check_form(f, validate=False)
    assert {x.code for x in check.errors} == {"FORM_218", "PYXFORM_999"}
    assert not check.ok


# -- broken workbooks -------------------------------------------------------------------------


def test_a_workbook_without_a_survey_sheet_is_a_finding_not_a_traceback(tmp_path):
    path = write_workbook(tmp_path / "wb_form.xlsx", {"surveys": [SURVEY_HEAD], "settings": SETTINGS})
    [check] = check_sources([path], validate=False)
    [finding] = check.findings
    assert finding.code == "FORM_003" and finding.where == str(path)
    assert "'survey' sheet is missing" in finding.message and "'surveys'" in finding.message


def test_a_duplicate_name_in_a_workbook_names_both_rows(tmp_path):
    path = workbook(tmp_path, [
        ["integer", "age", "Age", "Umur", "", "Q"],
        ["integer", "age", "Age again", "Umur lagi", "", "Q"],
        ["select_one yn", "member", "Member?", "Anggota?", "${age} > 17", "S"],
    ])
    [check] = check_sources([path], validate=False)
    dup = [f for f in check.errors if f.code == "FORM_206"]
    assert [f.where for f in dup] == ["wb_form.xlsx sheet 'survey' row 3"]
    assert "wb_form.xlsx sheet 'survey' row 2" in dup[0].message
    # pyxform's own error (same parent: the second row is invalid) is placed on that row too.
    [pyx] = [f for f in check.errors if f.code == "PYXFORM_999"]
    assert pyx.where == "wb_form.xlsx sheet 'survey' row 3"
    assert pyx.message.startswith("[row : 3]") and "'age'" in pyx.message


def test_an_unknown_choice_list_in_a_workbook_is_named(tmp_path):
    path = workbook(tmp_path, [["select_one yesno", "member", "Member?", "Anggota?", "", "S"]])
    [check] = check_sources([path], validate=False)
    assert [(f.code, f.where) for f in check.errors] == [
        ("FORM_218", "wb_form.xlsx sheet 'survey' row 2"),
        ("PYXFORM_999", "wb_form.xlsx sheet 'survey' row 2"),
    ]


def test_bad_xpath_in_a_workbook_is_refused_by_odk_validate_naming_the_row(tmp_path):
    path = workbook(tmp_path, [
        ["integer", "age", "Age", "Umur", "", "Q"],
        ["integer", "tenure", "Years worked", "Lama bekerja", "foo(${age}) > 1", "-"],
    ])
    check = check_form(load_form(path), validate=True)
    [odk] = [f for f in check.errors if f.code == "ODK_VALIDATE"]
    assert odk.where == "wb_form.xlsx sheet 'survey' row 3"
    assert "cannot handle function 'foo'" in odk.message
    assert "Caused by" not in odk.message and "tmp" not in odk.message  # Java noise is left out


# -- selection, summary, build ----------------------------------------------------------------


def test_form_sources_selects_by_id_or_path_and_names_unknown_ids(tmp_path):
    (tmp_path / "a_form.md").write_text(BASE)
    (tmp_path / "README.md").write_text("# not a form")
    assert form_sources(tmp_path) == [tmp_path / "a_form.md"]
    assert form_sources(tmp_path, ["a_form"]) == [tmp_path / "a_form.md"]
    with pytest.raises(FormDefinitionError, match="no form 'b_form'.*known: a_form"):
        form_sources(tmp_path, ["b_form"])


def test_two_files_with_one_form_id_are_an_error(tmp_path):
    for name in ("test_form.md", "copy.md"):
        (tmp_path / name).write_text(BASE)
    checks = check_sources(form_sources(tmp_path), validate=False)
    assert "FORM_223" in {f.code for c in checks for f in c.errors}


def test_summary_counts_forms_errors_and_warnings():
    good = check_form(form(), validate=False)
    bad = check_form(form(("| username | username |", "| simserial | username |"),
                          ("| 2026112801 |", "| 1 |")), validate=False)
    assert summary([good]) == "1 form, 0 errors, 0 warnings"
    # errors: the version, and class D on simserial (not an account identifier); warning: simserial
    assert sorted(f.code for f in bad.findings) == ["FORM_210", "FORM_211", "PYXFORM_101"]
    assert summary([good, bad]) == "2 forms, 2 errors, 1 warning"


def test_build_writes_xlsx_and_xml_that_convert_back_to_the_same_xform(tmp_path):
    check = check_form(form(), validate=False)
    [built] = build([check], tmp_path / "out")
    assert (built.xlsx.name, built.xml.name) == ("test_form.xlsx", "test_form.xml")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["test_form.xlsx", "test_form.xml"]
    assert built.xml.read_text(encoding="utf-8") == check.xform
    # Kobo receives the workbook: it must carry the project's columns and give the same XForm.
    sheets = read_xlsx(built.xlsx)
    assert "pii_class" in sheets.headers["survey"] and "suara_policy" in sheets.sheets
    again = pyxform_convert(str(built.xlsx), pretty_print=True, form_name="data")
    assert again.xform == check.xform and again.warnings == []


def test_build_refuses_when_a_form_failed_and_writes_nothing(tmp_path):
    bad = check_form(form(("| 2026112801 |", "| 1 |")), validate=False)
    with pytest.raises(FormDefinitionError, match="refusing to build") as exc:
        build([check_form(form(), validate=False), bad], tmp_path / "out")
    assert exc.value.code == "FORM_225"
    assert not (tmp_path / "out").exists()


def test_variant_refuses_replacements_that_do_not_apply():
    with pytest.raises(AssertionError):
        variant(("no such text", "x"))


def test_a_source_that_is_not_text_is_a_finding(tmp_path):
    path = tmp_path / "test_form.md"
    path.write_bytes(b"\xff\xfe\x00 not text")
    [check] = check_sources([path], validate=False)
    assert [(f.code, f.where, f.message) for f in check.findings] == [
        ("FORM_002", str(path), "not UTF-8 text.")]
