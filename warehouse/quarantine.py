"""Quarantined submissions: reasons in clear, payload encrypted, every action logged.

The payload (the submission as pulled) is encrypted with Fernet under a key derived by
HKDF-SHA256 from ``SUARA_RESTRICTED_KEY``, which lives outside the warehouse: a copy of the
restricted file alone reveals reason codes, never answers. Reasons carry codes and places
(table, field, expectation), never values.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from suara.errors import WarehouseError
from warehouse import ops
from warehouse.fastload import select_where_in

HKDF_SALT = b"suara-warehouse"
HKDF_INFO = b"suara/quarantine-payload/v1"
REASON_KEYS = ("code", "table", "field", "expectation")
ACTIONS = {"release": "released", "drop": "dropped", "hold": "held"}


def fernet_for(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(fernet: Fernet, payload: Any) -> bytes:
    return fernet.encrypt(json.dumps(payload, sort_keys=True, default=str).encode("utf-8"))


def unseal(fernet: Fernet, token: bytes) -> Any:
    try:
        return json.loads(fernet.decrypt(bytes(token)))
    except InvalidToken:
        raise WarehouseError(
            "A quarantined payload could not be decrypted.",
            code="WH_030",
            hint="SUARA_RESTRICTED_KEY differs from the key the payload was encrypted with; "
                 "set the original key.",
        ) from None


@dataclass(frozen=True)
class QuarantineItem:
    """A submission to quarantine, as the validation stage hands it over."""

    _id: int
    _uuid: str | None
    form_version: str | None
    reasons: Sequence[Any]         # Reason objects or dicts with code/table/field/expectation
    payload: Any                   # the submission as pulled (JSON-able); encrypted before storage


@dataclass
class QuarantineEntry:
    form_id: str
    _id: int
    _uuid: str | None
    form_version: str | None
    reasons: list[dict]
    status: str
    quarantined_at: dt.datetime
    updated_at: dt.datetime
    payload: Any = None            # only filled by Warehouse.quarantine_get
    actions: list[dict] = field(default_factory=list)


def reason_dicts(reasons: Iterable[Any]) -> list[dict]:
    out = []
    for r in reasons:
        d = asdict(r) if is_dataclass(r) else dict(r) if isinstance(r, dict) else vars(r)
        out.append({k: d.get(k) for k in REASON_KEYS})
    return out


def as_item(item: Any) -> QuarantineItem:
    """Accept a QuarantineItem, a tuple (id, uuid, version, reasons, payload) or an object
    with those attributes (validation's QuarantinedSubmission plus a payload)."""
    if isinstance(item, QuarantineItem):
        return item
    if isinstance(item, tuple):
        return QuarantineItem(*item)
    return QuarantineItem(item._id, item._uuid, item.form_version, item.reasons, item.payload)


def put(conn: sa.Connection, form_id: str, items: list[QuarantineItem], fernet: Callable[[], Fernet],
        run_id: str, now: dt.datetime) -> None:
    """Hold the items (replacing an earlier quarantine of the same submission)."""
    if not items:
        return
    q = ops.quarantine
    f = fernet()
    ids = [int(i._id) for i in items]
    held_before = select_where_in(conn, q, "_id", ids, equal={"form_id": form_id})
    conn.execute(q.delete().where(q.c.form_id == form_id, q.c._id.in_(held_before)))
    conn.execute(q.insert(), [
        dict(form_id=form_id, _id=int(i._id), _uuid=i._uuid, form_version=i.form_version,
             reasons=json.dumps(reason_dicts(i.reasons), sort_keys=True), payload=seal(f, i.payload),
             status="held", run_id=run_id, quarantined_at=now, updated_at=now)
        for i in items
    ])


def release_loaded(conn: sa.Connection, form_id: str, ids: Sequence[int], now: dt.datetime) -> None:
    """A held submission that now loaded (fixed on the server) is released by the sync."""
    q = ops.quarantine
    held = select_where_in(conn, q, "_id", ids, equal={"form_id": form_id, "status": "held"})
    if held:
        _mark(conn, form_id, sorted(held), "release", "sync", "loaded after an edit passed validation", now)


def _entry(row) -> QuarantineEntry:
    return QuarantineEntry(row.form_id, row._id, row._uuid, row.form_version, json.loads(row.reasons),
                           row.status, row.quarantined_at, row.updated_at)


def list_entries(conn: sa.Connection, form_id: str | None, status: str | None) -> list[QuarantineEntry]:
    q = ops.quarantine
    stmt = sa.select(q.c.form_id, q.c._id, q.c._uuid, q.c.form_version, q.c.reasons, q.c.status,
                     q.c.quarantined_at, q.c.updated_at).order_by(q.c.form_id, q.c._id)
    if form_id is not None:
        stmt = stmt.where(q.c.form_id == form_id)
    if status is not None:
        stmt = stmt.where(q.c.status == status)
    return [_entry(r) for r in conn.execute(stmt)]


def get_entry(conn: sa.Connection, form_id: str, _id: int, fernet: Callable[[], Fernet]) -> QuarantineEntry:
    q, a = ops.quarantine, ops.quarantine_actions
    row = conn.execute(sa.select(q).where(q.c.form_id == form_id, q.c._id == int(_id))).first()
    if row is None:
        raise WarehouseError(f"No quarantined submission {_id} for form {form_id}.", code="WH_031",
                             hint="List them with: suara quarantine list")
    entry = _entry(row)
    entry.payload = unseal(fernet(), row.payload) if row.payload is not None else None
    entry.actions = [dict(action=r.action, actor=r.actor, note=r.note, at=r.at) for r in conn.execute(
        sa.select(a).where(a.c.form_id == form_id, a.c._id == int(_id)).order_by(a.c.action_id))]
    return entry


def _mark(conn, form_id, ids, action, actor, note, now) -> None:
    q, a = ops.quarantine, ops.quarantine_actions
    values: dict[str, Any] = dict(status=ACTIONS[action], updated_at=now)
    if action == "drop":
        values["payload"] = None  # data minimisation: a dropped submission's answers are not kept
    conn.execute(q.update().where(q.c.form_id == form_id, q.c._id.in_(ids)).values(**values))
    conn.execute(a.insert(), [dict(form_id=form_id, _id=i, action=action, actor=actor, note=note, at=now)
                              for i in ids])


def mark(conn: sa.Connection, form_id: str, ids: Sequence[int], action: str, actor: str,
         note: str | None, now: dt.datetime) -> int:
    if action not in ACTIONS:
        raise WarehouseError(f"Unknown quarantine action {action!r}.", code="WH_032",
                             hint=f"Use one of: {', '.join(ACTIONS)}.")
    if not actor:
        raise WarehouseError("A quarantine action needs an actor (who decided).", code="WH_033",
                             hint="Pass --actor NAME (or set it from the logged-in user).")
    ids = sorted({int(i) for i in ids})
    present = select_where_in(conn, ops.quarantine, "_id", ids, equal={"form_id": form_id})
    missing = [i for i in ids if i not in present]
    if missing:
        raise WarehouseError(
            f"Form {form_id} has no quarantined submission with _id {', '.join(map(str, missing[:10]))}"
            + (" …" if len(missing) > 10 else "") + "; nothing was changed.",
            code="WH_031", hint="List them with: suara quarantine list")
    _mark(conn, form_id, ids, action, actor, note, now)
    return len(ids)


def reason_counts(conn: sa.Connection, form_id: str, run_id: str | None) -> dict[str, int]:
    """Reason code → number of submissions quarantined with it (in a run, or held now)."""
    q = ops.quarantine
    stmt = sa.select(q.c.reasons).where(q.c.form_id == form_id)
    stmt = stmt.where(q.c.run_id == run_id) if run_id is not None else stmt.where(q.c.status == "held")
    counts: dict[str, int] = {}
    for text in conn.execute(stmt).scalars():
        for code in sorted({r.get("code") for r in json.loads(text)}):
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))
