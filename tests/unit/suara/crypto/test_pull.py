"""Encrypted Kobo API records become the records Kobo would serve unencrypted; every failure is
a DecryptionError with its reason (→ quarantine), never a half-decrypted record."""

from __future__ import annotations

import copy
import threading

import pytest

from suara import synth
from suara.crypto import odk
from suara.crypto.pull import decrypt_record, decrypt_record_full, decrypt_records, is_encrypted
from suara.crypto.xml_to_json import flatten_xml
from suara.errors import DecryptionError
from suara.forms import form_from_markdown
from suara.sandbox.encrypted import odk_encryptor

from .conftest import load_pem


class Server:
    """Attachment downloads by URL, counting requests."""

    def __init__(self, record, files):
        self.by_url = {a["download_url"]: files[a["media_file_basename"]]
                       for a in record["_attachments"]}
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return self.by_url[url]


@pytest.fixture(scope="module")
def vh_pair(harassment_form, private_key):
    subs = synth.generate_labelled(harassment_form, 40, seed=7, edge_share=0.25)
    encrypt = odk_encryptor(private_key.public_key())
    return [(s, *encrypt(harassment_form, s.submission)[:2]) for s in subs]


def _without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


def test_decrypted_records_equal_the_unencrypted_ones(harassment_form, private_key, vh_pair):
    for synthetic, record, files in vh_pair:
        assert "grp_setup/enum_code" not in record  # Kobo cannot see any answer
        out = decrypt_record(harassment_form, record, Server(record, files), private_key)
        original = synthetic.submission
        if synthetic.edge == "control_chars":  # XML 1.0 cannot carry them: a phone never sends them
            continue
        assert _without(out, "_attachments", "_xform_id_string") == _without(original, "_attachments")
        assert list(out)[0] == "_id"


def test_plaintext_rows_of_an_encrypted_form_pass_through(harassment_form, private_key, vh_pair):
    plain = vh_pair[0][0].submission
    assert not is_encrypted(plain)
    assert decrypt_record(harassment_form, plain, lambda url: b"", private_key) is plain


def test_dropped_audit_log_is_verified_but_not_kept(harassment_form, private_key, vh_pair):
    _, record, files = vh_pair[0]
    server = Server(record, files)
    out = decrypt_record_full(harassment_form, record, server, private_key)
    assert len(server.calls) == 2  # submission.xml.enc and audit.csv.enc (for the signature)
    assert out.media == {}  # audit has pii_rule drop


def test_media_kept_when_the_policy_keeps_it(private_key):
    form = form_from_markdown("""
| survey | | | | |
| | type | name | label | pii_rule |
| | image | photo | Photo | |
| | audit | audit | | drop |
| settings | | |
| | form_id | version |
| | photo_form | 1 |
""")
    sub = {"_id": 1, "photo": "1746.jpg", "meta/audit": "audit.csv",
           "meta/instanceID": "uuid:p1", "_uuid": "p1"}
    record, files, _ = odk_encryptor(private_key.public_key())(form, sub)
    assert record["media"] == [{"media/file": "1746.jpg.enc"}, {"media/file": "audit.csv.enc"}]
    out = decrypt_record_full(form, record, Server(record, files), private_key)
    assert set(out.media) == {"1746.jpg"} and out.record["photo"] == "1746.jpg"


def _code(form, record, server, key):
    with pytest.raises(DecryptionError) as err:
        decrypt_record(form, record, server, key)
    return err.value.code


def test_wrong_key(harassment_form, other_key, vh_pair):
    _, record, files = vh_pair[1]
    assert _code(harassment_form, record, Server(record, files), other_key) == odk.WRONG_KEY


def test_tampered_attachment(harassment_form, private_key, vh_pair):
    _, record, files = vh_pair[2]
    body = files["submission.xml.enc"]
    # Flip the last byte's bits: overwriting it with a constant is a no-op when the random
    # key happens to put that constant there already (1 run in 256 went green-then-red).
    damaged = dict(files, **{"submission.xml.enc": body[:-1] + bytes([body[-1] ^ 0xFF])})
    assert _code(harassment_form, record, Server(record, damaged), private_key) == odk.TAMPERED


def test_bad_signature(harassment_form, private_key, vh_pair):
    _, record, files = vh_pair[3]
    forged = copy.deepcopy(record)
    forged["base64EncryptedElementSignature"] = odk.rsa_wrap(private_key.public_key(), b"\0" * 16)
    assert _code(harassment_form, forged, Server(record, files), private_key) == odk.BAD_SIGNATURE


