"""Encrypt like KoboCollect, decrypt like the pipeline, and break each step on purpose."""

from __future__ import annotations

import base64
import hashlib

import pytest

from suara.crypto import odk
from suara.errors import DecryptionError

SECRET_ANSWER = "Mandor menyentuh saya — “jangan bilang siapa-siapa”"
XML = (
    "<?xml version='1.0' ?><data id=\"ilo_vh_reporting\" version=\"2 (2026-05-04 10:00:00)\">"
    f"<grp><q>{SECRET_ANSWER}</q></grp><meta><instanceID>uuid:abc-1</instanceID></meta></data>"
).encode()
IID = "uuid:abc-1"
FORM = "ilo_vh_reporting"
VERSION = "2 (2026-05-04 10:00:00)"


def _encrypt(key, media=None, layout="collect", xml=XML):
    return odk.encrypt_submission(xml, key.public_key(), IID, FORM, VERSION, media, layout=layout)


def _code(key, manifest, files):
    with pytest.raises(DecryptionError) as err:
        odk.decrypt_submission(manifest, files, key)
    assert SECRET_ANSWER not in str(err.value)
    return err.value.code


@pytest.mark.parametrize("layout", ["collect", "enketo"])
def test_round_trip_with_media_keeps_every_byte(private_key, layout):
    media = {"audit.csv": b"event,node,start,end\nform start,,1,\n", "empty.bin": b"",
             "block.bin": b"x" * 32}
    manifest, files = _encrypt(private_key, media, layout)
    assert set(files) == {"audit.csv.enc", "empty.bin.enc", "block.bin.enc", "submission.xml.enc"}
    assert len(files["empty.bin.enc"]) == 16 and len(files["block.bin.enc"]) == 48  # always padded
    out = odk.decrypt_submission(manifest, files, private_key)
    assert out.xml == XML and out.media == media
    assert (out.form_id, out.version, out.instance_id) == (FORM, VERSION, IID)


def test_more_than_sixteen_files_wrap_the_iv_counter(private_key):
    media = {f"f{i:02}.jpg": bytes([i]) * (i + 1) for i in range(21)}
    manifest, files = _encrypt(private_key, media)
    assert odk.decrypt_submission(manifest, files, private_key).media == media


def test_collect_manifest_layout_is_what_kobocollect_posts(private_key):
    manifest, _ = _encrypt(private_key, {"a.jpg": b"1"})
    text = manifest.decode()
    assert text.startswith(f'<data id="{FORM}" version="{VERSION}" encrypted="yes" '
                           'xmlns="http://www.opendatakit.org/xforms/encrypted">')
    assert "</orx:meta>\n<media><file>a.jpg.enc</file></media>\n<encryptedXmlFile>" in text
    assert not text.endswith("\n")


def test_signature_covers_form_version_key_instance_and_every_file(private_key):
    manifest, files = _encrypt(private_key, {"a.jpg": b"photo"})
    m = odk.read_manifest(manifest)
    text = (f"{FORM}\n{VERSION}\n{m.encrypted_key}\n{IID}\n"
            f"a.jpg::{hashlib.md5(b'photo').hexdigest()}\n"
            f"submission.xml::{hashlib.md5(XML).hexdigest()}\n")
    assert odk.rsa_unwrap(private_key, m.signature) == hashlib.md5(text.encode()).digest()


def test_version_missing_from_manifest_is_taken_from_the_xml(private_key):
    """Kobo's JSON drops the manifest's version attribute (pitfall 9)."""
    manifest, files = _encrypt(private_key)
    stripped = manifest.replace(f' version="{VERSION}"'.encode(), b"")
    assert odk.decrypt_submission(stripped, files, private_key).version == VERSION


def test_wrong_private_key(private_key, other_key):
    manifest, files = _encrypt(private_key)
    assert _code(other_key, manifest, files) == odk.WRONG_KEY


@pytest.mark.parametrize("where", [-1, 0])
def test_tampered_ciphertext(private_key, where):
    manifest, files = _encrypt(private_key)
    enc = bytearray(files["submission.xml.enc"])
    enc[where] ^= 0x5A
    assert _code(private_key, manifest, {"submission.xml.enc": bytes(enc)}) == odk.TAMPERED


def test_swapped_ciphertext_from_another_submission(private_key):
    manifest, _ = _encrypt(private_key)
    _, other = _encrypt(private_key)  # same instance, new AES key: does not decrypt here
    assert _code(private_key, manifest, other) == odk.TAMPERED


def test_content_replaced_under_the_same_key_fails_the_signature(private_key):
    """Whoever holds a submission's AES key can swap in well-formed content: only the element
    signature notices."""
    aes = b"k" * 32
    m, _ = odk.encrypt_files(XML, private_key.public_key(), IID, FORM, VERSION, key=aes)
    altered = XML.replace(b"Mandor", b"Teman ")
    _, files = odk.encrypt_files(altered, private_key.public_key(), IID, FORM, VERSION, key=aes)
    assert _code(private_key, odk.collect_manifest(m), files) == odk.BAD_SIGNATURE


def test_forged_or_damaged_signature(private_key):
    manifest, files = _encrypt(private_key)
    m = odk.read_manifest(manifest)
    forged = odk.rsa_wrap(private_key.public_key(), hashlib.md5(b"something else").digest())
    for sig in (forged, base64.b64encode(b"\1" * 256).decode()):
        bad = manifest.replace(m.signature.encode(), sig.encode())
        assert _code(private_key, bad, files) == odk.BAD_SIGNATURE


def test_manifest_altered_after_signing(private_key):
    manifest, files = _encrypt(private_key)
    bad = manifest.replace(VERSION.encode(), b"3 (2026-06-01 00:00:00)")
    assert _code(private_key, bad, files) == odk.BAD_SIGNATURE


@pytest.mark.parametrize("manifest", [b"<data", b"<data id='x'><base64EncryptedKey>k</base64EncryptedKey></data>"])
def test_malformed_manifest(private_key, manifest):
    assert _code(private_key, manifest, {}) == odk.MALFORMED


def test_instance_id_in_xml_must_match_manifest(private_key):
    xml = XML.replace(b"uuid:abc-1", b"uuid:other")
    manifest, files = _encrypt(private_key, xml=xml)  # manifest says abc-1, XML says other
    assert _code(private_key, manifest, files) == odk.TAMPERED


def test_manifest_with_a_repeated_root_xmlns_still_reads(private_key):
    """Kobo's 2016 Briefcase downloads repeat xmlns on the root (not well-formed XML)."""
    manifest, files = _encrypt(private_key)
    doubled = manifest.replace(b' xmlns="', b' xmlns="http://opendatakit.org/submissions" xmlns="', 1)
    assert odk.decrypt_submission(doubled, files, private_key).xml == XML
