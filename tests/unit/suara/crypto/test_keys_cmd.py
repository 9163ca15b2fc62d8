"""``suara keys new`` and the encryption findings of ``suara forms check``."""

from __future__ import annotations

import dataclasses
import stat

from suara.cli import main
from suara.crypto.form_rules import encryption_findings
from suara.crypto.keys import load_private_key, parse_public_key
from suara.settings import load_settings


def test_keys_new_writes_an_owner_only_private_key_and_prints_the_form_line(tmp_path, capsys,
                                                                           harassment_form):
    assert main(["keys", "new", "--out", str(tmp_path / "k"), "--name", "jakarta"]) == 0
    out = capsys.readouterr().out
    private = tmp_path / "k" / "jakarta_private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in out and private.read_text().split("\n")[1] not in out
    line = next(x for x in out.splitlines() if x.startswith("public_key="))
    value = line.removeprefix("public_key=")
    parse_public_key(value, form_id="x")
    assert "two offline copies" in out.replace("\n  ", " ")
    # the pair works end to end: a form carrying the printed key accepts the written private key
    form = dataclasses.replace(harassment_form, settings={**harassment_form.settings, "public_key": value})
    assert load_private_key(load_settings(suara_form_private_key=private), form).key_size == 2048


def test_keys_new_refuses_to_overwrite(tmp_path, capsys):
    assert main(["keys", "new", "--out", str(tmp_path), "--name", "a"]) == 0
    before = (tmp_path / "a_private.pem").read_bytes()
    assert main(["keys", "new", "--out", str(tmp_path), "--name", "a"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (tmp_path / "a_private.pem").read_bytes() == before


def test_demo_key_is_flagged_and_a_broken_key_is_an_error(harassment_form):
    codes = [f.code for f in encryption_findings(harassment_form)]
    assert codes == ["FORM_KEY_DEMO"]
    pem_pasted = dataclasses.replace(harassment_form, settings={
        **harassment_form.settings,
        "public_key": "-----BEGIN PUBLIC KEY-----" + harassment_form.settings["public_key"]})
    [finding] = encryption_findings(pem_pasted)
    assert (finding.severity, finding.code) == ("error", "FORM_KEY_FORMAT")


def test_missing_submission_url_and_auto_delete_are_warned(harassment_form):
    settings = {k: v for k, v in harassment_form.settings.items()
                if k not in ("submission_url", "auto_delete")}
    codes = {f.code for f in encryption_findings(dataclasses.replace(harassment_form, settings=settings))}
    assert {"FORM_KEY_URL", "FORM_KEY_AUTODELETE"} <= codes


def test_plaintext_forms_have_no_encryption_findings(org_form):
    plain = dataclasses.replace(org_form, settings={
        k: v for k, v in org_form.settings.items() if k != "public_key"})
    assert encryption_findings(plain) == []
