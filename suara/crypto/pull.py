"""Turn a Kobo API record of an encrypted submission into the record Kobo would have served had
the form not been encrypted (architecture.md, stage 2), so normalise/validate/load see no change.

Kobo stores only the manifest (encryption.md §4): the row holds ``base64EncryptedKey``, the
instanceID (``orx:meta/orx:instanceID`` from Collect, ``meta/instanceID`` from Enketo),
``media/file`` or ``media`` (the encrypted media names), ``encryptedXmlFile`` and
``base64EncryptedElementSignature``, plus the server keys; ``_attachments`` lists the ``.enc``
files (in no particular order) with their download URLs.

Media are downloaded and decrypted even when the form's policy drops them: the element signature
covers every file, so it cannot be verified without them. Their plaintext stays in memory and is
handed back only for fields whose ``pii_rule`` is not ``drop`` (to go to the restricted zone).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from suara.crypto.odk import MALFORMED, Manifest, PrivateKeys, decrypt_manifest
from suara.crypto.xml_to_json import submission_from_xml
from suara.errors import DecryptionError, KoboNotFoundError
from suara.forms.model import MEDIA_TYPES, Form

# Keys of the manifest as Kobo flattens it: they describe the envelope, not the answers.
MANIFEST_KEYS = frozenset({
    "base64EncryptedKey", "base64EncryptedElementSignature", "encryptedXmlFile",
    "orx:meta/orx:instanceID", "meta/instanceID", "media/file", "media", "n0:meta/n0:instanceID",
})
# Server keys of the record that stay as they are (kobo-api.md §6.2).
_KEEP_FROM_RECORD = ("meta/rootUuid",)


@dataclass(frozen=True)
class DecryptedRecord:
    record: dict[str, Any]
    media: dict[str, bytes] = field(default_factory=dict)  # kept files only: name → plaintext


def is_encrypted(record: dict[str, Any]) -> bool:
    """Encryption is detected per row (pitfall 10): a form may hold plaintext rows too."""
    return "base64EncryptedKey" in record


def _media_names(record: dict[str, Any]) -> tuple[str, ...]:
    one = record.get("media/file")
    if isinstance(one, str):
        return (one,)
    many = record.get("media") or []
    names = []
    for item in many if isinstance(many, list) else []:
        name = item.get("media/file") if isinstance(item, dict) else None
        if isinstance(name, str):
            names.append(name)
    return tuple(names)


def manifest_from_record(record: dict[str, Any]) -> Manifest:
    """The manifest as Kobo's JSON presents it. The form version is not in the JSON; the
    decryptor takes it from the decrypted XML root (pitfall 9)."""
    uuid = record.get("_uuid")
    instance_id = (record.get("orx:meta/orx:instanceID") or record.get("meta/instanceID")
                   or record.get("n0:meta/n0:instanceID") or record.get("meta/rootUuid")
                   or (f"uuid:{uuid}" if uuid else None))
    key, sig = record.get("base64EncryptedKey"), record.get("base64EncryptedElementSignature")
    form_id = record.get("_xform_id_string")
    if not (instance_id and key and sig and form_id):
        raise DecryptionError(
            f"submission _id={record.get('_id')}: the encrypted record lacks its instanceID, key, "
            "signature or form id.", code=MALFORMED,
            hint="The row is not a complete ODK encrypted submission; review it in quarantine.")
    return Manifest(
        form_id=str(form_id), version=None, instance_id=str(instance_id), encrypted_key=str(key),
        signature=str(sig), media=_media_names(record),
        xml_file=str(record.get("encryptedXmlFile") or "submission.xml.enc"),
    )


def attachment_urls(record: dict[str, Any]) -> dict[str, str]:
    """Download URL per file name, matched by basename (list order is not encryption order)."""
    urls: dict[str, str] = {}
    for att in record.get("_attachments") or []:
        if att.get("is_deleted"):
            continue
        name = att.get("media_file_basename") or str(att.get("filename", "")).rsplit("/", 1)[-1]
        if name and att.get("download_url"):
            urls[name] = att["download_url"]
    return urls


def kept_media_names(form: Form, answers: dict[str, Any]) -> set[str]:
    """File names answered by media fields whose declared treatment is not ``drop``."""
    kept = set()
    for f in form.fields:
        if f.type in MEDIA_TYPES and f.pii_rule != "drop" and f.repeat is None:
            value = answers.get(f.path)
            if isinstance(value, str):
                kept.add(value)
    for rep in form.repeats:
        for item in answers.get(rep.path) or []:
            for f in form.fields:
                if f.repeat == rep.path and f.type in MEDIA_TYPES and f.pii_rule != "drop":
                    value = item.get(f.path) if isinstance(item, dict) else None
                    if isinstance(value, str):
                        kept.add(value)
    return kept


def _geolocation(form: Form, answers: dict[str, Any]) -> list[float | None]:
    """Kobo's ``_geolocation``: the first answered geopoint outside repeats (kobo-api.md §6.2)."""
    for f in form.fields:
        if f.type == "geopoint" and f.repeat is None and isinstance(answers.get(f.path), str):
            parts = answers[f.path].split()
            try:
                return [float(parts[0]), float(parts[1])]
            except (IndexError, ValueError):
                continue
    return [None, None]


