"""Finding a form's asset: registry → suara.toml → content.settings; listing assets."""

from __future__ import annotations

import json

import pytest

from suara.errors import AssetLookupError
from tests.unit.suara.kobo.forms_md import form


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


def test_submission_count__read_by_the_look_up__no_request_of_its_own(fake, client):
    """Should give the asset's submission counter as the look-up read it, at no request."""
    asset = fake.add_asset("aMINE", "rights_baseline")
    asset["deployment__submission_count"] = 12_345
    uid, _ = client.find_asset(form())
    calls = len(fake.calls)
    assert client.submission_count(uid) == 12_345
    assert len(fake.calls) == calls


def test_submission_count__withheld_or_not_looked_up__none(fake, client):
    """Should say nothing (None) when the server withholds the counter (a token without
    view_submissions gets null) or the asset was never looked up."""
    asset = fake.add_asset("aMINE", "rights_baseline")
    assert client.submission_count("aMINE") is None  # not looked up yet
    asset["deployment__submission_count"] = None
    uid, _ = client.find_asset(form())
    assert client.submission_count(uid) is None
