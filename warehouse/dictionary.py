"""Rows of the analytics catalogues: choice labels, data dictionary and column map.

All three describe the *analytics* zone only (the file an analyst receives); they are written
per form version from the derived schema, so an analyst can read any row with the labels of
the version it was collected with, in English and Indonesian.
"""

from __future__ import annotations

from collections.abc import Mapping

from warehouse.derive import DerivedColumn, FormSchema
from warehouse.session import ANALYTICS
from warehouse.tables import grain

_LANGUAGE_NAMES = {"en": "english", "id": "indonesian"}

# Columns the warehouse adds to every table, described in both languages.
STRUCTURAL = {
    "_id": ("integer", "Kobo submission id (key)", "Id kiriman Kobo (kunci)"),
    "_parent_index": ("integer", "Index of the enclosing repeat item (0: the submission)",
                      "Indeks butir ulangan induk (0: kiriman)"),
    "_index": ("integer", "Position of this item in its repeat group (from 1)",
               "Urutan butir ini dalam kelompok ulangan (mulai 1)"),
    "_loaded_at": ("datetime", "When the warehouse loaded this row (UTC)",
                   "Waktu baris ini dimuat ke gudang data (UTC)"),
    "_sync_run_id": ("text", "Sync run that loaded this row", "Proses sinkronisasi yang memuat baris ini"),
}


def label_in(labels: Mapping[str, str], code: str) -> str | None:
    """The label for language ``code`` ('en', 'id') from keys like 'English (en)'."""
    for key, text in labels.items():
        if key == code or key.endswith(f"({code})"):
            return text
    for key, text in labels.items():
        if key.lower().startswith(_LANGUAGE_NAMES.get(code, "\0")):
            return text
    return labels.get("default") if code == "en" else None


def _question(c: DerivedColumn, code: str) -> str | None:
    q = label_in(c.labels, code)
    if c.choice is None:
        return q
    choice = label_in(c.choice_labels, code) or c.choice
    return f"{q}: {choice}" if q else choice


def dictionary_rows(schema: FormSchema) -> list[dict]:
    rows = []
    for version, tables in schema.by_version.items():
        for (zone, tname), t in tables.items():
            if zone != ANALYTICS:
                continue
            keys = ("_id", "_parent_index", "_index") if t.parent else ("_id",)
            for name in (*keys, *t.columns, "_loaded_at", "_sync_run_id"):
                c = t.columns.get(name)
                if c is None:
                    kind, en, id_ = STRUCTURAL[name]
                    rows.append(dict(form_id=schema.form_id, form_version=version, table_name=tname,
                                     column_name=name, xlsform_path=None, type=kind, question_en=en,
                                     question_id=id_, privacy_treatment="system"))
                    continue
                rows.append(dict(form_id=schema.form_id, form_version=version, table_name=tname,
                                 column_name=name, xlsform_path=c.xlsform_path, type=c.kind,
                                 question_en=_question(c, "en"), question_id=_question(c, "id"),
                                 privacy_treatment=c.treatment or None))
    return rows


def choice_label_rows(schema: FormSchema) -> list[dict]:
    """Labels of the choice lists whose codes appear in analytics (choice / choices columns)."""
    rows = []
    for version, tables in schema.by_version.items():
        form = schema.forms[version]
        lists = sorted({c.list_name for (zone, _), t in tables.items() if zone == ANALYTICS
                        for c in t.columns.values() if c.kind in ("choice", "choices") and c.list_name})
        for list_name in lists:
            for choice in form.choice_lists[list_name].choices if list_name in form.choice_lists else ():
                rows.append(dict(form_id=schema.form_id, form_version=version, list_name=list_name,
                                 choice=choice.name, label_en=label_in(choice.labels, "en"),
                                 label_id=label_in(choice.labels, "id")))
    return rows


def column_map_rows(schema: FormSchema) -> list[dict]:
    return [
        dict(table_name=t.name, column_name=c.name, form_id=schema.form_id,
             xlsform_path=c.xlsform_path, choice=c.choice)
        for (zone, _), t in schema.tables.items() if zone == ANALYTICS for c in t.columns.values()
    ]


def table_catalogue_rows(schema: FormSchema) -> list[dict]:
    rows = []
    for (zone, _), t in schema.tables.items():
        if zone == ANALYTICS:
            en, id_ = grain(t.name, schema.form_id, t.parent is not None)
            rows.append(dict(table_name=t.name, form_id=schema.form_id, parent_table=t.parent,
                             grain_en=en, grain_id=id_))
    return rows
