"""Indicator sums per block of submission ids, so a refresh re-reads only what changed.

Recomputing a form's indicators from every row cost 0.7 s per 10,000 rows: over a minute per
sync for a million-submission form, even when the sync found nothing new. The sums are
additive, so the refresh keeps them per block of ids (``block = _id // block_ids``, about
20,000 rows each) in ``restricted.indicator_blocks``, with the state of the block's rows as one
``GROUP BY`` over the submission table reads it: row count, Σ ``_id`` and the latest
``_loaded_at``. Every write stamps its rows' ``_loaded_at`` with the time of writing, later
than the block's last computation; an insert or an erasure changes the count and Σ ``_id``. A
block whose state differs is re-read and summed again; the others are reused. When the
indicator code, the score bands or the columns present change (``definition``), every block
is recomputed.

The stored sums are raw (before small-cell suppression): they stay in the restricted zone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from suara.indicators import Indicator
from suara.indicators.engine import merge_sums
from warehouse.ops import indicator_blocks
from warehouse.reads import read_chunks
from warehouse.session import RESTRICTED

log = logging.getLogger(__name__)

TARGET_ROWS = 20_000   # rows per block wanted: a late row re-reads at most about this many
CHUNK_ROWS = 20_000    # rows per read of the blocks being recomputed

# (field → running counts per label) for one block: the banded score distributions.
Counter = Callable[[pd.DataFrame, np.ndarray], dict[int, dict[str, dict[str, int]]]]


@dataclass
class Totals:
    """What a refresh publishes from: sums per indicator and counts per distribution."""

    sums: dict[str, dict] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    blocks: int = 0        # blocks the form's rows fall in
    recomputed: int = 0    # of which re-read by this refresh

    def add(self, block: dict) -> None:
        """Add one block's sums, as ``_decode`` gives them (or as the refresh computed them)."""
        for ind_id, cells in block["i"].items():
            merge_sums(self.sums.setdefault(ind_id, {}), cells)
        for name, counts in block["d"].items():
            mine = self.counts.setdefault(name, {})
            for label, n in counts.items():
                mine[label] = mine.get(label, 0) + int(n)


