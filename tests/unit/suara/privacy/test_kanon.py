"""k-anonymity, l-diversity, risk and protection, checked against a brute-force oracle."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from suara.privacy.kanon import failing_rows, measure, protect


def oracle(df, qis):
    """Class sizes by plain Python, missing as its own value."""
    keys = [tuple("<NA>" if pd.isna(v) else v for v in row) for row in df[qis].itertuples(index=False)]
    counts = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return [counts[k] for k in keys]


frames = st.lists(
    st.tuples(st.sampled_from(["f", "m", None]), st.sampled_from(["a", "b", "c"]), st.integers(0, 3)),
    min_size=1, max_size=60,
).map(lambda rows: pd.DataFrame(rows, columns=["sex", "role", "sa"]))


@settings(max_examples=150, deadline=None)
@given(frames)
def test_measure_agrees_with_the_oracle(df):
    sizes = oracle(df, ["sex", "role"])
    stats = measure(df, ["sex", "role"], k=5, l_columns=["sa"])
    assert stats.k_min == min(sizes)
    assert stats.violators[5] == sum(s < 5 for s in sizes)
    assert np.isclose(stats.mean_risk, np.mean([1 / s for s in sizes]))
    assert np.isclose(stats.expected_reidentifications, stats.classes)
    assert stats.above_threshold == sum(1 / s > 0.05 for s in sizes)


@settings(max_examples=150, deadline=None)
@given(frames, st.integers(2, 6))
def test_protected_release_is_k_anonymous_and_l_diverse(df, k):
    result = protect(df, ["sex", "role"], k, l_columns=["sa"], l=2)
    released = result.frame
    if len(released):
        assert min(oracle(released, ["sex", "role"])) >= k
        assert not failing_rows(released, ["sex", "role"], k, ["sa"], 2).any()
    assert len(released) + len(result.withheld) == len(df)
    assert set(result.withheld).isdisjoint(released.index)


def test_local_suppression_stays_within_five_percent_per_qi():
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "role": rng.choice(list("abcd"), n)})
    df.loc[:29, "role"] = [f"rare{i}" for i in range(30)]  # 30 unique rows (1.5 %)
    result = protect(df, ["sex", "role"], 5)
    assert result.suppressed == {"role": 30}
    assert result.withheld.empty and result.after.k_min >= 5


def test_recoding_before_withholding():
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    df = pd.DataFrame({"when": months * 3, "sex": ["f"] * 36})
    result = protect(df, ["when", "sex"], 5, levels={"when": ("month", ())})
    assert result.recoded == {"when": "quarter"}
    assert set(result.frame["when"]) == {"2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"}
    assert result.withheld.empty


def test_rows_that_cannot_be_protected_are_withheld_and_counted():
    df = pd.DataFrame({"sex": ["f"] * 10 + ["m"], "role": ["a"] * 10 + ["b"]})
    result = protect(df, ["sex", "role"], 5, budget_share=0.0)
    assert list(result.withheld) == [10]
    assert result.before.k_min == 1 and result.after.k_min == 10


def test_checks_on_100k_rows_take_well_under_a_second():
    rng = np.random.default_rng(1)
    n = 100_000
    df = pd.DataFrame({"age": rng.integers(18, 61, n) // 10, "sex": rng.choice(["F", "M"], n),
                       "province": rng.integers(0, 10, n), "role": rng.integers(0, 12, n) // 6,
                       "tenure": rng.integers(0, 4, n), "sa": rng.integers(0, 6, n)})
    t = time.perf_counter()
    stats = measure(df, ["age", "sex", "province", "role", "tenure"], k=5, l_columns=["sa"])
    elapsed = time.perf_counter() - t
    assert stats.rows == n
    assert elapsed < 0.5, elapsed


def test_when_the_budget_is_short_whole_classes_are_suppressed_and_the_rest_withheld():
    roles = ["a"] * 188 + ["b"] * 4 + ["c"] * 4 + ["d"] * 4  # 12 failing rows, budget 10 cells
    df = pd.DataFrame({"sex": ["f"] * 200, "role": roles})
    result = protect(df, ["sex", "role"], 5)
    assert result.suppressed == {"role": 8}
    assert sorted(df.loc[result.withheld, "role"]) == ["d"] * 4
    assert result.frame["role"].isna().sum() == 8 and result.after.k_min >= 5
