"""Helpers shared by the resilience tests: the size knob, a configured warehouse, a sync in
this process (Prefect flow) or in a child process (``suara sync``), and exact comparisons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from suara.forms import load_form_versions, load_forms
from tests.e2e.test_sync import _state as state  # noqa: F401 - re-exported for the suite
from warehouse import Warehouse

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Scale:
    submissions: int  # per form in the sandbox
    page_size: int  # small pages: more requests to fail, more transactions to interrupt
    kill_points: int  # SIGKILL points in the crash test
    fuzz: int  # malformed submissions injected
    timeout: int  # seconds per test (pytest-timeout): 20 kills and re-runs outlast the default


SCALES = {"ci": Scale(submissions=60, page_size=20, kill_points=3, fuzz=10_000, timeout=600),
          "full": Scale(submissions=600, page_size=100, kill_points=20, fuzz=10_000, timeout=3600)}


# Read at import (collection), before tests/conftest.py clears SUARA_* from each test's environment.
_SCALE = os.environ.get("SUARA_RESILIENCE_SCALE", "ci")


def scale() -> Scale:
    name = _SCALE
    if name not in SCALES:
        raise ValueError(f"SUARA_RESILIENCE_SCALE={name!r}: use one of {', '.join(SCALES)}")
    return SCALES[name]


def configure(monkeypatch, sandbox, root: Path, forms_dir: Path, keys: dict[str, str], *,
              token: str | None = None) -> Warehouse:
    """Point the environment at ``sandbox`` and a fresh SQLite warehouse under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root / 'suara.db'}"
    env = {"KOBO_URL": sandbox.url, "KOBO_TOKEN": token or sandbox.token, "WAREHOUSE_URL": url,
           "SUARA_DATA_DIR": str(root), "SUARA_PAGE_SIZE": str(scale().page_size),
           "SUARA_FORM_PRIVATE_KEY": str(forms_dir / "keys" / "DEMO_ONLY_private.pem"), **keys}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    wh = Warehouse(url)
    wh.upgrade({f.form_id: load_form_versions(f.form_id, forms_dir) for f in load_forms(forms_dir)})
    return wh


def sync_here(reconcile: bool = True) -> dict:
    """The sync flow in this process; every form's counts must balance."""
    from flows.sync_form import sync_all_forms

    record = sync_all_forms(reconcile=reconcile)
    assert_balanced(record)
    return record


def assert_balanced(record: dict) -> None:
    for form_id, c in record["forms"].items():
        assert c["pulled"] == c["loaded"] + c["quarantined"] + c["withheld"], (form_id, c)


SYNC = [sys.executable, "-m", "suara", "sync", "--json", "--reconcile", "yes"]


def child_env() -> dict[str, str]:
    """This process's environment plus the Prefect test server's URL, for ``suara sync``."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONUNBUFFERED": "1"}


def sync_child(timeout: float = 300) -> dict:
    """``suara sync`` in a child process, to completion; returns the run record."""
    out = subprocess.run(SYNC, cwd=REPO, env=child_env(), capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
