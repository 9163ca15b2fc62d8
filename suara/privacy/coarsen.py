"""Coarsening of quasi-identifiers: dates to months or quarters, timestamps to durations,
districts to provinces, exact sizes and years to bands. Each function is vectorised over a
typed pandas Series and keeps missing values missing.

Each coarse value also has a *next level* (:func:`generalise`), used by the k-anonymity step
when local suppression alone cannot reach k: month → quarter → year, bands → wider bands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from suara.forms.model import Field, Form

_YM = re.compile(r"^\s*(\d{4})-(\d{2})")
MAX_INTERVIEW_MINUTES = 24 * 60  # longer "interviews" are devices left open: not a duration


def _year_month(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(year, month) as nullable integers, from datetimes or ISO-like strings.

    Strings are read as written (local time of the device), not converted to UTC, so an
    interview at 23:30 on 31 March in Jakarta stays in March.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year.astype("Int64"), values.dt.month.astype("Int64")
    matches = [None if v is None else _YM.match(str(v))
               for v in values.astype("object").where(values.notna(), None).tolist()]
    year = [int(m.group(1)) if m else None for m in matches]
    month = [int(m.group(2)) if m else None for m in matches]
    return pd.array(year, dtype="Int64"), pd.array(month, dtype="Int64")


def _labels(year, tail: Sequence[str] | None, index) -> pd.Series:
    # One pass over plain Python values: masked pandas assignment costs more than the work.
    years = pd.array(year, dtype="Int64").to_numpy(dtype=object, na_value=None)
    tails = tail if tail is not None else [""] * len(years)
    return pd.Series([pd.NA if y is None else f"{y}{t}" for y, t in zip(years, tails, strict=True)],
                     index=index, dtype="object")


def to_month(values: pd.Series) -> pd.Series:
    """``2024-03-12T09:15+07:00`` → ``2024-03``."""
    year, month = _year_month(values)
    tail = [f"-{m:02d}" if m is not None else "" for m in month.to_numpy(dtype=object, na_value=None)]
    return _labels(year, tail, values.index)


def to_quarter(values: pd.Series) -> pd.Series:
    """``2024-05-02`` → ``2024-Q2``."""
    year, month = _year_month(values)
    tail = [f"-Q{(m - 1) // 3 + 1}" if m is not None else "" for m in month.to_numpy(dtype=object, na_value=None)]
    return _labels(year, tail, values.index)


def to_year(values: pd.Series) -> pd.Series:
    year, _ = _year_month(values)
    return _labels(year, None, values.index)


def _as_utc(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is None:
            return values.dt.tz_localize("UTC")
        return values.dt.tz_convert("UTC")
    return pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")


def duration_minutes(start: pd.Series, end: pd.Series) -> pd.Series:
    """Whole minutes from start to end; negative or over a day → missing (clock errors)."""
    minutes = (_as_utc(end) - _as_utc(start)).dt.total_seconds() / 60.0
    minutes = minutes.where((minutes >= 0) & (minutes <= MAX_INTERVIEW_MINUTES))
    return minutes.round().astype("Int64")


def province_map(form: Form, fld: Field) -> dict[str, str]:
    """District code → province code, from the cascade column of the field's choice list."""
    choices = form.choices(fld)
    column = "prov"
    m = re.match(r"\s*([A-Za-z_][\w-]*)\s*=", fld.choice_filter or "")
    if m:
        column = m.group(1)
    if choices is None:
        return {}
    return {c.name: c.extra[column] for c in choices.choices if column in c.extra}


def to_province(values: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Unknown districts become missing rather than passing through unmapped."""
    out = values.astype("object").map(lambda v: mapping.get(str(v)) if pd.notna(v) else None)
    return out.astype("object").where(out.notna(), pd.NA)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def band_labels(edges: Sequence[float], integer: bool = True) -> list[str]:
    """Labels for the bands cut at ``edges``: ``<500``, ``500-999``, …, ``3000+``.

    Integer bands name their last member (``500-999``); decimal bands are half-open
    (``0.5-<1``).
    """
    labels = [f"<{_fmt(edges[0])}"]
    for lo, hi in zip(edges, edges[1:], strict=False):
        labels.append(f"{_fmt(lo)}-{_fmt(hi - 1)}" if integer else f"{_fmt(lo)}-<{_fmt(hi)}")
    labels.append(f"{_fmt(edges[-1])}+")
    return labels


def to_band(values: pd.Series, edges: Sequence[float], integer: bool = True) -> pd.Series:
    """Exact numbers → band labels. Missing and non-numeric values stay missing."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bins = [-math.inf, *edges, math.inf]
    codes = np.searchsorted(np.asarray(edges, dtype="float64"), numbers.to_numpy(), side="right")
    labels = np.array(band_labels(edges, integer), dtype=object)
    out = pd.Series(labels[np.clip(codes, 0, len(bins) - 2)], index=values.index, dtype="object")
    return out.where(numbers.notna(), pd.NA)


def to_band_year(values: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Years (or dates, by their year) → year bands, e.g. ``<2000``, ``2000-2009``, ``2020+``."""
    if pd.api.types.is_datetime64_any_dtype(values) or values.dtype == object:
        years, _ = _year_month(values)
        numeric = pd.to_numeric(values, errors="coerce") if values.dtype == object else None
        values = pd.Series(years, index=values.index)
        if numeric is not None:
            values = values.fillna(numeric.astype("Float64").round().astype("Int64"))
    return to_band(values, edges, integer=True)


# -- the next level of a coarse value, for recoding in the k-anonymity step --------------------


def _band_lower(label) -> float:
    if label is None or label is pd.NA or (isinstance(label, float) and math.isnan(label)):
        return math.nan
    text = str(label)
    if text.startswith("<"):
        return -math.inf
    return float(re.match(r"^-?[\d.]+", text).group(0))


Level = tuple[Callable[[pd.Series], pd.Series], str, tuple[float, ...]]


def next_level(treatment: str, edges: Sequence[float] = ()) -> Level | None:
    """(function, treatment, edges) taking a coarse column one level up, or None at the top.

    Bands merge pairwise (every other edge is dropped), so each wider band holds whole
    narrower bands and the relabelling needs only the band labels, not the exact values.
    """
    if treatment == "month":
        return (lambda s: to_quarter(s.astype("object").where(s.notna(), None).map(
            lambda v: f"{v}-01" if v is not None else None)), "quarter", ())
    if treatment == "quarter":
        return (lambda s: s.astype("object").map(lambda v: str(v)[:4] if pd.notna(v) else None)
                .where(s.notna(), pd.NA), "year", ())
    if treatment in ("band", "band_year") and len(edges) > 1:
        wider = tuple(edges[1::2])

        def widen(s: pd.Series) -> pd.Series:
            lower = s.map(_band_lower).astype("float64")
            # A band's lower bound lies inside exactly one wider band ("<x" sits below all).
            lower = lower.where(~np.isinf(lower), wider[0] - 1)
            return to_band(lower, wider).where(s.notna(), pd.NA)

        return widen, treatment, wider
    return None
