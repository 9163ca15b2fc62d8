"""The k-anonymity history a sync keeps between pages: class counts, not rows."""

import pandas as pd

from flows.pipeline import FormContext, _remember_release, _shift_prior


class _Release:
    def __init__(self, analytics):
        self.analytics = analytics


def _ctx():
    ctx = FormContext(form=None, versions={}, asset_uid="a", asset_how="", version_map={}, privacy_keys=None)
    ctx.prior_columns = {"t": ["sex", "age"]}
    ctx.prior = {"t": pd.DataFrame({"sex": ["f"], "age": ["18_24"], "_rows": [3]})}
    return ctx


def test_prior__released_rows_add_to_their_class_and_new_classes_appear():
    """Should count each page's released rows into the classes later pages are judged against."""
    ctx = _ctx()
    _remember_release(ctx, _Release({"t": pd.DataFrame({"_id": [1, 2, 3], "sex": ["f", "f", "m"],
                                                         "age": ["18_24", "18_24", None]})}))
    got = {(r["sex"], r["age"]): r["_rows"] for r in ctx.prior["t"].to_dict("records")}
    assert got[("f", "18_24")] == 5
    assert [v for (s, a), v in got.items() if s == "m"] == [1]  # a suppressed (NULL) QI is a class too


def test_prior__replaced_rows_are_taken_out_and_empty_classes_vanish():
    """Should drop a replaced submission's old row, so an edit never counts twice."""
    ctx = _ctx()
    _shift_prior(ctx, "t", pd.DataFrame({"sex": ["f"] * 3, "age": ["18_24"] * 3}), -1)
    assert ctx.prior["t"].empty