@functools.cache
def _code_digest() -> str:
    """The indicator code as installed (read once per process: it cannot change under it)."""
    import suara.indicators

    h = hashlib.sha256()
    for path in sorted(Path(suara.indicators.__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def definition(form_id: str, columns: Iterable[str], extra: str) -> str:
    """Digest of what the sums depend on besides the rows: the indicator code, ``extra`` (the
    score bands) and the columns the table has."""
    h = hashlib.sha256(_code_digest().encode())
    h.update(json.dumps([form_id, sorted(columns), extra]).encode())
    return h.hexdigest()[:64]


def _q(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _block_ids(conn: sa.Connection, table: str, cached: dict) -> int:
    """Ids per block: the cached choice, else enough for about TARGET_ROWS rows at the form's
    id density (Kobo's ids are server-wide, so one form's may be sparse)."""
    if cached:
        return int(next(iter(cached.values()))["block_ids"])
    rows, low, high = conn.exec_driver_sql(
        f"SELECT COUNT(*), MIN(_id), MAX(_id) FROM {RESTRICTED}.{_q(conn, table)}").one()
    if not rows:
        return TARGET_ROWS
    return max(TARGET_ROWS, math.ceil((int(high) - int(low) + 1) * TARGET_ROWS / int(rows)))


def _states(conn: sa.Connection, table: str, block_ids: int) -> dict[int, str]:
    sql = (f"SELECT _id / {int(block_ids)} AS block, COUNT(*), SUM(_id), MAX(_loaded_at) "
           f"FROM {RESTRICTED}.{_q(conn, table)} GROUP BY _id / {int(block_ids)}")
    return {int(b): f"{n}:{s}:{m}" for b, n, s, m in conn.exec_driver_sql(sql)}


def _cached(conn: sa.Connection, form_id: str, digest: str) -> dict[int, dict]:
    t = indicator_blocks
    rows = conn.execute(sa.select(t.c.block, t.c.block_ids, t.c.definition, t.c.rows_state, t.c.sums)
                        .where(t.c.form_id == form_id)).mappings().all()
    if any(r["definition"] != digest for r in rows):
        return {}  # code or columns changed: nothing cached can be trusted
    return {int(r["block"]): dict(r) for r in rows}


def _ranges(blocks: list[int], block_ids: int) -> list[tuple[int, int]]:
    """Consecutive blocks merged into [low, high) id ranges."""
    out: list[tuple[int, int]] = []
    for b in sorted(blocks):
        low, high = b * block_ids, (b + 1) * block_ids
        if out and out[-1][1] == low:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    return out


def _read(conn: sa.Connection, table: str, columns: list[str], ranges: list[tuple[int, int]] | None) -> Iterator[pd.DataFrame]:
    names = ", ".join(_q(conn, c) for c in columns)
    base = f"SELECT {names} FROM {RESTRICTED}.{_q(conn, table)}"
    if ranges is None:
        queries = [f"{base} ORDER BY _id"]
    else:
        queries = [f"{base} WHERE _id >= {int(low)} AND _id < {int(high)} ORDER BY _id" for low, high in ranges]
    for q in queries:
        yield from read_chunks(conn, q, CHUNK_ROWS)


def _encode(block: dict) -> str:
    return json.dumps({"i": {ind: [[g, v, a, b, n] for (g, v), (a, b, n) in cells.items()]
                             for ind, cells in block["i"].items()},
                       "d": block["d"]}, separators=(",", ":"))


def _decode(text: str) -> dict:
    """A stored block back in the form the refresh computes (JSON keeps floats exactly)."""
    block = json.loads(text)
    return {"i": {ind: {(g, v): (a, b, int(n)) for g, v, a, b, n in cells} for ind, cells in block["i"].items()},
            "d": block["d"]}


@dataclass(frozen=True)
class SumsAhead:
    """Sums of the blocks a refresh would re-read, computed beforehand by a read-only pass
    (``sum_ahead``) while the sync's own process does something else: each with the state its
    rows were in when read, so a refresh uses a block's sums only if the block still holds
    exactly those rows."""

    definition: str
    block_ids: int
    blocks: dict[int, tuple[str, dict]] = field(default_factory=dict)  # block → (rows_state, sums)

    def sums_for(self, block: int, digest: str, block_ids: int, state: str) -> dict | None:
        if self.definition != digest or self.block_ids != block_ids:
            return None
        kept = self.blocks.get(block)
        return kept[1] if kept is not None and kept[0] == state else None


def _plan(conn: sa.Connection, form_id: str, table: str, columns: list[str], extra: str, keep: bool):
    """(definition, cached blocks, ids per block, each block's rows state, blocks to sum)."""
    digest = definition(form_id, columns, extra)
    cached = _cached(conn, form_id, digest) if keep else {}
    block_ids = _block_ids(conn, table, cached)
    states = _states(conn, table, block_ids)
    dirty = sorted(b for b, s in states.items() if b not in cached or cached[b]["rows_state"] != s)
    return digest, cached, block_ids, states, dirty


def _sum_blocks(conn: sa.Connection, table: str, columns: list[str], indicators: list[Indicator],
                count: Counter, blocks: list[int], every: bool, block_ids: int) -> dict[int, dict]:
    """The sums of ``blocks`` read from the table (``every``: they are all its blocks)."""
    fresh: dict[int, dict] = {b: {"i": {}, "d": {}} for b in blocks}
    if not blocks:
        return fresh
    for chunk in _read(conn, table, columns, None if every else _ranges(blocks, block_ids)):
        of_rows = chunk["_id"].to_numpy(dtype=np.int64) // block_ids
        for ind in indicators:
            for b, cells in ind.sums_by_block(chunk, of_rows).items():
                merge_sums(fresh[b]["i"].setdefault(ind.id, {}), cells)
        for b, dist in count(chunk, of_rows).items():
            for name, labels in dist.items():
                mine = fresh[b]["d"].setdefault(name, {})
                for label, n in labels.items():
                    mine[label] = mine.get(label, 0) + n
    return fresh


def sum_ahead(conn: sa.Connection, form_id: str, table: str, columns: list[str],
              indicators: list[Indicator], count: Counter, extra: str) -> SumsAhead:
    """What ``refresh_totals`` would read and sum now, read and summed without writing
    anything: run beside the sync's release step, it takes the reading off the single-core
    tail of a sync. Run it in one transaction, so the states and the rows agree."""
    keep = sa.inspect(conn).has_table(indicator_blocks.name, schema=RESTRICTED)
    digest, _, block_ids, states, dirty = _plan(conn, form_id, table, columns, extra, keep)
    fresh = _sum_blocks(conn, table, columns, indicators, count, dirty, len(dirty) == len(states), block_ids)
    return SumsAhead(digest, block_ids, {b: (states[b], fresh[b]) for b in dirty})


def refresh_totals(conn: sa.Connection, form_id: str, table: str, columns: list[str],
                   indicators: list[Indicator], count: Counter, extra: str, now,
                   ahead: SumsAhead | None = None) -> Totals:
    """The form's indicator sums and distribution counts over every row of ``table`` in the
    restricted zone, re-reading only blocks whose rows changed since they were summed, and
    not those ``ahead`` summed in the state they are still in."""
    keep = sa.inspect(conn).has_table(indicator_blocks.name, schema=RESTRICTED)
    if not keep:
        # A warehouse whose fixed tables predate revision 0004: publish from every row, as
        # before, rather than fail the sync's reporting step.
        log.warning("restricted.indicator_blocks is missing, so reporting was recomputed from every row; "
                    "run `suara warehouse upgrade` to keep indicator sums per block")
    digest, cached, block_ids, states, dirty = _plan(conn, form_id, table, columns, extra, keep)
    given = {b: ahead.sums_for(b, digest, block_ids, states[b]) for b in dirty} if ahead else {}
    unread = [b for b in dirty if given.get(b) is None]
    fresh = _sum_blocks(conn, table, columns, indicators, count, unread, len(unread) == len(states), block_ids)
    fresh.update({b: sums for b, sums in given.items() if sums is not None})

    if keep:
        _store(conn, form_id, block_ids, digest, states, fresh, cached, sorted(set(cached) - set(states)), now)
    totals = Totals(blocks=len(states), recomputed=len(dirty))
    for b in states:
        totals.add(fresh[b] if b in fresh else _decode(cached[b]["sums"]))
    return totals


def _store(conn: sa.Connection, form_id: str, block_ids: int, digest: str, states: dict[int, str],
           fresh: dict[int, dict], cached: dict[int, dict], gone: list[int], now) -> None:
    """Replace the cache rows of the recomputed and vanished blocks."""
    t = indicator_blocks
    dirty = sorted(fresh)
    stale = [*dirty, *gone]
    if set(cached) <= set(stale):  # also drops rows of an older definition
        conn.execute(t.delete().where(t.c.form_id == form_id))
    else:
        for i in range(0, len(stale), 500):
            conn.execute(t.delete().where(t.c.form_id == form_id, t.c.block.in_(stale[i:i + 500])))
    if dirty:
        conn.execute(t.insert(), [
            {"form_id": form_id, "block": b, "block_ids": block_ids, "definition": digest,
             "rows_state": states[b], "sums": _encode(fresh[b]), "computed_at": now}
            for b in dirty])
