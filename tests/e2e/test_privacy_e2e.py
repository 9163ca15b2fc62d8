"""End to end: identifiers planted in every text field of every form never reach analysts.

Submissions are generated from the real forms in Kobo's JSON shape; every text-valued field
(questions, calculates, metadata), Kobo's own system keys (``_submitted_by``, ``deviceid``,
``_geolocation``, attachment URLs, notes, tags) and a key the form does not know all carry
identifiers. The batch then goes through the sync's stages as the flow runs them
(``flows.pipeline.process_batch``: normalise → validate → anonymise → load into a real
SQLite warehouse) and the reporting zone is refreshed. Every cell of ``analytics`` and
``reporting`` is then searched for the planted values and scanned for identifier shapes.
The last test runs the same planting through the Prefect flow ``sync_all_forms`` over the
local Kobo-compatible server, harassment reports encrypted (about a minute).
"""

from __future__ import annotations

import dataclasses
import random
import re

import pytest

from flows.pipeline import FormContext, process_batch
from suara.cast import field_kind
from suara.forms import load_forms
from suara.privacy import PrivacyKeys, residual_identifiers
from suara.synth import generate, version_uid
from warehouse import Warehouse

pytestmark = pytest.mark.integration

KEY = b"e2e-pseudonym-key-0123456789abcdef"


def planted_for(rng: random.Random, i: int) -> tuple[str, list[str]]:
    """A text with a NIK, a phone, an e-mail, a BPJS number and an honorific name; and the
    raw values that must not survive."""
    nik = f"3204{rng.randrange(10**11, 10**12)}"
    phone = f"0812{rng.randrange(10**7, 10**8)}"
    bpjs = f"000{rng.randrange(10**9, 10**10)}"
    user = f"korban{i}x{rng.randrange(100, 999)}"
    name = rng.choice(["Sulastriani", "Wahyuningsih", "Kusmawati", "Purwaningrum"])
    text = (f"NIK {nik[:6]} {nik[6:12]} {nik[12:]}, hp +62 {phone[1:4]}-{phone[4:8]}-{phone[8:]}, "
            f"{user}@gmail.com, BPJS {bpjs}, Bu {name} tahu")
    return text, [nik, phone[1:], bpjs, user, name]


def plant(form, submissions, seed=5):
    """Put identifiers into text-valued keys of every submission; return the secrets.

    Even submissions get them in *every* text field (a constrained code such as
    ``enum_code`` then sends the submission to quarantine); odd ones only where validation
    accepts text (no constraint, field relevant), so that planted text is also loaded.
    """
    rng = random.Random(seed)
    text_fields = [f for f in form.fields if f.has_value and field_kind(form, f) == "text"]
    secrets: list[str] = []
    for i, sub in enumerate(submissions):
        for f in text_fields:
            targets = [sub] if f.repeat is None else sub.get(f.repeat, [])
            for target in targets:
                if i % 2 and (f.constraint or (f.relevant and f.path not in target)):
                    continue
                text, raw = planted_for(rng, i)
                secrets += raw
                target[f.path] = text
        text, raw = planted_for(rng, i)
        secrets += raw + ["budi.santoso.enum", "356938035643809", "photo_budi_0812"]
        sub.update({
            "_submitted_by": "budi.santoso.enum",
            "deviceid": "imei:356938035643809",
            "_geolocation": [-6.9175, 107.6191],
            "_attachments": [{"download_url": "https://kf.example.org/media/photo_budi_0812.jpg",
                              "filename": "budi/attachments/photo_budi_0812.jpg"}],
            "_notes": [text],
            "_tags": [text],
            "grp_new/unplanned_question": text,  # a key the form does not know
        })
    return secrets


# Timestamps (lineage columns) and decimals are numbers, not identifiers: the scan is for text.
NOT_TEXT = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}([ T][\d:.+-]+)?|-?\d+(\.\d+)?(e-?\d+)?)\s*$")


def cells(dump: dict) -> list[str]:
    return [str(v) for rows in dump.values() for row in rows for v in row.values() if v is not None]


def text_cells(values: list[str]) -> list[str]:
    return [v for v in values if not NOT_TEXT.match(v)]


