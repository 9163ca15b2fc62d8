"""Run records and what the run summaries read back (restricted zone).

A run record is one row per (run, form): status and the submission counts behind
pulled = loaded + quarantined + withheld. Privacy audits are appended per batch and summed
per run for the run's artifact.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from suara.errors import WarehouseError
from warehouse import ops
from warehouse.load import LoadCounts

COUNT_NAMES = tuple(LoadCounts().as_dict())


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    form_id: str
    status: str
    pulled: int
    loaded: int
    updated: int
    deleted: int
    quarantined: int
    withheld: int
    error_code: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


def begin(conn: sa.Connection, run_id: str, form_ids: Sequence[str], now: dt.datetime) -> None:
    r = ops.run_records
    conn.execute(r.delete().where(r.c.run_id == run_id, r.c.form_id.in_(list(form_ids))))
    if form_ids:
        conn.execute(r.insert(), [dict(run_id=run_id, form_id=f, status="running", started_at=now) for f in form_ids])


def finish(conn: sa.Connection, run_id: str, form_id: str, counts: LoadCounts | Mapping[str, int],
           status: str, error_code: str | None, now: dt.datetime) -> None:
    if status not in ops.RUN_STATUSES:
        raise WarehouseError(f"Unknown run status {status!r}.", code="WH_050",
                             hint=f"Use one of: {', '.join(ops.RUN_STATUSES)}.")
    given = counts.as_dict() if isinstance(counts, LoadCounts) else dict(counts)
    values = {k: int(given.get(k, 0)) for k in COUNT_NAMES}
    r = ops.run_records
    done = conn.execute(r.update().where(r.c.run_id == run_id, r.c.form_id == form_id).values(
        status=status, error_code=error_code, finished_at=now, **values)).rowcount
    if not done:
        conn.execute(r.insert().values(run_id=run_id, form_id=form_id, status=status, error_code=error_code,
                                       started_at=now, finished_at=now, **values))


def records(conn: sa.Connection, run_id: str | None) -> list[RunRecord]:
    r = ops.run_records
    q = sa.select(r).order_by(r.c.started_at, r.c.run_id, r.c.form_id)
    if run_id is not None:
        q = q.where(r.c.run_id == run_id)
    return [RunRecord(**row._mapping) for row in conn.execute(q)]


def reconcile_due(conn: sa.Connection, form_id: str, every: int) -> bool:
    """True on every ``every``-th finished run of the form (the first included); never for 0."""
    if every <= 0:
        return False
    r = ops.run_records
    finished = conn.execute(sa.select(sa.func.count()).where(
        r.c.form_id == form_id, r.c.status != "running")).scalar_one()
    return finished % every == 0


def _merge(total: dict, audit: Mapping[str, Any]) -> dict:
    for key, value in audit.items():
        if isinstance(value, bool) or not isinstance(value, int | float | dict):
            total[key] = value
        elif isinstance(value, dict):
            total[key] = _merge(dict(total.get(key) or {}), value)
        else:
            total[key] = (total.get(key) or 0) + value
    return total


def audit_summary(conn: sa.Connection, form_id: str, run_id: str | None) -> dict:
    """The run's privacy audits merged: numbers summed, other values from the latest batch."""
    a = ops.privacy_audits
    q = sa.select(a.c.audit).where(a.c.form_id == form_id).order_by(a.c.audit_id)
    if run_id is not None:
        q = q.where(a.c.run_id == run_id)
    total: dict = {}
    for text in conn.execute(q).scalars():
        audit = json.loads(text)
        if isinstance(audit, dict):
            _merge(total, audit)
    return total
