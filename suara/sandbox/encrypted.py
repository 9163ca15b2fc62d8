"""The sandbox's phone: encrypt synthetic submissions as KoboCollect does, and present them as
KoboToolbox serves encrypted submissions (encryption.md §4, §6).

For each Kobo-shaped synthetic record of an encrypted form the encryptor
1. writes the instance XML Collect would have finalised (``xml_from_submission``),
2. makes the files Collect would attach (the ``audit.csv`` client log for the ``audit`` field,
   placeholder bytes for other media answers),
3. encrypts them with the form's ``public_key`` (a fresh AES key per submission, per-file IVs,
   element signature) into a Collect-layout manifest and ``.enc`` files, and
4. returns the record Kobo's ``/data/`` endpoint would show: the flattened manifest only
   (``orx:meta/orx:instanceID``, ``media``…), the server keys, and ``_attachments`` listing the
   ``.enc`` files (``application/octet-stream``, empty ``question_xpath``, no thumbnails).

Nothing of the answers survives in the returned record; only the private key gets them back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from suara.crypto.keys import form_public_key
from suara.crypto.odk import encrypt_submission
from suara.crypto.xml_to_json import flatten_xml, xml_from_submission
from suara.forms.model import MEDIA_TYPES, Form
from suara.synth import stable_uid

# (record as /data/ shows it, {".enc" name: bytes}, the stored manifest XML for ?format=xml)
Encrypted = tuple[dict[str, Any], dict[str, bytes], str | None]
Encryptor = Callable[[Form, dict[str, Any]], Encrypted]

# Server keys Kobo keeps on an encrypted row (kobo-api.md §6.2); answers, formhub/uuid and
# __version__ are inside the ciphertext only.
_SERVER_KEYS = ("_uuid", "meta/rootUuid", "_status", "_submission_time", "_validation_status",
                "_submitted_by", "_supplementalDetails")


def _parse_time(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def audit_log(submission: dict[str, Any]) -> bytes:
    """A small client audit log (ODK ``audit.csv`` columns) spanning the interview: timestamps
    only, as the harassment form's audit has no track-changes or location parameters."""
    start, end = _parse_time(submission.get("start")), _parse_time(submission.get("end"))
    t0 = int(start.timestamp() * 1000) if start else 0
    t1 = int(end.timestamp() * 1000) if end else t0 + 600_000
    mid = (t0 + t1) // 2
    rows = ["event,node,start,end", f"form start,,{t0},", f"question,,{t0 + 1500},{mid}",
            f"end screen,,{mid},{t1}", f"form exit,,{t1},", f"form finalize,,{t1},"]
    return ("\n".join(rows) + "\n").encode("utf-8")


def media_files(form: Form, submission: dict[str, Any]) -> dict[str, bytes]:
    """The files Collect would encrypt with this record: the audit log and media answers."""
    files: dict[str, bytes] = {}
    for f in form.fields:
        if f.type not in MEDIA_TYPES or f.repeat is not None:
            continue
        name = submission.get(f.path)
        if isinstance(name, str) and name and name not in files:
            files[name] = audit_log(submission) if f.type == "audit" else (
                b"synthetic " + f.type.encode() + b" " + name.encode())
    return files


def encrypted_record(form: Form, submission: dict[str, Any], public_key: rsa.RSAPublicKey, *,
                     layout: str = "collect", base_url: str = "") -> Encrypted:
    """(the Kobo API record of the encrypted submission, {".enc" name: bytes}, manifest XML)."""
    form_id = str(submission.get("_xform_id_string") or form.form_id)
    instance_id = submission.get("meta/instanceID") or f"uuid:{submission['_uuid']}"
    xml = xml_from_submission(form, submission, form_id=form_id)
    manifest, files = encrypt_submission(
        xml, public_key, instance_id, form_id, form.version or None,
        media_files(form, submission), layout=layout)
    record: dict[str, Any] = {"_id": submission["_id"]} if "_id" in submission else {}
    record.update(flatten_xml(manifest))
    record["_xform_id_string"] = form_id
    for key in _SERVER_KEYS:
        if key in submission:
            record[key] = submission[key]
    record["_geolocation"] = [None, None]  # Kobo cannot see a geopoint in ciphertext
    owner = submission.get("_submitted_by") or "sandbox"
    formhub = submission.get("formhub/uuid") or form_id
    iid = str(submission.get("_uuid") or instance_id.removeprefix("uuid:"))
    # Kobo lists attachments in no particular order (encryption.md §4): put the XML first so
    # readers have to match names to the manifest rather than trust the list.
    names = sorted(files, key=lambda n: n != "submission.xml.enc")
    record["_attachments"] = []
    for name in names:
        uid = stable_uid("att", form_id, iid, name)
        record["_attachments"].append({
            "download_url": f"{base_url}/api/v2/assets/{form_id}/data/{submission.get('_id')}"
                            f"/attachments/{uid}/",
            "mimetype": "application/octet-stream",
            "filename": f"{owner}/attachments/{formhub}/{iid}/{name}",
            "media_file_basename": name, "uid": uid, "is_deleted": False, "question_xpath": "",
        })
    return record, files, manifest.decode("utf-8")


def odk_encryptor(public_key: rsa.RSAPublicKey | None = None, *, layout: str = "collect",
                  base_url: str = "") -> Encryptor:
    """The sandbox hook ``encryptor(form, submission) -> (record, files, manifest_xml)``.

    With no ``public_key`` each form is encrypted with its own ``settings.public_key``, as the
    phone does; forms without one pass through unchanged (no files, no stored XML).
    """
    cache: dict[str, rsa.RSAPublicKey | None] = {}

    def encrypt(form: Form, submission: dict[str, Any]) -> Encrypted:
        key = public_key
        if key is None:
            if form.form_id not in cache:
                cache[form.form_id] = form_public_key(form)
            key = cache[form.form_id]
        if key is None:
            return submission, {}, None
        return encrypted_record(form, submission, key, layout=layout, base_url=base_url)

    return encrypt
