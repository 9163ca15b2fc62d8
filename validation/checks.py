"""Compute the check columns (``chk__…``) a suite refers to: relevance, XPath constraints,
cross-field rules and cast errors, vectorised over one table of one form version.

Values are int8: 1 (pass), 0 (fail), -1 (does not apply: e.g. the constraint of an
unanswered question, the requiredness of an irrelevant one). ``as_gx_column`` turns them into
True/False/None for GX, whose map expectations skip nulls as the fast engine skips -1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from suara.errors import ValidationSetupError
from suara.forms.model import Form
from suara.xpath import (
    CHOICE_PREFIX,
    XPathUnsupported,
    choice_columns_used,
    evaluable,
    evaluate,
    references,
)


class _Evaluator:
    """Evaluates expressions on one table, with the columns of the tables above joined in for
    repeat rows (a repeat's relevance usually refers to submission-level answers): ``parents``
    are typed frames, nearest first — the enclosing repeat (joined on ``_id`` and
    ``_parent_index`` = its ``_index``), then the submission (joined on ``_id``)."""

    def __init__(self, form: Form, table: str, typed: pd.DataFrame, parents: list[pd.DataFrame]):
        self.form = form
        self.table = table
        self.typed = typed
        self.parents = parents
        self._cache: dict[tuple[str, str | None], np.ndarray] = {}
        # Columns read as XPath values, shared by every expression evaluated on these rows.
        self._columns: dict = {}

    def _frame_for(self, names: set[str]) -> pd.DataFrame:
        missing = {n for n in names if n not in self.typed.columns}
        extra: dict[str, np.ndarray] = {}
        for parent in self.parents:
            wanted = [n for n in sorted(missing) if n in parent.columns]
            if not wanted or "_id" not in self.typed.columns:
                continue
            if "_index" in parent.columns:  # an enclosing repeat
                keys = ["_id", "_index"]
                at = pd.MultiIndex.from_arrays([pd.to_numeric(self.typed["_id"]),
                                                pd.to_numeric(self.typed["_parent_index"])])
            else:
                keys = ["_id"]
                at = pd.Index(pd.to_numeric(self.typed["_id"]))
            lookup = parent.assign(**{k: pd.to_numeric(parent[k]) for k in keys}) \
                .drop_duplicates(keys).set_index(keys)
            for n in wanted:
                extra[n] = lookup[n].reindex(at).to_numpy()
            missing -= set(wanted)
        return self.typed.assign(**extra) if extra else self.typed

    def number(self, expr: str) -> np.ndarray:
        return self._evaluate(expr, None).astype("float64").to_numpy()

    def truth(self, expr: str, current: str | None = None) -> np.ndarray:
        key = (expr, current)
        if key not in self._cache:
            result = self._evaluate(expr, current)
            self._cache[key] = result.to_numpy(dtype=bool) if result.dtype == bool else \
                result.astype(bool).to_numpy()
        return self._cache[key]

    def _evaluate(self, expr: str, current: str | None) -> pd.Series:
        try:
            node = evaluable(expr)
            return evaluate(node, self._frame_for(references(node)), current, form=self.form,
                            columns=self._columns)
        except XPathUnsupported as exc:
            raise ValidationSetupError(
                f"form {self.form.form_id} version {self.form.version}, table {self.table}: "
                f"cannot evaluate an expression: {exc.message}",
                hint="Run `suara forms check`; it refuses expressions the validator cannot handle.",
            ) from None


def _tri(applies: np.ndarray, ok: np.ndarray) -> np.ndarray:
    out = np.full(len(applies), -1, dtype=np.int8)
    out[applies & ok] = 1
    out[applies & ~ok] = 0
    return out


def as_gx_column(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), None, dtype=object)
    out[values == 1] = True
    out[values == 0] = False
    return out


def present_mask(raw: pd.DataFrame, name: str) -> np.ndarray:
    if name not in raw.columns:
        return np.zeros(len(raw), dtype=bool)
    values = raw[name].to_numpy(dtype=object)
    return ~pd.isna(values) & (values != "")


def entries_per_row(rows: pd.DataFrame, child: pd.DataFrame | None) -> np.ndarray:
    """How many rows of a child repeat table hang from each row of ``rows`` (by ``_id``, and
    by ``_index``/``_parent_index`` when ``rows`` is itself a repeat)."""
    if child is None or not len(child):
        return np.zeros(len(rows), dtype="float64")
    if "_index" in rows.columns:
        keys = pd.MultiIndex.from_arrays([pd.to_numeric(rows["_id"]), pd.to_numeric(rows["_index"])])
        counts = child.groupby([pd.to_numeric(child["_id"]), pd.to_numeric(child["_parent_index"])]).size()
    else:
        keys = pd.Index(pd.to_numeric(rows["_id"]))
        counts = pd.to_numeric(child["_id"]).value_counts()
    return counts.reindex(keys).fillna(0).to_numpy(dtype="float64")


def _filter_ok(ev: _Evaluator, raw: pd.DataFrame, name: str, check: dict) -> np.ndarray:
    """Each chosen code passes the field's choice_filter (cascades: a district of the chosen
    province). Codes not in the list are VAL_CHOICE's concern and pass here."""
    node = evaluable(check["expression"], choice_columns=True)
    choices = ev.form.choice_lists[check["list"]]
    by_name = {c.name: c for c in choices.choices}
    values = raw[name].to_numpy(dtype=object) if name in raw.columns else np.full(len(raw), None)
    # Each distinct answer is split once (a page repeats a few codes); then one (row, code)
    # pair per listed code, rows ascending and codes in answer order.
    codes, uniques = pd.factorize(values)  # missing → -1
    split = [[t for t in (u.split() if check["multiple"] else [u]) if t in by_name]
             if isinstance(u, str) and u else [] for u in uniques]
    per_row = np.array([len(t) for t in split] + [0])[codes]  # the appended 0 is code -1's
    ok = np.ones(len(raw), dtype=bool)
    if not per_row.any():
        return ok
    rows = np.repeat(np.arange(len(values)), per_row)
    tokens = [t for c in codes[per_row > 0] for t in split[c]]
    base = ev._frame_for(references(node))
    at = base.columns.get_indexer([c for c in references(node) if c in base.columns])
    frame = base.iloc[rows, at].reset_index(drop=True)  # only the referenced columns are taken
    for col in choice_columns_used(node):
        frame[CHOICE_PREFIX + col] = [t if col == "name" else by_name[t].extra.get(col, "")
                                      for t in tokens]
    result = evaluate(node, frame, form=ev.form).to_numpy(dtype=bool)
    np.logical_and.at(ok, rows, result)
    return ok


