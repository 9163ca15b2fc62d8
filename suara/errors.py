"""One error tree for Suara.

Every error a user can meet carries a stable code (``FORM_001``, ``KOBO_003`` …) and a
message that says what went wrong *and what to do*. Messages never carry a secret or a
raw survey answer: they name forms, fields, sheets, rows, URLs and HTTP statuses only.

Exit statuses of the command line follow design.md: configuration errors → 2, a form
that failed → 1.
"""

from __future__ import annotations


class SuaraError(Exception):
    """Base of every error Suara raises on purpose."""

    code: str = "SUARA_000"
    exit_status: int = 1

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None):
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f"\n  → {self.hint}"
        return text


class ConfigurationError(SuaraError, ValueError):
    """Bad or missing configuration: a secret, a URL, a key file. Exit status 2."""

    code = "CONF_001"
    exit_status = 2


class FormDefinitionError(SuaraError, ValueError):
    """An XLSForm that cannot be read or breaks a project rule."""

    code = "FORM_001"


class KoboError(SuaraError):
    """Anything that went wrong talking to a KoboToolbox server."""

    code = "KOBO_001"


class KoboAuthError(KoboError):
    code = "KOBO_401"


class KoboPermissionError(KoboError):
    code = "KOBO_403"


class KoboNotFoundError(KoboError):
    code = "KOBO_404"


class KoboTransientError(KoboError):
    """A failure worth retrying (429, 5xx, timeouts, truncated bodies) that outlived its retries."""

    code = "KOBO_503"


class AssetLookupError(KoboError):
    """No asset, or several, match a form."""

    code = "KOBO_010"


class DeployError(KoboError):
    code = "KOBO_020"


class WarehouseError(SuaraError):
    code = "WH_001"


class SchemaEvolutionError(WarehouseError):
    """A form change the warehouse refuses to apply automatically (e.g. a type change)."""

    code = "WH_010"


class ValidationSetupError(SuaraError):
    """A validation suite could not be built (e.g. an XPath the evaluator cannot handle)."""

    code = "VAL_001"


class UnusableBatchError(SuaraError):
    """A whole page/batch is unusable (not a list of submissions): the batch fails, nothing loads."""

    code = "VAL_010"


class PrivacyError(SuaraError):
    code = "PRIV_001"


class DecryptionError(SuaraError):
    """One submission failed to decrypt or verify; it goes to quarantine with this code."""

    code = "CRYPT_001"


class NotBuiltYetError(SuaraError):
    code = "SUARA_999"
