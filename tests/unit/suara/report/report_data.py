"""Indicator cells as the reporting zone holds them, computed from synthetic submissions of
the real instruments: suara.synth → normalise → cast → suara.indicators, then small-cell
suppression with suara.privacy.suppress_cells at the warehouse's thresholds (5, or 10 for
sensitive indicators), figures of suppressed cells nulled as the reporting zone stores them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from suara import synth
from suara.cast import cast_frame
from suara.forms import Form, load_forms
from suara.indicators import compute_all, indicators_for
from suara.normalise import normalise
from suara.privacy import suppress_cells
from tests.conftest import FORMS_DIR


@cache
def real_forms() -> tuple[Form, ...]:
    return tuple(load_forms(FORMS_DIR))


def as_read_back(frame: pd.DataFrame) -> pd.DataFrame:
    """The dtypes a table read back from the warehouse has (pandas.read_sql): numbers as
    float64 with NaN, not pandas' nullable Int64/Float64 (suara.indicators computes on those)."""
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, (pd.Int64Dtype, pd.Float64Dtype)):
            out[c] = out[c].astype("float64")
    return out


def typed_frames(form: Form, n: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    subs = synth.generate(form, n, seed=seed)
    norm = normalise({form.version: form}, form, subs)
    return {t: as_read_back(cast_frame(form, t, f)[0]) for t, f in norm.frames.items()}


def threshold(sensitive: bool) -> int:
    from warehouse.indicators import threshold_for

    return threshold_for(real_forms()[0], sensitive)


def suppress(cells: pd.DataFrame) -> pd.DataFrame:
    """Suppress small cells of each indicator: every breakdown (sex, province, …) is one count
    table together with the indicator's total, so secondary suppression protects each
    breakdown against "total minus the others". Figures of suppressed cells are nulled."""
    cells = cells.reset_index(drop=True)
    suppressed = pd.Series(False, index=cells.index)
    for _, part in cells.groupby("indicator_id", sort=False):
        t = threshold(bool(part.sensitive.iloc[0]))
        total = part[part.group_by == "all"]
        for g in part.group_by.unique():
            if g == "all":
                continue
            table = pd.concat([total, part[part.group_by == g]])
            marked = suppress_cells(table, count_cols=["n"], threshold=t)
            suppressed[marked.index[marked.suppressed]] = True
        if len(part) == len(total):  # no breakdown: the total alone
            marked = suppress_cells(total, count_cols=["n"], threshold=t)
            suppressed[marked.index[marked.suppressed]] = True
    out = cells.assign(suppressed=suppressed)
    out.loc[out.suppressed, ["numerator", "denominator", "value", "n"]] = np.nan
    return out


def indicator_cells(n: int, seed: int = 7) -> pd.DataFrame:
    frames = []
    for form in real_forms():
        frames.append(compute_all(indicators_for(form), typed_frames(form, n, seed)))
    return suppress(pd.concat(frames, ignore_index=True))
