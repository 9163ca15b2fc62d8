"""The sandbox encrypts like KoboCollect and presents rows like KoboToolbox (encryption.md §4)."""

from __future__ import annotations

import dataclasses

from suara import synth
from suara.crypto import odk
from suara.crypto.pull import decrypt_record
from suara.crypto.xml_to_json import flatten_xml
from suara.sandbox.encrypted import odk_encryptor

from .conftest import REPO, load_pem

KOBO_ATTACHMENT_KEYS = ["download_url", "mimetype", "filename", "media_file_basename", "uid",
                        "is_deleted", "question_xpath"]


def test_row_shows_only_the_manifest_and_server_keys(harassment_form):
    sub = synth.generate(harassment_form, 1, seed=3)[0]
    record, files, stored = odk_encryptor()(harassment_form, sub)
    manifest = odk.read_manifest(stored.encode())  # what ?format=xml serves, version included
    assert (manifest.version, manifest.media) == (harassment_form.version, ("audit.csv.enc",))
    assert flatten_xml(stored.encode()).items() <= record.items()
    assert set(record) == {
        "_id", "base64EncryptedKey", "orx:meta/orx:instanceID", "media/file", "encryptedXmlFile",
        "base64EncryptedElementSignature", "_xform_id_string", "_uuid", "meta/rootUuid",
        "_status", "_submission_time", "_validation_status", "_submitted_by", "_geolocation",
        "_attachments"}
    assert record["orx:meta/orx:instanceID"] == sub["meta/instanceID"]
    assert record["media/file"] == "audit.csv.enc" and record["_geolocation"] == [None, None]
    assert set(files) == {"audit.csv.enc", "submission.xml.enc"}
    for att in record["_attachments"]:
        assert list(att) == KOBO_ATTACHMENT_KEYS
        assert att["mimetype"] == "application/octet-stream" and att["question_xpath"] == ""
        assert att["uid"].startswith("att") and len(att["uid"]) == 24


def test_demo_harassment_form_round_trips_with_the_demo_private_key(harassment_form):
    """The demo's real path: the form's committed demo public key on the phone, the demo
    private key in the pipeline."""
    key = load_pem(REPO / "forms" / "keys" / "DEMO_ONLY_private.pem")
    encrypt = odk_encryptor()  # uses each form's own settings.public_key
    for sub in synth.generate(harassment_form, 5, seed=4):
        record, files, _ = encrypt(harassment_form, sub)
        by_url = {a["download_url"]: files[a["media_file_basename"]] for a in record["_attachments"]}
        out = decrypt_record(harassment_form, record, by_url.__getitem__, key)
        assert out["grp_setup/enum_code"] == sub["grp_setup/enum_code"]


def test_each_submission_gets_its_own_aes_key(harassment_form, private_key):
    sub = synth.generate(harassment_form, 1, seed=3)[0]
    encrypt = odk_encryptor(private_key.public_key())
    a, _, _ = encrypt(harassment_form, sub)
    b, _, _ = encrypt(harassment_form, sub)
    assert odk.rsa_unwrap(private_key, a["base64EncryptedKey"]) != \
        odk.rsa_unwrap(private_key, b["base64EncryptedKey"])


def test_plaintext_forms_pass_through(org_form):
    plain = dataclasses.replace(org_form, settings={
        k: v for k, v in org_form.settings.items() if k != "public_key"})
    sub = synth.generate(plain, 1, seed=3)[0]
    assert odk_encryptor()(plain, sub) == (sub, {}, None)


def test_enketo_layout_rows_use_the_enketo_instance_key(harassment_form, private_key):
    sub = synth.generate(harassment_form, 1, seed=5)[0]
    record, files, _ = odk_encryptor(private_key.public_key(), layout="enketo")(harassment_form, sub)
    assert record["meta/instanceID"] == sub["meta/instanceID"]
    by_url = {a["download_url"]: files[a["media_file_basename"]] for a in record["_attachments"]}
    assert decrypt_record(harassment_form, record, by_url.__getitem__, private_key)["_uuid"] == sub["_uuid"]
