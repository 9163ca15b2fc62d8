"""Project endpoints of the sandbox: asset list and detail, versions, deployment, imports
(kobo-api.md §4, §10). Mixed into ``Api``; the helpers they use (``_asset``, ``_paging``,
``_links``…) live there.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from suara.errors import FormDefinitionError
from suara.forms.model import parse_form
from suara.forms.sheets import read_markdown, read_xlsx
from suara.sandbox.assets import OWNER, Asset, now_iso
from suara.sandbox.wire import (
    NOT_DEPLOYED,
    NOT_FOUND,
    Request,
    Response,
    json_response,
    multipart,
    server_error,
)
from suara.synth import formhub_uuid, stable_uid

_LIST_FIELDS = {"asset_type", "uid", "name", "owner__username", "_deployment_status", "status",
                "date_created", "date_modified", "date_deployed"}


class ProjectRoutes:
    # -- assets -------------------------------------------------------------------------------

    def asset_json(self, a: Asset, *, detail: bool = False, can_view_data: bool = True) -> dict:
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
            # a counter kept on the form; null for accounts without view_submissions
            "deployment__submission_count": (a.submission_count if deployed else 0)
            if can_view_data else None,
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
            assets = [a for a in assets if test(self.asset_json(a, can_view_data=req.can_view_data))]
        nxt, prev = self._links(req, start, limit, len(assets))
        return json_response(200, {"count": len(assets), "next": nxt, "previous": prev,
                                   "results": [self.asset_json(a, can_view_data=req.can_view_data)
                                               for a in assets[start:start + limit]]})

    def asset_detail(self, req: Request, uid: str) -> Response:
        asset = self._asset(req, uid, nested=False)
        if isinstance(asset, Response):
            return asset
        if req.method != "GET":
            return self._not_allowed(req.method)
        return json_response(200, self.asset_json(asset, detail=True,
                                                  can_view_data=req.can_view_data))

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
            return json_response(404, NOT_FOUND)
        return json_response(200, self._version_json(asset, v, content=True))

    def deployment(self, req: Request, uid: str) -> Response:
        asset = self._asset(req, uid)
        if isinstance(asset, Response):
            return asset
        deployed = asset.deployed_version is not None
        if req.method == "GET":
            return self._deployment_json(asset) if deployed else json_response(404, NOT_FOUND)
        if req.method not in ("POST", "PATCH"):
            return self._not_allowed(req.method)
        body = self._payload(req)
        if isinstance(body, Response):
            return body
        if req.method == "POST":
            if deployed:
                return json_response(405, {"detail": "Use PATCH to update an existing deployment"})
            if asset.asset_type != "survey":  # KPI raises BadAssetTypeException: a bare 500
                return server_error()
            refused = _xform_refusal(asset)
            if refused:
                return refused
            self.store.deploy(asset, bool(body.get("active", False)))
            return self._deployment_json(asset)
        if not deployed:
            return json_response(400, NOT_DEPLOYED)
        if set(body) == {"active"}:  # archive / unarchive only
            asset.active = bool(body["active"])
            return self._deployment_json(asset)
        if body.get("version_id") != asset.latest.uid:  # NotImplementedError in KPI's serializer
            return server_error()
        refused = _xform_refusal(asset)
        if refused:
            return refused
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
        fields, files = multipart(req.body, req.content_type)
        iid = stable_uid("i", "import", len(self.imports), now_iso())
        task = {"uid": iid, "date_created": now_iso(), "status": "complete", "messages": {}}
        self.imports[iid] = task
        try:
            if not files:
                raise ValueError("no file was uploaded")
            filename, data = files[0].filename, files[0].data
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
            return json_response(404, NOT_FOUND)
        return json_response(200, task)


def _xform_refusal(asset: Asset) -> Response | None:
    """KPI converts the content with pyxform at deployment and answers 400 ``{"error": …}``
    when it fails (ODK Validate is skipped here: it needs a JVM per form)."""
    from suara.forms.build import convert

    _, _, findings = convert(asset.form, validate=False)
    errors = [f.message for f in findings if f.is_error]
    return json_response(400, {"error": errors[0]}) if errors else None


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
