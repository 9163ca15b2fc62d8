"""k-anonymity, distinct l-diversity and prosecutor risk on released microdata, vectorised.

Equivalence classes are the rows sharing every quasi-identifier (QI) value; a missing or
suppressed value is a category of its own (it is what an analyst sees), unlike sdcMicro's
wildcard. Risk follows the prosecutor model (anonymisation.md §0, G6): a record's risk is
1/f_k, the size of its class, with no comfort from sampling.

:func:`protect` enforces k (and l) in the order the brief asks for: local suppression of QI
cells within a 5 % budget per QI; when that cannot succeed, global recoding one level up
(month → quarter → year, bands merged pairwise) and suppression again; rows that still fail
are withheld from the release (kept in the restricted zone) and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from suara.privacy.coarsen import next_level

RISK_THRESHOLD = 0.05  # the brief's record-level threshold (anonymisation.md §2)
SUPPRESSION_BUDGET = 0.05  # share of values per QI that local suppression may blank (G7)


@dataclass(frozen=True)
class RiskStats:
    """Disclosure measures of one table; every figure is a count or a ratio, never a value."""

    rows: int
    classes: int
    k_min: int                 # size of the smallest class (0 when there are no rows)
    violators: dict[int, int]  # rows in classes smaller than 2, 3, 5, 10 and the target k
    max_risk: float            # 1 / smallest class
    mean_risk: float           # global risk: mean 1/f_k = classes / rows
    expected_reidentifications: float  # sum of 1/f_k
    above_threshold: int       # rows with risk > 5 %
    l_min: dict[str, int] = field(default_factory=dict)  # per sensitive column

    def as_dict(self) -> dict:
        return {
            "rows": self.rows, "classes": self.classes, "k_min": self.k_min,
            "violators": {str(k): v for k, v in self.violators.items()},
            "max_risk": round(self.max_risk, 6), "mean_risk": round(self.mean_risk, 6),
            "expected_reidentifications": round(self.expected_reidentifications, 3),
            "above_threshold": self.above_threshold, "l_min": dict(self.l_min),
        }


def class_ids(frame: pd.DataFrame, qis: Sequence[str]) -> np.ndarray:
    """Equivalence-class id of every row (missing values form their own category)."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    if not qis:
        return np.zeros(len(frame), dtype=np.int64)
    codes = np.zeros(len(frame), dtype=np.int64)
    for col in qis:
        c, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        c = np.where(c < 0, len(uniques), c).astype(np.int64)
        codes = codes * (len(uniques) + 1) + c
        # Keep the combined key small so the radix product cannot overflow on many QIs.
        codes = pd.factorize(codes)[0].astype(np.int64)
    return codes


def class_sizes(ids: np.ndarray) -> np.ndarray:
    return np.bincount(ids)[ids] if len(ids) else np.zeros(0, dtype=np.int64)


