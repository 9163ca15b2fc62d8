"""The KoboToolbox-made vectors of jnm/odk-submission-decryptor (commit 27ebad9): Enketo on
KoboToolbox with two signature PNGs (2022) and KoboCollect on KoboToolbox (2016).

That repository states no licence, so its files are not copied here: set
SUARA_TEST_JNM_VECTORS to a checkout of it to run these tests (skipped otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from suara.crypto import odk
from suara.crypto.pull import decrypt_record
from suara.crypto.xml_to_json import flatten_xml
from suara.forms import form_from_markdown

from .conftest import load_pem

ENV = "SUARA_TEST_JNM_VECTORS"
_ROOT = os.environ.get(ENV)  # read at import: the autouse fixture clears SUARA_* per test


@pytest.fixture(scope="module")
def jnm() -> Path:
    if not _ROOT or not (Path(_ROOT) / "test-attachments-2022").is_dir():
        pytest.skip(f"{ENV} does not point to a checkout of jnm/odk-submission-decryptor")
    return Path(_ROOT)


def test_enketo_on_kobotoolbox_with_two_pngs(jnm):
    d = jnm / "test-attachments-2022"
    manifest = (d / "submission.xml").read_bytes()
    files = {p.name: p.read_bytes() for p in d.glob("*.enc")}
    out = odk.decrypt_submission(manifest, files, load_pem(d / "MyPrivateKey.pem"))
    assert (out.form_id, out.version) == ("aZ4JbULPY6UwPPyT38fWEi", "2 (2022-02-08 06:08:18)")
    assert set(out.media) == {"signature-1_8_45.png", "signature-1_8_48.png"}
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")
               for png in out.media.values())  # intact: the header block needs the right IV
    # Enketo's manifest layout, byte for byte (Kobo's ?format=xml adds the declaration)
    assert odk.enketo_manifest(odk.read_manifest(manifest)) == manifest.split(b"?>", 1)[1].strip()


def test_enketo_vector_through_the_kobo_json_path(jnm):
    """The API JSON drops the manifest's version: it must come from the decrypted XML, spaces
    and parentheses included (pitfall 9)."""
    d = jnm / "test-attachments-2022"
    record = {"_id": 1, **flatten_xml((d / "submission.xml").read_bytes()),
              "_xform_id_string": "aZ4JbULPY6UwPPyT38fWEi",
              "_uuid": "8fd94989-29b8-4577-be41-165280cbd976",
              "_attachments": [{"download_url": p.name, "media_file_basename": p.name}
                               for p in d.glob("*.enc")]}
    assert "meta/instanceID" in record and "media" in record
    form = form_from_markdown("| survey | | | |\n| | type | name | label |\n| | text | x | X |\n"
                              "| settings | |\n| | form_id |\n| | aZ4JbULPY6UwPPyT38fWEi |\n")
    out = decrypt_record(form, record, lambda name: (d / name).read_bytes(),
                         load_pem(d / "MyPrivateKey.pem"))
    assert out["formhub/uuid"] == "fa9a7633c1cd455b83b1204e09982016"
    assert out["meta/instanceID"] == "uuid:8fd94989-29b8-4577-be41-165280cbd976"


def test_kobocollect_2016_downloads(jnm):
    d = jnm / "example-2016" / "instances-downloaded-by-briefcase"
    key = load_pem(jnm / "example-2016" / "MyPrivateKey.pem")
    good = [p for p in sorted(d.iterdir()) if p.name.startswith("uuid")]
    assert len(good) == 4
    for folder in good:  # manifests with a duplicated xmlns, as Kobo's Briefcase served them
        out = odk.decrypt_submission((folder / "submission.xml").read_bytes(),
                                     {"submission.xml.enc": (folder / "submission.xml.enc").read_bytes()},
                                     key)
        assert out.form_id == "enc_seq" and out.xml.startswith(b"<?xml version='1.0' ?><form2")
    bad = d / "mismatched_xml_and_xml-dot-enc"
    with pytest.raises(odk.DecryptionError) as err:
        odk.decrypt_submission((bad / "submission.xml").read_bytes(),
                               {"submission.xml.enc": (bad / "submission.xml.enc").read_bytes()}, key)
    assert err.value.code == odk.TAMPERED
