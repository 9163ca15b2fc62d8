"""`suara demo` as a newcomer runs it: no account, no configuration, one command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e]


def test_demo__no_configuration__syncs_three_forms_and_says_where_everything_is(tmp_path):
    """Should start the sandbox, sync all three forms through Prefect, build the report and
    Data Docs, and print where they are; exit 0."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KOBO_", "SUARA_", "WAREHOUSE_", "PREFECT_API_URL"))}
    run = subprocess.run([sys.executable, "-m", "suara", "demo", "--submissions", "40", "--data-dir",
                          str(tmp_path / "data")], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    out = run.stdout
    for form_id in ("ilo_rights_baseline", "ilo_vh_reporting", "ilo_org_assessment"):
        assert f"   {form_id}" in out and "[completed]" in out
    data = tmp_path / "data"
    for path in ("suara.db", "suara.restricted.db", "suara.reporting.db", "report/index.html",
                 "report/report.id.html", "report/dictionary.html", "datadocs/index.html"):
        assert (data / path).exists(), path
        assert str(data / path.split("/")[0]) in out or path.startswith("report/")
    assert "safe to hand to analysts" in out
    secrets = (data / "demo-secrets.env").read_text()
    assert oct((data / "demo-secrets.env").stat().st_mode & 0o777) == "0o600"
    for line in secrets.splitlines():
        if "=" in line and not line.startswith("#"):
            assert line.split("=", 1)[1] not in out + run.stderr
