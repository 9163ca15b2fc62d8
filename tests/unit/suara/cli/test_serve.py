"""``suara serve``: one cron deployment per form plus a nightly reconcile, schedules from suara.toml."""

from suara.cli import main
from suara.cli.serve_cmd import DEFAULT_CRON, RECONCILE_CRON, build_deployments
from suara.forms import load_forms
from suara.settings import load_settings


def test_build_deployments__one_sync_and_one_reconcile_per_form__crons_from_settings(forms_dir):
    """Should schedule every form (cron from settings or hourly) and reconcile nightly."""
    forms = load_forms(forms_dir)
    settings = load_settings(schedules={"ilo_vh_reporting": "15 */6 * * *"})
    deployments = build_deployments(settings, forms)
    by_name = {(d.flow_name, d.name): d for d in deployments}
    assert len(deployments) == 2 * len(forms)
    vh = by_name[("sync-form", "ilo_vh_reporting")]
    assert vh.parameters == {"form_id": "ilo_vh_reporting"}
    assert vh.schedules[0].schedule.cron == "15 */6 * * *"
    assert by_name[("sync-form", "ilo_rights_baseline")].schedules[0].schedule.cron == DEFAULT_CRON
    assert by_name[("reconcile-form", "ilo_org_assessment")].schedules[0].schedule.cron == RECONCILE_CRON
    assert all(d.concurrency_limit == 1 for d in deployments)


def test_serve__dry_run__prints_the_schedules(capsys, tmp_path, monkeypatch):
    """Should list each form's schedules and exit 0 without starting anything."""
    (tmp_path / "suara.toml").write_text('[schedules]\nilo_org_assessment = "0 3 * * 1"\n')
    monkeypatch.setenv("SUARA_CONFIG", str(tmp_path / "suara.toml"))
    assert main(["serve", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "sync-form/ilo_org_assessment: 0 3 * * 1" in out
    assert f"sync-form/ilo_rights_baseline: {DEFAULT_CRON}" in out
