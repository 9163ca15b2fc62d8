"""Render the report pages with Jinja2 (autoescaped), one file per language."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from jinja2 import Environment, select_autoescape

from suara.forms import Form
from suara.report import charts

TEXT = {
    "en": {
        "title": "Suara — survey indicators", "switch": "Bahasa Indonesia", "other": "id",
        "generated": "Generated", "responses": "Responses and data quality", "form": "Form",
        "run": "Last run", "pulled": "pulled", "loaded": "loaded", "quarantined": "quarantined",
        "withheld": "withheld (no consent)", "deleted": "deleted", "indicators": "Indicators",
        "indicator": "Indicator", "all": "All", "n": "n", "suppressed": "suppressed",
        "reasons": "Why submissions are held in quarantine", "reason": "reason", "count": "submissions",
        "none": "none", "note": "Cells based on fewer respondents than the disclosure threshold are shown "
        "as suppressed (together with any cell that would let them be recomputed). Figures describe "
        "the respondents, not factory prevalence, unless sampling was random.",
        "headline": "Headline charts", "by": "by", "dist": "Rights-knowledge score distribution",
        "dictionary": "Data dictionary", "missing": "(no answer)",
    },
    "id": {
        "title": "Suara — indikator survei", "switch": "English", "other": "en",
        "generated": "Dibuat", "responses": "Respons dan kualitas data", "form": "Formulir",
        "run": "Proses terakhir", "pulled": "diambil", "loaded": "dimuat", "quarantined": "dikarantina",
        "withheld": "ditahan (tanpa persetujuan)", "deleted": "dihapus", "indicators": "Indikator",
        "indicator": "Indikator", "all": "Semua", "n": "n", "suppressed": "disembunyikan",
        "reasons": "Alasan kiriman ditahan di karantina", "reason": "alasan", "count": "kiriman",
        "none": "tidak ada", "note": "Sel dengan responden lebih sedikit dari ambang pengungkapan ditampilkan "
        "sebagai disembunyikan (bersama sel lain yang dapat dipakai untuk menghitungnya kembali). Angka "
        "menggambarkan responden, bukan prevalensi pabrik, kecuali pengambilan sampel acak.",
        "headline": "Grafik utama", "by": "menurut", "dist": "Sebaran skor pengetahuan hak",
        "dictionary": "Kamus data", "missing": "(tidak dijawab)",
    },
}

PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem} h2{margin-top:2.2rem;border-bottom:2px solid #2f6f8f;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem} th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child,td.l,th.l{text-align:left} .sup{color:#888;font-style:italic}
.charts{display:flex;flex-wrap:wrap;gap:1rem} .charts figure{margin:0} .note{color:#555;font-size:.85rem}
.wide{overflow-x:auto} table.indicators td:first-child{min-width:16rem} table.indicators td{white-space:nowrap}
table.indicators td:first-child{white-space:normal} table.indicators th.by{text-align:center;font-weight:normal;color:#444}
nav a{font-weight:bold}
</style></head><body>
<nav><a href="report.{{ t.other }}.html" id="lang-switch">{{ t.switch }}</a>
{% if dictionary %} · <a href="dictionary.html" id="dictionary-link">{{ t.dictionary }}</a>{% endif %}</nav>
<h1>{{ t.title }}</h1>
<p class="note">{{ t.generated }}: {{ generated }}. {{ t.note }}</p>
<h2>{{ t.responses }}</h2>
<table id="responses"><tr><th>{{ t.form }}</th><th class="l">{{ t.run }}</th><th>{{ t.pulled }}</th><th>{{ t.loaded }}</th>
<th>{{ t.quarantined }}</th><th>{{ t.withheld }}</th><th>{{ t.deleted }}</th></tr>
{% for r in responses %}<tr><td>{{ r.form_id }}</td><td class="l">{{ r.finished }}</td><td>{{ r.pulled }}</td><td>{{ r.loaded }}</td>
<td>{{ r.quarantined }}</td><td>{{ r.withheld }}</td><td>{{ r.deleted }}</td></tr>{% endfor %}
</table>
<h3>{{ t.reasons }}</h3>
{% if reasons %}<table id="quality"><tr><th>{{ t.form }}</th><th class="l">{{ t.reason }}</th><th>{{ t.count }}</th></tr>
{% for r in reasons %}<tr><td>{{ r.form_id }}</td><td class="l"><code>{{ r.reason }}</code></td><td>{{ r.count }}</td></tr>{% endfor %}
</table>{% else %}<p>{{ t.none }}</p>{% endif %}
{% for s in sections %}
<h2 id="{{ s.form_id }}">{{ s.title }}</h2>
{% if s.charts %}<h3>{{ t.headline }}</h3><div class="charts">{% for c in s.charts %}
<figure><img src="{{ c.uri }}" alt="{{ c.alt }}" width="520"></figure>{% endfor %}</div>{% endif %}
<h3>{{ t.indicators }}</h3>
<div class="wide"><table class="indicators"><tr><th rowspan="2">{{ t.indicator }}</th><th rowspan="2">{{ t.all }}</th>
{% for b in s.bys %}<th colspan="{{ b.span }}" class="by">{{ b.label }}</th>{% endfor %}</tr>
<tr>{% for g in s.groups %}<th data-group="{{ g.key }}">{{ g.label }}</th>{% endfor %}</tr>
{% for row in s.rows %}<tr data-indicator="{{ row.id }}"><td><b>{{ row.id }}</b> {{ row.label }}</td>
{% for cell in row.cells %}<td{% if cell.suppressed %} class="sup"{% endif %} data-group="{{ cell.group }}">{{ cell.text }}</td>{% endfor %}</tr>{% endfor %}
</table></div>
{% endfor %}
</body></html>
"""


