"""The sandbox's in-memory KPI: assets, their versions and deployment, and submissions.

Submissions live per asset keyed by ``_id`` (one counter for the whole server, like KPI's
PostgreSQL serial, so one form's ids have gaps). To serve 100k–1M rows fast and in bounded
memory, a row is either

* a *template* row: a small ``Row`` pointing at a pre-serialised JSON template (bytes with
  ``%(id)d``-style holes for ``_id``, ``_uuid``, ``_submission_time`` and
  ``_validation_status``), shared by the rows cloned from it; or
* a *materialised* row with its own record dict (after an edit, or when an encryptor made it),
  whose bytes are cached.

A page is rendered by formatting those bytes; nothing copies the store.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from suara.forms.model import MEDIA_TYPES, Form
from suara.sandbox.assets import (
    OWNER,
    VALIDATION_LABELS,
    Asset,
    AssetVersion,
    Row,
    Template,
    dumps,
    now_iso,
)
from suara.sandbox.content import asset_content, content_hash
from suara.sandbox.query import compile_query
from suara.synth import formhub_uuid, generate, stable_uid, version_uid

TEMPLATE_POOL = 2000  # distinct synthetic submissions per form; larger seeds clone them
_MIME = {"jpg": "image/jpeg", "png": "image/png", "m4a": "audio/x-m4a", "mp4": "video/mp4",
         "csv": "text/csv", "enc": "application/octet-stream"}

Encryptor = Callable[[Form, dict], tuple]  # (form, submission) -> (record, files[, xml])


_TOKENS = {"_id": "@@ID@@", "_uuid": "@@UUID@@", "meta/instanceID": "uuid:@@UUID@@",
           "meta/rootUuid": "uuid:@@ROOT@@", "_submission_time": "@@TIME@@",
           "_validation_status": "@@VS@@"}


class Store:
    def __init__(self, base_url: str, *, seed: int = 0, encryptor: Encryptor | None = None,
                 late_visibility_seconds: float = 0):
        self.base_url = base_url
        self.seed, self.encryptor, self.late = seed, encryptor, late_visibility_seconds
        self.assets: dict[str, Asset] = {}
        self.lock = threading.RLock()
        self._next_id = 1
        self._rng = random.Random(f"{seed}:store")

    # -- assets -------------------------------------------------------------------------------

    def asset_for(self, form_id: str) -> Asset:
        for a in self.assets.values():
            if a.form_id == form_id and a.asset_type == "survey":
                return a
        raise KeyError(f"the sandbox has no asset for form {form_id!r}")

    def save_form(self, form: Form, *, asset: Asset | None = None, asset_type: str = "survey",
                  name: str | None = None) -> Asset:
        """Create an asset for the form, or add the form as the asset's newest version."""
        with self.lock:
            if asset is None:
                uid = stable_uid("a", form.form_id, asset_type)
                if uid in self.assets:
                    uid = stable_uid("a", form.form_id, asset_type, len(self.assets))
                asset = Asset(uid=uid, name=name or form.title, form_id=form.form_id,
                              asset_type=asset_type)
                self.assets[uid] = asset
            content = asset_content(form)
            vuid = version_uid(form)
            asset.versions = [v for v in asset.versions if v.uid != vuid]
            asset.versions.append(AssetVersion(vuid, form, content, content_hash(content), now_iso()))
            asset.form_id = form.form_id
            asset.name = name or form.title
            asset.date_modified = now_iso()
            return asset

    def deploy(self, asset: Asset, active: bool) -> None:
        with self.lock:
            asset.deployed_version = asset.latest.uid
            asset.latest.date_deployed = asset.date_deployed = now_iso()
            asset.active = active

    # -- inserting ----------------------------------------------------------------------------

    def _take_id(self) -> int:
        _id, self._next_id = self._next_id, self._next_id + 1
        return _id

    def seed_asset(self, asset: Asset, n: int, *, edge_share: float = 0.0) -> None:
        form = asset.deployed_form or asset.form
        pool = generate(form, min(n, TEMPLATE_POOL), seed=self.seed, edge_share=edge_share,
                        version_uid=asset.deployed_version or version_uid(form))
        if self.encryptor and form.encrypted:  # every row its own ciphertext: no cloning
            subs = pool if n <= len(pool) else generate(
                form, n, seed=self.seed, edge_share=edge_share, version_uid=asset.deployed_version)
            self.insert(asset, subs, late_seconds=0)
            return
        with self.lock:
            first = len(asset.templates)
            for sub in pool:
                asset.templates.append(self._template(asset, form, sub))
            received = [dt.datetime.fromisoformat(s["_submission_time"]) for s in pool]
            for k in range(n):
                rnd, j = divmod(k, len(pool))
                row = Row(self._take_id(), first + j)
                if rnd == 0:
                    row.uuid, row.time = pool[j]["_uuid"], pool[j]["_submission_time"]
                else:  # a clone: new identity, received a minute later per round (stays past)
                    row.time = (received[j] + dt.timedelta(minutes=rnd)).strftime("%Y-%m-%dT%H:%M:%S")
                self._append(asset, row, visible_at=0.0, stamp=False)
            asset.last_submission_time = now_iso()

    def insert(self, asset: Asset, submissions: list[dict], *, late_seconds: float | None = None
               ) -> list[int]:
        """Store full submissions (synth shape) as new rows; returns their ``_id``s."""
        form = asset.deployed_form or asset.form
        late = self.late if late_seconds is None else late_seconds
        ids = []
        with self.lock:
            for sub in submissions:
                row = Row(self._take_id())
                record = {"_id": row.id, **{k: v for k, v in sub.items() if k != "_id"}}
                files: dict[str, bytes] = {}
                if self.encryptor and form.encrypted:
                    record, files, row.xml = self._encrypt(asset, form, record)
                else:
                    record["_attachments"], files = self.media_attachments(asset, form, record, row.id)
                    record = with_xform_id(record, asset.uid)
                row.record, row.files, row.uuid = record, files, record.get("_uuid", "")
                row.vs = record.get("_validation_status") or {}
                self._append(asset, row, visible_at=time.time() + late if late else 0.0)
                ids.append(row.id)
        return ids

    def put_posted(self, asset: Asset, build, *, replaces: int | None = None) -> Row:
        """Store a submission posted as XML. ``build(_id, previous record or None)`` returns
        (record, files, xml). With ``replaces`` (an edit) the row keeps its ``_id`` and status."""
        with self.lock:
            old = self.row(asset, replaces) if replaces is not None else None
            row = Row(old.id if old else self._take_id())
            record, files, row.xml = build(row.id, self.record(asset, old) if old else None)
            row.record, row.files, row.uuid = record, files, record["_uuid"]
            if old is None:
                self._append(asset, row, visible_at=time.time() + self.late if self.late else 0.0)
            else:
                row.vs, row.visible_at = old.vs, old.visible_at
                asset.rows[row.id] = row
            return row

    def find_instance(self, asset: Asset, instance_id: str) -> Row | None:
        """The row whose current instanceID is ``instance_id`` (pending rows included)."""
        bare = instance_id.removeprefix("uuid:")
        with self.lock:
            return next((r for r in asset.rows.values() if self.row_uuid(asset, r) == bare), None)

    def _append(self, asset: Asset, row: Row, *, visible_at: float, stamp: bool = True) -> None:
        row.visible_at = visible_at
        asset.ids.append(row.id)
        asset.rows[row.id] = row
        if visible_at:
            asset.pending[row.id] = visible_at
        asset.submission_count += 1
        if stamp:
            asset.last_submission_time = now_iso()

    def _encrypt(self, asset: Asset, form: Form, plain: dict) -> tuple[dict, dict, str | None]:
        """Run the encryptor hook; the server keys and attachment URLs are the sandbox's."""
        plain = with_xform_id(plain, asset.uid)
        out = self.encryptor(form, plain)
        record, files = out[0], dict(out[1])
        xml = out[2] if len(out) > 2 else None
        merged = {"_id": plain["_id"], **{k: v for k, v in record.items() if k != "_id"}}
        for key in ("_xform_id_string", "_uuid", "meta/rootUuid"):
            merged.setdefault(key, plain[key])
        if "_attachments" not in merged:
            merged["_attachments"] = [
                self.attachment_entry(asset.uid, plain["_id"], merged["_uuid"], name, "", name,
                                      "application/octet-stream", form) for name in files]
        base = f"{self.base_url}/api/v2/assets/{asset.uid}/data/{plain['_id']}/attachments/"
        for entry in merged["_attachments"]:
            entry["download_url"] = f"{base}{entry['uid']}/"
        for key in ("_status", "_geolocation", "_submission_time", "_validation_status",
                    "_submitted_by"):
            merged.setdefault(key, [None, None] if key == "_geolocation" else plain.get(key))
        return merged, files, xml

    # -- JSON of one row ----------------------------------------------------------------------

    def attachment_entry(self, asset_uid, _id, uuid_, basename, xpath, att_key, mimetype, form) -> dict:
        att = stable_uid("att", asset_uid, _id, att_key)
        url = f"{self.base_url}/api/v2/assets/{asset_uid}/data/{_id}/attachments/{att}/"
        entry = {"download_url": url, "mimetype": mimetype,
                 "filename": f"{OWNER}/attachments/{formhub_uuid(form)}/{uuid_}/{basename}",
                 "media_file_basename": basename, "uid": att, "is_deleted": False}
        if mimetype.startswith("image/"):
            for size in ("large", "medium", "small"):
                entry[f"download_{size}_url"] = f"{url}{size}/"
        entry["question_xpath"] = xpath
        return entry

    def media_attachments(self, asset: Asset, form: Form, sub: dict, _id: Any) -> tuple[list, dict]:
        entries, files = [], {}
        for f in form.fields:
            if f.type not in MEDIA_TYPES:
                continue
            if f.repeat is None:
                found = [(f.path, sub.get(f.path))]
            else:
                tail = f.path[len(f.repeat):]
                found = [(f"{f.repeat}[{i}]{tail}", item.get(f.path))
                         for i, item in enumerate(sub.get(f.repeat) or [], start=1)]
            for xpath, name in found:
                if isinstance(name, str) and name:
                    mime = _MIME.get(name.rsplit(".", 1)[-1], "application/octet-stream")
                    entries.append(self.attachment_entry(asset.uid, _id, sub.get("_uuid", ""),
                                                         name, xpath, xpath, mime, form))
                    files[name] = _media_bytes(name, sub)
        return entries, files

    def _template(self, asset: Asset, form: Form, sub: dict) -> Template:
        rec = {k: _TOKENS.get(k, v) for k, v in sub.items()}
        rec["_attachments"], files = self.media_attachments(asset, form, {**sub, "_uuid": "@@UUID@@"},
                                                       "@@ID@@")
        rec = with_xform_id(rec, asset.uid)
        fmt = (dumps(rec).replace(b"%", b"%%").replace(b'"@@ID@@"', b"%(id)d")
               .replace(b"@@ID@@", b"%(id)d").replace(b'"@@VS@@"', b"%(vs)s")
               .replace(b"@@UUID@@", b"%(uuid)s").replace(b"@@ROOT@@", b"%(root)s")
               .replace(b"@@TIME@@", b"%(time)s"))
        return Template(fmt, rec, files)

    def row_uuid(self, asset: Asset, row: Row) -> str:
        if not row.uuid:
            digest = hashlib.md5(f"{asset.uid}:{row.id}".encode()).digest()
            row.uuid = str(uuid.UUID(bytes=digest, version=4))
        return row.uuid

    def render(self, asset: Asset, row: Row) -> bytes:
        if row.record is not None:
            body = row.body
            if body is None:
                body = row.body = dumps({**row.record, "_validation_status": row.vs})
            return body
        u = self.row_uuid(asset, row).encode()
        return asset.templates[row.tpl].fmt % {
            b"id": row.id, b"uuid": u, b"root": u, b"time": row.time.encode(),
            b"vs": dumps(row.vs) if row.vs else b"{}"}

    def record(self, asset: Asset, row: Row) -> dict:
        return json.loads(self.render(asset, row))

    def files(self, asset: Asset, row: Row) -> dict[str, bytes]:
        return row.files if row.record is not None else asset.templates[row.tpl].files

    # -- reading ------------------------------------------------------------------------------

    def _promote(self, asset: Asset) -> None:
        if asset.pending:
            now = time.time()
            for _id in [i for i, t in asset.pending.items() if t <= now]:
                del asset.pending[_id]

    def get(self, asset: Asset, key: str) -> Row | None:
        """One visible row by ``_id``, root uuid (with or without ``uuid:``) or ``_uuid``."""
        with self.lock:
            self._promote(asset)
            row = asset.rows.get(int(key)) if key.isdigit() else None
            if row is None and not key.isdigit():
                bare = key.removeprefix("uuid:")
                row = next((r for r in asset.rows.values()
                            if bare in (self.row_uuid(asset, r), _root(r))), None)
            return None if row is None or row.id in asset.pending else row

    def page(self, asset: Asset, query: dict | None, sort: dict | None, start: int, limit: int
             ) -> tuple[int, list[Row]]:
        """(count, rows) of one page of visible rows matching ``query`` in ``sort`` order."""
        query = dict(query or {})
        lo_id, hi_id, rest = _id_range(query)
        keys = list((sort or {"_id": 1}).items())
        with self.lock:
            self._promote(asset)
            ids = asset.ids
            lo, hi = bisect.bisect_left(ids, lo_id), bisect.bisect_right(ids, hi_id)
            by_id = len(keys) == 1 and keys[0][0] == "_id"
            pending = any(lo_id <= i <= hi_id for i in asset.pending)
            if by_id and not rest and not pending:  # keyset fast path
                count = hi - lo
                if keys[0][1] == 1:
                    chosen = ids[lo + start:min(hi, lo + start + limit)]
                else:
                    chosen = ids[max(lo, hi - start - limit):max(lo, hi - start)][::-1]
                return count, [asset.rows[i] for i in chosen]
            test = compile_query(rest) if rest else None
            listed = _id_list(rest)  # {"_id": {"$in": [...]}}: look the ids up, do not scan
            source = ids[lo:hi] if listed is None else [i for i in listed if i in asset.rows]
            matched = [asset.rows[i] for i in source if i not in asset.pending
                       and (test is None or test(LazyRecord(self, asset, asset.rows[i])))]
        if not by_id or keys[0][1] != 1:
            for key, direction in reversed(keys):
                matched.sort(key=lambda r, k=key: _sort_key(LazyRecord(self, asset, r).get(k)),
                             reverse=direction == -1)
        return len(matched), matched[start:start + limit]

    def visible_count(self, asset: Asset) -> int:
        with self.lock:
            self._promote(asset)
            return len(asset.ids) - len(asset.pending)

    # -- changing -----------------------------------------------------------------------------

    def edit(self, asset: Asset, _id: int, changes: Mapping[str, Any]) -> dict:
        """KPI's edit: same ``_id``, ``_submission_time``, root uuid and validation status; a
        new ``_uuid``/``meta/instanceID``; ``meta/deprecatedID`` = the previous instanceID."""
        with self.lock:
            row = self.row(asset, _id)
            if row.record is not None and "base64EncryptedKey" in row.record:
                raise ValueError(f"submission {_id} is encrypted: Kobo cannot edit it "
                                 "(encryption.md §4); add a new submission instead")
            old = self.record(asset, row)
            new_uuid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            out: dict = {}
            for key, value in old.items():
                if key == "meta/deprecatedID":
                    continue
                out[key] = value
                if key == "meta/instanceID":
                    out[key] = "uuid:" + new_uuid
                    out["meta/deprecatedID"] = old["meta/instanceID"]
            out["_uuid"] = new_uuid
            out.setdefault("meta/rootUuid", old.get("meta/instanceID"))
            for key, value in changes.items():
                if value is None:
                    out.pop(key, None)
                else:
                    out[key] = value
            for att in out.get("_attachments") or []:
                att["filename"] = att["filename"].replace(f"/{old['_uuid']}/", f"/{new_uuid}/")
            new = Row(row.id)
            new.record, new.files, new.uuid = out, dict(self.files(asset, row)), new_uuid
            new.vs, new.visible_at, new.xml = row.vs, row.visible_at, row.xml
            asset.rows[_id] = new
            return self.record(asset, new)

    @staticmethod
    def row(asset: Asset, _id: int) -> Row:
        row = asset.rows.get(_id)
        if row is None:
            raise KeyError(f"asset {asset.uid} ({asset.form_id}) has no submission {_id}")
        return row

    def delete(self, asset: Asset, ids: list[int]) -> int:
        """Hard delete; ``_id``s are never reused."""
        with self.lock:
            doomed = {i for i in ids if i in asset.rows}
            if doomed:
                asset.ids = [i for i in asset.ids if i not in doomed]
                for i in doomed:
                    del asset.rows[i]
                    asset.pending.pop(i, None)
                asset.submission_count -= len(doomed)
            return len(doomed)

    def set_validation(self, asset: Asset, _id: int, status_uid: str | None,
                       by_whom: str = OWNER) -> dict:
        if status_uid and status_uid not in VALIDATION_LABELS:
            raise ValueError(f"unknown validation status {status_uid!r}; use one of "
                             f"{sorted(VALIDATION_LABELS)} or None")
        with self.lock:
            row = self.row(asset, _id)
            row.vs = {} if not status_uid else {
                "timestamp": int(time.time()), "uid": status_uid, "by_whom": by_whom,
                "label": VALIDATION_LABELS[status_uid]}
            row.body = None
            return row.vs


