"""The indicators of forms-content.md (RB-*, VH-*, OA-*) as data, computed with pandas.

Each indicator is Σ numerator / Σ denominator over the rows of one form table, optionally
broken down by a column (sex, province). Shares use 0/1 numerators over 0/1 denominators,
means use the value over a 0/1 denominator, pooled ratios use counts over counts — one rule
covers the three kinds. Weights are 1 (self-weighting samples); a design weight column can be
added later without changing the definitions.

The functions only read columns, so they work on the warehouse's tables whether a
select_multiple arrives as one space-separated column or as 0/1 columns per choice.
Suppression of small cells is applied afterwards (``suara.privacy``), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Frame = pd.DataFrame
Expr = Callable[[Frame], pd.Series]


# -- column helpers (absent columns behave like unanswered questions) ---------------------------


def col(df: Frame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def num(df: Frame, name: str) -> pd.Series:
    return pd.to_numeric(col(df, name), errors="coerce").astype("float64")


def eq(df: Frame, name: str, *values: str) -> pd.Series:
    return col(df, name).astype("string").isin([str(v) for v in values]).fillna(False).astype(bool)


def answered(df: Frame, name: str) -> pd.Series:
    return col(df, name).notna()


def sel(df: Frame, name: str, choice: str) -> pd.Series:
    """XLSForm ``selected(${name}, choice)`` on either representation."""
    flag = f"{name}__{choice}"
    if flag in df.columns:
        return pd.to_numeric(df[flag], errors="coerce").fillna(0).astype(bool)
    s = col(df, name).astype("string").fillna("")
    return s.str.split().apply(lambda xs: choice in xs).astype(bool)


def any_sel_other_than(df: Frame, name: str, excluded: str) -> pd.Series:
    prefix = f"{name}__"
    flags = [c for c in df.columns if c.startswith(prefix) and c != f"{name}__{excluded}"]
    if flags:
        return df[flags].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1).gt(0)
    s = col(df, name).astype("string").fillna("")
    return s.str.split().apply(lambda xs: any(x != excluded for x in xs)).astype(bool)


def b(s: pd.Series) -> pd.Series:
    """0/1 floats from a condition; unknown (NA, e.g. a comparison on an unanswered
    nullable column) counts as false."""
    return s.astype("boolean").fillna(False).astype(float)


ALL = pd.Series  # marker for readability below


@dataclass(frozen=True)
class Indicator:
    id: str
    form_id: str
    label_en: str
    label_id: str
    numerator: Expr
    denominator: Expr
    by: tuple[str, ...] = ("sex",)
    unit: str = "%"              # "%" (share × 100), "mean", "ratio"
    table: str | None = None     # default: the form's submission table
    headline: bool = False
    sensitive: bool = False      # harassment/pregnancy: stricter suppression threshold

    def sums(self, df: Frame) -> dict[tuple[str, str], tuple[float, float, int]]:
        """(group_by, group_value) → (Σ numerator, Σ denominator, n) over ``df``.

        Sums add up across chunks of a table, so a large table can be read a chunk at a time
        (memory bounded by the chunk, not the table) and combined with :func:`merge_sums`.
        """
        num_ = pd.to_numeric(self.numerator(df), errors="coerce").astype("float64").fillna(0.0)
        den = pd.to_numeric(self.denominator(df), errors="coerce").astype("float64").fillna(0.0)
        frame = pd.DataFrame({"num": num_, "den": den, "n": (den > 0).astype(int)})
        out = {("all", "all"): (float(frame["num"].sum()), float(frame["den"].sum()), int(frame["n"].sum()))}
        for g in self.by:
            keys = col(df, g).astype("string").fillna("(missing)")
            grouped = frame.groupby(keys, sort=True).sum()
            for value, r in grouped.iterrows():
                out[(g, str(value))] = (float(r["num"]), float(r["den"]), int(r["n"]))
        return out

    def rows(self, sums: dict[tuple[str, str], tuple[float, float, int]]) -> list[dict]:
        """The published rows (value = Σnum/Σden, × 100 for shares), all first, then groups."""
        out = []
        for (group_by, group_value), (num_, den, n) in sorted(
                sums.items(), key=lambda kv: (kv[0][0] != "all", kv[0])):
            value = np.nan if den == 0 else num_ / den
            if self.unit == "%" and not np.isnan(value):
                value *= 100.0
            out.append({
                "indicator_id": self.id, "form_id": self.form_id, "label_en": self.label_en,
                "label_id": self.label_id, "unit": self.unit, "group_by": group_by,
                "group_value": group_value, "numerator": num_, "denominator": den,
                "n": n, "value": value, "headline": self.headline, "sensitive": self.sensitive,
            })
        return out

    def compute(self, df: Frame) -> list[dict]:
        return self.rows(self.sums(df))


def merge_sums(total: dict, part: dict) -> dict:
    for key, (num_, den, n) in part.items():
        a, b_, c = total.get(key, (0.0, 0.0, 0))
        total[key] = (a + num_, b_ + den, c + n)
    return total


def share(cond: Expr, den: Expr) -> tuple[Expr, Expr]:
    return (lambda d: b(cond(d)) * b(den(d))), (lambda d: b(den(d)))


def everyone(d: Frame) -> pd.Series:
    return pd.Series(True, index=d.index)


def compute_all(indicators: list[Indicator], frames: dict[str, Frame]) -> pd.DataFrame:
    """Compute every indicator whose table is present; returns one long table."""
    rows: list[dict] = []
    for ind in indicators:
        table = ind.table or ind.form_id
        if table in frames:
            rows.extend(ind.compute(frames[table]))
    return pd.DataFrame(rows)


def compute_chunks(indicators: list[Indicator], chunks) -> pd.DataFrame:
    """The same long table from one table read in chunks (all indicators on that table)."""
    totals: dict[str, dict] = {ind.id: {} for ind in indicators}
    for chunk in chunks:
        for ind in indicators:
            merge_sums(totals[ind.id], ind.sums(chunk))
    rows: list[dict] = []
    for ind in indicators:
        if totals[ind.id]:
            rows.extend(ind.rows(totals[ind.id]))
    return pd.DataFrame(rows)
