"""The KPI v2 endpoints the client uses, with the real server's answers (kobo-api.md §2–§10).

``dispatch`` turns one request into a ``Response``; the HTTP plumbing, authentication and
fault injection live in ``server.py``. Bodies and status codes copy KPI's, including its
quirks: anonymous requests see 404 on private projects, ``limit`` is capped at 1000 silently,
non-whitelisted query operators match nothing, ``next`` links keep every parameter with the
keys sorted.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from pathlib import Path
from urllib.parse import urlencode

from suara.errors import FormDefinitionError
from suara.forms.model import parse_form
from suara.forms.sheets import read_markdown, read_xlsx
from suara.sandbox.query import QueryRejected
from suara.sandbox.store import OWNER, VALIDATION_LABELS, Asset, Store, dumps, now_iso
from suara.synth import formhub_uuid, stable_uid

DEFAULT_PAGE, MAX_PAGE = 100, 1000
_V1_GONE = {"detail": "The V1 API has been removed. Please read the migration article at "
                      "https://support.kobotoolbox.org/migrating_api.html"}
_NOT_FOUND = {"detail": "Not found."}
_NO_ASSET = {"detail": "No Asset matches the given query."}
_NOT_DEPLOYED = {"detail": "The specified asset has not been deployed"}
_LIST_FIELDS = {"asset_type", "uid", "name", "owner__username", "_deployment_status", "status",
                "date_created", "date_modified", "date_deployed"}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj) -> Response:
    return Response(status, dumps(obj), {"Content-Type": "application/json"})


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    content_type: str
    authenticated: bool  # False: anonymous (no or unrecognised credentials)
    can_view_data: bool


class Api:
    def __init__(self, store: Store):
        self.store = store
        self.imports: dict[str, dict] = {}
        self.routes = [
            (r"/api/v2/assets/", self.asset_list),
            (r"/api/v2/assets/(?P<uid>\w+)/", self.asset_detail),
            (r"/api/v2/assets/(?P<uid>\w+)/data(?:/|\.json)", self.data_list),
            (r"/api/v2/assets/(?P<uid>\w+)/data/bulk/", self.data_bulk),
            (r"/api/v2/assets/(?P<uid>\w+)/data/validation_statuses/", self.validation_bulk),
            (r"/api/v2/assets/(?P<uid>\w+)/data/(?P<sid>[\w:-]+)/", self.data_detail),
            (r"/api/v2/assets/(?P<uid>\w+)/data/(?P<sid>\d+)/validation_status/", self.validation),
            (r"/api/v2/assets/(?P<uid>\w+)/data/(?P<sid>\d+)/attachments/(?P<att>\w+)/"
             r"(?:(?:large|medium|small)/)?", self.attachment),
            (r"/api/v2/assets/(?P<uid>\w+)/versions/", self.versions),
            (r"/api/v2/assets/(?P<uid>\w+)/versions/(?P<vid>\w+)/", self.version_detail),
            (r"/api/v2/assets/(?P<uid>\w+)/deployment/", self.deployment),
            (r"/api/v2/imports/", self.import_create),
            (r"/api/v2/imports/(?P<iid>\w+)/", self.import_detail),
            (r"/token/", self.token),
            (r"/me/", self.me),
        ]
        self.routes = [(re.compile(p + r"\Z"), h) for p, h in self.routes]
        self.token_value = ""

    def route(self, path: str):
        for pattern, handler in self.routes:
            m = pattern.match(path)
            if m:
                return handler, m.groupdict()
        return None, {}

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith(("/api/v1/", "/assets/", "/imports/", "/exports/")):
            return json_response(410, _V1_GONE)
        handler, args = self.route(req.path)
        if handler is None:
            if req.method == "GET" and not req.path.endswith("/") and self.route(req.path + "/")[0]:
                query = ("?" + urlencode(req.params)) if req.params else ""
                return Response(301, b"", {"Location": f"{self.store.base_url}{req.path}/{query}"})
            return Response(404, b"Resource not found (404)", {"Content-Type": "text/plain"})
        return handler(req, **args)

    # -- helpers ------------------------------------------------------------------------------

    def _asset(self, req: Request, uid: str, *, nested: bool = True) -> Asset | Response:
        asset = self.store.assets.get(uid)
        if not req.authenticated:
            return json_response(404, _NOT_FOUND)
        if asset is None:
            return json_response(404, _NO_ASSET if nested else _NOT_FOUND)
        return asset

    def _data_asset(self, req: Request, uid: str) -> Asset | Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        if not req.can_view_data:
            return json_response(403, {"detail": "You do not have permission to perform this action."})
        if asset.deployed_version is None:
            return json_response(400, _NOT_DEPLOYED)
        return asset

    @staticmethod
    def _not_allowed(method: str) -> Response:
        return json_response(405, {"detail": f'Method "{method}" not allowed.'})

    def _payload(self, req: Request) -> dict | Response:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return json_response(400, {"detail": "JSON parse error"})
        return body if isinstance(body, dict) else json_response(400, {"detail": "Invalid data."})

    def _links(self, req: Request, start: int, limit: int, count: int) -> tuple:
        def url(s: int | None) -> str:
            params = {**req.params, "limit": str(limit)}
            params.pop("start", None)
            params.pop("offset", None)
            if s:
                params["start"] = str(s)
            return f"{self.store.base_url}{req.path}?{urlencode(sorted(params.items()))}"
        nxt = url(start + limit) if start + limit < count else None
        prev = None if start <= 0 else url(max(0, start - limit))
        return nxt, prev

    @staticmethod
    def _paging(req: Request) -> tuple[int, int] | Response:
        raw_limit = req.params.get("limit", str(DEFAULT_PAGE))
        raw_start = req.params.get("start", req.params.get("offset", "0"))
        if not raw_limit.isdigit() or int(raw_limit) <= 0:
            return json_response(400, {"limit": "A positive integer is required"})
        if not raw_start.isdigit():
            return json_response(400, {"start": "A positive integer is required."})
        return int(raw_start), min(int(raw_limit), MAX_PAGE)

    # -- assets -------------------------------------------------------------------------------

    def asset_json(self, a: Asset, *, detail: bool = False) -> dict:
        base = self.store.base_url
        url = f"{base}/api/v2/assets/{a.uid}/"
        form = a.deployed_form or a.form
        deployed = a.deployed_version is not None
        status = "draft" if not deployed else ("deployed" if a.active else "archived")
        out = {
            "url": url, "date_created": a.date_created, "date_modified": a.date_modified,
            "date_deployed": a.date_deployed, "owner": f"{base}/api/v2/users/{OWNER}/",
            "summary": {"row_count": len(a.form.fields), "languages": list(a.form.languages)},
            "owner__username": OWNER, "parent": None, "uid": a.uid, "tag_string": "",
            "settings": {"sector": {}, "country": [], "description": ""}, "kind": "asset",
            "name": a.name, "asset_type": a.asset_type, "version_id": a.latest.uid,
            "has_deployment": deployed, "deployed_version_id": a.deployed_version,
            "deployment__active": a.active if deployed else False,
            "deployment__submission_count": a.submission_count if deployed else 0,
            "deployment__last_submission_time": a.last_submission_time,
            "deployment__encrypted": deployed and bool(form.settings.get("public_key")
                                                       and form.settings.get("submission_url")),
            "deployment__uuid": formhub_uuid(form) if deployed else None,
            "deployment_status": status, "permissions": [], "export_settings": [],
            "downloads": [{"format": "xls", "url": f"{url[:-1]}.xls"},
                          {"format": "xml", "url": f"{url[:-1]}.xml"}],
            "data": f"{url}data/", "subscribers_count": 0, "status": "private",
            "access_types": None, "children": {"count": 0}, "data_sharing": {},
            "owner_label": OWNER, "last_modified_by": OWNER, "created_by": OWNER,
        }
        if detail:
            deployed_versions = [self._version_json(a, v) for v in reversed(a.versions)
                                 if v.date_deployed]
            out.update({
                "content": a.latest.content, "version_count": len(a.versions),
                "version__content_hash": a.latest.content_hash,
                "deployed_versions": {"count": len(deployed_versions), "next": None,
                                      "previous": None, "results": deployed_versions[:100]},
                "deployment__links": {"url": f"{base}/x/{a.uid}"} if deployed and a.active else {},
                "deployment__data_download_links": {}, "xls_link": f"{url[:-1]}.xls",
                "xform_link": f"{url}xform/", "hooks_link": f"{url}hooks/", "files": [],
                "analysis_form_json": {}, "advanced_features": {}, "exports": f"{url}exports/",
            })
        return out

    def _version_json(self, a: Asset, v, *, content: bool = False) -> dict:
        out = {"uid": v.uid, "url": f"{self.store.base_url}/api/v2/assets/{a.uid}/versions/{v.uid}/",
               "content_hash": v.content_hash, "date_deployed": v.date_deployed,
               "date_modified": v.date_modified}
        if content:
            out["content"] = v.content
        return out

    def asset_list(self, req: Request) -> Response:
        if req.method != "GET":
            return self._not_allowed(req.method)
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        start, limit = paging
        assets = sorted(self.store.assets.values(), key=lambda a: a.date_modified, reverse=True)
        if not req.authenticated:
            assets = []
        q = req.params.get("q", "").strip()
        if q:
            test = _asset_filter(q)
            if isinstance(test, Response):
                return test
            assets = [a for a in assets if test(self.asset_json(a))]
        nxt, prev = self._links(req, start, limit, len(assets))
        return json_response(200, {"count": len(assets), "next": nxt, "previous": prev,
                                   "results": [self.asset_json(a) for a in assets[start:start + limit]]})

    def asset_detail(self, req: Request, uid: str) -> Response:
        asset = self._asset(req, uid, nested=False)
        if isinstance(asset, Response):
            return asset
        if req.method != "GET":
            return self._not_allowed(req.method)
        return json_response(200, self.asset_json(asset, detail=True))

    def versions(self, req: Request, uid: str) -> Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        results = [self._version_json(asset, v) for v in reversed(asset.versions)]
        return json_response(200, {"count": len(results), "next": None, "previous": None,
                                   "results": results})

    def version_detail(self, req: Request, uid: str, vid: str) -> Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        v = asset.version(vid)
        if v is None:
            return json_response(404, _NOT_FOUND)
        return json_response(200, self._version_json(asset, v, content=True))

    def deployment(self, req: Request, uid: str) -> Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        deployed = asset.deployed_version is not None
        if req.method == "GET":
            return self._deployment_json(asset) if deployed else json_response(404, _NOT_FOUND)
        if req.method not in ("POST", "PATCH"):
            return self._not_allowed(req.method)
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        if req.method == "POST":
            if deployed:
                return json_response(405, {"detail": "Use PATCH to update an existing deployment"})
            if asset.asset_type != "survey":  # KPI raises BadAssetTypeException: a bare 500
                return Response(500, b"<h1>Server Error (500)</h1>", {"Content-Type": "text/html"})
            self.store.deploy(asset, bool(body.get("active", False)))
            return self._deployment_json(asset)
        if not deployed:
            return json_response(400, _NOT_DEPLOYED)
        if set(body) == {"active"}:  # archive / unarchive only
            asset.active = bool(body["active"])
            return self._deployment_json(asset)
        if body.get("version_id") != asset.latest.uid:  # NotImplementedError in KPI's serializer
            return Response(500, b"<h1>Server Error (500)</h1>", {"Content-Type": "text/html"})
        self.store.deploy(asset, bool(body.get("active", asset.active)))
        return self._deployment_json(asset)

    def _deployment_json(self, asset: Asset) -> Response:
        return json_response(200, {"backend": "openrosa", "active": asset.active,
                                   "version_id": asset.deployed_version,
                                   "asset": self.asset_json(asset, detail=True)})

    # -- imports ------------------------------------------------------------------------------

    def import_create(self, req: Request) -> Response:
        if not req.authenticated:
            return json_response(401, {"detail": "Authentication credentials were not provided."})
        if req.method != "POST":
            return self._not_allowed(req.method)
        fields, files = _multipart(req.body, req.content_type)
        iid = stable_uid("i", "import", len(self.imports), now_iso())
        task = {"uid": iid, "date_created": now_iso(), "status": "complete", "messages": {}}
        self.imports[iid] = task
        try:
            if not files:
                raise ValueError("no file was uploaded")
            filename, data = files[0]
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / (Path(filename or "form.xlsx").name or "form.xlsx")
                path.write_bytes(data)
                sheets = read_markdown(data.decode("utf-8"), filename) \
                    if path.suffix == ".md" else read_xlsx(path)
            form = parse_form(sheets)
            destination = fields.get("destination", "")
            library = fields.get("library", "true").lower() != "false"
            m = re.search(r"/api/v2/assets/(\w+)/?$", destination)
            if m:
                asset = self.store.assets.get(m.group(1))
                if asset is None:
                    raise ValueError("destination asset does not exist")
                self.store.save_form(form, asset=asset, name=form.settings.get("form_title")
                                     or fields.get("name") or asset.name)
                key = "updated"
            else:
                asset = self.store.save_form(
                    form, asset_type="block" if library else "survey",
                    name=form.settings.get("form_title") or fields.get("name", ""))
                key = "created"
            task["messages"] = {key: [{"uid": asset.uid, "kind": "asset", "summary": {},
                                       "owner__username": OWNER}]}
        except (FormDefinitionError, ValueError, UnicodeDecodeError) as exc:
            kind = "SyntaxError" if getattr(exc, "code", "") == "FORM_003" else type(exc).__name__
            task["status"] = "error"
            task["messages"] = {"error_type": kind if kind != "FormDefinitionError" else "ValueError",
                                "error": getattr(exc, "message", str(exc))}
        url = f"{self.store.base_url}/api/v2/imports/{iid}/"
        return json_response(201, {"uid": iid, "url": url, "status": "processing"})

    def import_detail(self, req: Request, iid: str) -> Response:
        task = self.imports.get(iid)
        if not req.authenticated or task is None:
            return json_response(404, _NOT_FOUND)
        return json_response(200, task)

    # -- submissions --------------------------------------------------------------------------

    def data_list(self, req: Request, uid: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        if req.method != "GET":
            return self._not_allowed(req.method)
        if "count" in req.params:
            return json_response(400, {"count": "This parameter is not allowed."})
        paging = self._paging(req)
        if isinstance(paging, Response):
            return paging
        start, limit = paging
        parsed = {}
        for name, want in (("query", dict), ("sort", dict), ("fields", list)):
            raw = req.params.get(name)
            if raw in (None, ""):
                continue
            try:
                parsed[name] = json.loads(raw)
            except ValueError:
                return json_response(400, {name: "Value must be valid JSON."})
            if name != "query" and not isinstance(parsed[name], want):
                return json_response(400, {name: "Value must be valid JSON."})
        sort = parsed.get("sort") or None
        if sort and any(v not in (1, -1) for v in sort.values()):
            return json_response(400, {"sort": "Value must be valid JSON."})
        try:
            count, rows = self.store.page(asset, parsed.get("query"), sort, start, limit)
        except QueryRejected as exc:
            return json_response(400, exc.body)
        fields = parsed.get("fields")
        if fields:
            keep = list(dict.fromkeys(["_id", *fields, "_uuid", "meta/rootUuid"]))
            parts = []
            for row in rows:
                rec = self.store.record(asset, row)
                item = {k: rec[k] for k in keep if k in rec}
                item.setdefault("_validation_status", {})
                parts.append(dumps(item))
        else:
            parts = [self.store.render(asset, row) for row in rows]
        nxt, prev = self._links(req, start, limit, count)
        head = b'{"count":%d,"next":%s,"previous":%s,"results":[' % (count, dumps(nxt), dumps(prev))
        return Response(200, head + b",".join(parts) + b"]}", {"Content-Type": "application/json"})

    def data_detail(self, req: Request, uid: str, sid: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        row = self.store.get(asset, sid)
        if row is None:
            return json_response(404, _NOT_FOUND)
        if req.method == "DELETE":
            self.store.delete(asset, [row.id])
            return Response(204)
        if req.method != "GET":
            return self._not_allowed(req.method)
        if req.params.get("format") == "xml":
            if row.xml is None:
                return json_response(404, _NOT_FOUND)
            return Response(200, ('<?xml version="1.0" encoding="utf-8"?>\n' + row.xml).encode(),
                            {"Content-Type": "application/xml"})
        return Response(200, self.store.render(asset, row), {"Content-Type": "application/json"})

    def data_bulk(self, req: Request, uid: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        payload = body.get("payload") or {}
        ids = payload.get("submission_ids") or []
        if not ids or any(self.store.get(asset, str(i)) is None for i in ids):
            return json_response(400, {"detail": "One or more submission ids are invalid"})
        if req.method == "DELETE":
            n = self.store.delete(asset, [int(i) for i in ids])
            return json_response(200, {"detail": f"{n} submissions have been deleted"})
        if req.method != "PATCH":
            return self._not_allowed(req.method)
        results = []
        for i in ids:
            rec = self.store.edit(asset, int(i), payload.get("data") or {})
            results.append({"uuid": rec["_uuid"], "root_uuid": rec.get("meta/rootUuid", ""),
                            "status_code": 201, "message": "Successful submission"})
        return json_response(200, {"count": len(results), "successes": len(results),
                                   "failures": 0, "results": results})

    def validation(self, req: Request, uid: str, sid: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        row = self.store.get(asset, sid)
        if row is None:
            return json_response(404, _NOT_FOUND)
        if req.method == "GET":
            return json_response(200, row.vs)
        if req.method == "DELETE":
            return json_response(200, self.store.set_validation(asset, row.id, None))
        if req.method != "PATCH":
            return self._not_allowed(req.method)
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        status = body.get("validation_status.uid")
        if status not in VALIDATION_LABELS:
            return json_response(400, {"detail": "Invalid validation status"})
        return json_response(200, self.store.set_validation(asset, row.id, status))

    def validation_bulk(self, req: Request, uid: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        payload = body.get("payload") or {}
        ids = payload.get("submission_ids") or []
        status = None if req.method == "DELETE" else payload.get("validation_status.uid")
        if req.method not in ("PATCH", "DELETE") or (status is not None and status not in VALIDATION_LABELS):
            return json_response(400, {"detail": "Invalid validation status"})
        if not ids or any(self.store.get(asset, str(i)) is None for i in ids):
            return json_response(400, {"detail": "One or more submission ids are invalid"})
        for i in ids:
            self.store.set_validation(asset, int(i), status)
        return json_response(200, {"detail": f"{len(ids)} submissions have been updated"})

    def attachment(self, req: Request, uid: str, sid: str, att: str) -> Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        row = self.store.get(asset, sid)
        if row is None:
            return json_response(404, _NOT_FOUND)
        entries = (row.record if row.record is not None else asset.templates[row.tpl].record)
        for entry in entries.get("_attachments") or []:
            if entry.get("uid") == att and not entry.get("is_deleted"):
                name = entry["media_file_basename"]
                data = self.store.files(asset, row).get(name)
                if data is None:
                    break
                mime = entry.get("mimetype", "application/octet-stream")
                inline = mime.split("/")[0] in ("image", "audio", "video")
                return Response(200, data, {
                    "Content-Type": mime,
                    "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"'})
        return json_response(404, _NOT_FOUND)

    # -- account ------------------------------------------------------------------------------

    def token(self, req: Request) -> Response:
        if not req.authenticated:
            return json_response(401, {"detail": "Authentication credentials were not provided."})
        return json_response(200, {"token": self.token_value})

    def me(self, req: Request) -> Response:
        if not req.authenticated:
            return json_response(200, {"username": "AnonymousUser"})
        return json_response(200, {"username": OWNER, "email": "", "server_time": now_iso()})


def _asset_filter(q: str):
    """A small subset of KPI's ``q=`` language: ``field:value`` terms, AND/OR, bare words."""
    alternatives = []
    for alt in re.split(r"\s+OR\s+", q):
        terms = []
        for term in re.split(r"\s+AND\s+", alt):
            term = term.strip("() ")
            if ":" in term:
                key, value = term.split(":", 1)
                base = key.split("__")[0] if key not in _LIST_FIELDS else key
                if base not in _LIST_FIELDS:
                    return json_response(400, {"detail": "Not supported field lookup"})
                terms.append((key, value))
            else:
                if len(term) < 3:
                    return json_response(400, {"detail": "Your query is too short"})
                terms.append(("", term))
        alternatives.append(terms)

    def matches(a: dict, key: str, value: str) -> bool:
        if not key:
            return value.lower() in f"{a['name']} {a['uid']} {a['owner__username']}".lower()
        if key == "_deployment_status":
            return a["deployment_status"] == value
        name, _, lookup = key.partition("__")
        have = str(a.get(name, "") or "")
        if lookup == "icontains":
            return value.lower() in have.lower()
        if lookup in ("gte", "lte", "gt", "lt"):
            return {"gte": have >= value, "lte": have <= value,
                    "gt": have > value, "lt": have < value}[lookup]
        return have == value

    return lambda a: any(all(matches(a, k, v) for k, v in terms) for terms in alternatives)


def _multipart(body: bytes, content_type: str) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    if not content_type.startswith("multipart/"):
        return fields, files
    msg = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=HTTP)
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files.append((part.get_filename(), data))
        elif name:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files
