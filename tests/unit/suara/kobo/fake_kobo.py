"""A small in-memory KPI v2 server for unit tests, mounted on a requests.Session as an adapter.

It answers the way kobo-api.md describes (envelopes, ``limit`` capped at ``max_page``,
``next`` links, ``query`` with ``$gt``/``$gte``/``$lte``/``$in``, ``fields``, 401 for a wrong
token, 404 for unknown assets, import tasks and deployments) and lets a test queue faults
(a status with headers, a truncated body, a timeout) for the next matching requests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

BASE = "https://kobo.test"
TOKEN = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Fault:
    """What to answer instead of the normal response, for requests whose path contains ``path``."""

    path: str
    status: int | None = None                 # e.g. 503
    headers: dict = field(default_factory=dict)
    body: bytes = b"<html>oops</html>"
    error: Exception | None = None            # e.g. requests.ReadTimeout()


def _match(doc: dict, query: dict) -> bool:
    for key, cond in query.items():
        value = doc.get(key)
        if isinstance(cond, dict):
            for op, arg in cond.items():
                if value is None:
                    return False
                if op == "$gt" and not value > arg:
                    return False
                if op == "$gte" and not value >= arg:
                    return False
                if op == "$lte" and not value <= arg:
                    return False
                if op == "$in" and value not in arg:
                    return False
        elif value != cond:
            return False
    return True


class FakeKobo(BaseAdapter):
    def __init__(self, max_page: int = 1000):
        super().__init__()
        self.max_page = max_page
        self.assets: dict[str, dict] = {}
        self.data: dict[str, list[dict]] = {}
        self.versions: dict[str, dict[str, dict]] = {}  # asset uid → version uid → content
        self.faults: list[Fault] = []
        self.calls: list[requests.PreparedRequest] = []
        self.imports: dict[str, dict] = {}
        self.import_polls_before_done = 1
        self.ignore_query = False
        self.send_count = True  # KPI always sends count; some other servers do not

    # -- seeding ------------------------------------------------------------------------------

    def add_asset(self, uid: str, form_id: str, version: str = "1", n: int = 0, *, deployed=True) -> dict:
        vid = f"v{uid[1:]}{len(self.versions.get(uid, {}))}"
        content = {"settings": {"form_id": form_id, "version": version}}
        self.versions.setdefault(uid, {})[vid] = content
        self.assets[uid] = {
            "uid": uid, "asset_type": "survey", "name": form_id, "content": content,
            "has_deployment": deployed, "deployment__active": deployed,
            "version_id": vid, "deployed_version_id": vid if deployed else None,
            "deployed_versions": {"count": 1, "next": None, "results": [{"uid": vid}] if deployed else []},
        }
        self.data[uid] = [self.submission(i + 1, vid) for i in range(n)]
        return self.assets[uid]

    @staticmethod
    def submission(i: int, vid: str = "v1", time: str = "2026-05-01T10:00:00") -> dict:
        return {"_id": i, "_uuid": f"uuid-{i}", "__version__": vid, "q1": f"answer {i}",
                "_submission_time": time, "_validation_status": {}}

    # -- transport ----------------------------------------------------------------------------

    def send(self, request, **kwargs):
        self.calls.append(request)
        parts = urlsplit(request.url)
        for fault in list(self.faults):
            if fault.path in parts.path:
                self.faults.remove(fault)
                if fault.error is not None:
                    raise fault.error
                return self._response(request, fault.status, fault.body, fault.headers)
        if request.headers.get("Authorization") not in (None, f"Token {TOKEN}"):
            return self._json(request, 401, {"detail": "Invalid token."})
        status, body = self._route(request, parts)
        return self._json(request, status, body)

    def close(self):
        pass

    def _response(self, request, status, body: bytes, headers=None):
        resp = requests.Response()
        resp.status_code = status
        resp._content = body
        resp.headers = CaseInsensitiveDict(headers or {})
        resp.url = request.url
        resp.request = request
        return resp

    def _json(self, request, status, body):
        return self._response(request, status, json.dumps(body).encode(), {"Content-Type": "application/json"})

    # -- routes -------------------------------------------------------------------------------

    def _route(self, request, parts):
        params = dict(parse_qsl(parts.query))
        path, method = parts.path, request.method
        authed = "Authorization" in request.headers
        if path == "/api/v2/assets/" and method == "GET":
            items = [{k: v for k, v in a.items() if k != "content"} for a in self.assets.values()] if authed else []
            return self._page(path, params, items)
        if path == "/api/v2/imports/" and method == "POST":
            return self._import(request)
        m = re.fullmatch(r"/api/v2/imports/(\w+)/", path)
        if m:
            task = self.imports[m.group(1)]
            task["polls"] += 1
            done = task["polls"] > self.import_polls_before_done
            return 200, {"uid": m.group(1), "status": task["final"] if done else "processing",
                         "messages": task["messages"] if done else {}}
        m = re.fullmatch(r"/api/v2/assets/(\w+)/(.*)", path)
        if not m or m.group(1) not in self.assets or not authed:
            return 404, {"detail": "Not found."}
        uid, rest = m.groups()
        asset = self.assets[uid]
        if rest == "":
            return 200, asset
        if rest == "data/":
            return self._data(uid, path, params)
        v = re.fullmatch(r"versions/(\w+)/", rest)
        if v and v.group(1) in self.versions[uid]:
            return 200, {"uid": v.group(1), "content": self.versions[uid][v.group(1)]}
        if rest == "deployment/":
            return self._deployment(asset, method, json.loads(request.body or b"{}"))
        return 404, {"detail": "Not found."}

    def _page(self, path, params, items):
        limit = min(int(params.get("limit", 100)), self.max_page)
        start = int(params.get("start", 0))
        nxt = None
        if start + limit < len(items):
            nxt = f"{BASE}{path}?" + urlencode(sorted({**params, "limit": limit, "start": start + limit}.items()))
        body = {"count": len(items), "next": nxt, "previous": None, "results": items[start:start + limit]}
        if not self.send_count:
            del body["count"]
        return 200, body

    def _data(self, uid, path, params):
        query = json.loads(params.get("query", "{}"))
        rows = [d for d in self.data[uid] if self.ignore_query or _match(d, query)]
        rows.sort(key=lambda d: d["_id"])
        if "fields" in params:
            keep = set(json.loads(params["fields"])) | {"_id", "_uuid"}
            rows = [{k: v for k, v in d.items() if k in keep} for d in rows]
        return self._page(path, params, rows)

    def _import(self, request):
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        fields = dict(re.findall(rb'name="(\w+)"\r\n\r\n([^\r]*)\r\n', body))
        dest = fields.get(b"destination", b"").decode()
        uid = re.search(r"/assets/(\w+)/", dest).group(1) if dest else f"aNew{len(self.assets):018d}"
        if not dest:
            self.add_asset(uid, "imported", deployed=False)
            self.assets[uid]["version_id"] = None
        version = self.next_import_version
        asset = self.assets[uid]
        vid = f"v{uid[1:8]}{len(self.versions[uid]) + 1:014d}"
        self.versions[uid][vid] = {"settings": {"form_id": self.next_import_form_id, "version": version}}
        asset["version_id"] = vid
        asset["content"] = self.versions[uid][vid]
        tid = f"i{len(self.imports):021d}"
        key = "updated" if dest else "created"
        self.imports[tid] = {"polls": 0, "final": self.import_result,
                             "messages": {key: [{"uid": uid, "kind": "asset"}]} if self.import_result == "complete"
                             else {"error_type": "ValueError", "error": "Invalid question name"}}
        return 201, {"uid": tid, "status": "processing"}

    next_import_version = "1"
    next_import_form_id = "imported"
    import_result = "complete"

    def _deployment(self, asset, method, body):
        if method == "POST" and asset["has_deployment"]:
            return 405, {"detail": "Use PATCH to update an existing deployment"}
        if method == "PATCH" and body.get("version_id") != asset["version_id"]:
            return 500, {"error": "Server Error (500)"}
        asset["has_deployment"] = True
        asset["deployment__active"] = bool(body.get("active"))
        asset["deployed_version_id"] = asset["version_id"]
        asset["deployed_versions"]["results"].insert(0, {"uid": asset["version_id"]})
        return 200, {"active": asset["deployment__active"], "version_id": asset["version_id"]}
