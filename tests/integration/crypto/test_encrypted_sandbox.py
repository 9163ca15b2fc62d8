"""End to end over HTTP: the sandbox serves harassment reports encrypted as KoboCollect makes
them and presented as KoboToolbox stores them; the Kobo client pulls and downloads the ``.enc``
attachments with the token, and Suara decrypts them with the demo private key."""

from __future__ import annotations

import re

import pytest

from suara.crypto import odk
from suara.crypto.keys import load_private_key
from suara.crypto.pull import decrypt_record, decrypt_records, is_encrypted
from suara.errors import ConfigurationError, DecryptionError
from suara.forms import load_form
from suara.kobo import KoboClient
from suara.sandbox import Sandbox
from suara.sandbox.encrypted import odk_encryptor
from suara.settings import load_settings
from tests.conftest import FORMS_DIR

pytestmark = pytest.mark.integration

N = 25
DEMO_PRIVATE = FORMS_DIR / "keys" / "DEMO_ONLY_private.pem"


@pytest.fixture(scope="module")
def form():
    return load_form(FORMS_DIR / "ilo_vh_reporting.md")


@pytest.fixture(scope="module")
def sandbox(form):
    with Sandbox([form], submissions=N, seed=11, encryptor=odk_encryptor()) as sb:
        yield sb


@pytest.fixture
def pulled(sandbox, form):
    settings = load_settings(kobo_url=sandbox.url, kobo_token=sandbox.token,
                             suara_form_private_key=DEMO_PRIVATE)
    client = KoboClient(settings)
    uid, _ = client.find_asset(form)
    records = [r for page in client.iter_pages(uid) for r in page.results]
    return settings, client, uid, records


def test_encrypted_reports_decrypt_to_kobo_shaped_answers(form, pulled):
    settings, client, _, records = pulled
    assert len(records) == N and all(is_encrypted(r) for r in records)
    assert not any(k.startswith("grp_") for r in records for k in r)  # Kobo sees no answer
    key = load_private_key(settings, form)
    for record in records:
        out = decrypt_record(form, record, client.download, key)
        assert out["_id"] == record["_id"] and out["_uuid"] == record["_uuid"]
        assert out["meta/instanceID"] == f"uuid:{record['_uuid']}"
        assert re.fullmatch(r"E\d{2}", out["grp_setup/enum_code"])
        assert out["meta/audit"] == "audit.csv" and "__version__" in out
        assert not any(k in out for k in ("base64EncryptedKey", "encryptedXmlFile"))


def test_stored_manifest_carries_the_form_version(sandbox, form, pulled):
    settings, client, uid, records = pulled
    xml = client.download(f"{sandbox.url}/api/v2/assets/{uid}/data/{records[0]['_id']}/?format=xml")
    manifest = odk.read_manifest(xml)
    assert manifest.version == form.version
    assert manifest.instance_id == f"uuid:{records[0]['_uuid']}"


def test_damaged_download_goes_to_quarantine_with_its_reason(form, pulled):
    settings, client, _, records = pulled
    key = load_private_key(settings, form)
    xml_url = next(a["download_url"] for a in records[0]["_attachments"]
                   if a["media_file_basename"] == "submission.xml.enc")

    def corrupt(url: str) -> bytes:  # the last block damaged in transit or in storage
        data = client.download(url)
        return data[:-16] + bytes(16) if url == xml_url else data

    with pytest.raises(DecryptionError) as err:
        decrypt_record(form, records[0], corrupt, key)
    assert err.value.code == odk.TAMPERED


@pytest.mark.parametrize("problem", ["unset", "other_pair"])
def test_missing_or_wrong_key_stops_the_sync_before_any_data_moves(sandbox, form, tmp_path, problem):
    """The pipeline resolves the key before it looks for the asset or pulls a page."""
    from flows import pipeline
    from suara.crypto.keys import generate_keypair

    key_env = {}
    if problem == "other_pair":
        (tmp_path / "other.pem").write_bytes(generate_keypair()[0])
        key_env = {"suara_form_private_key": tmp_path / "other.pem"}
    settings = load_settings(kobo_url=sandbox.url, kobo_token=sandbox.token,
                             suara_pseudonym_key="crypto-it-pseudonym-key-0123456789", **key_env)
    before = len(sandbox.requests)
    with pytest.raises(ConfigurationError) as err:
        pipeline.open_form(settings, KoboClient(settings), form)
    assert err.value.code == {"unset": "CONF_KEY_UNSET", "other_pair": "CONF_KEY_MISMATCH"}[problem]
    assert "ilo_vh_reporting" in err.value.message and err.value.exit_status == 2
    assert len(sandbox.requests) == before  # not even the asset list was asked for


def test_a_page_decrypts_with_concurrent_downloads_over_http(form, pulled):
    settings, client, _, records = pulled
    key = load_private_key(settings, form)
    plain, failed = decrypt_records(form, records, client.download, key, workers=4)
    assert not failed
    assert [r["_id"] for r in plain] == [r["_id"] for r in records]
    assert plain == [decrypt_record(form, r, client.download, key) for r in records]
