"""Small-cell suppression for the ``reporting`` zone (anonymisation.md §7, G8).

A count table is a DataFrame whose ``count_cols`` hold counts. Primary suppression blanks
every cell from 1 to ``threshold``-1 (1–4 for surveys, 1–9 for harassment; zeros too when
``zeros_disclosive``). Secondary (complementary) suppression then blanks the smallest other
cell of any *line* left with exactly one blank, so a published total cannot give the blank
back; it repeats until no line has a single blank.

Lines are the cells that add up to a published total:

* a wide table (rows × several count columns): every row and every column;
* a long table of breakdowns (``group_col`` names the breakdown of each row, e.g. ``sex``,
  ``province``, and ``total_value`` marks the overall row): within each count column, the
  rows of one breakdown, which add up to the total row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SURVEY_THRESHOLD = 5
HARASSMENT_THRESHOLD = 10


def _lines(n_rows: int, n_cols: int, groups: np.ndarray | None, total_value) -> list[list[tuple[int, int]]]:
    rows = np.arange(n_rows)
    lines: list[list[tuple[int, int]]] = []
    if n_cols >= 2:
        lines += [[(i, j) for j in range(n_cols)] for i in rows]
    if groups is None:
        lines += [[(i, j) for i in rows] for j in range(n_cols)]
        return lines
    for g in pd.unique(groups):
        if total_value is not None and g == total_value:
            continue
        members = rows[groups == g]
        lines += [[(i, j) for i in members] for j in range(n_cols)]
    return lines


def _complement(counts: np.ndarray, blank: np.ndarray, lines) -> bool:
    """Blank one more cell in each line with exactly one blank; True when something changed."""
    changed = False
    for line in lines:
        if sum(blank[c] for c in line) != 1:
            continue
        # Prefer the smallest non-zero open cell: it costs the least information.
        open_cells = [c for c in line if not blank[c]]
        nonzero = [c for c in open_cells if counts[c] > 0]
        choice = min(nonzero or open_cells, key=lambda c: counts[c], default=None)
        if choice is not None:
            blank[choice] = True
            changed = True
    return changed


def blank_cells(counts: np.ndarray, threshold: int, *, secondary: bool = True, zeros_disclosive: bool = False,
                groups: np.ndarray | None = None, total_value=None) -> np.ndarray:
    """Which cells of a count matrix (rows × count columns, no missing values) to blank:
    primary suppression, then complementary suppression along the table's lines. ``groups``
    holds each row's breakdown for a long table (``suppress_cells``' ``group_col``), None
    for a wide one."""
    low = 0 if zeros_disclosive else 1
    blank = (counts >= low) & (counts < threshold)
    if secondary and blank.any():
        lines = _lines(len(counts), counts.shape[1], groups, total_value)
        while _complement(counts, blank, lines):
            pass
    return blank


def suppress_cells(table: pd.DataFrame, count_cols: Sequence[str] | None = None,
                   threshold: int = SURVEY_THRESHOLD, secondary: bool = True,
                   zeros_disclosive: bool = False, *, count_col: str | None = None,
                   group_col: str | None = None, total_value=None) -> pd.DataFrame:
    """A copy of ``table`` with small cells blanked (missing) and a boolean ``suppressed``
    column marking rows with any blank cell. ``count_col`` is shorthand for one column."""
    cols = list(count_cols) if count_cols is not None else [count_col]
    if not cols or cols == [None]:
        raise ValueError("suppress_cells needs count_cols (or count_col)")
    out = table.copy()
    block = out[cols]
    if not all(pd.api.types.is_numeric_dtype(t) for t in block.dtypes):  # counts given as text
        block = block.apply(pd.to_numeric, errors="coerce")
    counts = block.to_numpy(dtype="float64", na_value=np.nan)
    counts[np.isnan(counts)] = 0.0
    groups = None if group_col is None else out[group_col].to_numpy()
    blank = blank_cells(counts, threshold, secondary=secondary, zeros_disclosive=zeros_disclosive,
                        groups=groups, total_value=total_value)
    for j, c in enumerate(cols):
        # Whole counts, missing where blanked (built directly: a Series round trip per column
        # was most of a reporting refresh's fixed cost, ~27 tables per form).
        out[c] = pd.arrays.IntegerArray(np.round(counts[:, j]).astype(np.int64), blank[:, j].copy())
    out["suppressed"] = blank.any(axis=1)
    return out
