"""Settings: environment first, then suara.toml; secrets never print; placeholders refused."""

import pytest

from suara.errors import ConfigurationError
from suara.settings import load_settings

TOKEN = "kobo-token-0123456789abcdef0123456789"


def test_settings__secret__never_in_repr_or_str(monkeypatch):
    """Should keep the token out of repr/str so a logged settings object leaks nothing."""
    monkeypatch.setenv("KOBO_TOKEN", TOKEN)
    s = load_settings()
    assert TOKEN not in repr(s) and TOKEN not in str(s)
    assert s.secret("kobo_token") == TOKEN


def test_settings__environment_wins_over_toml(monkeypatch, tmp_path):
    """Should read suara.toml but let the environment override it."""
    toml = tmp_path / "suara.toml"
    toml.write_text('kobo_url = "https://eu.kobotoolbox.org/"\nwarehouse_url = "sqlite:///x.db"\n'
                    '[assets]\nilo_vh_reporting = "aBc123"\n')
    monkeypatch.setenv("SUARA_CONFIG", str(toml))
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql+psycopg://u@h/db")
    s = load_settings()
    assert s.kobo_url == "https://eu.kobotoolbox.org"  # trailing slash dropped
    assert s.warehouse_url == "postgresql+psycopg://u@h/db"
    assert s.assets == {"ilo_vh_reporting": "aBc123"}


@pytest.mark.parametrize("value", [None, "", "changeme", "short"])
def test_settings__missing_or_placeholder_key__configuration_error_naming_it(monkeypatch, value):
    """Should refuse a missing, stock or short key with a message naming the variable (exit 2)."""
    if value is not None:
        monkeypatch.setenv("SUARA_PSEUDONYM_KEY", value)
    with pytest.raises(ConfigurationError) as err:
        load_settings().secret("suara_pseudonym_key")
    assert "SUARA_PSEUDONYM_KEY" in str(err.value)
    assert err.value.exit_status == 2


def test_settings__bad_value__configuration_error_not_traceback(monkeypatch):
    """Should turn a bad value into one readable configuration error."""
    monkeypatch.setenv("SUARA_PAGE_SIZE", "5000")
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert "SUARA_PAGE_SIZE" in str(err.value)


def test_settings__broken_toml__configuration_error(monkeypatch, tmp_path):
    toml = tmp_path / "suara.toml"
    toml.write_text("kobo_url = \n")
    monkeypatch.setenv("SUARA_CONFIG", str(toml))
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert "not valid TOML" in str(err.value)
