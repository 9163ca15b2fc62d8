"""The manifest as two sorted arrays, for the reconcile scan of a large form.

The scan compares every submission the server lists with what the warehouse stored. Held as
one ``ManifestEntry`` per submission, a million-submission form took over a gigabyte and
minutes of the nightly reconcile; here each submission is an ``_id`` and a 64-bit digest of
what the scan compares (``_uuid`` — a new one on every edit — and the validation status):
16 bytes, compared a listing page at a time with numpy.

Digests use Python's string hash, salted per process: they are compared within one process
and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from warehouse import ops

READ_ROWS = 50_000


def digest(uuid: str | None, validation_status: str | None) -> int:
    """What the scan compares of one submission: an edit gives it a new ``_uuid``; a
    reviewer's decision changes its validation status (missing and empty are the same)."""
    return hash((uuid, validation_status or None))


@dataclass(frozen=True)
class ManifestIndex:
    ids: np.ndarray      # int64, ascending
    digests: np.ndarray  # int64, digest() of the same position's submission

    def __len__(self) -> int:
        return len(self.ids)


def read_index(conn: sa.Connection, form_id: str) -> ManifestIndex:
    """Every manifest row of ``form_id`` (loaded, quarantined or withheld), READ_ROWS at a time."""
    m = ops.manifest
    q = (sa.select(m.c._id, m.c._uuid, m.c.validation_status).where(m.c.form_id == form_id)
         .order_by(m.c._id).execution_options(stream_results=True))
    ids, digests = [], []
    result = conn.execute(q)
    while rows := result.fetchmany(READ_ROWS):
        ids.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        digests.append(np.fromiter((digest(r[1], r[2]) for r in rows), dtype=np.int64, count=len(rows)))
    if not ids:
        return ManifestIndex(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    return ManifestIndex(np.concatenate(ids), np.concatenate(digests))
