"""The fast engine: interpret a suite's expectations with numpy, giving for each expectation
the rows that fail — the same rows GX's ``unexpected_index_list`` gives (map expectations
skip nulls; uniqueness flags every occurrence of a duplicated value, stack.md §2.2), at a
fraction of GX's per-expectation overhead. ``validation.gx_engine`` runs the same suite
through GX; tests hold the two to the same answers.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

SUPPORTED = {
    "expect_column_values_to_be_in_set", "expect_column_values_to_match_regex",
    "expect_column_values_to_be_between", "expect_column_value_lengths_to_be_between",
    "expect_column_values_to_be_unique", "expect_column_values_to_not_be_null",
}


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


_HASH_ROWS = 4000


@lru_cache(maxsize=4096)
def _value_set(allowed: tuple[str, ...]) -> frozenset[str]:
    return frozenset(allowed)


def _outside(values: np.ndarray, kw: dict) -> np.ndarray:
    bad = np.zeros(len(values), dtype=bool)
    with np.errstate(invalid="ignore"):
        if kw.get("min_value") is not None:
            bad |= (values <= kw["min_value"]) if kw.get("strict_min") else (values < kw["min_value"])
        if kw.get("max_value") is not None:
            bad |= (values >= kw["max_value"]) if kw.get("strict_max") else (values > kw["max_value"])
    return bad


class Presence:
    """A table's columns for the fast engine, with which cells hold a value computed once per
    column (isna on object columns is the dominant cost at 100k rows). ``arrays`` adds columns
    that are not in ``frame`` (the check columns) and ``present`` seeds masks already known
    (from casting), so no pandas Series is built for them. Check columns (int8) hold a value
    when ≥ 0."""

    def __init__(self, frame: pd.DataFrame, arrays: dict[str, np.ndarray] | None = None,
                 present: dict[str, np.ndarray] | None = None):
        self.frame = frame
        self.arrays = arrays or {}
        self._cache: dict[str, np.ndarray] = dict(present or {})
        self._columns = set(frame.columns) | set(self.arrays)

    def __contains__(self, column: str) -> bool:
        return column in self._columns

    def __len__(self) -> int:
        return len(self.frame)

    def seed(self, column: str, mask: np.ndarray) -> None:
        self._cache.setdefault(column, mask)

    def values(self, column: str):
        """The column as an ndarray or extension array (from ``arrays``) or a Series."""
        found = self.arrays.get(column)
        return self.frame[column] if found is None else found

    def __call__(self, column: str) -> np.ndarray:
        if column not in self._cache:
            col = self.values(column)
            if col.dtype == np.int8:
                self._cache[column] = np.asarray(col) >= 0
            elif col.dtype == object:
                self._cache[column] = ~pd.isna(_objects(col))
            else:
                self._cache[column] = ~np.asarray(pd.isna(col), dtype=bool)
        return self._cache[column]


def _objects(col) -> np.ndarray:
    """A column's values as an object ndarray, as ``Series.to_numpy(dtype=object)`` gives them."""
    if isinstance(col, np.ndarray):
        return col if col.dtype == object else col.astype(object)
    return col.to_numpy(dtype=object)


def failing_rows(spec: dict, frame: pd.DataFrame, present: Presence | None = None) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` that fail one expectation configuration
    (``frame`` is read through ``present`` when given: it may hold more columns)."""
    kind = spec["type"]
    kw = spec["kwargs"]
    table = present or Presence(frame)
    n = len(table)
    if kw["column"] not in table:
        # A column this batch lacks entirely has no values to fail (map expectations skip
        # nulls), except a not-null expectation.
        return np.ones(n, dtype=bool) if kind == "expect_column_values_to_not_be_null" else \
            np.zeros(n, dtype=bool)
    col = table.values(kw["column"])
    if col.dtype == np.int8 and kind == "expect_column_values_to_be_in_set":
        return np.asarray(col) == 0  # a check column: 0 = fail
    has = table(kw["column"])
    if kind == "expect_column_values_to_not_be_null":
        return ~has
    if kind == "expect_column_values_to_be_in_set":
        allowed = kw["value_set"]
        if isinstance(col, np.ndarray) and col.dtype == object and all(isinstance(a, str) for a in allowed):
            # A cast choice column (str/None). Usually every answer is a listed code: the set of
            # the column's values (one C pass, ~2× cheaper than a look-up per row) shows it,
            # and nothing fails. Otherwise a set look-up per row beats factorising it on a
            # page; on large batches pandas' hash table wins (measured at 1k and 100k rows).
            listed = _value_set(tuple(allowed))
            seen = set(col)
            seen.discard(None)
            if seen <= listed:
                return np.zeros(n, dtype=bool)
            if n > _HASH_ROWS:
                return has & ~pd.Index(col, dtype=object, copy=False).isin(allowed)
            return has & ~np.fromiter(map(listed.__contains__, col), bool, n)
        codes, uniques = pd.factorize(_objects(col))
        ok = np.array([u in allowed for u in uniques], dtype=bool)
        return has & ~ok[codes] if len(uniques) else np.zeros(n, dtype=bool)
    if kind == "expect_column_values_to_match_regex":
        rx = _compiled(kw["regex"])
        codes, uniques = pd.factorize(_objects(col))
        ok = np.array([rx.search(str(u)) is not None for u in uniques], dtype=bool)
        return has & ~ok[codes] if len(uniques) else np.zeros(n, dtype=bool)
    # Rare expectations read a Series; the dtype is kept (an object ndarray is not str data).
    col = pd.Series(col, dtype=col.dtype, copy=False) if not isinstance(col, pd.Series) else col
    if kind == "expect_column_values_to_be_between":
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return has & _outside(values, kw)
    if kind == "expect_column_value_lengths_to_be_between":
        lengths = col.astype(object).map(lambda v: len(str(v)), na_action="ignore")
        return has & _outside(lengths.to_numpy(dtype="float64", na_value=np.nan), kw)
    if kind == "expect_column_values_to_be_unique":
        return has & col.duplicated(keep=False).to_numpy()
    raise ValueError(f"the fast engine does not interpret {kind}")  # pragma: no cover


def table_failures(specs: list[dict], table: Presence) -> list[np.ndarray]:
    """``failing_rows`` for each of ``specs`` on one table. In-set expectations on check
    columns (most of a suite) are compared as one 2-D block rather than one call each."""
    out: list[np.ndarray | None] = [None] * len(specs)
    batch = [i for i, spec in enumerate(specs)
             if spec["type"] == "expect_column_values_to_be_in_set"
             and getattr(table.arrays.get(spec["kwargs"]["column"]), "dtype", None) == np.int8]
    if batch:
        columns = [specs[i]["kwargs"]["column"] for i in batch]
        block = np.stack([table.arrays[c] for c in columns])
        failed, has = block == 0, block >= 0
        for k, (i, column) in enumerate(zip(batch, columns, strict=True)):
            out[i] = failed[k]
            table.seed(column, has[k])
    return [bad if bad is not None else failing_rows(spec, table.frame, table)
            for spec, bad in zip(specs, out, strict=True)]

