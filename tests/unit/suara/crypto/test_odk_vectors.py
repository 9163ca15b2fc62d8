"""The real, published ODK encrypted submissions decrypt to their expected outputs.

Vectors: shared/encryption-vectors (Briefcase, Central's Collect 1.22.4 vectors, kobocat's
KoboCollect manifest); expected values come from an independent decryptor (checks.json).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest

from suara.crypto import odk
from suara.crypto.xml_to_json import flatten_xml
from suara.errors import DecryptionError

from .conftest import load_pem


def _briefcase(vectors, stem):
    d = vectors / "briefcase"
    manifest = (d / f"{stem}-submission.xml").read_bytes()
    files = {"submission.xml.enc": (d / f"{stem}-submission.xml.enc").read_bytes()}
    return manifest, files, load_pem(d / "encrypted-form-key.pem")


def test_briefcase_form_decrypts_to_expected_xml_with_valid_signature(vectors, checks):
    manifest, files, key = _briefcase(vectors, "encrypted-form")
    out = odk.decrypt_submission(manifest, files, key)
    check = checks["briefcase-encrypted-form"]
    assert out.xml == (vectors / check["expected_plaintext_xml"]).read_bytes()
    assert out.instance_id == check["instanceID"]
    assert out.version is None and out.media == {}


def test_briefcase_media_vector_key_ivs_xml_and_signature(vectors, checks):
    """The media vector's JPEGs are not copied: check each step with the published MD5s."""
    manifest_xml, files, key = _briefcase(vectors, "encrypted-form-media")
    check = checks["briefcase-encrypted-form-media"]
    m = odk.read_manifest(manifest_xml)
    assert [*m.media, m.xml_file] == check["files_in_encryption_order"]
    aes = odk.rsa_unwrap(key, m.encrypted_key)
    assert aes.hex() == check["aes_key_hex"]
    seed = odk.iv_seed(m.instance_id, aes)
    for i, name in enumerate(check["files_in_encryption_order"]):
        assert odk.file_iv(seed, i).hex() == check["iv_hex_by_file"][name]
    xml = odk.aes_decrypt(aes, odk.file_iv(seed, 2), files["submission.xml.enc"])
    assert xml == (vectors / check["expected_plaintext_xml"]).read_bytes()
    md5s = check["plaintext_md5_by_file"]
    assert md5s["submission.xml"] == hashlib.md5(xml).hexdigest()
    text = odk.signature_text(m.form_id, m.version, m.encrypted_key, m.instance_id, md5s)
    assert text == check["signature_source_text"]
    assert odk.rsa_unwrap(key, m.signature) == hashlib.md5(text.encode()).digest()


def test_media_vector_without_its_jpegs_is_incomplete_not_lost(vectors):
    manifest, files, key = _briefcase(vectors, "encrypted-form-media")
    with pytest.raises(DecryptionError) as err:
        odk.decrypt_submission(manifest, files, key)
    assert err.value.code == odk.MISSING_FILE
    assert "1538040007350.jpg.enc" in err.value.message


def test_wrong_iv_index_is_caught_although_padding_is_valid(vectors):
    """CFB with the wrong IV garbles only the first block (pitfall 3): the XML check catches it."""
    manifest, files, key = _briefcase(vectors, "encrypted-form-media")
    m = dataclasses.replace(odk.read_manifest(manifest), media=())  # XML would be file 0, not 2
    with pytest.raises(DecryptionError) as err:
        odk.decrypt_manifest(m, files, key)
    assert err.value.code == odk.TAMPERED


def test_reencryption_with_the_vector_key_is_byte_identical(vectors, checks):
    manifest, files, key = _briefcase(vectors, "encrypted-form")
    check = checks["briefcase-encrypted-form"]
    xml = (vectors / check["expected_plaintext_xml"]).read_bytes()
    _, out = odk.encrypt_files(xml, key.public_key(), check["instanceID"], "encrypted-form", None,
                               key=bytes.fromhex(check["aes_key_hex"]))
    assert out == files


def test_central_collect_1_22_4_vectors(vectors):
    v = json.loads((vectors / "central/collect-1.22.4-vectors.json").read_text())
    key = load_pem(vectors / "central/priv.pem")
    kr = v["key_retrieval"]
    assert odk.rsa_unwrap(key, kr["base64EncryptedKey"]) == base64.b64decode(kr["aes_key_base64"])
    ivg = v["iv_generation"]
    seed = odk.iv_seed(ivg["instanceID"], base64.b64decode(ivg["aes_key_base64"]))
    for index, iv in ivg["ivs_hex_by_file_index"].items():
        assert odk.file_iv(seed, int(index)).hex() == iv
    e2e = v["end_to_end"]
    m = odk.read_manifest((vectors / "central/manifest-two.xml").read_bytes())
    assert (m.form_id, m.version, m.instance_id) == ("encrypted", "working3", e2e["instanceID"])
    aes = odk.rsa_unwrap(key, m.encrypted_key)
    iv = odk.file_iv(odk.iv_seed(m.instance_id, aes), e2e["file_index_of_submission_xml"])
    xml = odk.aes_decrypt(aes, iv, base64.b64decode(e2e["submission_xml_enc_base64"]))
    assert xml.decode() == e2e["plaintext"]
    assert len(odk.rsa_unwrap(key, m.signature)) == 16  # the JPEG is unpublished: MD5 only


def test_central_vector_with_the_briefcase_key_is_wrong_key(vectors):
    v = json.loads((vectors / "central/collect-1.22.4-vectors.json").read_text())
    manifest = (vectors / "central/manifest-two.xml").read_bytes()
    files = {"1561432532482.jpg.enc": b"\0" * 16,
             "submission.xml.enc": base64.b64decode(v["end_to_end"]["submission_xml_enc_base64"])}
    with pytest.raises(DecryptionError) as err:
        odk.decrypt_submission(manifest, files, load_pem(vectors / "briefcase/encrypted-form-key.pem"))
    assert err.value.code == odk.WRONG_KEY


def test_kobocat_koboCollect_manifest_layout_and_kobo_json_keys(vectors):
    raw = (vectors / "kobocat/submission.xml").read_bytes()
    m = odk.read_manifest(raw)
    assert odk.collect_manifest(m) == raw.rstrip(b"\n")  # Collect writes no trailing newline
    flat = flatten_xml(raw)
    assert flat["orx:meta/orx:instanceID"] == "uuid:c15252fe-b6f3-4853-8f04-bf89dc73985a"
    assert set(flat) == {"base64EncryptedKey", "orx:meta/orx:instanceID", "encryptedXmlFile",
                         "base64EncryptedElementSignature"}


def test_manifest_media_shapes_in_kobo_json(vectors):
    one = flatten_xml((vectors / "central/manifest-two.xml").read_bytes())
    assert one["media/file"] == "1561432532482.jpg.enc"
    two = flatten_xml((vectors / "briefcase/encrypted-form-media-submission.xml").read_bytes())
    assert two["media"] == [{"media/file": "1538040007350.jpg.enc"},
                            {"media/file": "1538040019351.jpg.enc"}]
    assert two["n0:meta/n0:instanceID"] == "uuid:482e83f3-fae6-43ba-a6e9-e438ffe348e3"
