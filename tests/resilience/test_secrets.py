"""Secrets: after a sync through faults, malformed data, a SIGKILL and a run with a wrong token,
the Kobo token, the pseudonym and restricted keys and the form's private key appear in no log
line (this process's, Prefect's, the child processes'), no Prefect artifact, no error message,
no file the runs wrote and no table of any zone."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.resilience.fuzz import malformed
from tests.resilience.harness import REPO, SYNC, child_env, configure, scale, sync_here

pytestmark = [pytest.mark.resilience, pytest.mark.e2e, pytest.mark.timeout(scale().timeout)]

TOKEN = "5ec7e7" + "0b5e55ed" * 4 + "c0ffee"  # 40 hex characters, like a DRF token
WRONG_TOKEN = "badc0de" + "5ca1ab1e" * 4 + "f00"
KEYS = {"SUARA_PSEUDONYM_KEY": "pseudonym-key-that-must-never-leak-7f3a9c",
        "SUARA_RESTRICTED_KEY": "restricted-key-that-must-never-leak-2b8d41"}


def _private_key_lines(forms_dir: Path) -> list[str]:
    pem = (forms_dir / "keys" / "DEMO_ONLY_private.pem").read_text().splitlines()
    return [line for line in pem if line and not line.startswith("-----")][:5]


def _prefect_text() -> str:
    """Every log line and artifact the Prefect server holds for these runs."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        logs = client.read_logs(limit=200)
        offset, more = 200, logs
        while more:
            more = client.read_logs(limit=200, offset=offset)
            logs += more
            offset += 200
        artifacts = client.read_artifacts(limit=200)
    return "\n".join([*(log.message for log in logs), *(repr(a.data) + str(a.description) for a in artifacts)])


def _files_text(root: Path) -> str:
    """Every file under ``root`` (SQLite databases included) decoded as text, bytes kept."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file())


@pytest.fixture()
def secret_sandbox(forms):
    from suara.sandbox import Sandbox
    from suara.sandbox.encrypted import odk_encryptor

    with Sandbox(forms, submissions=40, seed=31, edge_share=0.1, token=TOKEN, encryptor=odk_encryptor()) as sb:
        yield sb


def test_secrets__after_faults_fuzz_crash_and_bad_token__no_secret_anywhere(
        prefect_backend, monkeypatch, tmp_path, secret_sandbox, forms, forms_dir, caplog, capfd):
    """Should keep every secret out of logs, artifacts, errors, files and tables."""
    import logging

    caplog.set_level(logging.DEBUG)
    sandbox = secret_sandbox
    secrets = [TOKEN, WRONG_TOKEN, *KEYS.values(), *_private_key_lines(forms_dir)]
    wh = configure(monkeypatch, sandbox, tmp_path / "run", forms_dir, KEYS)
    base = next(f for f in forms if f.form_id == "ilo_rights_baseline")
    sandbox.add(base.form_id, [sub for _, sub in malformed(base, 300, seed=9)])

    sandbox.faults(rate=0.2, seed=11, retry_after=0, slow_seconds=0.1)
    try:
        sync_here()
    finally:
        sandbox.clear_faults()
    sandbox.add(base.form_id, 200)
    child = subprocess.Popen(SYNC, cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    time.sleep(6)
    child.send_signal(signal.SIGKILL)
    child_out = "".join(child.communicate(timeout=60))
    completed = subprocess.run(SYNC, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]

    monkeypatch.setenv("KOBO_TOKEN", WRONG_TOKEN)
    refused = sync_here()
    assert set(refused["status"].values()) != {"completed"}, refused
    refused_child = subprocess.run(SYNC, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=300)
    assert refused_child.returncode != 0

    captured = capfd.readouterr()
    places = {
        "log records": caplog.text + "\n".join(str(r.args) + str(r.exc_text) for r in caplog.records),
        "this process's stdout/stderr": captured.out + captured.err,
        "child processes' output": child_out + completed.stdout + completed.stderr
        + refused_child.stdout + refused_child.stderr,
        "error messages": repr(refused.get("errors")),
        "Prefect logs and artifacts": _prefect_text(),
        "files and tables": _files_text(tmp_path),
    }
    assert refused.get("errors"), refused  # the refusal was reported, so its message was checked
    assert wh.dump("restricted")["manifest"], "the runs loaded data"
    leaks = {(name, s[:10]) for name, text in places.items() for s in secrets if s in text}
    assert not leaks, leaks
