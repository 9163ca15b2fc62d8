"""OpenRosa submission: ``POST /submission`` (or ``/<owner>/submission``) as a phone sends it.

What KPI's ``create_instance`` does (kobo-api.md §7.1, encryption.md §4, §6): the XML part
(``xml_submission_file``) is flattened into the row as posted — so an encrypted Collect
manifest gives ``orx:meta/orx:instanceID``, ``base64EncryptedKey``… and no answers — and every
other part becomes an attachment. The form is found by the root ``id`` (the asset uid on a KPI
deployment; the sandbox also accepts the form_id). A re-post of the same instanceID is a
duplicate (202) unless it brings new files, which join the row (Collect's split uploads). An
XML carrying ``meta/deprecatedID`` edits the row whose current instanceID it names.
"""

from __future__ import annotations

import time
from xml.parsers import expat
from xml.sax.saxutils import escape

from suara.crypto.xml_to_json import flatten_xml, repeat_paths
from suara.forms.model import Form
from suara.sandbox.assets import OWNER, Asset
from suara.sandbox.store import with_xform_id
from suara.sandbox.wire import Request, Response, multipart

_INSTANCE_KEYS = ("meta/instanceID", "orx:meta/orx:instanceID")


class _Root(Exception):
    def __init__(self, name: str, attrs: dict):
        self.name, self.attrs = name, attrs


def _root(xml: bytes) -> tuple[str, dict] | None:
    parser = expat.ParserCreate()

    def start(name, attrs):
        raise _Root(name, attrs)

    parser.StartElementHandler = start
    try:
        parser.Parse(xml.lstrip(), True)
    except _Root as found:
        return found.name, found.attrs
    except expat.ExpatError:
        return None
    return None


def openrosa_response(status: int, message: str, nature: str = "") -> Response:
    attr = f' nature="{nature}"' if nature else ""
    body = ('<?xml version="1.0" encoding="UTF-8" ?>\n<OpenRosaResponse '
            f'xmlns="http://openrosa.org/http/response"><message{attr}>{escape(message)}'
            "</message></OpenRosaResponse>")
    return Response(status, body.encode(), {"Content-Type": "text/xml; charset=utf-8",
                                            "X-OpenRosa-Version": "1.0"})


class OpenRosaRoutes:
    """Mixed into ``Api`` (which provides ``store``)."""

    def openrosa_submission(self, req: Request, owner: str | None = None) -> Response:
        if req.method == "HEAD":  # Collect's pre-flight before it posts
            return Response(204, b"", {"X-OpenRosa-Version": "1.0",
                                       "X-OpenRosa-Accept-Content-Length": str(100 * 2**20)})
        if req.method != "POST":
            return openrosa_response(405, f'Method "{req.method}" not allowed.')
        _, files = multipart(req.body, req.content_type)
        xml_part = next((f for f in files if f.name == "xml_submission_file"), None)
        if xml_part is None:
            return openrosa_response(400, "No XML submission file.")
        root = _root(xml_part.data)
        if root is None:
            return openrosa_response(400, "Improperly formatted XML.")
        asset = self._posted_asset(root[1].get("id", ""))
        if asset is None:
            return openrosa_response(404, "Form not found")
        form = asset.deployed_form
        answers = flatten_xml(xml_part.data, repeat_paths(form))
        instance = next((answers[k] for k in _INSTANCE_KEYS if answers.get(k)), None)
        if not instance:
            return openrosa_response(400, "Submission has no instanceID.")
        posted = {f.filename: f.data for f in files if f is not xml_part}
        store = self.store
        same = store.find_instance(asset, instance)
        if same is not None:  # a re-post: only new attachments change the row
            known = store.files(asset, same)
            new = {k: v for k, v in posted.items() if k not in known}
            if not new:
                return openrosa_response(202, "Duplicate submission")
            store.put_posted(asset, lambda _id, prev: self._posted_record(
                asset, form, _id, answers, {**known, **new}, prev, req), replaces=same.id)
            return openrosa_response(201, "Successful submission.", "submit_success")
        replaces = None
        if answers.get("meta/deprecatedID"):
            old = store.find_instance(asset, answers["meta/deprecatedID"])
            if old is None:
                return openrosa_response(400, "deprecatedID refers to an old version")
            replaces = old.id
        store.put_posted(asset, lambda _id, prev: self._posted_record(
            asset, form, _id, answers, posted, prev, req), replaces=replaces)
        return openrosa_response(201, "Successful submission.", "submit_success")

    def _posted_asset(self, xform_id: str) -> Asset | None:
        for a in self.store.assets.values():
            if a.deployed_version and xform_id in (a.uid, a.form_id) and a.asset_type == "survey":
                return a
        return None

    def _posted_record(self, asset: Asset, form: Form, _id: int, answers: dict,
                       files: dict[str, bytes], prev: dict | None, req: Request) -> tuple:
        """(record, files, xml) of a posted submission; an edit keeps what KPI keeps."""
        instance = next(answers[k] for k in _INSTANCE_KEYS if answers.get(k))
        uuid_ = instance.removeprefix("uuid:")
        record = with_xform_id({"_id": _id, **answers}, asset.uid)
        record["_uuid"] = uuid_
        record.setdefault("meta/rootUuid", (prev or {}).get("meta/rootUuid") or instance)
        tmp = {**record, "_uuid": uuid_}
        entries, _ = self.store.media_attachments(asset, form, tmp, _id)
        entries = [e for e in entries if e["media_file_basename"] in files]
        named = {e["media_file_basename"] for e in entries}
        entries += [self.store.attachment_entry(asset.uid, _id, uuid_, name, "", name,
                                                "application/octet-stream", form)
                    for name in files if name not in named]
        geo = next((answers[f.path] for f in form.value_fields(None)
                    if f.type == "geopoint" and answers.get(f.path)), None)
        record.update({
            "_attachments": entries, "_status": "submitted_via_web",
            "_geolocation": [float(x) for x in geo.split()[:2]] if geo else [None, None],
            "_submission_time": (prev or {}).get("_submission_time")
            or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            "_validation_status": {},
            "_submitted_by": (prev or {}).get("_submitted_by", OWNER if req.authenticated else None),
        })
        return record, files, None
