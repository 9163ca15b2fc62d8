"""What the pull process sends the sync's process (flows/puller.py ``packed``)."""

from __future__ import annotations

import pickle

import pandas as pd
import pytest

from flows import puller


def test_packed__a_screened_page__arrives_equal():
    """Should deliver frames of every dtype a screened page holds, missing values and the
    dicts beside them, exactly as they were."""
    shared = "ya"
    frame = pd.DataFrame({
        "_id": pd.array([1, 2, 3], dtype="Int64"),
        "contract": pd.Series([shared, None, shared], dtype=object),
        "district": pd.Series(["Kab. Bogor", "Kota Bandung", "\x1f;'--"], dtype=object),
        "start": pd.to_datetime(["2026-01-01T08:00:00Z", None, "2026-01-02T09:30:00Z"], utc=True),
        "age": pd.array([21.5, None, 40.0], dtype="Float64"),
        "consent": pd.array([True, None, False], dtype="boolean"),
    })
    item = ({"ilo_rights_baseline": frame}, {1: "uuid-1", 2: None}, [(3, "uuid-3", "v1", ["VAL_001"], {"a": 1})])
    back = pickle.loads(puller.packed(item))
    pd.testing.assert_frame_equal(back[0]["ilo_rights_baseline"], frame)
    assert back[1:] == item[1:]


def test_packed__a_cyclic_object__refused_not_looping():
    """Should refuse an object that contains itself (fast mode has no memo to cut the cycle),
    so the pull process fails and the sync goes on without it."""
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError):
        puller.packed(loop)
