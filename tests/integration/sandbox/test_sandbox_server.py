"""The sandbox as a server: token auth, fault injection, import/deploy, the CLI contract.

A1 bad credentials get KPI's 401 bodies, no credentials look like a missing project (404);
F1 faults replace responses as KPI/nginx would (429 + Retry-After, HTML 5xx), truncated and
slow bodies break or delay the read; D1 import → deploy → re-import → redeploy round trip;
K1 ``suara sandbox`` prints URL and token first and serves until stopped.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from suara.forms.sheets import read_markdown, write_xlsx
from tests.integration.sandbox.conftest import SANDBOX_FORM

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("header", "detail"), [
    ("Token nope", "Invalid token."),
    ("Token", "Invalid token header. No credentials provided."),
    ("Token a b", "Invalid token header. Token string should not contain spaces."),
    ("Basic dXNlcjpwYXNz", "Invalid username/password."),
])
def test_auth__bad_credentials__401_with_kpi_body(kobo, header, detail):
    """Should refuse bad credentials with 401, KPI's detail and WWW-Authenticate (A1)."""
    r = requests.get(kobo.data_url, headers={"Authorization": header})
    assert (r.status_code, r.json()) == (401, {"detail": detail})
    assert r.headers["WWW-Authenticate"] == "Session"


def test_auth__anonymous__sees_nothing(kobo, sandbox):
    """Should treat no credentials as anonymous: empty list, 404 on the project (A1)."""
    assert requests.get(f"{kobo.base}/api/v2/assets/").json()["count"] == 0
    for url in (kobo.data_url, f"{kobo.base}/api/v2/assets/{sandbox.asset_uid('sandbox_test')}/"):
        r = requests.get(url, headers={"Authorization": "Bearer whatever"})
        assert (r.status_code, r.json()) == (404, {"detail": "Not found."})
    assert kobo.get(f"{kobo.base}/api/v2/assets/").json()["count"] == 1


def test_auth__view_only_token__403_on_data(kobo, sandbox):
    """Should give a token without view_submissions the project but 403 on its data (A1)."""
    sandbox.add_token("f" * 40)
    headers = {"Authorization": "Token " + "f" * 40}
    listing = requests.get(f"{kobo.base}/api/v2/assets/", headers=headers).json()
    assert listing["count"] == 1 and listing["results"][0]["deployment__submission_count"] is None
    r = requests.get(kobo.data_url, headers=headers)
    assert r.status_code == 403
    assert r.json() == {"detail": "You do not have permission to perform this action."}


@pytest.mark.parametrize(("q", "status", "count"), [
    ("asset_type:survey", 200, 1), ("asset_type:block", 200, 0),
    ("asset_type:survey AND _deployment_status:deployed", 200, 1),
    ("name__icontains:SANDBOX", 200, 1), ("colour:red", 400, None), ("ab", 400, None),
])
def test_asset_list__q_filter(kobo, q, status, count):
    """Should filter the project list with KPI's q= terms and refuse unknown fields."""
    r = kobo.get(f"{kobo.base}/api/v2/assets/", params={"q": q})
    assert r.status_code == status
    if count is not None:
        assert r.json()["count"] == count


def test_faults__sequence__each_kind_as_kpi_serves_it(kobo, sandbox):
    """Should replace responses in the scripted order, then serve normally (F1)."""
    plan = sandbox.faults(rate=0.0, sequence=["429", "500", "502", "504", None], retry_after=3)
    r = kobo.get(kobo.data_url)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert r.json()["detail"] == "Request was throttled. Expected available in 3 seconds."
    r = kobo.get(kobo.data_url)  # requests sends Accept: */* → Django's HTML error page
    assert r.status_code == 500 and r.headers["Content-Type"].startswith("text/html")
    r = kobo.get(kobo.data_url)
    assert r.status_code == 502 and b"nginx" in r.content
    assert kobo.get(kobo.data_url, headers={"Accept": "application/json"}).status_code == 504
    assert kobo.get(kobo.data_url).status_code == 200
    assert [k for k, _ in plan.injected] == ["429", "500", "502", "504"]
    assert [r.status for r in sandbox.requests][-5:] == [429, 500, 502, 504, 200]


