"""Validate one normalised batch: row-level results, valid rows on, failing submissions held.

Rows are grouped by ``_form_version`` and each group is cast and checked against its own
version's suite, so a form version bump never invalidates older submissions. A submission is
quarantined whole when any of its rows (submission or repeat) fails any expectation; each
failure becomes a ``Reason`` naming table, field and expectation — never a value. Only a batch
that is not a batch of submissions fails as a whole (``UnusableBatchError``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from suara.cast import cast_table, form_kinds
from suara.errors import UnusableBatchError
from suara.forms.model import Form
from suara.normalise import Normalised, table_name
from validation.checks import compute_checks
from validation.engine import Presence, failing_rows, table_failures
from validation.reasons import QuarantinedSubmission, Reason
from validation.suites import form_suites

log = logging.getLogger(__name__)
_UNIQUE = "expect_column_values_to_be_unique"


@dataclass
class Outcome:
    """Counts for one expectation on one form version's rows: what leaves the restricted
    zone about validation (run artifacts, Data Docs) is made of these."""

    table: str
    form_version: str
    code: str
    field: str
    expectation: str
    gx_type: str
    evaluated: int
    failed: int


@dataclass
class ValidationResult:
    form_id: str
    valid: dict[str, pd.DataFrame]
    quarantined: list[QuarantinedSubmission]
    outcomes: list[Outcome] = field(default_factory=list)
    submissions: int = 0

    @property
    def quarantined_ids(self) -> set[int]:
        return {q._id for q in self.quarantined}

    def without_rows(self) -> ValidationResult:
        """The same result without the valid frames: what a flow keeps per page to build Data
        Docs at the end of a run, so memory stays bounded by the page, not the run."""
        return ValidationResult(self.form_id, {}, self.quarantined, self.outcomes, self.submissions)

    def summary(self) -> dict:
        """Counts only (PII-safe): per reason code and per (table, field, code)."""
        by_code: dict[str, int] = defaultdict(int)
        by_field: dict[tuple[str, str, str], int] = defaultdict(int)
        for q in self.quarantined:
            for code in {r.code for r in q.reasons}:
                by_code[code] += 1
            for r in {(r.table, r.field, r.code) for r in q.reasons}:
                by_field[r] += 1
        return {
            "form_id": self.form_id,
            "submissions": self.submissions,
            "valid": self.submissions - len(self.quarantined),
            "quarantined": len(self.quarantined),
            "by_code": dict(sorted(by_code.items())),
            "by_field": [{"table": t, "field": f, "code": c, "submissions": n}
                         for (t, f, c), n in sorted(by_field.items())],
        }


# Suites per Form object (a sync validates many pages of the same versions). The Form is kept
# alongside so its id() cannot be reused while cached.
_SUITES: dict[int, tuple[Form, dict[str, list[dict]]]] = {}


def suites_for(form: Form) -> dict[str, list[dict]]:
    cached = _SUITES.get(id(form))
    if cached is None or cached[0] is not form:
        if len(_SUITES) > 64:
            _SUITES.clear()
        cached = _SUITES[id(form)] = (form, form_suites(form))
    return cached[1]


def _newest(form_versions: Mapping[str, Form]) -> Form:
    return form_versions[max(form_versions)]


def _other_kinds(form_versions: Mapping[str, Form]) -> dict[str, str]:
    """Field kinds over every version, newest winning, to type columns a version lacks."""
    kinds: dict[str, str] = {}
    for version in sorted(form_versions):
        form = form_versions[version]
        kinds.update(form_kinds(form))
    return kinds


def _error_masks(frame: pd.DataFrame, errors) -> dict[str, np.ndarray]:
    masks: dict[str, np.ndarray] = {}
    for e in errors:
        mask = masks.setdefault(e.field, np.zeros(len(frame), dtype=bool))
        mask[frame.index.get_loc(e.row)] = True
    return masks


def _run_specs(specs, typed, checks, engine, present):
    if engine == "gx":
        from validation.gx_engine import failing_masks

        frame = pd.concat([typed, pd.DataFrame(checks, index=typed.index)], axis=1) if checks else typed
        return failing_masks(specs, frame)
    return table_failures(specs, present)


def validate_batch(form_versions: Mapping[str, Form], normalised: Normalised, *,
                   engine: str = "fast") -> ValidationResult:
    """Validate a normalised batch of one form (architecture.md, stage 4).

    ``engine="fast"`` interprets the suites with numpy; ``engine="gx"`` runs the same suites
    through Great Expectations (slower; same answers).
    """
    if not form_versions:
        raise UnusableBatchError(f"form {normalised.form_id}: no form version to validate against.",
                                 hint="Check forms/ holds the form's source.")
    current = _newest(form_versions)
    form_id = normalised.form_id
    sub = normalised.frames.get(form_id)
    if sub is None or not {"_id", "_form_version"} <= set(sub.columns):
        raise UnusableBatchError(f"form {form_id}: the batch has no submission table.",
                                 hint="This is a bug in normalisation; report it with the run id.")
    reasons: dict[int, set[Reason]] = defaultdict(set)
    outcomes: list[Outcome] = []
    ids = pd.to_numeric(sub["_id"]).to_numpy()

    # Uniqueness is a property of the whole batch, whatever versions the rows carry.
    for spec in suites_for(current)[form_id]:
        if spec["type"] == _UNIQUE:
            present = Presence(sub)
            _record(spec, "*", failing_rows(spec, sub, present), present, ids, reasons, outcomes)

    kinds = _other_kinds(form_versions)
    typed_parts: dict[str, list[pd.DataFrame]] = defaultdict(list)
    for version, rows in sub.groupby("_form_version", sort=True, dropna=False).groups.items():
        # One version in the page (the usual case): its rows are the table, no copy needed.
        raw = sub if len(rows) == len(sub) and sub.index.is_unique else sub.loc[rows]
        form = form_versions.get(version)
        if form is None:
            for sid in pd.to_numeric(raw["_id"]).tolist():
                reasons[sid].add(Reason("VAL_UNKNOWN_VERSION", form_id, "_form_version",
                                        "form version known"))
            outcomes.append(Outcome(form_id, str(version), "VAL_UNKNOWN_VERSION", "_form_version",
                                    "form version known", "-", len(raw), len(raw)))
            continue
        _validate_version(form, raw, normalised.frames, kinds, engine, reasons, outcomes, typed_parts)

    held = set(reasons)
    valid = {}
    for table, parts in typed_parts.items():
        frame = pd.concat(parts) if len(parts) > 1 else parts[0]
        keep = ~frame["_id"].isin(held).to_numpy(dtype=bool)
        valid[table] = frame[keep].reset_index(drop=True)
    uuids = dict(zip(ids.tolist(), sub["_uuid"].tolist(), strict=True))
    versions = dict(zip(ids.tolist(), sub["_form_version"].tolist(), strict=True))
    quarantined = [QuarantinedSubmission(int(sid), uuids.get(sid), str(versions.get(sid)),
                                         sorted(rs)) for sid, rs in sorted(reasons.items())]
    log.info("form %s: %d submissions, %d quarantined", form_id, len(sub), len(quarantined))
    return ValidationResult(form_id, valid, quarantined, outcomes, submissions=len(sub))


def _ancestors(form: Form, table: str, typed: dict[str, pd.DataFrame]) -> list[pd.DataFrame]:
    """Typed frames of the tables above ``table``, nearest first (enclosing repeats, then the
    submission). Suites list outer tables first, so they are typed already."""
    by_table = {table_name(form.form_id, g.path): g for g in form.repeats}
    out = []
    g = by_table.get(table)
    while g is not None and g.parent_repeat is not None:
        parent = table_name(form.form_id, g.parent_repeat)
        if parent in typed:
            out.append(typed[parent])
        g = by_table.get(parent)
    if table != form.form_id and form.form_id in typed:
        out.append(typed[form.form_id])
    return out


def _validate_version(form, raw_sub, frames, kinds, engine, reasons, outcomes, typed_parts):
    form_id = form.form_id
    ids = set(pd.to_numeric(raw_sub["_id"]).tolist())
    typed_tables: dict[str, pd.DataFrame] = {}
    for table, specs in suites_for(form).items():
        if table == form_id:
            raw = raw_sub
        elif table in frames and len(frames[table]):
            t = frames[table]
            raw = t[pd.to_numeric(t["_id"]).isin(ids).to_numpy()]
        else:
            continue
        cast = cast_table(form, table, raw, other_kinds=kinds)
        typed = cast.typed
        checks = compute_checks(form, table, specs, raw, typed, _error_masks(raw, cast.errors),
                                parents=_ancestors(form, table, typed_tables),
                                children={t: frames[t] for t in frames if t != table},
                                answered=cast.answered)
        specs = [s for s in specs if s["type"] != _UNIQUE]
        row_ids = pd.to_numeric(raw["_id"]).to_numpy()
        # The fast engine reads check columns as arrays beside the typed frame; only GX needs
        # them concatenated into one DataFrame.
        present = Presence(typed, {**cast.values, **checks}, cast.present)
        for spec, bad in zip(specs, _run_specs(specs, typed, checks, engine, present), strict=True):
            _record(spec, form.version, bad, present, row_ids, reasons, outcomes)
        typed_parts[table].append(typed)
        typed_tables[table] = typed


def _record(spec, version, bad, present, row_ids, reasons, outcomes) -> None:
    meta = spec["meta"]
    column = spec["kwargs"]["column"]
    evaluated = int(present(column).sum()) if column in present else 0
    failed = int(bad.sum())
    outcomes.append(Outcome(meta["table"], str(version), meta["code"], meta["field"],
                            meta["expectation"], spec["type"], evaluated, failed))
    if failed:
        reason = Reason(meta["code"], meta["table"], meta["field"], meta["expectation"])
        for sid in np.unique(row_ids[bad]).tolist():
            reasons[int(sid)].add(reason)
