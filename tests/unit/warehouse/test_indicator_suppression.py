"""The refresh's small-cell suppression (``warehouse.indicators._suppress``) works on arrays,
group by group; it must mark and blank exactly what ``suppress_cells`` does to each
indicator's table of breakdowns, whatever order the cells come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.forms import load_forms
from suara.privacy.suppress import suppress_cells
from warehouse.indicators import _suppress, threshold_for

FORM = next(f for f in load_forms() if f.form_id == "ilo_rights_baseline")


def _reference(cells: pd.DataFrame) -> pd.DataFrame:
    """One ``suppress_cells`` table per indicator, as the refresh once built them."""
    out = []
    for (_, sensitive, unit), part in cells.groupby(["indicator_id", "sensitive", "unit"], sort=False):
        part = part.copy()
        counts = ["n"]
        if unit == "%":
            part["_yes"] = part["numerator"].round()
            part["_no"] = (part["denominator"] - part["numerator"]).round()
            counts += ["_yes", "_no"]
        marked = suppress_cells(part, count_cols=counts, threshold=threshold_for(FORM, bool(sensitive)),
                                group_col="group_by", total_value="all")
        marked["n"] = part["n"].where(~marked["suppressed"])
        out.append(marked.drop(columns=[c for c in ("_yes", "_no") if c in marked.columns]))
    res = pd.concat(out)
    for c in ("numerator", "denominator", "value"):
        res.loc[res["suppressed"], c] = np.nan
    return res


@st.composite
def indicator_cells(draw) -> pd.DataFrame:
    rows = []
    for ind in range(draw(st.integers(1, 5))):
        unit = draw(st.sampled_from(["%", "mean", "count"]))
        sensitive = draw(st.booleans())
        for group in ["all", *draw(st.lists(st.sampled_from(["sex", "province"]), unique=True))]:
            values = ["all"] if group == "all" else [f"v{i}" for i in range(draw(st.integers(1, 4)))]
            for value in values:
                n = draw(st.integers(0, 25))
                numerator = float(draw(st.integers(0, n)))
                rows.append(dict(indicator_id=f"I{ind}", sensitive=sensitive, unit=unit, group_by=group,
                                 group_value=value, n=n, numerator=numerator, denominator=float(n),
                                 value=numerator / n if n else np.nan))
    cells = pd.DataFrame(rows)
    return cells.sample(frac=1, random_state=draw(st.integers(0, 99))) if draw(st.booleans()) else cells


@settings(max_examples=150, deadline=None)
@given(indicator_cells())
def test_suppress__marks_and_blanks_what_suppress_cells_does_per_indicator(cells):
    pd.testing.assert_frame_equal(_suppress(cells, FORM), _reference(cells))


def test_suppress__a_small_share_hides_its_figures_and_a_complementary_cell():
    """A 2-of-3 share among women is a small cell; the other breakdown cell goes too, so the
    total cannot give it back; the total row stays published."""
    cells = pd.DataFrame([
        dict(indicator_id="I", sensitive=False, unit="%", group_by=g, group_value=v, n=n, numerator=k,
             denominator=float(n), value=k / n)
        for g, v, n, k in [("all", "all", 40, 20.0), ("sex", "f", 3, 2.0), ("sex", "m", 37, 18.0)]])
    out = _suppress(cells, FORM)
    assert out["suppressed"].tolist() == [False, True, True]
    assert out["value"].isna().tolist() == [False, True, True] and out["n"].isna().tolist() == [False, True, True]