def test_faults__500_json_when_asked_for_json(kobo, sandbox):
    """Should send DRF's JSON 500 only to Accept: application/json without format (F1)."""
    sandbox.faults(rate=0.0, sequence=["500"])
    r = kobo.get(kobo.data_url, headers={"Accept": "application/json"})
    assert (r.status_code, r.json()) == (500, {"error": "Server Error (500)"})


def test_faults__truncated_body__read_fails(kobo, sandbox):
    """Should cut the body short so reading it fails, then recover (F1)."""
    sandbox.faults(rate=0.0, sequence=["truncated"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        kobo.get(kobo.data_url, params={"limit": 40}).json()
    assert len(kobo.get(kobo.data_url).json()["results"]) == 40


def test_faults__slow_body__times_out(kobo, sandbox):
    """Should delay the body past a short read timeout (F1)."""
    sandbox.faults(rate=0.0, sequence=["slow"], slow_seconds=1.0)
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.Timeout),
                       match="timed out"):
        kobo.get(kobo.data_url, timeout=0.3).json()
    sandbox.clear_faults()
    assert kobo.get(kobo.data_url, timeout=5).status_code == 200


def test_faults__rate__seeded_share_of_requests(kobo, sandbox):
    """Should fault about `rate` of requests, the same ones for the same seed (F1)."""
    def statuses(seed):
        sandbox.faults(rate=0.3, kinds=("503",), seed=seed)
        return [kobo.get(kobo.data_url, params={"limit": 1}).status_code for _ in range(40)]
    first = statuses(4)
    assert first == statuses(4)
    assert 4 <= first.count(503) <= 20 and first.count(200) + first.count(503) == 40


def _upload(kobo, text: str, tmp_path: Path, **fields) -> dict:
    path = tmp_path / "form.xlsx"
    write_xlsx(read_markdown(text), path)
    r = kobo.post(f"{kobo.base}/api/v2/imports/", data=fields,
                  files={"file": ("form.xlsx", io.BytesIO(path.read_bytes()))})
    assert r.status_code == 201 and r.json()["status"] == "processing"
    return kobo.get(r.json()["url"]).json()


def test_import_deploy__round_trip(kobo, tmp_path):
    """Should import an XLSForm, deploy it, re-import into it and redeploy (D1)."""
    text = SANDBOX_FORM.replace("sandbox_test | 2026010101 | Sandbox test form",
                                "imported | 2026020101 | Imported form")
    task = _upload(kobo, text, tmp_path, library="false", name="fallback")
    assert task["status"] == "complete"
    uid = task["messages"]["created"][0]["uid"]
    asset_url = f"{kobo.base}/api/v2/assets/{uid}/"
    asset = kobo.get(asset_url).json()
    assert (asset["asset_type"], asset["has_deployment"], asset["name"]) == ("survey", False, "Imported form")
    assert asset["content"]["settings"]["form_id"] == "imported"
    assert kobo.get(asset_url + "data/").json() == {"detail": "The specified asset has not been deployed"}
    r = kobo.post(asset_url + "deployment/", json={"active": True})
    assert r.status_code == 200 and r.json()["version_id"] == asset["version_id"]
    assert kobo.post(asset_url + "deployment/", json={"active": True}).status_code == 405
    assert kobo.get(asset_url + "data/").json()["count"] == 0

    task = _upload(kobo, text.replace("2026020101", "2026020102"), tmp_path,
                   library="false", destination=asset_url)
    assert task["messages"]["updated"][0]["uid"] == uid
    asset2 = kobo.get(asset_url).json()
    assert asset2["version_id"] != asset2["deployed_version_id"] == asset["version_id"]
    stale = kobo.patch(asset_url + "deployment/", json={"active": True, "version_id": asset["version_id"]})
    assert stale.status_code == 500
    r = kobo.patch(asset_url + "deployment/", json={"active": True, "version_id": asset2["version_id"]})
    assert r.status_code == 200
    asset3 = kobo.get(asset_url).json()
    assert asset3["deployed_version_id"] == asset2["version_id"]
    assert asset3["deployed_versions"]["count"] == 2
    assert kobo.patch(asset_url + "deployment/", json={"active": False}).json()["active"] is False


