"""Consent gating: withheld, withdrawn (erased) and not shared, failing closed."""

from __future__ import annotations

import pandas as pd

from suara.privacy.consent import decide, holds


def test_values_compare_as_the_author_wrote_them():
    assert holds(pd.Series([1.0, 0.0, None], dtype="Float64"), "1").tolist() == [True, False, False]
    assert holds(pd.Series([1, 0], dtype="Int64"), "1.0").tolist() == [True, False]
    assert holds(pd.Series(["yes", "no", None]), "yes").tolist() == [True, False, False]
    assert holds(pd.Series(["a b", "b", None]), "a").tolist() == [True, False, False]
    assert holds(pd.Series([True, False, None], dtype="boolean"), "yes").tolist() == [True, False, False]


def test_missing_consent_field_withholds_everything():
    frame = pd.DataFrame({"_id": [1, 2]})  # an older form version without the question
    assert decide(frame, (("consent", "yes"),), (), ()).withheld == {1, 2}


def test_withdrawn_is_withheld_and_erased_even_with_consent():
    frame = pd.DataFrame({"_id": [1, 2, 3, 4], "go": [1, 1, 0, 1], "withdrawn": ["0", "1", "0", None],
                          "share": ["yes", "yes", "yes", "no"]})
    d = decide(frame, (("go", "1"),), (("withdrawn", "1"),), (("share", "yes"),))
    assert d.withheld == {2, 3}
    assert d.erase == {2}
    assert d.not_shared == {4}


def test_no_declared_consent_lets_everything_through():
    frame = pd.DataFrame({"_id": [1, 2]})
    d = decide(frame, (), (), ())
    assert (d.withheld, d.erase, d.not_shared) == (set(), set(), set())
