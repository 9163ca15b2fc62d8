"""The Form model: what later stages read from a parsed form, and how a broken one is refused."""

from __future__ import annotations

import pytest

from suara.errors import FormDefinitionError
from suara.forms import form_from_markdown, load_form, load_form_versions
from tests.unit.suara.forms.forms_md import BASE, LINE, form, variant

REPEATS = """\
| survey |
|  | type | name | label::English (en) | label::Indonesian (id) | repeat_count | relevant | pii_class |
|  | start | start | | | | | M |
|  | audit | audit | | | | | M |
|  | select_multiple topic | topics | Topics | Topik | | | - |
|  | begin_repeat | tr | Training | Pelatihan | count-selected(${topics}) | ${topics} != '' | - |
|  | integer | tr_women | Women | Perempuan | | | - |
|  | begin_repeat | sess | Session | Sesi | ${tr_women} | | - |
|  | date | sess_date | Date | Tanggal | | | Q |
|  | end_repeat | | | | | | |
|  | end_repeat | | | | | | |
| choices |
|  | list_name | name | label::English (en) | label::Indonesian (id) |
|  | topic | wage | Wages | Upah |
| settings |
|  | form_id | version |
|  | rep | 2026112801 |
"""


def test_fields_carry_kobo_paths_groups_and_labels_per_language():
    f = form()
    age = f.field("age")
    assert (age.type, age.path, age.groups, age.repeat) == ("integer", "grp_work/age", ("grp_work",), None)
    assert age.labels == {"English (en)": "Age", "Indonesian (id)": "Umur"}
    assert age.hints == {"English (en)": "In years", "Indonesian (id)": "Dalam tahun"}
    assert age.where == f"test_form.md line {LINE['age']} (survey)"
    assert f.field("start").path == "start" and f.field("audit").path == "meta/audit"
    assert f.languages == ("English (en)", "Indonesian (id)")
    assert f.default_language == "Indonesian (id)" and f.version == "2026112801"


def test_selects_know_their_lists_and_cascade_columns():
    f = form()
    district = f.field("district")
    assert district.is_select and not district.is_multiple and district.list_name == "dist"
    clist = f.choices(district)
    assert clist.names == ("bdg", "tng")
    assert clist.get("bdg").extra == {"prov": "jb"} and clist.get("bdg").labels["Indonesian (id)"] == "Bandung"
    assert district.choice_filter == "prov=${province}"


def test_privacy_declarations_and_policy_are_read():
    f = form()
    assert f.field("enum_code").pii_class == "D" and f.field("enum_code").pii_rule == "pseudonym"
    assert f.policy == {"microdata": "restricted"}
    assert f.encrypted
    unclassified = form(("| if(${age} >= 18, 1, 0) | | | - |", "| if(${age} >= 18, 1, 0) | | | |"))
    assert unclassified.field("adult").pii_class is None
    assert unclassified.field("adult").effective_class == "D"  # fail closed


def test_relevant_chain_includes_enclosing_groups_outermost_first():
    f = form(("| begin_group | grp_work | Work | Pekerjaan | | | |",
              "| begin_group | grp_work | Work | Pekerjaan | | | ${province} = 'jb' |"))
    assert f.relevant_chain(f.field("member")) == ("${province} = 'jb'", "${age} >= 18")
    assert f.relevant_chain(f.field("province")) == ()


def test_repeats_nest_and_an_expression_count_gets_pyxforms_generated_field():
    f = form_from_markdown(REPEATS)
    assert [r.path for r in f.repeats] == ["tr", "tr/sess"]
    assert f.group("sess").parent_repeat == "tr"
    assert f.field("sess_date").repeat == "tr/sess" and f.field("sess_date").path == "tr/sess/sess_date"
    count = f.field("tr_count")
    assert count.generated and count.type == "calculate" and count.repeat is None
    assert count.calculation == "count-selected(${topics})"
    assert not any(x.name == "sess_count" for x in f.fields)  # a plain ${ref} count needs none
    assert [x.name for x in f.value_fields("tr")] == ["tr_women"]
    assert [x.name for x in f.value_fields("tr/sess")] == ["sess_date"]


def test_notes_carry_no_value():
    f = form(("| select_one yn | member |", "| note | member |"))
    assert not f.field("member").has_value
    assert "member" not in [x.name for x in f.value_fields()]


def test_a_media_only_language_column_still_declares_its_language():
    f = form(("| pii_class | pii_rule |", "| pii_class | pii_rule | media::audio::Javanese (jv) |"))
    assert "Javanese (jv)" in f.languages


@pytest.mark.parametrize(("change", "code", "line_of"), [
    (("| end_group | | | | |", "| end_repeat | | | | |"), "FORM_012", "end"),
    (("| end_group | | | | |", "| note | end_note | End | Akhir |"), "FORM_012", "grp_work"),
    (("| select_one yn | member |", "| select_one | member |"), "FORM_010", "member"),
    (("| integer | age |", "| integer | |"), "FORM_012", "age"),
])
def test_broken_structure_is_refused_naming_the_line(change, code, line_of):
    text = variant(change)
    with pytest.raises(FormDefinitionError) as exc:
        form_from_markdown(text, source="test_form.md")
    assert exc.value.code == code
    line = (next(n for n, t in enumerate(text.splitlines(), 1) if "end_repeat" in t)
            if line_of == "end" else LINE[line_of])
    assert f"test_form.md line {line}" in exc.value.message


def test_a_form_without_settings_or_form_id_is_refused():
    with pytest.raises(FormDefinitionError, match="'settings' sheet is missing"):
        form_from_markdown(BASE.split("| settings |")[0])
    with pytest.raises(FormDefinitionError, match="no form_id"):
        form_from_markdown(variant(("| test_form |", "| |")))


def test_load_form_versions_finds_archived_versions_beside_the_current_one(tmp_path):
    (tmp_path / "test_form.md").write_text(BASE)
    archive = tmp_path / "versions" / "test_form"
    archive.mkdir(parents=True)
    (archive / "2026110101.md").write_text(variant(("| 2026112801 |", "| 2026110101 |")))
    versions = load_form_versions("test_form", tmp_path)
    assert sorted(versions) == ["2026110101", "2026112801"]
    assert load_form(tmp_path / "test_form.md").version == "2026112801"
