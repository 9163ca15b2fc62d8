"""Release hands a submission back to the sync: after a rule fix, ``suara quarantine release``
re-validates it, and the next sync refetches it from the server and loads it."""

from __future__ import annotations

import pytest

from suara.cli import main
from suara.forms import load_form_versions, load_forms
from suara.settings import load_settings
from warehouse import Warehouse

FORM = "ilo_rights_baseline"


@pytest.fixture(scope="module")
def prefect_backend():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_release__after_rule_fix__next_sync_loads_it(prefect_backend, monkeypatch, tmp_path, forms_dir):
    from flows.sync_form import sync_all_forms
    from suara.sandbox import Sandbox
    from validation import run as validation_run

    form = next(f for f in load_forms(forms_dir) if f.form_id == FORM)
    with Sandbox([form], submissions=120, seed=21, edge_share=0.3) as sb:
        url = f"sqlite:///{tmp_path / 'suara.db'}"
        for key, value in {
            "KOBO_URL": sb.url, "KOBO_TOKEN": sb.token, "WAREHOUSE_URL": url,
            "SUARA_DATA_DIR": str(tmp_path), "SUARA_FORMS_DIR": str(forms_dir),
            "SUARA_PSEUDONYM_KEY": "release-test-pseudonym-key-0123456789",
            "SUARA_RESTRICTED_KEY": "release-test-restricted-key-0123456789",
        }.items():
            monkeypatch.setenv(key, value)
        wh = Warehouse(url)
        wh.upgrade({FORM: load_form_versions(FORM, forms_dir)})
        first = sync_all_forms([FORM])
        assert first["forms"][FORM]["quarantined"] > 0
        held = Warehouse.from_settings(load_settings()).quarantine_list(FORM)
        choice_only = [e._id for e in held if {r["code"] for r in e.reasons} == {"VAL_CHOICE"}]
        others = [e._id for e in held if e._id not in choice_only]
        assert choice_only and others

        # The "rule fix": this deployment decides unknown choice codes are acceptable.
        real = validation_run.suites_for
        monkeypatch.setattr(validation_run, "suites_for", lambda f: {
            t: [s for s in specs if s["meta"]["code"] != "VAL_CHOICE"] for t, specs in real(f).items()})
        assert main(["quarantine", "release", FORM, *map(str, choice_only), "--actor", "dm"]) == 0
        assert main(["quarantine", "release", FORM, str(others[0]), "--actor", "dm"]) == 1

        second = sync_all_forms([FORM], reconcile=True)
        c = second["forms"][FORM]
        assert c["pulled"] == c["loaded"] + c["quarantined"] + c["withheld"]
        # The refetch goes through the whole pipeline: valid now, so loaded — or withheld by the
        # privacy stage when the bad code was the consent answer — never quarantined again.
        assert c["pulled"] == len(choice_only) and c["quarantined"] == 0
        manifest = {r["_id"]: r["state"] for r in wh.dump("restricted")["manifest"]}
        assert {manifest[i] for i in choice_only} <= {"loaded", "withheld"}
        loaded = {r["_id"] for r in wh.dump("restricted").get(FORM, [])}
        assert {i for i in choice_only if manifest[i] == "loaded"} <= loaded
        assert manifest[others[0]] == "quarantined" and others[0] not in loaded
        statuses = {e._id: e.status for e in wh.quarantine_list(FORM, None)}
        # (a withheld submission's quarantine entry is erased with it by the load)
        assert all(statuses.get(i, "released") == "released" for i in choice_only)
        assert statuses[others[0]] == "held"
