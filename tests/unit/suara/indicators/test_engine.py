"""Indicator arithmetic: Σ numerator / Σ denominator, per group, on either select representation."""

import math

import pandas as pd
import pytest

from suara.indicators import harassment, organising
from suara.indicators.baseline import INDICATORS as RB
from suara.indicators.engine import compute_all, sel


def _by_id(rows, ind, group="all", value="all"):
    r = rows[(rows.indicator_id == ind) & (rows.group_by == group) & (rows.group_value == value)]
    assert len(r) == 1
    return r.iloc[0]


def test_share__dk_excluded_from_denominator__by_sex():
    """RB-1: PKWTT share leaves 'dk' out of the denominator and splits by sex."""
    df = pd.DataFrame({"eligible": ["1"] * 5 + ["0"], "sex": ["female", "female", "male", "male", "female", "female"],
                       "contract": ["pkwtt", "dk", "pkwtt", "pkwt", "pkwt", "pkwtt"]})
    rows = compute_all(RB, {"ilo_rights_baseline": df})
    allr = _by_id(rows, "RB-1")
    assert (allr.numerator, allr.denominator) == (2, 4)
    assert allr.value == pytest.approx(50.0)
    fem = _by_id(rows, "RB-1", "sex", "female")
    assert (fem.numerator, fem.denominator) == (1, 2)


def test_mean__score_over_eligible():
    """RB-5: mean % correct over eligible respondents."""
    df = pd.DataFrame({"eligible": ["1", "1", "0"], "sex": ["female"] * 3, "k_score": ["18", "9", "18"]})
    r = _by_id(compute_all(RB, {"ilo_rights_baseline": df}), "RB-5")
    assert r.value == pytest.approx(75.0)
    assert r.n == 2


def test_selected__space_separated_and_flag_columns_agree():
    """selected() reads a space-separated column or per-choice 0/1 columns alike."""
    spaced = pd.DataFrame({"i_to_whom": ["union_rep hr", None, "police"]})
    flags = pd.DataFrame({"i_to_whom__union_rep": [1, 0, 0], "i_to_whom__police": [0, 0, 1]})
    assert sel(spaced, "i_to_whom", "union_rep").tolist() == sel(flags, "i_to_whom", "union_rep").tolist() == [True, False, False]


def test_harassment__reported_to_union_share():
    """VH-5: reports to the union over all reported incidents."""
    df = pd.DataFrame({"go": ["1"] * 4, "withdrawn": ["0"] * 4, "sex": ["female"] * 4,
                       "i_reported": ["yes", "yes", "yes", "no"],
                       "i_to_whom": ["union_rep", "hr", "union_women police", None]})
    r = _by_id(compute_all(harassment.INDICATORS, {"ilo_vh_reporting": df}), "VH-5")
    assert (r.numerator, r.denominator) == (2, 3)


def test_organising__pooled_density_and_empty_denominator_is_nan():
    """OA-1 pools members over workers across unions; no denominator gives NaN, never 0."""
    df = pd.DataFrame({"consent_org": ["yes", "yes", "no"], "mem_f": ["10", "30", "99"], "workers_f": ["100", "100", "100"]})
    rows = compute_all(organising.INDICATORS, {"ilo_org_assessment": df})
    assert _by_id(rows, "OA-1").value == pytest.approx(20.0)
    assert math.isnan(_by_id(rows, "OA-10c").value)


def test_chunks__same_cells_as_one_frame():
    """Reading a table in chunks (bounded memory) gives exactly the cells of one whole read."""
    from suara.indicators.engine import compute_chunks

    df = pd.DataFrame({"eligible": ["1"] * 9 + ["0"], "sex": ["female", "male", None] * 3 + ["female"],
                       "contract": ["pkwtt", "pkwt", "dk", "pkwtt", "pkwtt", None, "daily", "pkwtt", "pkwt", "pkwtt"],
                       "k_score": [18, 9, 14, None, 3, 12, 7, 16, 1, 18]})
    whole = compute_all(RB, {"ilo_rights_baseline": df}).sort_values(["indicator_id", "group_by", "group_value"])
    parts = compute_chunks(RB, [df.iloc[:3], df.iloc[3:7], df.iloc[7:]]).sort_values(
        ["indicator_id", "group_by", "group_value"])
    pd.testing.assert_frame_equal(whole.reset_index(drop=True), parts.reset_index(drop=True))


def test_columns_used__only_what_the_indicators_read():
    """Should name the columns the indicators read (flags of a select_multiple included), so
    the warehouse reads no other column of the table."""
    from suara.indicators.engine import columns_used

    columns = ["_id", "eligible", "sex", "contract", "worker_name", "tr_topics", "tr_topics__osh", "tr_topics__none"]
    used = columns_used(organising.INDICATORS + RB, columns)
    assert {"eligible", "sex", "contract"} <= used
    assert "worker_name" not in used and "_id" not in used
    assert used <= set(columns)


def test_group_sums__missing_group_and_chunks_add_up():
    """Should count unanswered breakdown values as '(missing)' and give the same sums in chunks."""
    from suara.indicators.engine import compute_chunks

    df = pd.DataFrame({"eligible": ["1"] * 6, "sex": ["female", None, "male", None, "female", "male"],
                       "contract": ["pkwtt", "pkwtt", "pkwt", "pkwtt", "pkwt", "pkwtt"]})
    whole = compute_all(RB, {"ilo_rights_baseline": df})
    chunked = compute_chunks(RB, [df.iloc[:4], df.iloc[4:]])
    missing = _by_id(whole, "RB-1", "sex", "(missing)")
    assert (missing.numerator, missing.denominator, missing.n) == (2, 2, 2)
    key = ["indicator_id", "group_by", "group_value"]
    pd.testing.assert_frame_equal(whole.sort_values(key).reset_index(drop=True),
                                  chunked.sort_values(key).reset_index(drop=True))


