"""The data dictionary (HTML and CSV): every analytics table and column, and what is withheld.

The column list is the warehouse's own ``analytics.data_dictionary`` (one row per column per
form version, with bilingual question texts, type and privacy treatment) and its
``analytics.choice_labels``; the caller passes a ``catalogue`` function that computes both from
the form versions (``suara.cli.report_cmd`` uses ``warehouse.derive`` and
``warehouse.dictionary``). So the file an analyst reads names exactly the columns in the file
they receive — flag columns ``<field>__<choice>`` included — without ``suara`` importing the
warehouse or repeating its naming rules.

The withheld section comes from the privacy policy (``suara.privacy.policy_for``): every field
that has no analytics column, with where it goes instead and why. It lists question texts
and treatments only, never a value.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape

from suara.forms import Form
from suara.privacy import policy_for
from suara.privacy.policy import FieldPlan
from suara.privacy.rules import NEVER_PASS_TYPES

Rows = Iterable[Mapping[str, Any]]
# version → Form of one form, to (data_dictionary rows, choice_labels rows) for those versions.
Catalogue = Callable[[Mapping[str, Form]], tuple[Rows, Rows]]

# What each privacy treatment means for the analyst, in both languages.
TREATMENTS = {
    "system": ("Added by Kobo or the warehouse", "Ditambahkan oleh Kobo atau gudang data"),
    "keep": ("Released as answered", "Dirilis sesuai jawaban"),
    "scrub": ("Free text with names, phone numbers and ids removed",
              "Teks bebas dengan nama, nomor telepon dan nomor identitas dihapus"),
    "hmac": ("Keyed pseudonym (same answer → same code; not reversible)",
             "Pseudonim berkunci (jawaban sama → kode sama; tidak dapat dibalik)"),
    "pseudonym": ("Keyed pseudonym (same answer → same code; not reversible)",
                  "Pseudonim berkunci (jawaban sama → kode sama; tidak dapat dibalik)"),
    "month": ("Date coarsened to its month (YYYY-MM)", "Tanggal disamarkan menjadi bulan (YYYY-MM)"),
    "quarter": ("Date coarsened to its quarter", "Tanggal disamarkan menjadi triwulan"),
    "duration": ("Interview length in minutes, from the start and end times",
                 "Lama wawancara dalam menit, dari waktu mulai dan selesai"),
    "province": ("District coarsened to its province", "Kabupaten/kota disamarkan menjadi provinsi"),
    "band": ("Number released as a band", "Angka dirilis sebagai rentang"),
    "band_year": ("Year released as a band", "Tahun dirilis sebagai rentang"),
}

# Columns whose question text the forms cannot give: system columns and metadata fields.
SYSTEM_TEXT = {
    "_form_version": ("Form version the submission was collected with", "Versi formulir saat kiriman dikumpulkan"),
    "_submission_month": ("Month the submission reached the server (YYYY-MM)",
                          "Bulan kiriman diterima server (YYYY-MM)"),
}
FLAG_CHOICES = {"1": ("chosen", "dipilih"), "0": ("not chosen", "tidak dipilih")}

HEADER = ["form_id", "table_name", "column_name", "type", "question_en", "question_id", "choices",
          "privacy_treatment", "form_versions", "xlsform_path", "in_analytics", "withheld_because_en",
          "withheld_because_id"]


@dataclass
class DictionaryColumn:
    form_id: str
    table: str
    column: str
    type: str
    question_en: str
    question_id: str
    treatment: str
    xlsform_path: str
    versions: list[str] = field(default_factory=list)
    choices: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (en, id)


@dataclass
class WithheldField:
    form_id: str
    field: str
    question_en: str
    question_id: str
    treatment: str        # "dropped" or "restricted: <treatments>"
    because_en: str
    because_id: str
    versions: list[str] = field(default_factory=list)


def label_text(labels: Mapping[str, str], code: str) -> str:
    """A label in language ``code`` from Form labels keyed like 'English (en)'."""
    for key, text in labels.items():
        if key == code or key.endswith(f"({code})"):
            return text
    return labels.get("default", "") if code == "en" else ""


def _field_of(form: Form, row: Mapping[str, Any]):
    path, name = row.get("xlsform_path"), row["column_name"]
    if path and "," not in path and form.field_at(path) is not None:
        return form.field_at(path)
    return form.field(name) if form.has_field(name) else None


def _texts(row: Mapping[str, Any]) -> tuple[str, str]:
    en, id_ = row.get("question_en") or "", row.get("question_id") or ""
    if en or id_:
        return en, id_
    if row["column_name"] in SYSTEM_TEXT:
        return SYSTEM_TEXT[row["column_name"]]
    source = row.get("xlsform_path") or ""
    # Metadata fields (today, start, end) have no label: say where the column comes from.
    return (f"From the form's {source} field", f"Dari isian {source} formulir") if source else ("", "")


def analytics_columns(forms_versions: Mapping[str, Mapping[str, Form]], catalogue: Catalogue) -> list[DictionaryColumn]:
    """One entry per analytics column over all versions; texts from the newest version."""
    out: dict[tuple[str, str, str], DictionaryColumn] = {}
    for form_id in sorted(forms_versions):
        versions = forms_versions[form_id]
        column_rows, choice_rows = catalogue(versions)
        labels: dict[tuple[str, str], dict[str, tuple[str, str]]] = {}
        for r in choice_rows:
            labels.setdefault((r["form_version"], r["list_name"]), {})[r["choice"]] = (
                r.get("label_en") or "", r.get("label_id") or "")
        for r in column_rows:  # oldest version first (the warehouse's order), so newer texts win
            key = (form_id, r["table_name"], r["column_name"])
            version = r["form_version"]
            c = out.get(key) or DictionaryColumn(form_id, r["table_name"], r["column_name"], "", "", "", "", "")
            c.type, c.treatment, c.xlsform_path = r["type"], r.get("privacy_treatment") or "", r.get("xlsform_path") or ""
            c.question_en, c.question_id = _texts(r)
            if version not in c.versions:
                c.versions.append(version)
            form = versions.get(version)
            fld = _field_of(form, r) if form is not None and r["type"] in ("choice", "choices") else None
            if fld is not None and fld.list_name:
                c.choices.update(labels.get((version, fld.list_name), {}))
            elif c.type == "flag":
                c.choices = dict(FLAG_CHOICES)
            out[key] = c
    return list(out.values())


def _why_withheld(plan: FieldPlan, derived_from: set[str]) -> tuple[str, str]:
    """Why a field has no analytics column, in English and Indonesian."""
    fld = plan.field
    if fld.name in derived_from:
        return ("Only a derived column is released (see the treatment of columns computed from it).",
                "Hanya kolom turunan yang dirilis (lihat perlakuan kolom yang dihitung darinya).")
    if plan.dropped:
        if fld.pii_class is None:
            return ("Unclassified field: treated as a direct identifier and never stored.",
                    "Isian tanpa kelas: diperlakukan sebagai identitas langsung dan tidak pernah disimpan.")
        if fld.type in NEVER_PASS_TYPES:
            return ("Device, attachment or location data: never leaves Kobo.",
                    "Data perangkat, lampiran atau lokasi: tidak pernah keluar dari Kobo.")
        if fld.effective_class == "D":
            return ("Direct identifier: never stored.", "Identitas langsung: tidak pernah disimpan.")
        return ("Dropped by the form's privacy rule: never stored.",
                "Dihapus oleh aturan privasi formulir: tidak pernah disimpan.")
    if fld.effective_class == "S":
        return ("Sensitive microdata: restricted zone only; published as aggregates with small cells "
                "suppressed (reporting zone).",
                "Data mikro sensitif: hanya di zona terbatas; dipublikasikan sebagai agregat dengan sel kecil "
                "disembunyikan (zona pelaporan).")
    if fld.effective_class == "D":
        return ("Identifier: kept only as a keyed pseudonym in the restricted zone.",
                "Identitas: hanya disimpan sebagai pseudonim berkunci di zona terbatas.")
    return ("Restricted zone only (free text that could identify someone until it is recoded).",
            "Hanya di zona terbatas (teks bebas yang dapat mengidentifikasi seseorang sampai dikode ulang).")


def withheld_fields(forms_versions: Mapping[str, Mapping[str, Form]]) -> list[WithheldField]:
    """Fields with a value that reach no analytics column, per form, over all versions."""
    out: dict[tuple[str, str], WithheldField] = {}
    for form_id in sorted(forms_versions):
        for version, form in forms_versions[form_id].items():
            policy = policy_for(form)
            released = {c.source for t in policy.tables for c in policy.columns(t, "analytics")}
            derived_from = {s for src in released for s in src.split(",") if "," in src}
            for name, plan in policy.plans.items():
                if name in released:
                    continue
                zones = sorted({c.treatment for c in plan.columns})
                treatment = "dropped" if plan.dropped else "restricted: " + ", ".join(zones)
                en, id_ = _why_withheld(plan, derived_from)
                w = out.get((form_id, name)) or WithheldField(form_id, name, "", "", treatment, en, id_)
                kind = plan.field.type  # metadata and calculated fields have no question text
                w.question_en = label_text(plan.field.labels, "en") or f"({kind} field, no question text)"
                w.question_id = label_text(plan.field.labels, "id") or f"(isian {kind}, tanpa teks pertanyaan)"
                w.treatment, w.because_en, w.because_id = treatment, en, id_
                w.versions.append(version)
                out[(form_id, name)] = w
    return list(out.values())


def _choices_text(choices: Mapping[str, tuple[str, str]]) -> str:
    return "; ".join(f"{code} = {en} / {id_}" for code, (en, id_) in choices.items())


def _write_csv(path: Path, columns: list[DictionaryColumn], withheld: list[WithheldField]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for c in columns:
            w.writerow([c.form_id, c.table, c.column, c.type, c.question_en, c.question_id,
                        _choices_text(c.choices), c.treatment, " ".join(c.versions), c.xlsform_path,
                        "yes", "", ""])
        for f in withheld:
            w.writerow([f.form_id, "", f.field, "", f.question_en, f.question_id, "", f.treatment,
                        " ".join(f.versions), "", "no", f.because_en, f.because_id])


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Suara — data dictionary / kamus data</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:90rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem} h2{margin-top:2.2rem;border-bottom:2px solid #2f6f8f;padding-bottom:.2rem} h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem;width:100%} th,td{border:1px solid #ccc;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f3f6f8} code{font-size:.85em} .note{color:#555;font-size:.9rem} ul.choices{margin:0;padding-left:1rem}
</style></head><body>
<nav><a href="report.en.html">Report (English)</a> · <a href="report.id.html">Laporan (Bahasa Indonesia)</a> ·
<a href="dictionary.csv">dictionary.csv</a></nav>
<h1>Data dictionary / Kamus data</h1>
<p class="note">Every table and column of the analytics warehouse, derived from the forms. Column names are
SQL names; a select-multiple question has its space-separated answer and one 0/1 column per choice
(<code>&lt;question&gt;__&lt;choice&gt;</code>). “Versions” lists the form versions a column exists in.<br>
Setiap tabel dan kolom gudang data analitik, diturunkan dari formulir. Pertanyaan pilihan ganda memiliki jawaban
yang dipisahkan spasi dan satu kolom 0/1 per pilihan. “Versi” menunjukkan versi formulir tempat kolom itu ada.</p>
<ul>{% for f in forms %}<li><a href="#{{ f.form_id }}">{{ f.form_id }}</a> — {{ f.title }}</li>{% endfor %}
<li><a href="#withheld">Not in the warehouse / Tidak ada di gudang data</a></li></ul>
{% for f in forms %}
<h2 id="{{ f.form_id }}">{{ f.form_id }} — {{ f.title }}</h2>
{% for t in f.tables %}
<h3 id="{{ t.name }}"><code>{{ t.name }}</code></h3>
<p class="note">{{ t.grain }}</p>
<table class="columns" data-table="{{ t.name }}"><tr><th>Column / Kolom</th><th>Type / Tipe</th>
<th>Question (English)</th><th>Pertanyaan (Bahasa Indonesia)</th><th>Choices / Pilihan</th>
<th>Privacy treatment / Perlakuan privasi</th><th>Versions / Versi</th></tr>
{% for c in t.columns %}<tr data-column="{{ c.column }}"><td><code>{{ c.column }}</code></td><td>{{ c.type }}</td>
<td>{{ c.question_en }}</td><td>{{ c.question_id }}</td>
<td>{% if c.choices %}<ul class="choices">{% for code, l in c.choices.items() %}<li><code>{{ code }}</code> {{ l[0] }} / {{ l[1] }}</li>{% endfor %}</ul>{% endif %}</td>
<td>{{ c.treatment }}{% if treatments.get(c.treatment) %}<br><small>{{ treatments[c.treatment][0] }} / {{ treatments[c.treatment][1] }}</small>{% endif %}</td>
<td>{{ c.versions | join(", ") }}</td></tr>{% endfor %}
</table>
{% endfor %}{% endfor %}
<h2 id="withheld">Not in the warehouse / Tidak ada di gudang data</h2>
<p class="note">These questions are deliberately not in the analytics data. Names and phone numbers are never
collected at all. / Pertanyaan berikut sengaja tidak ada di data analitik. Nama dan nomor telepon tidak pernah dikumpulkan.</p>
<table id="withheld-fields"><tr><th>Form / Formulir</th><th>Question name</th><th>Question (English)</th>
<th>Pertanyaan (Bahasa Indonesia)</th><th>Treatment / Perlakuan</th><th>Why / Alasan</th><th>Versions / Versi</th></tr>
{% for w in withheld %}<tr data-field="{{ w.field }}"><td>{{ w.form_id }}</td><td><code>{{ w.field }}</code></td>
<td>{{ w.question_en }}</td><td>{{ w.question_id }}</td><td>{{ w.treatment }}</td>
<td>{{ w.because_en }}<br><small>{{ w.because_id }}</small></td><td>{{ w.versions | join(", ") }}</td></tr>{% endfor %}
</table>
</body></html>
"""