class LazyRecord(Mapping):
    """A row seen as its record without rendering it: system keys come from the row."""

    def __init__(self, store: Store, asset: Asset, row: Row):
        self.store, self.asset, self.row = store, asset, row

    def __getitem__(self, key: str) -> Any:
        row = self.row
        if row.record is not None:
            return row.vs if key == "_validation_status" else row.record[key]
        if key in ("_id", "_uuid", "meta/instanceID", "meta/rootUuid", "_submission_time",
                   "_validation_status"):
            u = self.store.row_uuid(self.asset, row)
            return {"_id": row.id, "_uuid": u, "meta/instanceID": "uuid:" + u,
                    "meta/rootUuid": "uuid:" + u, "_submission_time": row.time,
                    "_validation_status": row.vs}[key]
        if key == "_attachments":
            return self.store.record(self.asset, row)[key]
        return self.asset.templates[row.tpl].record[key]

    def __iter__(self) -> Iterator[str]:
        rec = self.row.record if self.row.record is not None else self.asset.templates[self.row.tpl].record
        return iter(rec)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _root(row: Row) -> str:
    rec = row.record or {}
    return str(rec.get("meta/rootUuid", "")).removeprefix("uuid:") or row.uuid


def with_xform_id(rec: dict, asset_uid: str) -> dict:
    out: dict = {}
    for k, v in rec.items():
        if k == "_xform_id_string":
            continue
        out[k] = v
        if k == "meta/instanceID":
            out["_xform_id_string"] = asset_uid
    out.setdefault("_xform_id_string", asset_uid)
    return out