@dataclass
class ReportData:
    indicators: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    distributions: pd.DataFrame = field(default_factory=pd.DataFrame)


def _fmt(value, unit: str, n: int, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "%":
        return f"{value:.1f} %" + (f" (n={n})")
    if unit == "sum":
        return f"{value:,.0f}"
    return f"{value:.2f} (n={n})"


def _group_header(form: Form, key: str, lang: str) -> dict:
    """Column header of a breakdown cell: the question and the choice label in ``lang``
    (the code when the form has no label for it)."""
    by, value = key.split("=", 1)
    out = {"key": key, "by_key": by, "by": by, "label": TEXT[lang]["missing"] if value == "(missing)" else value}
    if form.has_field(by):
        fld = form.field(by)
        out["by"] = _label(fld.labels, lang) or by
        choices = form.choices(fld)
        choice = choices.get(value) if choices is not None else None
        if choice is not None:
            out["label"] = _label(choice.labels, lang) or value
    return out


def _label(labels, lang: str) -> str:
    from suara.report.dictionary import label_text

    return label_text(labels, lang)


def _sections(data: ReportData, forms: list[Form], lang: str, out_dir: Path) -> list[dict]:
    t = TEXT[lang]
    sections = []
    ind = data.indicators
    for form in forms:
        rows_f = ind[ind.form_id == form.form_id] if len(ind) else ind
        if rows_f.empty:
            continue
        groups = [f"{g}={v}" for g, v in rows_f[rows_f.group_by != "all"][["group_by", "group_value"]]
                  .drop_duplicates().itertuples(index=False)]
        headers = [_group_header(form, key, lang) for key in groups]
        bys: list[dict] = []  # one spanning header per breakdown question, over its choices
        for h in headers:
            if bys and bys[-1]["key"] == h["by_key"]:
                bys[-1]["span"] += 1
            else:
                bys.append({"key": h["by_key"], "label": h["by"], "span": 1})
        rows = []
        charts_ = []
        for ind_id, part in rows_f.groupby("indicator_id", sort=False):
            first = part.iloc[0]
            label = first.label_en if lang == "en" else first.label_id
            cells = []
            for key in ["all=all", *groups]:
                g, v = key.split("=", 1)
                hit = part[(part.group_by == g) & (part.group_value == v)]
                if hit.empty:
                    cells.append({"group": key, "text": "", "suppressed": False})
                    continue
                h = hit.iloc[0]
                sup = bool(h.suppressed)
                cells.append({"group": key, "suppressed": sup,
                              "text": t["suppressed"] if sup else _fmt(h.value, h.unit, int(h.n), lang)})
            rows.append({"id": ind_id, "label": label, "cells": cells})
            if bool(first.headline):
                chart_rows = part[part.group_by.isin(["all", "sex"])]
                png = out_dir / "charts" / f"{ind_id}.{lang}.png"
                names = {h["key"].split("=", 1)[1]: h["label"] for h in headers if h["by_key"] == "sex"}
                charts_.append({"uri": charts.indicator_bars(chart_rows, f"{ind_id} {label}", lang, png, names),
                                "alt": f"{ind_id} {label}"})
        dist = data.distributions
        if len(dist) and (dist.form_id == form.form_id).any():
            for name, part in dist[dist.form_id == form.form_id].groupby("name"):
                png = out_dir / "charts" / f"{name}.{lang}.png"
                charts_.append({"uri": charts.distribution_bars(part, t["dist"], lang, png), "alt": t["dist"]})
        sections.append({"form_id": form.form_id, "title": form.title, "groups": headers, "bys": bys, "rows": rows,
                         "charts": charts_})
    return sections


def _responses(data: ReportData) -> list[dict]:
    runs = data.runs
    if runs is None or runs.empty:
        return []
    latest = runs.sort_values("finished_at").groupby("form_id").tail(1)
    out = []
    for r in latest.itertuples(index=False):
        out.append({"form_id": r.form_id, "finished": str(r.finished_at)[:19], "pulled": r.pulled,
                    "loaded": r.loaded, "quarantined": r.quarantined, "withheld": r.withheld,
                    "deleted": r.deleted})
    return out


def build_report(data: ReportData, forms: list[Form], out_dir: Path | str) -> Path:
    """Write index.html, report.en.html, report.id.html and charts/; returns index.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    page = env.from_string(PAGE)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    reasons = [] if data.quality is None or data.quality.empty else data.quality.to_dict("records")
    # The CLI writes the data dictionary beside the report first; link it when it is there.
    dictionary = (out / "dictionary.html").exists()
    for lang in ("en", "id"):
        html = page.render(lang=lang, t=TEXT[lang], generated=generated, responses=_responses(data),
                           reasons=reasons, sections=_sections(data, forms, lang, out), dictionary=dictionary)
        (out / f"report.{lang}.html").write_text(html, encoding="utf-8")
    index = out / "index.html"
    index.write_text(
        '<!doctype html><meta charset="utf-8"><title>Suara report</title>'
        '<meta http-equiv="refresh" content="0; url=report.en.html">'
        '<p><a href="report.en.html">English</a> · <a href="report.id.html">Bahasa Indonesia</a>'
        + (' · <a href="dictionary.html">Data dictionary / Kamus data</a>' if dictionary else "") + "</p>",
        encoding="utf-8",
    )
    return index
