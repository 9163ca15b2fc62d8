"""Finding a form's asset (registry → suara.toml → content.settings) and deploying a form."""

from __future__ import annotations

import json

import pytest

from suara.errors import AssetLookupError, DeployError
from suara.forms import form_from_markdown
from suara.kobo import KoboClient
from suara.settings import load_settings
from tests.unit.suara.kobo.fake_kobo import BASE, TOKEN, Fault

FORM_MD = """
| survey   |         |       |           |
|          | type    | name  | label     |
|          | text    | q1    | Question  |
| settings |         |         |          |
|          | form_id | version | form_title |
|          | {form_id} | {version} | Test form |
"""


def form(form_id="rights_baseline", version="2026.05.1"):
    return form_from_markdown(FORM_MD.format(form_id=form_id, version=version))


@pytest.fixture
def xlsx(tmp_path):
    path = tmp_path / "rights_baseline.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    return path


def test_find_asset__by_form_id_in_content(fake, client):
    """Should find the one survey whose content.settings.form_id matches, and say so."""
    fake.add_asset("aOTHER", "other_form")
    fake.add_asset("aMINE", "rights_baseline")
    assert client.find_asset(form()) == ("aMINE", "content.settings")


def test_find_asset__by_id_string(fake, client):
    asset = fake.add_asset("aMINE", "x")
    asset["content"]["settings"] = {"id_string": "rights_baseline"}
    assert client.find_asset(form())[0] == "aMINE"


def test_find_asset__registry_first_then_config(fake, client, settings):
    """Should prefer the uid recorded at deploy over suara.toml and the content search."""
    fake.add_asset("aREC", "rights_baseline")
    fake.add_asset("aCONF", "rights_baseline")
    client.settings.assets["rights_baseline"] = "aCONF"
    assert client.find_asset(form()) == ("aCONF", "suara.toml")
    client.registry.record("rights_baseline", "aREC")
    assert client.find_asset(form()) == ("aREC", "registry")
    assert json.loads((settings.suara_data_dir / "kobo_assets.json").read_text()) == {"rights_baseline": "aREC"}


def test_find_asset__stale_registry_entry__falls_through(fake, client):
    """Should ignore a recorded uid that no longer exists (e.g. KOBO_URL changed)."""
    fake.add_asset("aMINE", "rights_baseline")
    client.registry.record("rights_baseline", "aGONE")
    assert client.find_asset(form()) == ("aMINE", "content.settings")


def test_find_asset__wrong_configured_uid__clear_error(fake, client):
    client.settings.assets["rights_baseline"] = "aTYPO"
    with pytest.raises(AssetLookupError, match="aTYPO set in suara.toml"):
        client.find_asset(form())


def test_find_asset__none_or_several__clear_errors(fake, client):
    """Should say none matched (with the fix), or list the candidates when several do."""
    with pytest.raises(AssetLookupError) as none:
        client.find_asset(form())
    assert "suara forms deploy" in none.value.hint
    fake.add_asset("aONE", "rights_baseline")
    fake.add_asset("aTWO", "rights_baseline")
    with pytest.raises(AssetLookupError) as several:
        client.find_asset(form())
    assert "aONE" in str(several.value) and "aTWO" in str(several.value) and "[assets]" in several.value.hint


def test_assets__follows_next_and_keeps_surveys(fake, client):
    fake.max_page = 2
    for i in range(5):
        fake.add_asset(f"a{i}", f"f{i}")
    fake.assets["a3"]["asset_type"] = "block"
    assert [a["uid"] for a in client.assets()] == ["a0", "a1", "a2", "a4"]


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
