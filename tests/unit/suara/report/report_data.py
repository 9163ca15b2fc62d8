"""Indicator cells as the reporting zone holds them, computed from synthetic submissions of
the real instruments: suara.synth → normalise → cast → suara.indicators, then the reporting
zone's small-cell suppression (warehouse/indicators.py: thresholds 5, or 10 for sensitive
indicators; secondary suppression per breakdown; figures of suppressed cells nulled).
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from suara import synth
from suara.cast import cast_frame
from suara.forms import Form, load_forms
from suara.indicators import compute_all, indicators_for
from suara.normalise import normalise
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


def suppress(cells: pd.DataFrame, form: Form) -> pd.DataFrame:
    """The reporting zone's suppression of one form's cells (warehouse/indicators.py)."""
    from warehouse.indicators import _suppress

    return _suppress(cells, form)


def indicator_cells(n: int, seed: int = 7) -> pd.DataFrame:
    frames = []
    for form in real_forms():
        frames.append(suppress(compute_all(indicators_for(form), typed_frames(form, n, seed)), form))
    return pd.concat(frames, ignore_index=True)
