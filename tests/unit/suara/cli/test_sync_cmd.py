"""``suara sync`` configuration errors and exit statuses (design.md: 0 ok, 1 a form failed, 2 config)."""

from suara.cli import main
from suara.cli.sync_cmd import exit_status


def test_sync__no_kobo_url__configuration_error_exit_2(capsys):
    """Should refuse to run without KOBO_URL and say what to set."""
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "KOBO_URL is not set" in err and "suara demo" in err


def test_exit_status__per_form_outcomes():
    """Quarantined rows are not a failure; a failed form is 1; bad configuration is 2."""
    assert exit_status({"status": {"a": "completed", "b": "completed"}}) == 0
    assert exit_status({"status": {"a": "completed", "b": "failed"}}) == 1
    assert exit_status({"status": {"a": "config_error", "b": "failed"}}) == 2
