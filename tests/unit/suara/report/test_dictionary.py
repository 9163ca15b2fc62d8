"""The data dictionary names exactly the analytics columns the warehouse creates, in both
languages, with choices and versions, and lists what is withheld without any value."""

from __future__ import annotations

import csv

import pytest

from suara.cli.report_cmd import warehouse_catalogue
from suara.forms import form_from_markdown
from suara.report.dictionary import write_dictionary
from warehouse.derive import derive_form
from warehouse.session import ANALYTICS

V1 = """
| survey |
| | type | name | label::English (en) | label::Indonesian (id) | pii_class | pii_rule |
| | start | start | | | M | |
| | end | end | | | M | |
| | deviceid | deviceid | | | M | |
| | text | worker_name | Your name | Nama Anda | D | |
| | text | staff_code | Staff code | Kode staf | D | pseudonym |
| | select_one sex | sex | Sex | Jenis kelamin | Q | |
| | select_multiple issue | issues | Problems at work | Masalah di tempat kerja | - | |
| | integer | harassed_n | Times harassed | Kali dilecehkan | S | |
| | date | visit_date | Visit date | Tanggal kunjungan | Q | |
| choices |
| | list_name | name | label::English (en) | label::Indonesian (id) |
| | sex | female | Female | Perempuan |
| | sex | male | Male | Laki-laki |
| | issue | wage | Wages | Upah |
| | issue | dont-know | Don't know | Tidak tahu |
| settings |
| | form_id | version | default_language |
| | dict_demo | 2026010101 | Indonesian (id) |
"""

# Version 2 adds a question and a choice: both exist from v2 on only.
V2 = (
    V1.replace("| | date | visit_date |", "| | integer | meetings | Meetings held | Rapat diadakan | - | |\n"
               "| | date | visit_date |")
    .replace("| | issue | wage | Wages | Upah |", "| | issue | wage | Wages | Upah |\n| | issue | safety | Safety | Keselamatan |")
    .replace("2026010101", "2026020101")
)


@pytest.fixture(scope="module")
def versions():
    forms = [form_from_markdown(t) for t in (V1, V2)]
    return {"dict_demo": {f.version: f for f in forms}}


@pytest.fixture(scope="module")
def written(versions, tmp_path_factory):
    out = tmp_path_factory.mktemp("dictionary")
    html, csv_path = write_dictionary(versions, out, catalogue=warehouse_catalogue)
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return html.read_text(encoding="utf-8"), rows


def _analytics(rows):
    return {(r["table_name"], r["column_name"]): r for r in rows if r["in_analytics"] == "yes"}


def test_lists_exactly_the_columns_the_warehouse_creates_in_analytics(versions, written):
    _, rows = written
    schema = derive_form(versions["dict_demo"])
    expected = {(t.name, c) for (zone, _), t in schema.tables.items() if zone == ANALYTICS for c in t.columns}
    listed = set(_analytics(rows))
    assert expected <= listed
    # Beyond the form columns only the key and lineage columns every table has.
    assert {c for _, c in listed - expected} == {"_id", "_loaded_at", "_sync_run_id"}


def test_select_multiple_flags_are_named_as_in_the_warehouse_with_both_languages(written):
    _, rows = written
    cols = _analytics(rows)
    assert cols[("dict_demo", "issues__wage")]["question_en"] == "Problems at work: Wages"
    assert cols[("dict_demo", "issues__wage")]["question_id"] == "Masalah di tempat kerja: Upah"
    # A choice name that is not SQL-safe gets the warehouse's disambiguated name, not a guess.
    dont = [c for (_, c) in cols if c.startswith("issues__dont_know")]
    assert len(dont) == 1 and dont[0] != "issues__dont_know"
    assert cols[("dict_demo", "issues")]["type"] == "choices"
    assert "wage = Wages / Upah" in cols[("dict_demo", "issues")]["choices"]


def test_choices_of_a_select_one_are_listed_in_both_languages(written):
    _, rows = written
    sex = _analytics(rows)[("dict_demo", "sex")]
    assert sex["choices"] == "female = Female / Perempuan; male = Male / Laki-laki"
    assert (sex["question_en"], sex["question_id"]) == ("Sex", "Jenis kelamin")


def test_versions_say_where_each_column_exists(written):
    _, rows = written
    cols = _analytics(rows)
    assert cols[("dict_demo", "sex")]["form_versions"] == "2026010101 2026020101"
    assert cols[("dict_demo", "meetings")]["form_versions"] == "2026020101"
    assert cols[("dict_demo", "issues__safety")]["form_versions"] == "2026020101"
    assert "safety = Safety / Keselamatan" in cols[("dict_demo", "issues")]["choices"]


def test_privacy_treatment_is_given_for_coarsened_columns(written):
    _, rows = written
    cols = _analytics(rows)
    assert cols[("dict_demo", "visit_date_month")]["privacy_treatment"] == "month"
    assert ("dict_demo", "visit_date") not in cols


def test_withheld_fields_are_listed_with_the_reason_and_never_in_analytics(written):
    _, rows = written
    withheld = {r["column_name"]: r for r in rows if r["in_analytics"] == "no"}
    assert set(withheld) >= {"worker_name", "staff_code", "deviceid", "harassed_n"}
    assert withheld["worker_name"]["privacy_treatment"] == "dropped"
    assert "never stored" in withheld["worker_name"]["withheld_because_en"]
    assert withheld["staff_code"]["privacy_treatment"] == "restricted: pseudonym"
    assert "restricted zone" in withheld["harassed_n"]["withheld_because_en"]
    assert withheld["harassed_n"]["withheld_because_id"]
    assert not {"worker_name", "staff_code", "harassed_n"} & {c for _, c in _analytics(rows)}


def test_html_has_every_column_both_languages_and_the_withheld_section(written):
    html, rows = written
    for r in rows:
        if r["in_analytics"] == "yes":
            assert f'data-column="{r["column_name"]}"' in html
        else:
            assert f'data-field="{r["column_name"]}"' in html
    assert "Masalah di tempat kerja" in html and "Problems at work" in html
    assert 'id="withheld"' in html
    assert "Don&#39;t know" in html  # labels are escaped, never raw HTML


def test_every_analytics_column_is_described_in_both_languages(written):
    _, rows = written
    for r in rows:
        assert r["question_en"] and r["question_id"], (r["table_name"], r["column_name"])
    cols = _analytics(rows)
    assert cols[("dict_demo", "issues__wage")]["choices"] == "1 = chosen / dipilih; 0 = not chosen / tidak dipilih"
    assert "version" in cols[("dict_demo", "_form_version")]["question_en"]
