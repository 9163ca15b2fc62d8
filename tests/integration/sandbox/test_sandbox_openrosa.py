"""Phones posting to the sandbox (OpenRosa ``/submission``) and the rows KPI would show.

O1 a posted XML appears on /data/ with its answers and the posted file as an attachment;
O2 a re-post is a duplicate (202) unless it brings new files; O3 an XML with
``meta/deprecatedID`` edits the row in place; O4 an encrypted Collect manifest is stored as
posted: no answers, the ``.enc`` files downloadable byte for byte.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from suara.crypto.odk import encrypt_submission
from suara.crypto.xml_to_json import xml_from_submission
from suara.synth import generate

pytestmark = pytest.mark.integration


def _post(kobo, xml: bytes, files: dict[str, bytes] | None = None, path: str = "/submission"):
    parts = [("xml_submission_file", ("submission.xml", xml, "text/xml"))]
    parts += [(name, (name, data, "application/octet-stream")) for name, data in (files or {}).items()]
    return kobo.post(kobo.base + path, files=parts)


def _rows(kobo, key: str, value: str) -> list[dict]:
    return kobo.get(kobo.data_url, params={"query": json.dumps({key: value})}).json()["results"]


def _answers(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_") and k != "meta/rootUuid"}


@pytest.fixture
def phone_record(sandbox_form):
    return next(s for s in generate(sandbox_form, 30, seed=21) if "grp/photo" in s)


def test_post__plain_xml__row_with_answers_and_attachment(kobo, sandbox_form, phone_record):
    """Should store the posted answers as a new row with the photo attached (O1)."""
    photo = b"\xff\xd8\xffphone-photo"
    r = _post(kobo, xml_from_submission(sandbox_form, phone_record), {phone_record["grp/photo"]: photo},
              path="/sandbox/submission")
    assert r.status_code == 201 and b"Successful submission." in r.content
    assert r.headers["X-OpenRosa-Version"] == "1.0"
    [row] = _rows(kobo, "_uuid", phone_record["_uuid"])
    assert _answers(row) == _answers(phone_record)
    assert row["meta/rootUuid"] == phone_record["meta/instanceID"] and row["_submitted_by"] == "sandbox"
    [att] = row["_attachments"]
    assert att["question_xpath"] == "grp/photo"
    assert kobo.get(att["download_url"]).content == photo


def test_post__again__duplicate_unless_new_files(kobo, sandbox_form, phone_record):
    """Should answer 202 to a repeat post and add files brought by a later post (O2)."""
    xml = xml_from_submission(sandbox_form, phone_record)
    assert _post(kobo, xml).status_code == 201
    count = kobo.get(kobo.data_url).json()["count"]
    assert _post(kobo, xml).status_code == 202
    assert _post(kobo, xml, {phone_record["grp/photo"]: b"late photo"}).status_code == 201
    page = kobo.get(kobo.data_url, params={"limit": 1000}).json()
    assert page["count"] == count
    row = next(r for r in page["results"] if r["_uuid"] == phone_record["_uuid"])
    assert [a["media_file_basename"] for a in row["_attachments"]] == [phone_record["grp/photo"]]


def test_post__deprecated_id__edits_the_row(kobo, sandbox_form, phone_record):
    """Should update the same _id, new _uuid, root kept; a stale deprecatedID is refused (O3)."""
    assert _post(kobo, xml_from_submission(sandbox_form, phone_record)).status_code == 201
    first = phone_record["meta/instanceID"]
    edited = {**phone_record, "grp/age": "33", "meta/instanceID": "uuid:11111111-2222-4333-8444-555555555555"}
    xml = xml_from_submission(sandbox_form, edited).replace(
        b"</instanceID>", b"</instanceID><deprecatedID>" + first.encode() + b"</deprecatedID>")
    assert _post(kobo, xml).status_code == 201
    [row] = _rows(kobo, "meta/rootUuid", first)
    assert row["grp/age"] == "33" and row["meta/deprecatedID"] == first
    assert row["_uuid"] == "11111111-2222-4333-8444-555555555555"
    assert _post(kobo, xml.replace(b"11111111", b"99999999")).status_code == 400  # first is stale


def test_post__encrypted_manifest__stored_as_posted(kobo, sandbox_form, phone_record):
    """Should keep only the manifest keys and serve each .enc file unchanged (O4)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    xml = xml_from_submission(sandbox_form, phone_record)
    manifest, files = encrypt_submission(xml, key.public_key(), phone_record["meta/instanceID"],
                                         "sandbox_test", "2026010101",
                                         {phone_record["grp/photo"]: b"photo bytes"})
    assert _post(kobo, manifest, files).status_code == 201
    [row] = _rows(kobo, "_uuid", phone_record["_uuid"])
    assert "base64EncryptedKey" in row and base64.b64decode(row["base64EncryptedKey"])
    assert not any(k.startswith(("grp/", "consent")) for k in row)
    served = {a["media_file_basename"]: kobo.get(a["download_url"]).content for a in row["_attachments"]}
    assert served == files
    assert all(a["question_xpath"] == "" for a in row["_attachments"])


def test_head__openrosa_preflight(kobo):
    """Should answer Collect's HEAD pre-flight with 204 and the OpenRosa headers."""
    r = kobo.head(kobo.base + "/submission")
    assert r.status_code == 204 and r.headers["X-OpenRosa-Version"] == "1.0"


def test_post__unknown_form__404(kobo, sandbox_form, phone_record):
    """Should refuse a submission for a form the server does not have."""
    xml = xml_from_submission(sandbox_form, phone_record, form_id="nope")
    assert _post(kobo, xml).status_code == 404
