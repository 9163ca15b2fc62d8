"""What the sandbox stores: assets (projects) with their versions and deployment, and rows
(submissions), either cloned from a pre-serialised template or materialised. The operations
on them live in ``store.py``."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from suara.forms.model import Form

OWNER = "sandbox"
VALIDATION_LABELS = {"validation_status_approved": "Approved",
                     "validation_status_not_approved": "Not Approved",
                     "validation_status_on_hold": "On Hold"}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class AssetVersion:
    uid: str
    form: Form
    content: dict
    content_hash: str
    date_modified: str
    date_deployed: str | None = None


class Row:
    """One submission. A template row (``tpl`` >= 0) is rendered from its template with its
    own ``_id``/uuid/time/status; a materialised row (``record`` set) owns its JSON."""

    __slots__ = ("id", "tpl", "uuid", "time", "vs", "visible_at", "record", "body", "files", "xml")

    def __init__(self, _id: int, tpl: int = -1, uuid_: str = "", time_: str = ""):
        self.id, self.tpl, self.uuid, self.time = _id, tpl, uuid_, time_
        self.vs: dict = {}
        self.visible_at = 0.0
        self.record: dict | None = None
        self.body: bytes | None = None
        self.files: dict[str, bytes] | None = None
        self.xml: str | None = None


@dataclass
class Template:
    fmt: bytes          # JSON with holes: %(id)d %(uuid)s %(root)s %(time)s %(vs)s
    record: dict        # the same record (tokens in system keys), for field look-ups
    files: dict[str, bytes]


@dataclass
class Asset:
    uid: str
    name: str
    form_id: str
    asset_type: str = "survey"
    versions: list[AssetVersion] = field(default_factory=list)
    deployed_version: str | None = None
    active: bool = False
    date_created: str = field(default_factory=now_iso)
    date_modified: str = field(default_factory=now_iso)
    date_deployed: str | None = None
    ids: list[int] = field(default_factory=list)       # ascending, visible and pending
    rows: dict[int, Row] = field(default_factory=dict)
    pending: dict[int, float] = field(default_factory=dict)  # _id -> visible_at
    templates: list[Template] = field(default_factory=list)
    submission_count: int = 0
    last_submission_time: str | None = None

    @property
    def latest(self) -> AssetVersion:
        return self.versions[-1]

    @property
    def form(self) -> Form:
        return self.latest.form

    def version(self, uid: str) -> AssetVersion | None:
        return next((v for v in self.versions if v.uid == uid), None)

    @property
    def deployed_form(self) -> Form | None:
        v = self.version(self.deployed_version) if self.deployed_version else None
        return v.form if v else None