def distinct_per_class(ids: np.ndarray, values: pd.Series) -> np.ndarray:
    """For every row, how many distinct values of ``values`` its class holds (missing counts)."""
    if not len(ids):
        return np.zeros(0, dtype=np.int64)
    v, uniques = pd.factorize(values, use_na_sentinel=True)
    v = np.where(v < 0, len(uniques), v).astype(np.int64)
    pairs = np.unique(ids * (len(uniques) + 1) + v)
    per_class = np.bincount(pairs // (len(uniques) + 1), minlength=ids.max() + 1)
    return per_class[ids]


def measure(frame: pd.DataFrame, qis: Sequence[str], k: int = 5,
            l_columns: Sequence[str] = ()) -> RiskStats:
    """Risk statistics of ``frame``."""
    ids = class_ids(frame, qis)
    n = len(ids)
    if n == 0:
        return RiskStats(0, 0, 0, {t: 0 for t in sorted({2, 3, 5, 10, k})}, 0.0, 0.0, 0.0, 0,
                         {c: 0 for c in l_columns})
    sizes = class_sizes(ids)
    risk = 1.0 / sizes
    return RiskStats(
        rows=n,
        classes=int(ids.max()) + 1,
        k_min=int(sizes.min()),
        violators={t: int((sizes < t).sum()) for t in sorted({2, 3, 5, 10, k})},
        max_risk=float(risk.max()),
        mean_risk=float(risk.mean()),
        expected_reidentifications=float(risk.sum()),
        above_threshold=int((risk > RISK_THRESHOLD).sum()),
        l_min={c: int(distinct_per_class(ids, frame[c]).min()) for c in l_columns},
    )


def failing_rows(frame: pd.DataFrame, qis: Sequence[str], k: int,
                 l_columns: Sequence[str] = (), l: int = 2) -> np.ndarray:  # noqa: E741
    """Boolean mask of rows in classes smaller than k or with fewer than l distinct values."""
    ids = class_ids(frame, qis)
    bad = class_sizes(ids) < k
    for c in l_columns:
        bad |= distinct_per_class(ids, frame[c]) < l
    return bad


@dataclass
class Protection:
    """The outcome of :func:`protect` for one table."""

    frame: pd.DataFrame                 # QI columns recoded and suppressed; failing rows removed
    withheld: pd.Index                  # index labels of rows kept out of the release
    suppressed: dict[str, int]          # cells blanked per QI
    recoded: dict[str, str]             # QI → the level it was generalised to
    before: RiskStats
    after: RiskStats


def _suppress(work: pd.DataFrame, qis: Sequence[str], k: int, l_columns, l, budget: int):  # noqa: E741
    """Blank QI cells of failing rows, highest-cardinality QI first, within the budget.

    Returns the suppressed frame, cells per QI, and the mask of rows still failing.
    """
    work = work.copy()
    counts = {q: 0 for q in qis}
    bad = failing_rows(work, qis, k, l_columns, l)
    order = sorted(qis, key=lambda q: work[q].nunique(dropna=True), reverse=True)
    for q in order:
        if not bad.any():
            break
        target = _within_budget(work, qis, bad & work[q].notna().to_numpy(), budget - counts[q])
        if not target.any():
            continue
        work.loc[target, q] = None
        counts[q] += int(target.sum())
        bad = failing_rows(work, qis, k, l_columns, l)
    return work, counts, bad


def _within_budget(work: pd.DataFrame, qis, target: np.ndarray, room: int) -> np.ndarray:
    """``target`` if it fits in ``room`` cells; else whole failing classes, largest first
    (nearest to k, so the likeliest to pass once merged), as many as fit."""
    n = int(target.sum())
    if n <= room:
        return target
    if room <= 0:
        return np.zeros_like(target)
    ids = class_ids(work, qis)
    classes, sizes = np.unique(ids[target], return_counts=True)
    order = np.argsort(-sizes, kind="stable")
    chosen = classes[order][np.cumsum(sizes[order]) <= room]
    return target & np.isin(ids, chosen)


def protect(frame: pd.DataFrame, qis: Sequence[str], k: int, *, l_columns: Sequence[str] = (),
            l: int = 2, levels: dict[str, tuple[str, tuple[float, ...]]] | None = None,  # noqa: E741
            budget_share: float = SUPPRESSION_BUDGET) -> Protection:
    """Make ``frame`` k-anonymous (and distinct-l-diverse on ``l_columns``) over ``qis``.

    ``levels`` gives each recodable QI its current coarsening (treatment, band edges), so the
    next level up is known (see :func:`suara.privacy.coarsen.next_level`). The sync calls it
    on a whole table's candidates (suara/privacy/release.py), never on one page alone.
    """
    qis = [q for q in qis if q in frame.columns]
    l_columns = [c for c in l_columns if c in frame.columns]
    before = measure(frame, qis, k, l_columns)
    levels = dict(levels or {})
    recoded: dict[str, str] = {}
    # QIs are worked on as categoricals: codes plus one copy of each value, so a million-row
    # table costs megabytes per working copy rather than a Python object per cell.
    work = frame.copy()
    for q in qis:
        work[q] = _categorical(work[q])
    budget = int(np.floor(budget_share * len(work)))
    while True:
        suppressed, counts, bad = _suppress(work, qis, k, l_columns, l, budget)
        if not bad.any():
            break
        candidates = [q for q in qis if q in levels and next_level(*levels[q]) is not None]
        if not candidates:
            break
        q = max(candidates, key=lambda c: work[c].nunique(dropna=True))
        fn, treatment, edges = next_level(*levels[q])
        work[q] = _categorical(fn(work[q].astype("object")))
        levels[q] = (treatment, edges)
        recoded[q] = treatment + (":" + ",".join(f"{e:g}" for e in edges) if edges else "")
    withheld = suppressed.index[bad]
    released = suppressed.loc[~bad]
    # Count only cells blanked in rows that are released (withheld rows leave unchanged).
    counts = {q: int((work.loc[~bad, q].notna() & released[q].isna()).sum()) for q in qis}
    # Suppression is decided once, on the whole table: dropping the withheld rows can only
    # leave classes as they were or remove whole classes, so k still holds.
    after = measure(released, qis, k, l_columns)
    for q in qis:
        released[q] = released[q].where(released[q].notna(), pd.NA)
        if q not in recoded:
            released[q] = _restore(released[q], frame[q].dtype)
    return Protection(released, withheld, {q: c for q, c in counts.items() if c}, recoded,
                      before, after)


def _categorical(values: pd.Series) -> pd.Series:
    """``values`` as a categorical whose missing cells (None, NaN, NA) are all one missing code."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    return values.astype("object").where(values.notna(), None).astype("category")


def _restore(values: pd.Series, dtype) -> pd.Series:
    """Back to the column's dtype; numpy integers and floats become nullable (suppressed
    cells are missing)."""
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype("Int64")
    if pd.api.types.is_float_dtype(dtype):
        return values.astype("Float64")
    if pd.api.types.is_bool_dtype(dtype):
        return values.astype("boolean")
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values