def compute_checks(form: Form, table: str, specs: list[dict], raw: pd.DataFrame,
                   typed: pd.DataFrame, cast_errors: dict[str, np.ndarray],
                   parents: list[pd.DataFrame] | None = None,
                   children: dict[str, pd.DataFrame] | None = None,
                   answered: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """{check column: tri-state object array} for every computed expectation in ``specs``.

    ``raw`` is the table as normalised (strings), ``typed`` the same rows cast, ``parents`` the
    typed tables above a repeat table (nearest first), ``cast_errors`` field → rows that did not parse,
    ``children`` the raw repeat tables hanging from this one (for repeat_count checks),
    ``answered`` the ``present_mask`` of columns already known (from casting).
    """
    ev = _Evaluator(form, table, typed, parents or [])
    n = len(raw)
    out: dict[str, np.ndarray] = {}
    seen: dict[str, np.ndarray] = dict(answered or {})

    def present(name: str) -> np.ndarray:
        if name not in seen:
            seen[name] = present_mask(raw, name)
        return seen[name]

    for spec in specs:
        check = spec["meta"].get("check")
        if check is None:
            continue
        column = spec["kwargs"]["column"]
        name = check["name"]
        kind = check["kind"]
        if kind == "type":
            out[column] = _tri(present(name), ~cast_errors.get(name, np.zeros(n, dtype=bool)))
        elif kind in ("required", "irrelevant"):
            relevant = ev.truth(check["relevant"]) if check["relevant"] else np.ones(n, dtype=bool)
            if kind == "required":
                out[column] = _tri(relevant, present(name))
            else:
                out[column] = _tri(~relevant, ~present(name))
        elif kind == "constraint":
            answered = present(name) & ~cast_errors.get(name, np.zeros(n, dtype=bool))
            out[column] = _tri(answered, ev.truth(check["expression"], current=name))
        elif kind == "repeat":
            relevant = ev.truth(check["relevant"]) if check["relevant"] else np.ones(n, dtype=bool)
            found = entries_per_row(raw, (children or {}).get(check["repeat"]))
            wanted = ev.number(check["count"])
            known = ~np.isnan(wanted)
            ok = np.where(relevant, ~known | (found == wanted), found == 0)
            out[column] = _tri(np.ones(n, dtype=bool), ok)
        elif kind == "filter":
            out[column] = _tri(present(name), _filter_ok(ev, raw, name, check))
        elif kind == "cross":
            names = references(evaluable(check["expression"]))
            frame = ev._frame_for(names)
            answered = np.ones(n, dtype=bool)
            for ref in names:
                answered &= frame[ref].notna().to_numpy() if ref in frame.columns else False
            out[column] = _tri(answered, ev.truth(check["expression"]))
    return out