def _id_range(query: dict) -> tuple[float, float, dict]:
    """Pull a plain ``_id`` range out of the query for bisecting; the rest is matched."""
    cond = query.get("_id")
    lo, hi = -float("inf"), float("inf")
    if isinstance(cond, dict) and cond and set(cond) <= {"$gt", "$gte", "$lt", "$lte"} \
            and all(isinstance(v, int) and not isinstance(v, bool) for v in cond.values()):
        for op, v in cond.items():
            if op == "$gt":
                lo = max(lo, v + 1)
            elif op == "$gte":
                lo = max(lo, v)
            elif op == "$lt":
                hi = min(hi, v - 1)
            else:
                hi = min(hi, v)
        query = {k: v for k, v in query.items() if k != "_id"}
    return lo, hi, query


def _id_list(query: dict) -> list[int] | None:
    cond = query.get("_id")
    if isinstance(cond, dict) and set(cond) == {"$in"} and isinstance(cond["$in"], list) \
            and all(isinstance(v, int) and not isinstance(v, bool) for v in cond["$in"]):
        return sorted(set(cond["$in"]))
    return None


def _sort_key(v: Any) -> tuple:
    # MongoDB's order across types: missing/null < numbers < strings < objects < arrays
    if v is None:
        return (0, 0)
    if isinstance(v, bool):
        return (5, v)
    if isinstance(v, int | float):
        return (1, v)
    if isinstance(v, str):
        return (2, v)
    return (3, json.dumps(v, sort_keys=True))


def _media_bytes(name: str, sub: dict) -> bytes:
    if name.endswith(".csv"):
        return (b"event,node,start,end\nform start,,1746349082114,\n"
                b"form exit,,1746350507530,\n")
    digest = hashlib.sha256(f"{sub.get('_uuid')}:{name}".encode()).digest()
    return b"SANDBOX-SYNTHETIC-MEDIA\n" + digest * 8