def _grain(table: str, form_id: str) -> str:
    if "__" in table:
        repeat = table.split("__", 1)[1]
        return (f"One row per item of repeat group {repeat}; key (_id, _parent_index, _index); _id is the "
                f"submission in {form_id}. / Satu baris per butir kelompok ulangan {repeat}.")
    return "One row per submission; key _id. / Satu baris per kiriman; kunci _id."


def write_dictionary(forms_versions: Mapping[str, Mapping[str, Form]], out_dir: Path | str, *,
                     catalogue: Catalogue) -> tuple[Path, Path]:
    """Write ``dictionary.html`` and ``dictionary.csv`` into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    columns = analytics_columns(forms_versions, catalogue)
    withheld = withheld_fields(forms_versions)
    forms = []
    for form_id in sorted(forms_versions):
        versions = forms_versions[form_id]
        newest = versions[list(versions)[-1]]
        tables: dict[str, list[DictionaryColumn]] = {}
        for c in columns:
            if c.form_id == form_id:
                tables.setdefault(c.table, []).append(c)
        forms.append({"form_id": form_id, "title": newest.title, "tables": [
            {"name": name, "grain": _grain(name, form_id), "columns": cols} for name, cols in tables.items()]})
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    html = env.from_string(PAGE).render(forms=forms, withheld=withheld, treatments=TREATMENTS)
    html_path, csv_path = out / "dictionary.html", out / "dictionary.csv"
    html_path.write_text(html, encoding="utf-8")
    _write_csv(csv_path, columns, withheld)
    return html_path, csv_path
