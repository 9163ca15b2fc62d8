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
from urllib.parse import urlencode

from suara.sandbox.assets import OWNER, VALIDATION_LABELS, Asset, Row, dumps, now_iso
from suara.sandbox.openrosa import OpenRosaRoutes
from suara.sandbox.projects import ProjectRoutes
from suara.sandbox.query import QueryRejected
from suara.sandbox.store import LazyRecord, Store
from suara.sandbox.wire import (
    NOT_DEPLOYED,
    NOT_FOUND,
    Request,
    Response,
    json_response,
)

DEFAULT_PAGE, MAX_PAGE = 100, 1000
_V1_GONE = {"detail": "The V1 API has been removed. Please read the migration article at "
                      "https://support.kobotoolbox.org/migrating_api.html"}
_NO_ASSET = {"detail": "No Asset matches the given query."}


class Api(ProjectRoutes, OpenRosaRoutes):
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
            (r"/(?:(?P<owner>\w+)/)?submission", self.openrosa_submission),
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
            return json_response(404, NOT_FOUND)
        if asset is None:
            return json_response(404, _NO_ASSET if nested else NOT_FOUND)
        return asset

    def _data_asset(self, req: Request, uid: str) -> Asset | Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        if not req.can_view_data:
            return json_response(403, {"detail": "You do not have permission to perform this action."})
        if asset.deployed_version is None:
            return json_response(400, NOT_DEPLOYED)
        return asset

    def _data_row(self, req: Request, uid: str, sid: str) -> tuple[Asset, Row] | Response:
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        row = self.store.get(asset, sid)
        return json_response(404, NOT_FOUND) if row is None else (asset, row)

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
            for row in rows:  # read the keys off the row: no need to render the whole record
                rec = LazyRecord(self.store, asset, row)
                item = {k: rec[k] for k in keep if k in rec}
                item.setdefault("_validation_status", {})
                parts.append(dumps(item))
        else:
            parts = [self.store.render(asset, row) for row in rows]
        nxt, prev = self._links(req, start, limit, count)
        head = b'{"count":%d,"next":%s,"previous":%s,"results":[' % (count, dumps(nxt), dumps(prev))
        return Response(200, head + b",".join(parts) + b"]}", {"Content-Type": "application/json"})

    def data_detail(self, req: Request, uid: str, sid: str) -> Response:
        found = self._data_row(req, uid, sid)
        if isinstance(found, Response):
            return found
        asset, row = found
        if req.method == "DELETE":
            self.store.delete(asset, [row.id])
            return Response(204)
        if req.method != "GET":
            return self._not_allowed(req.method)
        if req.params.get("format") == "xml":
            if row.xml is None:
                return json_response(404, NOT_FOUND)
            return Response(200, ('<?xml version="1.0" encoding="utf-8"?>\n' + row.xml).encode(),
                            {"Content-Type": "application/xml"})
        return Response(200, self.store.render(asset, row), {"Content-Type": "application/json"})

    def _bulk(self, req: Request, uid: str) -> tuple[Asset, dict, list] | Response:
        """The asset and ``payload`` of a bulk request (``{"payload": {"submission_ids"…}}``)."""
        asset = self._data_asset(req, uid)
        if isinstance(asset, Response):
            return asset
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        payload = body.get("payload") or {}
        return asset, payload, payload.get("submission_ids") or []

    def _all_known(self, asset: Asset, ids: list) -> bool:
        return bool(ids) and all(self.store.get(asset, str(i)) is not None for i in ids)

    def data_bulk(self, req: Request, uid: str) -> Response:
        bulk = self._bulk(req, uid)
        if isinstance(bulk, Response):
            return bulk
        asset, payload, ids = bulk
        if not self._all_known(asset, ids):
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
        found = self._data_row(req, uid, sid)
        if isinstance(found, Response):
            return found
        asset, row = found
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
        bulk = self._bulk(req, uid)
        if isinstance(bulk, Response):
            return bulk
        asset, payload, ids = bulk
        status = None if req.method == "DELETE" else payload.get("validation_status.uid")
        if req.method not in ("PATCH", "DELETE") or (status is not None and status not in VALIDATION_LABELS):
            return json_response(400, {"detail": "Invalid validation status"})
        if not self._all_known(asset, ids):
            return json_response(400, {"detail": "One or more submission ids are invalid"})
        for i in ids:
            self.store.set_validation(asset, int(i), status)
        return json_response(200, {"detail": f"{len(ids)} submissions have been updated"})

    def attachment(self, req: Request, uid: str, sid: str, att: str) -> Response:
        found = self._data_row(req, uid, sid)
        if isinstance(found, Response):
            return found
        asset, row = found
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
        return json_response(404, NOT_FOUND)

    # -- account ------------------------------------------------------------------------------

    def token(self, req: Request) -> Response:
        if not req.authenticated:
            return json_response(401, {"detail": "Authentication credentials were not provided."})
        return json_response(200, {"token": self.token_value})

    def me(self, req: Request) -> Response:
        if not req.authenticated:
            return json_response(200, {"username": "AnonymousUser"})
        return json_response(200, {"username": OWNER, "email": "", "server_time": now_iso()})
