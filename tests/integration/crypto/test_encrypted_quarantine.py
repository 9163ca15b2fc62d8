"""Through the pipeline's own steps (no Prefect): a page of encrypted harassment reports from the
sandbox, some damaged on purpose, is decrypted, validated, anonymised and loaded into a SQLite
warehouse; each damaged report ends in quarantine with its reason, none is half-loaded, and the
others load."""

from __future__ import annotations

import pytest

from suara import synth
from suara.crypto import odk
from suara.crypto.keys import generate_keypair, parse_public_key
from suara.forms import load_form
from suara.kobo import KoboClient
from suara.sandbox import Sandbox
from suara.sandbox.encrypted import odk_encryptor
from suara.settings import load_settings
from tests.conftest import FORMS_DIR

pytestmark = pytest.mark.integration

DEMO_PRIVATE = FORMS_DIR / "keys" / "DEMO_ONLY_private.pem"


def damaging_encryptor():
    """The phone's encryptor, except for four reports: one encrypted for another key pair,
    one whose stored ciphertext is damaged, one whose signature is forged, and one whose audit
    log is listed but not stored (the server answers 404)."""
    phone = odk_encryptor()
    _, other_public = generate_keypair()
    stranger = odk_encryptor(parse_public_key(other_public, form_id="test"))
    public = None
    seen: list[str] = []

    def encrypt(form, sub):
        nonlocal public
        seen.append(sub["_uuid"])
        n = len(seen)
        if n == 2:
            return stranger(form, sub)
        record, files, xml = phone(form, sub)
        if n == 3:
            enc = files["submission.xml.enc"]
            files = {**files, "submission.xml.enc": enc[:-16] + bytes(16)}
        if n == 4:
            public = public or parse_public_key(form.settings["public_key"], form_id=form.form_id)
            record = {**record, "base64EncryptedElementSignature": odk.rsa_wrap(public, b"\0" * 16)}
        if n == 5:
            files = {k: v for k, v in files.items() if k != "audit.csv.enc"}
        return record, files, xml

    return encrypt, seen


def test_damaged_reports_are_quarantined_with_their_reason(tmp_path, monkeypatch):
    from flows import pipeline
    from warehouse import Warehouse

    form = load_form(FORMS_DIR / "ilo_vh_reporting.md")
    encryptor, seen = damaging_encryptor()
    subs = synth.generate(form, 12, seed=21)
    for s in subs:
        s.pop("__version__", None)  # the sandbox stamps its deployed version
    with Sandbox([form], submissions=0, encryptor=encryptor) as sandbox:
        sandbox.add(form.form_id, subs)
        for key, value in {
            "KOBO_URL": sandbox.url, "KOBO_TOKEN": sandbox.token,
            "WAREHOUSE_URL": f"sqlite:///{tmp_path}/suara.db",
            "SUARA_PSEUDONYM_KEY": "crypto-it-pseudonym-key-0123456789",
            "SUARA_RESTRICTED_KEY": "crypto-it-restricted-key-0123456789",
            "SUARA_FORM_PRIVATE_KEY": str(DEMO_PRIVATE),
        }.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        wh = Warehouse.from_settings(settings)
        wh.upgrade({form.form_id: {form.version: form}})
        client = KoboClient(settings)
        ctx = pipeline.open_form(settings, client, form)
        ctx.download = client.download
        run_id = pipeline.new_run_id()
        wh.begin_run(run_id, form.form_id)
        records = [r for page in client.iter_pages(ctx.asset_uid) for r in page.results]
        counts = pipeline.process_batch(ctx, wh, run_id, records, watermark=max(r["_id"] for r in records))

    by_uuid = {r["_uuid"]: r["_id"] for r in records}
    reasons = {e._id: [r["code"] for r in e.reasons] for e in wh.quarantine_list(form.form_id)}
    assert reasons[by_uuid[seen[1]]] == [odk.WRONG_KEY]
    assert reasons[by_uuid[seen[2]]] == [odk.TAMPERED]
    assert reasons[by_uuid[seen[3]]] == [odk.BAD_SIGNATURE]
    assert reasons[by_uuid[seen[4]]] == [odk.MISSING_FILE]  # one 404 does not fail the page
    states = {i: e.state for i, e in wh.manifest(form.form_id).items()}
    assert all(states[by_uuid[u]] == "quarantined" for u in seen[1:5])  # never half-loaded
    assert counts.loaded + counts.withheld + counts.quarantined == len(records)
    assert counts.loaded > 0 and states[by_uuid[seen[0]]] in ("loaded", "withheld")
    # the quarantined payload is the encrypted row as Kobo served it: nothing was lost
    entry = wh.quarantine_get(form.form_id, by_uuid[seen[2]])
    assert entry.payload["base64EncryptedKey"] == next(
        r for r in records if r["_uuid"] == seen[2])["base64EncryptedKey"]
    # Releasing an encrypted row hands it back to the sync (which re-decrypts it on refetch)
    # instead of re-validating ciphertext as if it were answers.
    from suara.cli import main

    incomplete = by_uuid[seen[4]]
    assert main(["quarantine", "release", form.form_id, str(incomplete), "--actor", "t"]) == 0
    assert incomplete not in wh.manifest(form.form_id)
    wh.close()
