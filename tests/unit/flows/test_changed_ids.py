"""The manifest scan's comparison: what to refetch, what to erase, the highest id listed."""

from __future__ import annotations

import numpy as np
import pytest

from flows import pipeline
from warehouse import ManifestIndex, digest


def _index(rows: list[tuple[int, str | None, str | None]]) -> ManifestIndex:
    rows = sorted(rows)
    return ManifestIndex(np.array([r[0] for r in rows], dtype=np.int64),
                         np.array([digest(r[1], r[2]) for r in rows], dtype=np.int64))


STORED = [(1, "u1", None), (2, "u2", "validation_status_approved"), (3, "u3", None), (5, "u5", None)]


def test_changed_ids__edit_review_new_and_delete__each_found_once():
    """Should refetch the edited, re-reviewed and new rows and erase the one no longer listed."""
    server = [
        (1, "u1", None),                              # unchanged
        (2, "u2", "validation_status_not_approved"),  # reviewer changed the status
        (3, "u3-edited", None),                       # edited: a new _uuid
        (4, "u4", None),                              # never seen (late visibility)
        (9, "u9", None),                              # above everything stored
    ]                                                 # 5 was deleted on the server
    found = pipeline.changed_ids(server, _index(STORED))
    assert found.refetch == [2, 3, 4, 9]
    assert found.deleted == [5]
    assert found.highest == 9


def test_changed_ids__empty_status_and_missing_status__same():
    """Should treat an empty validation status like a missing one (no refetch every night)."""
    found = pipeline.changed_ids([(1, "u1", "")], _index([(1, "u1", None)]))
    assert (found.refetch, found.deleted) == ([], [])


def test_changed_ids__empty_manifest_or_empty_listing():
    """Should refetch everything listed into an empty warehouse; with nothing listed, erase all
    (the caller only gets here after the listing ran to its end)."""
    found = pipeline.changed_ids([(7, "u7", None), (8, "u8", None)], _index([]))
    assert (found.refetch, found.deleted, found.highest) == ([7, 8], [], 8)
    found = pipeline.changed_ids([], _index(STORED))
    assert (found.refetch, found.deleted, found.highest) == ([], [1, 2, 3, 5], 0)


@pytest.mark.parametrize("batch", [1, 2, 3, 10_000])
def test_changed_ids__listing_compared_in_batches__same_answer(monkeypatch, batch):
    """Should give the same answer however the listing is cut into comparison batches."""
    monkeypatch.setattr(pipeline, "SCAN_BATCH", batch)
    rng = np.random.default_rng(1)
    stored = [(i, f"u{i}", None) for i in range(1, 200) if rng.random() < 0.8]
    server = [(i, f"u{i}" if rng.random() < 0.9 else f"e{i}", None) for i in range(1, 220) if rng.random() < 0.9]
    found = pipeline.changed_ids(server, _index(stored))
    have = {i: u for i, u, _ in stored}
    assert found.refetch == [i for i, u, _ in server if have.get(i) != u]
    assert found.deleted == sorted(set(have) - {i for i, _, _ in server})
    assert found.highest == max(i for i, _, _ in server)