@dataclass(frozen=True)
class _Fetched:
    manifest: Manifest
    files: dict[str, bytes]


def _fetch(record: dict[str, Any], download: Callable[[str], bytes]) -> _Fetched:
    """Read the manifest from the row and download the ``.enc`` files it lists (the I/O part)."""
    manifest = manifest_from_record(record)
    urls = attachment_urls(record)
    files: dict[str, bytes] = {}
    for name in (*manifest.media, manifest.xml_file):
        if name not in urls:
            continue
        try:
            files[name] = download(urls[name])
        except KoboNotFoundError:
            # Deleted since the page was listed (or never stored): the row is quarantined as
            # incomplete rather than failing the whole page; other transport errors propagate.
            continue
    return _Fetched(manifest, files)


def _finish(form: Form, record: dict[str, Any], fetched: _Fetched,
            private_key: PrivateKeys) -> DecryptedRecord:
    """Decrypt, verify and reshape (the CPU part)."""
    plain = decrypt_manifest(fetched.manifest, fetched.files, private_key)
    answers = submission_from_xml(form, plain.xml)
    if record.get("_uuid") and f"uuid:{record['_uuid']}" != plain.instance_id \
            and record["_uuid"] != plain.instance_id:
        raise DecryptionError(
            f"submission _id={record.get('_id')}: the decrypted instanceID differs from the "
            "server's _uuid.", code=MALFORMED, hint="Review the submission in quarantine.")
    out: dict[str, Any] = {"_id": record["_id"]} if "_id" in record else {}
    out.update(answers)
    for key, value in record.items():
        if key in MANIFEST_KEYS or key in out:
            continue
        if key.startswith("_") or key in _KEEP_FROM_RECORD:
            out[key] = value
    if "_geolocation" in out:
        out["_geolocation"] = _geolocation(form, answers)
    kept = kept_media_names(form, answers)
    return DecryptedRecord(out, {n: b for n, b in plain.media.items() if n in kept})


def decrypt_record_full(form: Form, record: dict[str, Any], download: Callable[[str], bytes],
                        private_key: PrivateKeys) -> DecryptedRecord:
    """Decrypt one API record; plaintext records pass through untouched.

    ``download(url) -> bytes`` fetches an attachment with the Kobo token (transport errors
    propagate and fail the batch for a retry; they are not the submission's fault).
    Raises DecryptionError (→ quarantine with its code) for anything wrong with the submission.
    """
    if not is_encrypted(record):
        return DecryptedRecord(record)
    return _finish(form, record, _fetch(record, download), private_key)


def decrypt_records(form: Form, records: list[dict[str, Any]], download: Callable[[str], bytes],
                    private_key: PrivateKeys, *, workers: int = 4,
                    ) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], DecryptionError]]]:
    """Decrypt a page: (decrypted records in page order, [(raw record, error)] for quarantine).

    Downloads of different records overlap on ``workers`` threads — each encrypted row costs
    one request per ``.enc`` file, so latency, not CPU, bounds a sequential pull; decryption
    itself stays on the calling thread. Transport errors propagate (the batch is retried).
    """

    def fetch(record: dict[str, Any]) -> _Fetched | DecryptionError | None:
        if not is_encrypted(record):
            return None
        try:
            return _fetch(record, download)
        except DecryptionError as exc:
            return exc

    plain: list[dict[str, Any]] = []
    failed: list[tuple[dict[str, Any], DecryptionError]] = []
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="suara-decrypt") as pool:
        for record, fetched in zip(records, pool.map(fetch, records), strict=True):
            if fetched is None:
                plain.append(record)
                continue
            try:
                if isinstance(fetched, DecryptionError):
                    raise fetched
                plain.append(_finish(form, record, fetched, private_key).record)
            except DecryptionError as exc:
                failed.append((record, exc))
    return plain, failed


def decrypt_record(form: Form, record: dict[str, Any], download: Callable[[str], bytes],
                   private_key: PrivateKeys) -> dict[str, Any]:
    """The record in the unencrypted shape (answers + the server keys), see decrypt_record_full."""
    return decrypt_record_full(form, record, download, private_key).record
