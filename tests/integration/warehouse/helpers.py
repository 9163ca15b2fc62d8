"""Loading as the sync does: a batch, then the release step that moves candidate rows to analytics."""

from __future__ import annotations

from warehouse import LoadBatch, LoadCounts, Warehouse


def keep_all(frames):
    """A release decision that reads no column and withholds nothing."""
    return {}, {}


def load(wh: Warehouse, form, batch: LoadBatch) -> LoadCounts:
    counts = wh.apply_batch(form, batch)
    wh.release(form, {}, keep_all, run_id=batch.run_id)
    return counts