def test_deleted_attachment_is_missing_not_lost(harassment_form, private_key, vh_pair):
    _, record, files = vh_pair[4]
    gone = copy.deepcopy(record)
    for att in gone["_attachments"]:
        att["is_deleted"] = att["media_file_basename"] == "audit.csv.enc"
    assert _code(harassment_form, gone, Server(record, files), private_key) == odk.MISSING_FILE


def test_record_without_its_key_elements_is_malformed(harassment_form, private_key, vh_pair):
    _, record, files = vh_pair[5]
    broken = _without(record, "base64EncryptedElementSignature")
    assert _code(harassment_form, broken, Server(record, files), private_key) == odk.MALFORMED


def test_briefcase_vector_as_a_kobo_record(vectors):
    """A real Collect submission presented the way Kobo's API would (manifest flattened)."""
    d = vectors / "briefcase"
    form = form_from_markdown("""
| survey | | | |
| | type | name | label |
| | text | name | Name |
| settings | | |
| | form_id | |
| | encrypted-form | |
""")
    manifest = flatten_xml((d / "encrypted-form-submission.xml").read_bytes())
    record = {"_id": 9, **manifest, "_xform_id_string": "encrypted-form",
              "_uuid": "494cd080-3bf4-47be-b40f-c706a950d58a",
              "_attachments": [{"download_url": "u/1", "media_file_basename": "submission.xml.enc",
                                "is_deleted": False}],
              "_submission_time": "2018-04-18T08:15:09", "_validation_status": {}}
    enc = (d / "encrypted-form-submission.xml.enc").read_bytes()
    out = decrypt_record(form, record, {"u/1": enc}.__getitem__, load_pem(d / "encrypted-form-key.pem"))
    assert out == {"_id": 9, "name": "Guillermo",
                   "orx:meta/orx:instanceID": "uuid:494cd080-3bf4-47be-b40f-c706a950d58a",
                   "_xform_id_string": "encrypted-form", "_uuid": "494cd080-3bf4-47be-b40f-c706a950d58a",
                   "_attachments": record["_attachments"], "_submission_time": "2018-04-18T08:15:09",
                   "_validation_status": {}}


def test_a_page_decrypts_in_order_with_failures_set_aside(harassment_form, private_key, vh_pair):
    records, files = [], {}
    for _, record, f in vh_pair[:6]:
        records.append(record)
        files.update({a["download_url"]: f[a["media_file_basename"]] for a in record["_attachments"]})
    broken = copy.deepcopy(records[2])
    broken["base64EncryptedElementSignature"] = odk.rsa_wrap(private_key.public_key(), b"\0" * 16)
    plaintext = vh_pair[0][0].submission
    page = [records[0], plaintext, broken, records[3], _without(records[4], "_xform_id_string")]
    plain, failed = decrypt_records(harassment_form, page, files.__getitem__, private_key, workers=3)
    assert [r["_id"] for r in plain] == [records[0]["_id"], plaintext["_id"], records[3]["_id"]]
    assert [(r["_id"], e.code) for r, e in failed] == [(broken["_id"], odk.BAD_SIGNATURE),
                                                       (records[4]["_id"], odk.MALFORMED)]


def test_downloads_of_a_page_overlap(harassment_form, private_key, vh_pair):
    """Two downloads must be in flight together, or the barrier breaks."""
    barrier = threading.Barrier(2, timeout=5)
    files = {}
    for _, record, f in vh_pair[:2]:
        files.update({a["download_url"]: f[a["media_file_basename"]] for a in record["_attachments"]})
    calls = []
    lock = threading.Lock()

    def download(url):
        with lock:
            calls.append(url)
            n = len(calls)
        if n <= 2:  # the first download of each record: both must be waiting at once
            barrier.wait()
        return files[url]

    records = [r for _, r, _ in vh_pair[:2]]
    plain, failed = decrypt_records(harassment_form, records, download, private_key, workers=2)
    assert len(plain) == 2 and not failed


def test_a_404_marks_the_row_incomplete_but_other_transport_errors_fail_the_page(
        harassment_form, private_key, vh_pair):
    from suara.errors import KoboNotFoundError, KoboTransientError

    _, record, files = vh_pair[6]
    server = Server(record, files)
    audit_url = next(a["download_url"] for a in record["_attachments"]
                     if a["media_file_basename"] == "audit.csv.enc")

    def failing(error):
        def download(url):
            if url == audit_url:
                raise error("file gone")
            return server(url)
        return download

    assert _code(harassment_form, record, failing(KoboNotFoundError), private_key) == odk.MISSING_FILE
    with pytest.raises(KoboTransientError):
        decrypt_records(harassment_form, [record], failing(KoboTransientError), private_key)
