"""Small-cell suppression for the ``reporting`` zone (anonymisation.md §7, G8).

A count table is a DataFrame whose ``count_cols`` hold counts (one table column each) and
whose rows are table rows. Primary suppression blanks every cell from 1 to ``threshold``-1
(1–4 for surveys, 1–9 for harassment; zeros too when ``zeros_disclosive``). Secondary
(complementary) suppression then blanks the smallest other cell of any row or column left
with exactly one blank, so row and column totals cannot give a blank back; it repeats until
no row or column has a single blank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SURVEY_THRESHOLD = 5
HARASSMENT_THRESHOLD = 10


def _primary(counts: np.ndarray, threshold: int, zeros: bool) -> np.ndarray:
    low = 0 if zeros else 1
    return (counts >= low) & (counts < threshold)


def _complement(counts: np.ndarray, blank: np.ndarray) -> bool:
    """Blank one more cell in each line (row, then column) with exactly one blank.
    Returns True when something changed."""
    changed = False
    for axis in (1, 0):
        if axis == 1 and counts.shape[1] < 2:
            continue  # one count column: a row has no total to protect
        lines = blank.sum(axis=axis)
        for i in np.flatnonzero(lines == 1):
            line = counts[i, :] if axis == 1 else counts[:, i]
            mask = blank[i, :] if axis == 1 else blank[:, i]
            # Prefer the smallest non-zero unblanked cell: it costs the least information.
            cand = np.where(~mask & (line > 0), line, np.inf)
            if not np.isfinite(cand).any():
                cand = np.where(~mask, line, np.inf)
            if not np.isfinite(cand).any():
                continue
            j = int(np.argmin(cand))
            if axis == 1:
                blank[i, j] = True
            else:
                blank[j, i] = True
            changed = True
    return changed


def suppress_cells(table: pd.DataFrame, count_cols: Sequence[str], threshold: int = SURVEY_THRESHOLD,
                   secondary: bool = True, zeros_disclosive: bool = False) -> pd.DataFrame:
    """A copy of ``table`` with small cells blanked (missing) and a boolean ``suppressed``
    column marking rows with any blank cell."""
    out = table.copy()
    cols = list(count_cols)
    counts = out[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(dtype="float64")
    blank = _primary(counts, threshold, zeros_disclosive)
    if secondary and blank.any():
        while _complement(counts, blank):
            pass
    for j, c in enumerate(cols):
        values = pd.Series(counts[:, j], index=out.index).round().astype("Int64")
        out[c] = values.mask(blank[:, j])
    out["suppressed"] = blank.any(axis=1)
    return out
