"""Deploying a form: import, create or replace, deploy or redeploy, verify the version."""

from __future__ import annotations

import json

import pytest

from suara.errors import DeployError
from suara.kobo import KoboClient
from suara.settings import load_settings
from tests.unit.suara.kobo.fake_kobo import BASE, TOKEN, Fault
from tests.unit.suara.kobo.forms_md import form


@pytest.fixture
def xlsx(tmp_path):
    path = tmp_path / "rights_baseline.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    return path


def test_deploy__new_form__imports_deploys_verifies_records(fake, client, xlsx, sleeps):
    """Should import as a project (library=false), deploy active, verify the version, record the uid."""
    fake.next_import_form_id, fake.next_import_version = "rights_baseline", "2026.05.1"
    result = client.deploy(form(), xlsx)
    assert result.created and result.version == "2026.05.1"
    asset = fake.assets[result.asset_uid]
    assert asset["deployment__active"] and asset["deployed_version_id"] == result.version_id
    post = next(c for c in fake.calls if c.url.endswith("/imports/") and c.method == "POST")
    assert b'name="library"\r\n\r\nfalse' in post.body and b"destination" not in post.body
    assert client.registry.get("rights_baseline") == result.asset_uid
    assert sleeps == [1.0]  # one poll wait while the import was processing
    assert "deployed rights_baseline version 2026.05.1" in str(result)


def test_deploy__existing_asset__replaces_and_redeploys_with_version_id(fake, client, xlsx):
    """Should import into the existing asset (destination) and PATCH with the latest version_id."""
    fake.add_asset("aMINE", "rights_baseline", version="2026.04.1")
    fake.next_import_form_id, fake.next_import_version = "rights_baseline", "2026.05.1"
    result = client.deploy(form(), xlsx)
    assert (result.asset_uid, result.created, result.how) == ("aMINE", False, "content.settings")
    post = next(c for c in fake.calls if c.url.endswith("/imports/"))
    assert b"/api/v2/assets/aMINE/" in post.body
    patch = next(c for c in fake.calls if c.method == "PATCH")
    assert json.loads(patch.body) == {"active": True, "version_id": fake.assets["aMINE"]["version_id"]}
    assert client.version_map("aMINE")[result.version_id] == "2026.05.1"


def test_deploy__server_keeps_other_version__deploy_error(fake, client, xlsx):
    """Should refuse to call it deployed when the server reports another form version."""
    fake.next_import_form_id, fake.next_import_version = "rights_baseline", "2026.01.0"
    with pytest.raises(DeployError, match="reports form version '2026.01.0', expected '2026.05.1'"):
        client.deploy(form(), xlsx)


def test_deploy__import_error__names_the_kobo_error(fake, client, xlsx):
    fake.import_result = "error"
    with pytest.raises(DeployError, match=r"refused the form at import \(ValueError\): Invalid question name"):
        client.deploy(form(), xlsx)


def test_deploy__import_stuck__bounded_wait(fake, client, xlsx, sleeps):
    """Should give up on an import that never finishes, after a bounded total wait."""
    fake.import_polls_before_done = 10_000
    with pytest.raises(DeployError, match="still 'processing'"):
        client.deploy(form(), xlsx)
    assert 180 <= sum(sleeps) <= 200 and max(sleeps) <= 10


def test_deploy__odk_validation_400__deploy_error(fake, client, xlsx):
    fake.next_import_form_id, fake.next_import_version = "rights_baseline", "2026.05.1"
    fake.faults.append(Fault("/deployment/", 400, body=b'{"error": "ODK Validate Errors: bad relevant"}'))
    with pytest.raises(DeployError, match="bad relevant"):
        client.deploy(form(), xlsx)


def test_deploy_forms__missing_workbook__deploy_error(tmp_path):
    from suara.kobo import deploy_forms

    settings = load_settings(kobo_url=BASE, kobo_token=TOKEN, suara_data_dir=tmp_path)
    with pytest.raises(DeployError, match="no built workbook"):
        deploy_forms(settings, [form()], {})


def test_client__repr_hides_token(settings, session):
    assert TOKEN not in repr(KoboClient(settings, session=session))
