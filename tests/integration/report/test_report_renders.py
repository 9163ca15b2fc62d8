"""The report opens in a real browser (headless Chromium): every indicator row is there in both
languages, suppressed cells say so and show no figure, the language switch and the charts work.

Chromium is installed by ``./dev test`` when CI is set; elsewhere the test skips when it is
missing (``apt-get install chromium``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from suara.cli.report_cmd import warehouse_catalogue
from suara.report import ReportData, build_report
from suara.report.dictionary import write_dictionary
from tests.unit.suara.report.report_data import indicator_cells, real_forms

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("headless Chromium is not installed (apt-get install chromium; CI installs it via ./dev test)",
                allow_module_level=True)

SUPPRESSED = {"en": "suppressed", "id": "disembunyikan"}
# Appended to a copy of each page: after load, record every image's decoded width on <body>.
PROBE = ("<script>window.addEventListener('load', () => document.body.setAttribute('data-image-widths',"
         " JSON.stringify(Array.from(document.images, i => i.naturalWidth))));</script>")


def chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None, "CI must have chromium: ./dev test installs it when CI is set"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={user_dir}", "--virtual-time-budget=5000", *args],
        capture_output=True, text=True, timeout=120, check=True,
    )


class Cells(HTMLParser):
    """Indicator rows (data-indicator) with their cells, the switch link and <body> attributes."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, dict]] = {}
        self.links: dict[str, str] = {}
        self.body: dict[str, str] = {}
        self._row: str | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "a" and "id" in a:
            self.links[a["id"]] = a.get("href", "")
        elif tag == "tr" and "data-indicator" in a:
            self._row = a["data-indicator"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row and "data-group" in a:
            self._cell = {"class": a.get("class") or "", "text": ""}
            self.rows[self._row][a["data-group"]] = self._cell

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    # 60 respondents per form: breakdowns by sex and contract leave small groups to suppress.
    return indicator_cells(60)


@pytest.fixture(scope="module")
def report(cells, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    runs = pd.DataFrame([{"form_id": f.form_id, "finished_at": pd.Timestamp("2026-11-27 10:00"), "pulled": 60,
                          "loaded": 55, "quarantined": 3, "withheld": 2, "deleted": 0} for f in real_forms()])
    quality = pd.DataFrame([{"form_id": "ilo_rights_baseline", "reason": "VAL_RANGE", "count": 3}])
    dist = pd.DataFrame({"form_id": "ilo_rights_baseline", "name": "k_score",
                         "bucket": ["0-4", "5-9", "10-13", "14-18"], "count": [None, 12, 30, 14],
                         "suppressed": [True, False, False, False]})
    forms = list(real_forms())
    write_dictionary({f.form_id: {f.version: f} for f in forms}, out, catalogue=warehouse_catalogue)
    build_report(ReportData(cells, runs, quality, dist), forms, out)
    return out


@pytest.fixture(scope="module", params=["en", "id"])
def rendered(request, report, tmp_path_factory) -> tuple[str, Cells, Path]:
    lang = request.param
    page = report / f"report.{lang}.html"
    probe = report / f"probe.{lang}.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    user_dir = tmp_path_factory.mktemp(f"chromium-{lang}")
    dom = chromium("--dump-dom", probe.as_uri(), user_dir=user_dir).stdout
    shot = report / f"screenshot.{lang}.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri(), user_dir=user_dir)
    parsed = Cells()
    parsed.feed(dom)
    return lang, parsed, shot


def test_every_indicator_has_a_row(rendered, cells):
    _, dom, _ = rendered
    assert set(cells.indicator_id) == set(dom.rows)
    for ind_id, part in cells.groupby("indicator_id"):
        groups = {f"{g}={v}" for g, v in zip(part.group_by, part.group_value, strict=True)}
        assert groups <= set(dom.rows[ind_id]), ind_id


def test_suppressed_cells_say_so_and_show_no_figure(rendered, cells):
    lang, dom, _ = rendered
    sup = cells[cells.suppressed]
    assert len(sup) > 10, "the synthetic data should exercise suppression"
    for r in sup.itertuples():
        cell = dom.rows[r.indicator_id][f"{r.group_by}={r.group_value}"]
        assert cell["text"].strip() == SUPPRESSED[lang], (r.indicator_id, r.group_by, r.group_value)
    for ind_id, row in dom.rows.items():
        for group, cell in row.items():
            if "sup" in cell["class"]:
                assert not re.search(r"\d", cell["text"]), (ind_id, group, cell["text"])


def test_unsuppressed_cells_show_their_figures(rendered, cells):
    _, dom, _ = rendered
    shown = cells[~cells.suppressed & cells.value.notna() & (cells.unit == "%")]
    for r in shown.head(40).itertuples():
        text = dom.rows[r.indicator_id][f"{r.group_by}={r.group_value}"]["text"]
        assert f"{r.value:.1f}" in text and f"n={int(r.n)}" in text


def test_language_switch_and_dictionary_links_lead_to_pages(rendered, report):
    lang, dom, _ = rendered
    other = {"en": "id", "id": "en"}[lang]
    assert dom.links["lang-switch"] == f"report.{other}.html"
    assert (report / dom.links["lang-switch"]).exists()
    assert dom.links["dictionary-link"] == "dictionary.html"


def test_dictionary_renders_every_column_and_the_withheld_fields(report, tmp_path):
    with (report / "dictionary.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    dom = chromium("--dump-dom", (report / "dictionary.html").as_uri(), user_dir=tmp_path).stdout
    shown = re.findall(r'<tr data-column="([^"]+)"', dom)
    assert len(shown) == sum(r["in_analytics"] == "yes" for r in rows)
    withheld = set(re.findall(r'<tr data-field="([^"]+)"', dom))
    assert withheld == {r["column_name"] for r in rows if r["in_analytics"] == "no"}
    assert "e_sx_touch" in withheld and 'data-column="e_sx_touch"' not in dom


def test_charts_load(rendered, cells):
    _, dom, _ = rendered
    widths = json.loads(dom.body["data-image-widths"])
    headline = cells[cells.headline.astype(bool)].indicator_id.nunique()
    assert len(widths) == headline + 1  # one chart per headline indicator plus the score distribution
    assert all(w > 0 for w in widths), widths


def test_screenshot_is_not_blank(rendered):
    from PIL import Image

    _, _, shot = rendered
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 2400)
    colours = img.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, tables and charts, not an empty page
