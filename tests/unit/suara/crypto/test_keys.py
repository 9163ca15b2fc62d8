"""Form keys: the public key in the form parses as Collect reads it; the private key loads with
clear configuration errors naming the form, before any data moves."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization

from suara.crypto.keys import (
    form_public_key,
    generate_keypair,
    load_private_key,
    load_private_key_for,
    parse_public_key,
    public_key_b64,
)
from suara.errors import ConfigurationError, FormDefinitionError
from suara.settings import load_settings

from .conftest import REPO

DEMO_PRIVATE = REPO / "forms" / "keys" / "DEMO_ONLY_private.pem"


def test_generated_public_key_is_what_collect_expects():
    pem, public = generate_keypair()
    assert len(public) == 392 and "\n" not in public and "-" not in public
    key = serialization.load_pem_private_key(pem, None)
    assert key.key_size == 2048
    assert parse_public_key(public, form_id="f").public_numbers() == key.public_key().public_numbers()


def test_harassment_form_carries_the_demo_public_key(harassment_form):
    demo = serialization.load_pem_private_key(DEMO_PRIVATE.read_bytes(), None)
    assert form_public_key(harassment_form).public_numbers() == demo.public_key().public_numbers()


def _pkcs1_body(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return base64.b64encode(der).decode()


@pytest.mark.parametrize("kind", ["pem", "pkcs1", "private", "garbage", "small"])
def test_bad_public_keys_are_named_form_errors(private_key, kind):
    from cryptography.hazmat.primitives.asymmetric import rsa

    if kind == "pem":
        value = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    elif kind == "pkcs1":
        value = _pkcs1_body(private_key)
    elif kind == "private":
        value = base64.b64encode(private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())).decode()
    elif kind == "garbage":
        value = "not base64 at all!"
    else:
        value = public_key_b64(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key())
    with pytest.raises(FormDefinitionError) as err:
        parse_public_key(value, form_id="ilo_vh_reporting")
    assert "ilo_vh_reporting" in err.value.message
    assert err.value.code == {"private": "FORM_KEY_PRIVATE", "small": "FORM_KEY_SIZE"}.get(kind, "FORM_KEY_FORMAT")


def test_demo_private_key_loads_for_the_harassment_form(harassment_form, monkeypatch):
    monkeypatch.setenv("SUARA_FORM_PRIVATE_KEY", str(DEMO_PRIVATE))
    key = load_private_key(load_settings(), harassment_form)
    assert key.key_size == 2048


def _error(form, **env):
    with pytest.raises(ConfigurationError) as err:
        load_private_key(load_settings(**env), form)
    assert "ilo_vh_reporting" in err.value.message and err.value.exit_status == 2
    return err.value


def test_missing_variable(harassment_form):
    err = _error(harassment_form)
    assert err.code == "CONF_KEY_UNSET" and "SUARA_FORM_PRIVATE_KEY" in err.message


def test_missing_file(harassment_form, tmp_path):
    assert _error(harassment_form, suara_form_private_key=tmp_path / "nope.pem").code == "CONF_KEY_FILE"


def test_unreadable_pem(harassment_form, tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert _error(harassment_form, suara_form_private_key=bad).code == "CONF_KEY_PEM"


def test_key_of_another_pair(harassment_form, tmp_path):
    pem, _ = generate_keypair()
    other = tmp_path / "other.pem"
    other.write_bytes(pem)
    err = _error(harassment_form, suara_form_private_key=other)
    assert err.code == "CONF_KEY_MISMATCH"
    assert "BEGIN" not in str(err)  # never echoes key material


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission(harassment_form, tmp_path):
    pem, _ = generate_keypair()
    locked = tmp_path / "locked.pem"
    locked.write_bytes(pem)
    locked.chmod(0)
    try:
        assert _error(harassment_form, suara_form_private_key=locked).code == "CONF_KEY_FILE"
    finally:
        locked.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_key_rotation_folder_decrypts_old_and_new_submissions(harassment_form, tmp_path):
    """After a rotation SUARA_FORM_PRIVATE_KEY is a folder: the form's current key must be in
    it, and reports encrypted for an earlier key pair still decrypt."""
    from suara import synth
    from suara.crypto.pull import decrypt_record
    from suara.sandbox.encrypted import odk_encryptor

    old_pem, old_public = generate_keypair()
    (tmp_path / "2026-05-old.pem").write_bytes(old_pem)
    (tmp_path / "2026-11-demo.pem").write_bytes(DEMO_PRIVATE.read_bytes())
    keys = load_private_key_for(harassment_form, load_settings(suara_form_private_key=tmp_path))
    assert form_public_key(harassment_form).public_numbers() == keys[0].public_key().public_numbers()
    assert len(keys) == 2
    sub = synth.generate(harassment_form, 1, seed=2)[0]
    for encrypt in (odk_encryptor(parse_public_key(old_public, form_id="x")), odk_encryptor()):
        record, files, _ = encrypt(harassment_form, sub)
        by_url = {a["download_url"]: files[a["media_file_basename"]] for a in record["_attachments"]}
        assert decrypt_record(harassment_form, record, by_url.__getitem__, keys)["grp_setup/enum_code"] \
            == sub["grp_setup/enum_code"]


def test_rotation_folder_without_the_current_key(harassment_form, tmp_path):
    assert _error(harassment_form, suara_form_private_key=tmp_path).code == "CONF_KEY_FILE"  # empty
    (tmp_path / "old.pem").write_bytes(generate_keypair()[0])
    assert _error(harassment_form, suara_form_private_key=tmp_path).code == "CONF_KEY_MISMATCH"
