"""KPI's JSON ``content`` of an asset, built from a Form (kobo-api.md §4.3).

``survey`` rows carry ``type`` (underscore form), ``name``, ``label`` as a list aligned with
``translations``, ``required`` as a bool, the logic columns, ``select_from_list_name`` and the
computed ``$kuid``, ``$autoname`` and ``$xpath`` (the submission key); ``choices`` carry their
extra columns (the cascade ``prov``/``district``); ``settings`` keeps ``form_id`` and
``version`` (``form_title`` becomes the asset name).
"""

from __future__ import annotations

import hashlib
import json

from suara.forms.model import METADATA_TYPES, Form
from suara.synth import stable_uid

_LOGIC = ("relevant", "constraint", "calculation", "choice_filter", "appearance",
          "repeat_count", "parameters", "default")
_TRANSLATED = ("label", "hint", "constraint_message", "required_message")
_TYPES = {"begin group": "begin_group", "end group": "end_group",
          "begin repeat": "begin_repeat", "end repeat": "end_repeat"}


def _translated(cells: dict[str, str], base: str, languages: list[str | None]) -> list | None:
    values = [cells.get(f"{base}::{lang}" if lang else base, "") or None for lang in languages]
    return values if any(values) else None


def asset_content(form: Form) -> dict:
    languages: list[str | None] = list(form.languages) or [None]
    survey, stack = [], []
    for row in form.sheets.rows("survey"):
        cells = row.cells
        raw_type = " ".join(cells.get("type", "").split())
        if not raw_type:
            continue
        kind = _TYPES.get(raw_type, raw_type)
        parts = kind.split(" ")
        item: dict = {"type": parts[0], "$kuid": stable_uid("", form.form_id, row.where)[:8]}
        name = cells.get("name", "")
        if name:
            item["name"] = item["$autoname"] = name
        if len(parts) > 1:
            item["select_from_list_name"] = parts[1]
        if kind in ("end_group", "end_repeat"):
            stack.pop() if stack else None
            survey.append(item)
            continue
        if kind == "audit":
            item["$xpath"] = "meta/audit"
        elif kind in METADATA_TYPES and not stack:
            item["$xpath"] = name
        else:
            item["$xpath"] = "/".join([*stack, name])
        if kind in ("begin_group", "begin_repeat"):
            stack.append(name)
        for base in _TRANSLATED:
            value = _translated(cells, base, languages)
            if value:
                item[base] = value
        if cells.get("required"):
            item["required"] = cells["required"].strip().lower() in ("yes", "true", "true()", "1")
        for key in _LOGIC:
            if cells.get(key):
                item[key] = cells[key]
        survey.append(item)
    choices = []
    for row in form.sheets.rows("choices"):
        cells = row.cells
        item = {"list_name": cells.get("list_name") or cells.get("list name", ""),
                "name": cells.get("name", ""), "$autovalue": cells.get("name", ""),
                "$kuid": stable_uid("", form.form_id, row.where)[:8]}
        label = _translated(cells, "label", languages)
        if label:
            item["label"] = label
        for key, value in cells.items():
            if value and key not in ("list_name", "list name", "name") and "::" not in key \
                    and key != "label":
                item[key] = value
        choices.append(item)
    settings = {k: v for k, v in form.settings.items() if k != "form_title"}
    return {"schema": "1", "survey": survey, "choices": choices, "settings": settings,
            "translations": languages, "translated": [b for b in _TRANSLATED]}


def content_hash(content: dict) -> str:
    return hashlib.sha1(json.dumps(content, sort_keys=True).encode()).hexdigest()
