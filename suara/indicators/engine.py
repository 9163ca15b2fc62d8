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

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Frame = pd.DataFrame
Expr = Callable[[Frame], pd.Series]


# -- column helpers (absent columns behave like unanswered questions) ---------------------------
#
# Every indicator reads the same chunk through these helpers, 100+ times per chunk; each
# column's text form, codes and numbers are computed once per chunk (``_memo``). They also
# note which columns are read (``columns_used``), so the warehouse reads only those.

# Per thread: forms may be refreshed concurrently (flows/scale.py runs forms as tasks).
_LOCAL = threading.local()


def _memo(df: Frame) -> dict:
    """The entries computed for ``df`` (the frame is kept with them, so its id is never reused)."""
    if getattr(_LOCAL, "frame", None) is not df:
        _LOCAL.frame, _LOCAL.memo = df, {}
    return _LOCAL.memo


def _once(df: Frame, key: tuple, compute: Callable[[], object]):
    """``compute()``, once per frame and key."""
    memo = _memo(df)
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _forget() -> None:
    _LOCAL.frame, _LOCAL.memo = None, {}


def _note(*names: str) -> None:
    seen = getattr(_LOCAL, "seen", None)
    if seen is not None:
        seen.update(names)


def col(df: Frame, name: str) -> pd.Series:
    _note(name)
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _codes(df: Frame, name: str) -> tuple[np.ndarray, list[str]]:
    """The column as text (pandas "string"), factorised: codes (-1 when missing) and values."""
    return _once(df, ("codes", name), lambda: _text_codes(col(df, name)))


def _text_codes(s: pd.Series) -> tuple[np.ndarray, list[str]]:
    """What factorising ``s.astype("string")`` gives, without converting every cell: the raw
    values are factorised and only the distinct ones turned into text (``astype`` validated
    each of a million cells, ~40 % of a reporting refresh). An object column holding anything
    but text takes the long way: factorising treats 1, 1.0 and True as one value, their texts
    differ."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if s.dtype == object and not all(isinstance(u, str) for u in uniques):
        codes, uniques = pd.factorize(s.astype("string"), use_na_sentinel=True)
    elif len(uniques) and not isinstance(uniques[0], str):  # one numeric or boolean dtype
        uniques = pd.array(np.asarray(uniques), dtype="string")
    return codes, [str(u) for u in uniques]


def num(df: Frame, name: str) -> pd.Series:
    return _once(df, ("num", name), lambda: pd.to_numeric(col(df, name), errors="coerce").astype("float64"))


def eq(df: Frame, name: str, *values: str) -> pd.Series:
    codes, uniques = _codes(df, name)
    wanted = {str(v) for v in values}
    # A look-up table over the codes (the last entry, for code -1, stays False): one gather
    # instead of np.isin's sort, for each of the ~100 comparisons per chunk.
    table = np.zeros(len(uniques) + 1, dtype=bool)
    table[[i for i, u in enumerate(uniques) if u in wanted]] = True
    return pd.Series(table[codes], index=df.index)


def answered(df: Frame, name: str) -> pd.Series:
    # Memoised like the codes: most indicators ask it of a text column twice (numerator and
    # denominator), and ``notna`` on pandas' string dtype walks every cell (~0.2 ms a chunk
    # of 8,000 rows, a tenth of an indicator).
    _note(name)
    return _once(df, ("answered", name), lambda: col(df, name).notna())


def sel(df: Frame, name: str, choice: str) -> pd.Series:
    """XLSForm ``selected(${name}, choice)`` on either representation."""
    flag = f"{name}__{choice}"
    _note(name, flag)
    if flag in df.columns:
        return pd.to_numeric(df[flag], errors="coerce").fillna(0).astype(bool)
    s = col(df, name).astype("string").fillna("")
    return s.str.split().apply(lambda xs: choice in xs).astype(bool)


def any_sel_other_than(df: Frame, name: str, excluded: str) -> pd.Series:
    prefix = f"{name}__"
    flags = [c for c in df.columns if c.startswith(prefix) and c != f"{name}__{excluded}"]
    _note(name, *flags)
    if flags:
        return df[flags].apply(pd.to_numeric, errors="coerce").fillna(0).sum(axis=1).gt(0)
    s = col(df, name).astype("string").fillna("")
    return s.str.split().apply(lambda xs: any(x != excluded for x in xs)).astype(bool)


def columns_used(indicators: list[Indicator], columns: list[str]) -> set[str]:
    """The columns of a table with ``columns`` that ``indicators`` read (run on no rows)."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    _LOCAL.seen = set()
    try:
        for ind in indicators:  # what ``sums_by_block`` reads, without summing anything
            ind.numerator(empty)
            ind.denominator(empty)
            _note(*ind.by)
        return _LOCAL.seen & set(columns)
    finally:
        _LOCAL.seen = None
        _forget()


