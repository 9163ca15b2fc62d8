"""Small-cell suppression for reporting tables: no small cell, and none recoverable from totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.privacy.suppress import suppress_cells


def test_small_cells_and_their_complements_are_blanked():
    t = pd.DataFrame({"prov": ["a", "b", "c"], "f": [12, 3, 20], "m": [8, 15, 9]})
    out = suppress_cells(t, ["f", "m"], 5)
    assert out["f"].isna().tolist() == [True, True, False]
    assert out["m"].isna().tolist() == [True, True, False]
    assert out["suppressed"].tolist() == [True, True, False]


def test_harassment_threshold_and_zeros():
    t = pd.DataFrame({"g": ["x", "y", "z"], "n": [30, 9, 0]})
    out = suppress_cells(t, ["n"], 10, zeros_disclosive=True)
    assert out["n"].isna().tolist() == [False, True, True]  # two blanks: the total hides both
    kept = suppress_cells(t, ["n"], 10)
    assert kept["n"].isna().tolist() == [True, True, False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=4), min_size=2, max_size=6)
       .filter(lambda rows: len({len(r) for r in rows}) == 1))
def test_no_published_small_cell_and_no_single_blank_in_a_line(rows):
    cols = [f"c{i}" for i in range(len(rows[0]))]
    out = suppress_cells(pd.DataFrame(rows, columns=cols), cols, 5)
    shown = out[cols]
    values = shown.to_numpy(dtype="float64", na_value=np.nan)
    assert not ((values >= 1) & (values < 5)).any()
    blanks = shown.isna().to_numpy()
    # A line with exactly one blank would give it back through the line total.
    assert not (blanks.sum(axis=1) == 1).any()
    assert not (blanks.sum(axis=0) == 1).any() or len(rows) < 2


def test_breakdowns_of_a_long_table_protect_each_other_against_the_total():
    t = pd.DataFrame({
        "group_by": ["all", "sex", "sex", "province", "province", "province"],
        "n": [40, 37, 3, 20, 12, 8],
    })
    out = suppress_cells(t, count_col="n", threshold=5, group_col="group_by", total_value="all")
    # sex=3 is small; its sibling 37 must go too, or 40 - 37 gives it back. Provinces stay.
    assert out["n"].isna().tolist() == [False, True, True, False, False, False]
    assert out["suppressed"].tolist() == [False, True, True, False, False, False]
