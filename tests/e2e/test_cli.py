"""The command line as scripts use it: ``suara sync --json`` prints one JSON object on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.test_sync import KEY_ENV

pytestmark = [pytest.mark.e2e]


def test_sync_json__stdout_is_the_run_record_only(sandbox, tmp_path, forms_dir):
    """Should print exactly the run record of design.md on stdout (progress and logs on stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOBO_", "SUARA_", "WAREHOUSE_"))}
    env.update(KEY_ENV)
    env.update({
        "KOBO_URL": sandbox.url, "KOBO_TOKEN": sandbox.token,
        "WAREHOUSE_URL": f"sqlite:///{tmp_path / 'suara.db'}", "SUARA_DATA_DIR": str(tmp_path),
        "SUARA_FORM_PRIVATE_KEY": str(forms_dir / "keys" / "DEMO_ONLY_private.pem"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
    })
    upgrade = subprocess.run([sys.executable, "-m", "suara", "warehouse", "upgrade"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr
    run = subprocess.run([sys.executable, "-m", "suara", "sync", "--json"], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads(run.stdout)
    assert set(record) == {"run_id", "forms"}
    assert set(record["forms"]) == {"ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"}
    for counts in record["forms"].values():
        assert set(counts) == {"pulled", "loaded", "updated", "deleted", "quarantined", "withheld"}
        assert counts["pulled"] == counts["loaded"] + counts["quarantined"] + counts["withheld"]
    assert sandbox.token not in run.stderr and KEY_ENV["SUARA_PSEUDONYM_KEY"] not in run.stderr
