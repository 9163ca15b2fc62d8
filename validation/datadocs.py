"""Data Docs for project managers: static HTML, counts only, renders with no internet.

GX's stock Data Docs load bootstrap, jQuery and fonts from CDNs and render broken offline
(stack.md P12), and they show unexpected values. These pages are our own: one self-contained
``index.html`` (inline CSS, no script, no external reference) plus one page per form, built
from ``ValidationResult.outcomes`` — form, table, field, expectation and counts, never a value.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from jinja2 import Environment, select_autoescape

from validation.reasons import CATALOGUE
from validation.run import ValidationResult

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2530}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #dde2e8;padding:.35rem .6rem;text-align:left;font-size:.9rem}
th{background:#f3f5f8}td{overflow-wrap:anywhere}td.n{text-align:right;font-variant-numeric:tabular-nums}
.fail{color:#a3261b;font-weight:600}.ok{color:#216e39}.muted{color:#667085;font-size:.85rem}
.card{display:inline-block;border:1px solid #dde2e8;border-radius:6px;padding:.6rem 1rem;margin:.3rem}
.card b{display:block;font-size:1.4rem}a{color:#1f5fae}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{{ css }}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="muted">Built {{ built }}. Counts only: no answer from any submission appears on this page.</p>
{% if forms is defined %}
<table><tr><th>form</th><th>submissions</th><th>valid</th><th>quarantined</th><th>failed checks</th></tr>
{% for f in forms %}<tr><td><a href="{{ f.form_id }}.html">{{ f.form_id }}</a></td>
<td class="n">{{ f.submissions }}</td><td class="n ok">{{ f.valid }}</td>
<td class="n {{ 'fail' if f.quarantined else '' }}">{{ f.quarantined }}</td>
<td class="n">{{ f.failing }}</td></tr>{% endfor %}</table>
<h2>Reason codes</h2><table><tr><th>code</th><th>meaning</th><th>what to do</th></tr>
{% for code, (what, todo) in catalogue %}<tr><td>{{ code }}</td><td>{{ what }}</td><td>{{ todo }}</td></tr>{% endfor %}
</table>
{% else %}
<p><a href="index.html">← all forms</a></p>
<div class="card">submissions<b>{{ form.submissions }}</b></div>
<div class="card">valid<b class="ok">{{ form.valid }}</b></div>
<div class="card">quarantined<b class="{{ 'fail' if form.quarantined else '' }}">{{ form.quarantined }}</b></div>
<h2>Quarantined submissions by reason</h2>
<table><tr><th>code</th><th>submissions</th><th>meaning</th></tr>
{% for code, n in form.by_code %}<tr><td>{{ code }}</td><td class="n fail">{{ n }}</td><td>{{ describe(code) }}</td></tr>
{% else %}<tr><td colspan="3" class="ok">none</td></tr>{% endfor %}</table>
<h2>Expectations</h2>
<table><tr><th>table</th><th>version</th><th>field</th><th>code</th><th>expectation (Great Expectations type)</th>
<th>rows checked</th><th>rows failing</th><th>pass</th></tr>
{% for o in form.outcomes %}<tr><td>{{ o.table }}</td><td>{{ o.form_version }}</td><td>{{ o.field }}</td>
<td>{{ o.code }}</td><td>{{ o.expectation }}<br><span class="muted">{{ o.gx_type }}</span></td><td class="n">{{ o.evaluated }}</td>
<td class="n {{ 'fail' if o.failed else '' }}">{{ o.failed }}</td>
<td class="n">{{ o.rate }}</td></tr>{% endfor %}</table>
{% endif %}
</body></html>
"""


def _aggregate(results: Iterable[ValidationResult]) -> dict[str, dict]:
    forms: dict[str, dict] = {}
    for r in results:
        f = forms.setdefault(r.form_id, {"form_id": r.form_id, "submissions": 0, "quarantined": 0,
                                         "codes": defaultdict(int), "outcomes": {}})
        f["submissions"] += r.submissions
        f["quarantined"] += len(r.quarantined)
        for code, n in r.summary()["by_code"].items():
            f["codes"][code] += n
        for o in r.outcomes:
            key = (o.table, o.form_version, o.field, o.code, o.expectation, o.gx_type)
            evaluated, failed = f["outcomes"].get(key, (0, 0))
            f["outcomes"][key] = (evaluated + o.evaluated, failed + o.failed)
    for f in forms.values():
        f["valid"] = f["submissions"] - f["quarantined"]
        f["by_code"] = sorted(f.pop("codes").items())
        rows = []
        for (table, version, field, code, expectation, gx_type), (evaluated, failed) in \
                f.pop("outcomes").items():
            rate = f"{100 * (evaluated - failed) / evaluated:.1f} %" if evaluated else "–"
            rows.append({"table": table, "form_version": version, "field": field, "code": code,
                         "expectation": expectation, "gx_type": gx_type, "evaluated": evaluated,
                         "failed": failed, "rate": rate})
        # Failing expectations first, then in suite order.
        f["outcomes"] = sorted(rows, key=lambda o: (o["failed"] == 0,))
        f["failing"] = sum(1 for o in rows if o["failed"])
    return forms


def build_data_docs(results: Iterable[ValidationResult] | ValidationResult, out_dir: Path | str) -> Path:
    """Write ``index.html`` and ``<form_id>.html`` into ``out_dir``; returns the index path.

    Pass every page's result of a run (``result.without_rows()`` is enough): counts of the same
    form, table, version and expectation are added up."""
    if isinstance(results, ValidationResult):
        results = [results]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    page = env.from_string(_PAGE)
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    forms = _aggregate(results)
    from validation.reasons import describe

    for form_id, form in forms.items():
        (out / f"{form_id}.html").write_text(
            page.render(title=f"Validation: {form_id}", css=_CSS, built=built, form=form,
                        describe=describe), encoding="utf-8")
    index = out / "index.html"
    index.write_text(page.render(title="Suara validation results", css=_CSS, built=built,
                                 forms=sorted(forms.values(), key=lambda f: f["form_id"]),
                                 catalogue=sorted(CATALOGUE.items())), encoding="utf-8")
    return index
