"""The loader's fast paths write exactly what the plain paths write.

Fast paths under test (warehouse/load.py): a candidate twin copies the columns it shares with
the restricted rows inside the database; look-ups of ids above every stored id are skipped.
Each scenario runs twice — as is, and with both paths switched off — and the warehouses must
match table by table, counts included.
"""

from __future__ import annotations

import pytest

import warehouse.load as load_mod
from tests.integration.warehouse.conftest import RESTRICTED_KEY
from tests.integration.warehouse.helpers import load
from tests.unit.warehouse.sample_forms import FORM_ID, V1, frames, versions
from warehouse import LoadBatch, Warehouse
from warehouse.fastload import NULL_STANDIN

pytestmark = pytest.mark.integration
CANDIDATE = f"_candidate__{FORM_ID}"


@pytest.fixture
def plain_url(warehouse_url, request, tmp_path):
    """A second empty warehouse of the same dialect."""
    if warehouse_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path}/plain.db"
    return request.getfixturevalue("pg_warehouse_url")


def _batch(ids, run, *, note=None, analytics_note=None, withheld=(), erase=()) -> LoadBatch:
    analytics, restricted = frames(ids)
    if note is not None:
        restricted[FORM_ID]["note"] = note
        analytics[FORM_ID]["note"] = note
    if analytics_note is not None:
        analytics[FORM_ID]["note"] = analytics_note
    return LoadBatch(run_id=run, analytics=analytics, restricted=restricted,
                     loaded={i: f"uuid-{i}" for i in ids}, withheld={i: f"uuid-{i}" for i in withheld},
                     erase=[*erase, *withheld], form_versions=dict.fromkeys(ids, "2026010101"),
                     validation_status=dict.fromkeys(ids, "validation_status_approved"),
                     watermark=max([*ids, *withheld]))


def _pages() -> list[LoadBatch]:
    return [
        # new ids; analytics' note equals restricted's under == (1 == 1.0) but is stored differently
        _batch([5, 6, 7, 8], "r1", note=pd_object([1, 2, None, "x"]), analytics_note=pd_object([1.0, 2, None, "x"])),
        # new ids below loaded ones, and an edit of 6 whose note changed in one zone only
        _batch([1, 2, 6], "r2", analytics_note=["coarse", "coarse", "coarse"]),
        # new ids and a withheld one (erased before it ever loaded)
        _batch([9, 10], "r3", withheld=[11]),
        # erase an old id while loading a new one
        _batch([12], "r4", erase=[2]),
    ]


def pd_object(values):
    import pandas as pd

    return pd.Series(values, dtype=object)


def _run(url: str) -> tuple[list, dict]:
    with Warehouse(url, restricted_key=RESTRICTED_KEY) as wh:
        wh.upgrade(versions(V1))
        counts = [load(wh, FORM_ID, b).as_dict() for b in _pages()]
        state = {z: wh.dump(z) for z in ("analytics", "restricted")}
        state["watermark"] = wh.watermark(FORM_ID)
        state["manifest"] = wh.manifest(FORM_ID)
    return counts, state


def test_apply_batch__fast_paths__same_warehouse_as_plain_paths(warehouse_url, plain_url, monkeypatch):
    """Should leave the same rows, manifest, watermark and counts with the fast paths on and off."""
    copied: list[str] = []
    real_copy = load_mod.insert_copied

    def spy(conn, table, *a, **kw):
        copied.append(table.name)
        return real_copy(conn, table, *a, **kw)

    monkeypatch.setattr(load_mod, "insert_copied", spy)
    fast = _run(warehouse_url)
    assert CANDIDATE in copied and f"_candidate__{FORM_ID}__kids" in copied

    monkeypatch.setattr(load_mod, "identical", lambda a, b, plain=False: False)
    monkeypatch.setattr(load_mod._Ceilings, "may_hold", lambda self, table, ids: bool(ids))
    copied.clear()
    plain = _run(plain_url)
    assert copied == []
    assert fast == plain


def test_apply_batch__equal_but_differently_typed_values__each_zone_keeps_its_own(wh):
    """Should store 1 and 1.0 as '1' and '1.0': == calls them equal, the drivers do not."""
    load(wh, FORM_ID, _batch([1, 2], "r1", note=pd_object([1, "b"]), analytics_note=pd_object([1.0, "b"])))
    restricted = {r["_id"]: r["note"] for r in wh.dump("restricted")[FORM_ID]}
    candidate = {r["_id"]: r["note"] for r in wh.dump("restricted")[CANDIDATE]}
    assert restricted == {1: "1", 2: "b"}
    assert candidate == {1: "1.0", 2: "b"}


def test_apply_batch__new_ids_below_stored_ones__loaded_and_edits_counted(wh):
    """Should load ids below the highest stored one and count re-sent ids (the highest too) as updates."""
    load(wh, FORM_ID, _batch([10, 11], "r1"))
    counts = load(wh, FORM_ID, _batch([3, 11], "r2", note=["three", "eleven edited"]))
    assert (counts.loaded, counts.updated) == (2, 1)
    notes = {r["_id"]: r["note"] for r in wh.dump("analytics")[FORM_ID]}
    assert notes == {3: "three", 10: "note 10", 11: "eleven edited"}
    again = load(wh, FORM_ID, _batch([11], "r3", note=["eleven again"]))  # exactly the highest id
    assert (again.loaded, again.updated) == (1, 1)
    assert {r["_id"]: r["note"] for r in wh.dump("restricted")[FORM_ID]}[11] == "eleven again"
    assert sorted(wh.manifest(FORM_ID)) == [3, 10, 11]


def test_apply_batch__text_equal_to_null_stand_in__stored_as_text(wh):
    """Should store NULL for None and keep a string that happens to equal the SQLite stand-in."""
    load(wh, FORM_ID, _batch([1, 2, 3], "r1", note=pd_object([NULL_STANDIN, None, "c"])))
    load(wh, FORM_ID, _batch([4, 5], "r2", note=pd_object([None, "e"])))
    for zone in ("analytics", "restricted"):
        notes = {r["_id"]: r["note"] for r in wh.dump(zone)[FORM_ID]}
        assert notes == {1: NULL_STANDIN, 2: None, 3: "c", 4: None, 5: "e"}