def test_deploy__form_pyxform_refuses__400_error(kobo, tmp_path):
    """Should refuse to deploy content pyxform cannot convert, with KPI's {"error": …} (D1)."""
    broken = SANDBOX_FORM.replace("${consent}='yes'", "${nonexistent}='yes'")
    task = _upload(kobo, broken, tmp_path, library="false")
    uid = task["messages"]["created"][0]["uid"]
    r = kobo.post(f"{kobo.base}/api/v2/assets/{uid}/deployment/", json={"active": True})
    assert r.status_code == 400 and "nonexistent" in r.json()["error"]
    assert kobo.get(f"{kobo.base}/api/v2/assets/{uid}/").json()["has_deployment"] is False


def test_import__without_library_false__becomes_a_block(kobo, tmp_path):
    """Should import as a library block when library=false is missing, undeployable (D1)."""
    task = _upload(kobo, SANDBOX_FORM, tmp_path)
    uid = task["messages"]["created"][0]["uid"]
    assert kobo.get(f"{kobo.base}/api/v2/assets/{uid}/").json()["asset_type"] == "block"
    assert kobo.post(f"{kobo.base}/api/v2/assets/{uid}/deployment/", json={"active": True}).status_code == 500


def test_import__broken_workbook__error_status(kobo, tmp_path):
    """Should finish the import task with status error and KPI's message keys (D1)."""
    task = _upload(kobo, SANDBOX_FORM.replace("| settings |", "| setting |"), tmp_path, library="false")
    assert task["status"] == "error"
    assert set(task["messages"]) == {"error_type", "error"}


def test_unrouted_and_removed_paths(kobo):
    """Should answer v1 paths with 410, unknown paths with plain 404, slash-less with 301."""
    assert kobo.get(f"{kobo.base}/api/v1/data/").status_code == 410
    r = kobo.get(f"{kobo.base}/api/v2/nothing/")
    assert (r.status_code, r.text) == (404, "Resource not found (404)")
    r = kobo.get(kobo.data_url.rstrip("/"), allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == kobo.data_url


def test_cli__prints_url_and_token_first_and_serves(tmp_path, forms_dir):
    """Should print the base URL then the token, serve, and stop on SIGTERM (K1)."""
    env = {**os.environ, "KOBO_TOKEN": "a" * 40, "SUARA_FORMS_DIR": str(forms_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "suara", "sandbox", "--port", "0",
                             "--submissions", "3", "--form", "ilo_rights_baseline"],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        url = proc.stdout.readline().strip()
        token = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and token == "a" * 40
        assets = requests.get(f"{url}/api/v2/assets/", headers={"Authorization": f"Token {token}"},
                              timeout=10).json()
        assert assets["count"] == 1
        assert assets["results"][0]["deployment__submission_count"] == 3
    finally:
        proc.terminate()
        deadline = time.time() + 10
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0


def test_stop__closes_keep_alive_connections(sandbox_form):
    """Should answer nothing after stop, even on a connection kept alive before it."""
    from suara.sandbox import Sandbox

    sb = Sandbox([sandbox_form], submissions=1).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Token {sb.token}"
    assert session.get(f"{sb.url}/api/v2/assets/").status_code == 200
    sb.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(f"{sb.url}/api/v2/assets/", timeout=2)
