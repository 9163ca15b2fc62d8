"""Kobo JSON submissions → one DataFrame per form table and per repeat table.

The API gives every answer as a string under its full path (kobo-api.md §6.1), repeats as
lists of dicts keyed by full paths, and absent keys for unanswered questions. Normalising
turns a page of those into rectangular frames whose columns are the form's field names
(unique form-wide, a project rule), so every later stage works on columns, not dicts.

Columns are the union over every known version of the form, so one batch mixing versions
still has one shape; each row records the version it was filled with in ``_form_version``.
Values stay strings here: typing belongs to ``suara.cast`` (the validator reports what does
not parse instead of normalisation failing on it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from suara.errors import UnusableBatchError
from suara.forms.model import Form

# Server-added or envelope keys: known, never "unknown", mostly not carried into frames.
ENVELOPE_KEYS = frozenset({
    "_id", "_uuid", "_submission_time", "_validation_status", "_submitted_by", "_attachments",
    "_status", "_geolocation", "_xform_id_string", "__version__", "_version_", "formhub/uuid",
    "meta/instanceID", "meta/deprecatedID", "meta/rootUuid", "meta/instanceName", "_tags",
    "_notes", "_supplementalDetails", "_userform_id",
})
SUBMISSION_SYSTEM_COLUMNS = (
    "_id", "_uuid", "_submission_time", "_form_version", "_validation_status", "_submitted_by",
)
REPEAT_SYSTEM_COLUMNS = ("_id", "_parent_index", "_index")


def table_name(form_id: str, repeat_path: str | None) -> str:
    """``<form_id>`` for submissions, ``<form_id>__<repeat name>`` for a repeat."""
    if repeat_path is None:
        return form_id
    return f"{form_id}__{repeat_path.rsplit('/', 1)[-1]}"


@dataclass
class Normalised:
    form_id: str
    frames: dict[str, pd.DataFrame]
    unknown_keys: dict[int, list[str]] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    uuids: dict[int, str] = field(default_factory=dict)
    raw: dict[int, dict] = field(default_factory=dict)  # the submission as pulled, for quarantine

    @property
    def submission_count(self) -> int:
        return len(self.ids)


@dataclass
class _Level:
    """Everything known about one table: its columns and which paths feed them."""

    table: str
    repeat: str | None
    columns: list[str]
    index: dict[str, int]            # path → column position
    children: dict[str, _Level]      # repeat path → child level
    rows: list[list] = field(default_factory=list)
    # The fast path of ``_fill``: when each value column is fed by exactly one path, a row is
    # one C-level ``map(obj.get, paths)``; keys outside ``known`` are looked at one by one.
    paths: list[str] | None = None   # paths in column order from ``offset`` (None: no fast path)
    offset: int = 0
    known: frozenset = frozenset()   # own paths (+ envelope keys at the submission level)


def _build_levels(form_id: str, versions: Iterable[Form]) -> _Level:
    names_by_level: dict[str | None, list[str]] = {}
    paths_by_level: dict[str | None, dict[str, str]] = {}
    repeat_parent: dict[str, str | None] = {}
    for form in versions:
        for g in form.repeats:
            repeat_parent.setdefault(g.path, g.parent_repeat)
        for f in form.fields:
            if not f.has_value:
                continue
            names = names_by_level.setdefault(f.repeat, [])
            if f.name not in names:
                names.append(f.name)
            paths_by_level.setdefault(f.repeat, {})[f.path] = f.name

    def make(repeat: str | None) -> _Level:
        system = SUBMISSION_SYSTEM_COLUMNS if repeat is None else REPEAT_SYSTEM_COLUMNS
        cols = list(system) + names_by_level.get(repeat, [])
        pos = {c: i for i, c in enumerate(cols)}
        index = {p: pos[n] for p, n in paths_by_level.get(repeat, {}).items()}
        children = {r: make(r) for r, parent in repeat_parent.items() if parent == repeat}
        level = _Level(table_name(form_id, repeat), repeat, cols, index, children)
        by_pos = sorted(index.items(), key=lambda kv: kv[1])
        if [p for _, p in by_pos] == list(range(len(system), len(cols))):
            level.paths, level.offset = [path for path, _ in by_pos], len(system)
        level.known = frozenset(index) | (ENVELOPE_KEYS if repeat is None else frozenset())
        return level

    return make(None)


def _version_of(sub: Mapping, version_map: Mapping[str, str], known: set[str]) -> str:
    raw = sub.get("__version__") or sub.get("_version_") or ""
    if raw in version_map:
        return version_map[raw]
    if raw in known:  # a server (like the sandbox) that reports the form's own version
        return raw
    return f"unknown:{raw}" if raw else "unknown"


def normalise(
    form_versions: Mapping[str, Form],
    current: Form,
    submissions: list,
    *,
    version_map: Mapping[str, str] | None = None,
) -> Normalised:
    """Normalise one page or batch of submissions of one form.

    Raises UnusableBatchError when the batch is not a list of submission objects with integer
    ``_id``s: that is the only whole-batch failure; anything wrong inside a submission is the
    validator's to report.
    """
    if not isinstance(submissions, list):
        raise UnusableBatchError(
            f"form {current.form_id}: the page is not a list of submissions "
            f"(got {type(submissions).__name__}).",
            hint="Check KOBO_URL points at a KoboToolbox server; re-run the sync.",
        )
    versions = list(form_versions.values()) or [current]
    if current.version not in form_versions:
        versions.append(current)
    root = _build_levels(current.form_id, versions)
    vmap = dict(version_map or {})
    known_versions = {f.version for f in versions}
    out = Normalised(form_id=current.form_id, frames={})

    for n, sub in enumerate(submissions):
        if not isinstance(sub, dict) or not isinstance(sub.get("_id"), int) or isinstance(sub.get("_id"), bool):
            raise UnusableBatchError(
                f"form {current.form_id}: item {n} of the page is not a submission with an integer _id.",
                hint="The server answered with something other than Kobo submissions; re-run, or check the server.",
            )
        sid = sub["_id"]
        validation = sub.get("_validation_status") or {}
        row = [None] * len(root.columns)
        row[0] = sid
        row[1] = sub.get("_uuid")
        row[2] = sub.get("_submission_time")
        row[3] = _version_of(sub, vmap, known_versions)
        status = validation.get("uid") if isinstance(validation, dict) else None
        # As text, the way the manifest scan compares it: a non-text uid must not look edited forever.
        row[4] = None if status is None else str(status)
        row[5] = sub.get("_submitted_by")
        unknown: list[str] = []
        _fill(root, sub, row, sid, 0, unknown)
        root.rows.append(row)
        out.ids.append(sid)
        out.uuids[sid] = sub.get("_uuid")
        out.raw[sid] = sub
        if unknown:
            out.unknown_keys[sid] = unknown

    def collect(level: _Level) -> None:
        out.frames[level.table] = pd.DataFrame(level.rows, columns=level.columns, dtype=object)
        for child in level.children.values():
            collect(child)

    collect(root)
    return out


_PLAIN = frozenset({str, type(None)})


def _value(path: str, value, unknown: list[str]):
    if isinstance(value, (list, dict)):
        unknown.append(path)  # a structure where the form expects a value
        return None
    return None if value is None or value == "" else str(value)


def _fill(level: _Level, obj: Mapping, row: list, sid: int, my_index: int, unknown: list[str]) -> None:
    if level.paths is not None:
        values = list(map(obj.get, level.paths))
        if not _PLAIN.issuperset(map(type, values)):
            values = [_value(p, v, unknown) for p, v in zip(level.paths, values, strict=True)]
        elif "" in values:
            values = [None if v == "" else v for v in values]
        row[level.offset:] = values
        if obj.keys() <= level.known:
            return
        keys = [k for k in obj if k not in level.known]
    else:
        keys = list(obj)
    index = level.index
    for key in keys:
        value = obj[key]
        pos = index.get(key)
        if pos is not None:
            row[pos] = _value(key, value, unknown)
            continue
        child = level.children.get(key)
        if child is not None:
            if not isinstance(value, list):
                unknown.append(key)
                continue
            for i, item in enumerate(value, start=1):
                if not isinstance(item, dict):
                    unknown.append(key)
                    continue
                crow = [None] * len(child.columns)
                crow[0], crow[1], crow[2] = sid, my_index, i
                _fill(child, item, crow, sid, i, unknown)
                child.rows.append(crow)
            continue
        if level.repeat is None and key in ENVELOPE_KEYS:
            continue
        unknown.append(key)
