"""``suara report --out DIR`` on a loaded warehouse: the report from the reporting zone, with
the data dictionary of the analytics zone beside it and linked from both pages."""

from __future__ import annotations

import csv

import pytest

from suara.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def warehouse_url(demo_sqlite_root):
    return f"sqlite:///{demo_sqlite_root / 'data' / 'suara.db'}"


def test_report_command_writes_report_and_dictionary(warehouse_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("SUARA_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "site"
    assert main(["report", "--out", str(out)]) == 0
    assert "report written" in capsys.readouterr().out
    for lang in ("en", "id"):
        page = (out / f"report.{lang}.html").read_text(encoding="utf-8")
        assert 'href="dictionary.html"' in page
        assert 'data-indicator="RB-1"' in page and 'data-indicator="VH-8"' in page
    with (out / "dictionary.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    tables = {r["table_name"] for r in rows if r["in_analytics"] == "yes"}
    assert tables == {"ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment", "ilo_org_assessment__tr"}
    html = (out / "dictionary.html").read_text(encoding="utf-8")
    assert 'data-column="g_raised_to__union_rep"' in html and 'id="withheld"' in html


def test_report_on_a_warehouse_never_refreshed_says_there_is_nothing(tmp_path, monkeypatch):
    from warehouse import Warehouse

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with Warehouse(url) as wh, wh.engine.connect():  # connecting creates the zone files
        pass
    assert (tmp_path / "empty.db").exists()
    monkeypatch.setenv("WAREHOUSE_URL", url)
    out = tmp_path / "site"
    assert main(["report", "--out", str(out)]) == 0
    assert 'data-indicator=' not in (out / "report.en.html").read_text(encoding="utf-8")
    assert (out / "dictionary.html").exists()


def test_report__sqlite_warehouse_url_names_no_file__refused_nothing_created_or_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path / 'typo' / 'suara.db'}")
    (tmp_path / "typo").mkdir()
    out = tmp_path / "site"
    out.mkdir()
    (out / "report.en.html").write_text("the last good report", encoding="utf-8")
    assert main(["report", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "WH_070" in err and "does not exist" in err and "WAREHOUSE_URL" in err
    assert list((tmp_path / "typo").iterdir()) == []  # no empty zone files left behind
    assert (out / "report.en.html").read_text(encoding="utf-8") == "the last good report"