@pytest.mark.parametrize("form", load_forms(), ids=lambda f: f.form_id)
def test_planted_identifiers_reach_neither_analytics_nor_reporting(form, tmp_path):
    # Submissions are planted in clear; decryption has its own tests (tests/*/crypto).
    form = dataclasses.replace(form, settings={k: v for k, v in form.settings.items() if k != "public_key"})
    submissions = generate(form, 60, seed=3)
    secrets = plant(form, submissions)
    vid = version_uid(form)
    warehouse = Warehouse(f"sqlite:///{tmp_path}/suara.db", restricted_key="e2e-restricted-key-0123456789")
    warehouse.upgrade({form.form_id: {form.version: form}})
    ctx = FormContext(form=form, versions={form.version: form}, asset_uid="aE2E", asset_how="test",
                      version_map={vid: form.version}, privacy_keys=PrivacyKeys(KEY, "1"))
    run_id = "e2e-privacy"
    warehouse.begin_run(run_id, form.form_id)
    counts = process_batch(ctx, warehouse, run_id, submissions, watermark=max(s["_id"] for s in submissions))
    warehouse.refresh_reporting(form)

    assert counts.pulled == 60
    assert counts.loaded > 0, "nothing loaded: the test would prove nothing"
    shown = cells(warehouse.dump("analytics")) + cells(warehouse.dump("reporting"))
    assert shown, "analytics and reporting are empty"
    joined = "\n".join(shown)
    leaked = sorted({s for s in secrets if s in joined})
    assert leaked == [], f"{len(leaked)} planted values reached analysts"
    # G2: no identifier-shaped text anywhere analysts can read.
    texts = text_cells(shown)
    assert residual_identifiers(texts) == {}, residual_identifiers(texts)
    assert counts.quarantined < counts.pulled
    audit = warehouse.privacy_audit_summary(form.form_id, run_id=run_id)
    # Where the form has text that is released, the planted text was loaded and scrubbed
    # (not merely quarantined or dropped); the unknown key was reported.
    if audit["scrubbed"]:
        assert sum(audit["scrub_hits"].values()) > 0, audit["scrub_hits"]
    assert "grp_new/unplanned_question" in audit["unknown_keys"]
    warehouse.close()


@pytest.mark.e2e
def test_sync_flow_over_the_sandbox_keeps_planted_identifiers_from_analysts(prefect_backend, tmp_path, monkeypatch):
    """The same planting, through the real Prefect flow: HTTP pull from the local Kobo-compatible
    server (harassment reports encrypted as on the phone), decrypt, and every later stage."""
    from flows.sync_form import sync_all_forms
    from suara.forms.locate import default_forms_dir
    from suara.sandbox import Sandbox
    from suara.sandbox.encrypted import odk_encryptor
    from suara.settings import load_settings

    forms = load_forms()
    url = f"sqlite:///{tmp_path}/suara.db"
    secrets: list[str] = []
    with Sandbox(forms, submissions=0, encryptor=odk_encryptor()) as sandbox:
        for form in forms:
            submissions = generate(form, 40, seed=9)
            secrets += plant(form, submissions, seed=11)
            for s in submissions:
                s.pop("__version__", None)  # the sandbox stamps its own deployed version
            sandbox.add(form.form_id, submissions)
        for key, value in {
            "KOBO_URL": sandbox.url, "KOBO_TOKEN": sandbox.token, "WAREHOUSE_URL": url,
            "SUARA_PSEUDONYM_KEY": KEY.decode(), "SUARA_RESTRICTED_KEY": "e2e-restricted-key-0123456789",
            "SUARA_FORM_PRIVATE_KEY": str(default_forms_dir() / "keys" / "DEMO_ONLY_private.pem"),
        }.items():
            monkeypatch.setenv(key, value)
        warehouse = Warehouse.from_settings(load_settings())
        warehouse.upgrade({f.form_id: {f.version: f} for f in forms})
        record = sync_all_forms(reconcile=True)

    assert all(s == "completed" for s in record["status"].values()), record
    assert all(c["loaded"] > 0 for c in record["forms"].values()), record
    shown = cells(warehouse.dump("analytics")) + cells(warehouse.dump("reporting"))
    joined = "\n".join(shown)
    leaked = sorted({s for s in secrets if s in joined})
    assert leaked == [], f"{len(leaked)} planted values reached analysts"
    texts = text_cells(shown)
    assert residual_identifiers(texts) == {}, residual_identifiers(texts)
    warehouse.close()
