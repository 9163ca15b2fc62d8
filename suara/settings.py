"""One typed settings object: environment first, then ``suara.toml``, then defaults.

Secrets are ``SecretStr``: their repr and str print ``**********``, so a settings object
can be logged or shown in a traceback without leaking anything. Read them with
``.get_secret_value()`` at the one place that needs them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from suara.errors import ConfigurationError

DEFAULT_WAREHOUSE_URL = "sqlite:///data/suara.db"
SETTINGS_FILE_ENV = "SUARA_CONFIG"

# Values people paste from examples; a key like this is a configuration error, never a default.
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "todo", "<secret>", "placeholder"}


def _toml_path() -> Path:
    return Path(os.environ.get(SETTINGS_FILE_ENV, "suara.toml"))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``suara.toml`` (top-level keys, lower or upper case, same names as the env vars)."""

    def __init__(self, settings_cls: type[BaseSettings]):
        super().__init__(settings_cls)
        path = _toml_path()
        self._data: dict[str, Any] = {}
        if path.is_file():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigurationError(
                    f"{path} is not valid TOML: {exc}", hint="Fix the file or remove it."
                ) from None
            self._data = {k.lower(): v for k, v in raw.items()}

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by pydantic here
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    """Everything Suara reads from its environment. Names follow design.md."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    kobo_url: str | None = Field(default=None, description="Base URL of the KPI server")
    kobo_token: SecretStr | None = None
    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    suara_pseudonym_key: SecretStr | None = None
    suara_pseudonym_key_version: str = "1"
    suara_restricted_key: SecretStr | None = None
    suara_form_private_key: Path | None = None
    suara_forms_dir: Path | None = None
    suara_data_dir: Path = Path("data")
    suara_page_size: int = Field(default=1000, ge=1, le=1000)
    suara_pull_process: Literal["off", "auto", "on"] = Field(
        default="auto",
        description="A second process fetching, normalising and validating pages while the sync "
        "loads them: off; auto (pulls of 10,000+ submissions on 2+ cores); on (any pull of 2+ pages)")
    suara_http_timeout: float = Field(default=60.0, gt=0)
    suara_http_retries: int = Field(default=6, ge=0, le=20)
    suara_reconcile_every: int = Field(
        default=1, ge=0, description="Run the manifest scan every N syncs (0: never automatically)"
    )
    suara_late_window_seconds: int = Field(default=600, ge=0)
    # Asset uids per form_id, e.g. in suara.toml: [assets] ilo_rights_baseline = "aXyz…"
    assets: dict[str, str] = Field(default_factory=dict)
    # Cron schedules per form_id for `suara serve`, e.g. [schedules] ilo_vh_reporting = "0 */6 * * *"
    schedules: dict[str, str] = Field(default_factory=dict)

    @field_validator("kobo_url")
    @classmethod
    def _strip_slash(cls, v: str | None) -> str | None:
        return v.rstrip("/") if v else v

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _TomlSource(settings_cls))

    # -- accessors that fail closed -------------------------------------------------------

    def secret(self, name: str) -> str:
        """Return a secret's value, or raise a ConfigurationError naming the variable."""
        value: SecretStr | None = getattr(self, name)
        env = name.upper()
        if value is None:
            raise ConfigurationError(
                f"{env} is not set.", hint=f"Set {env} in the environment (or in suara.toml)."
            )
        raw = value.get_secret_value()
        if raw.strip().lower() in PLACEHOLDER_SECRETS or len(raw.strip()) < 16:
            raise ConfigurationError(
                f"{env} looks like a placeholder (empty, a stock word, or under 16 characters).",
                hint=f"Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' and set {env}.",
            )
        return raw

    def forms_dir(self) -> Path:
        from suara.forms.locate import default_forms_dir

        return self.suara_forms_dir or default_forms_dir()


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning pydantic's validation errors into a ConfigurationError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"Invalid configuration: {problems}") from None