def test_compute_chunks__two_threads__each_gets_its_own_figures():
    """Should keep each thread's per-chunk working values apart (forms refresh concurrently
    under flows/scale.py)."""
    import threading

    from suara.indicators.engine import compute_chunks

    def frame(code, n):
        return pd.DataFrame({"eligible": ["1"] * n, "sex": ["female", "male"] * (n // 2),
                             "contract": [code] * n})

    key = ["indicator_id", "group_by", "group_value"]
    inputs = {"pkwtt": [frame("pkwtt", 400)] * 30, "pkwt": [frame("pkwt", 600)] * 30}
    expected = {k: compute_chunks(RB, v).sort_values(key).reset_index(drop=True) for k, v in inputs.items()}
    got = {}
    threads = [threading.Thread(target=lambda k=k: got.__setitem__(k, compute_chunks(RB, inputs[k])))
               for k in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in inputs:
        pd.testing.assert_frame_equal(got[k].sort_values(key).reset_index(drop=True), expected[k])


def test_sums_by_block__blocks_add_up_to_the_whole_and_each_block_is_its_rows():
    """Should give each block of ids the sums of its own rows (the reporting refresh keeps
    them per block and re-reads only changed blocks), adding up to the whole frame's sums."""
    from suara.indicators.engine import merge_sums

    df = pd.DataFrame({"eligible": ["1"] * 9 + ["0"], "sex": ["female", "male", None] * 3 + ["female"],
                       "contract": ["pkwtt", "pkwt", "dk", "pkwtt", "pkwtt", None, "daily", "pkwtt", "pkwt", "pkwtt"]})
    blocks = [7, 7, 7, 2, 2, 2, 2, 9, 9, 9]  # unordered block numbers, as ids // block size give
    for ind in RB:
        per_block = ind.sums_by_block(df, pd.Series(blocks).to_numpy())
        assert sorted(per_block) == [2, 7, 9]
        total: dict = {}
        for b, cells in per_block.items():
            rows = [i for i, x in enumerate(blocks) if x == b]
            assert cells == ind.sums(df.iloc[rows]), (ind.id, b)
            merge_sums(total, cells)
        whole = ind.sums(df)
        assert total.keys() == whole.keys(), ind.id
        for key, (num, den, n) in whole.items():
            assert total[key] == (pytest.approx(num), pytest.approx(den), n), (ind.id, key)


@pytest.mark.parametrize("values, dtype", [
    (["female", None, "male", "female", float("nan")], object),
    ([1, "1", None, 2.5, 1.0, True], object),   # one text each: "1", "1.0" and "True" differ
    ([1.0, 2.0, float("nan"), 1.0], "float64"),
    ([3, None, 3], "Int64"),
    (["x", None, "y"], "str"),
    ([True, None, False], "boolean"),
])
def test_group_codes__as_the_text_of_each_value(values, dtype):
    """Groups and comparisons read a column as text: the codes and group names are those of
    ``astype("string")`` whatever the column's dtype (a warehouse read may give any of these)."""
    from suara.indicators.engine import _text_codes

    s = pd.Series(values, dtype=dtype)
    codes, names = _text_codes(s)
    ref_codes, ref_names = pd.factorize(s.astype("string"), use_na_sentinel=True)
    assert codes.tolist() == ref_codes.tolist()
    assert names == [str(u) for u in ref_names]


def test_sums__frames_and_blocks_taken_in_turn__each_gets_its_own_figures():
    """Should sum each frame's own rows by the blocks given with it when frames and block
    arrays alternate: what the engine computes once per chunk (codes, answered, a share's
    denominator, the blocks) is never carried over to another frame or another block array."""
    a = pd.DataFrame({"eligible": ["1"] * 5 + ["0"], "sex": ["female", "male", None, "male", "female", "female"],
                      "contract": ["pkwtt", "dk", "pkwtt", "pkwt", None, "pkwtt"], "k_score": [18, 9, None, 14, 3, 18]})
    b = pd.DataFrame({"eligible": ["1"] * 6, "sex": ["male"] * 6,
                      "contract": ["pkwt", "pkwt", "daily", "pkwtt", "outsourced", "dk"], "k_score": [1, 2, 3, 4, 5, 6]})
    halves, thirds = pd.Series([0, 0, 0, 1, 1, 1]).to_numpy(), pd.Series([0, 0, 1, 1, 2, 2]).to_numpy()
    fresh = {(ind.id, name, cut): ind.sums_by_block(frame.copy(), blocks.copy())
             for ind in RB for name, frame in (("a", a), ("b", b))
             for cut, blocks in (("halves", halves), ("thirds", thirds))}
    for _ in range(2):
        for ind in RB:
            for name, frame in (("a", a), ("b", b)):
                for cut, blocks in (("halves", halves), ("thirds", thirds)):
                    assert ind.sums_by_block(frame, blocks) == fresh[(ind.id, name, cut)], (ind.id, name, cut)
    assert fresh[("RB-1", "a", "halves")] != fresh[("RB-1", "b", "halves")]
    assert sorted(fresh[("RB-1", "a", "thirds")]) == [0, 1, 2]