def b(s: pd.Series) -> pd.Series:
    """0/1 floats from a condition; unknown (NA, e.g. a comparison on an unanswered
    nullable column) counts as false."""
    if s.dtype == bool:  # numpy booleans hold no NA: the round trip through "boolean" is a no-op
        return s.astype(float)
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
        out = self.sums_by_block(df, np.zeros(len(df), dtype=np.int64)).get(0, {})
        return out or {("all", "all"): (0.0, 0.0, 0)}

    def sums_by_block(self, df: Frame, blocks: np.ndarray) -> dict[int, dict[tuple[str, str], tuple[float, float, int]]]:
        """:meth:`sums` of each block of rows (``blocks`` gives every row's block number) in one
        pass: the reporting refresh keeps sums per block of ids and recomputes only the
        blocks whose rows changed (warehouse/indicators.py)."""
        num_ = _floats(self.numerator(df))
        den = _floats(self.denominator(df))
        n = (den > 0).astype(np.int64)
        block_of, block_ids = _blocks(df, blocks)
        width = len(block_ids)
        out: dict[int, dict] = {int(b): {} for b in block_ids}
        totals = [np.bincount(block_of, weights=w, minlength=width) for w in (num_, den, n)]
        for k, b in enumerate(block_ids):
            out[int(b)][("all", "all")] = (float(totals[0][k]), float(totals[1][k]), int(round(totals[2][k])))
        for g in self.by:
            codes, uniques = _codes(df, g)
            # Missing values are a group of their own, after the answered ones.
            size = len(uniques) + 1
            keys = block_of * size + np.where(codes < 0, len(uniques), codes)
            sums = [np.bincount(keys, weights=w, minlength=width * size) for w in (num_, den, n)]
            present = np.bincount(keys, minlength=width * size) > 0
            for k in np.flatnonzero(present):
                b, v = divmod(int(k), size)
                value = uniques[v] if v < len(uniques) else "(missing)"
                out[int(block_ids[b])][(g, value)] = (float(sums[0][k]), float(sums[1][k]), int(round(sums[2][k])))
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


def _floats(s: pd.Series) -> np.ndarray:
    """The values as float64, anything not a number 0."""
    if isinstance(s, pd.Series) and s.dtype == np.float64:  # what ``b`` and ``num`` give
        values = s.to_numpy()
        return np.where(np.isnan(values), 0.0, values)
    return pd.to_numeric(s, errors="coerce").astype("float64").fillna(0.0).to_numpy()


def _blocks(df: Frame, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``blocks`` factorised, once per chunk: every indicator sums the chunk by the same blocks.
    The memo holds the array itself, so a new array at a reused address is never taken for it."""
    memo = _memo(df)
    hit = memo.get(("blocks",))
    if hit is None or hit[0] is not blocks:
        hit = memo[("blocks",)] = (blocks, *pd.factorize(np.asarray(blocks, dtype=np.int64)))
    return hit[1], hit[2]


def merge_sums(total: dict, part: dict) -> dict:
    for key, (num_, den, n) in part.items():
        a, b_, c = total.get(key, (0.0, 0.0, 0))
        total[key] = (a + num_, b_ + den, c + n)
    return total


def share(cond: Expr, den: Expr) -> tuple[Expr, Expr]:
    def base(d: Frame) -> pd.Series:
        # The numerator and the denominator both need ``b(den(d))``: computed once per chunk.
        return _once(d, ("share", den), lambda: b(den(d)))

    return (lambda d: b(cond(d)) * base(d)), base


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
    _forget()  # do not keep the last chunk alive
    rows: list[dict] = []
    for ind in indicators:
        if totals[ind.id]:
            rows.extend(ind.rows(totals[ind.id]))
    return pd.DataFrame(rows)
