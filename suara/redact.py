"""A logging filter that masks known secret values wherever a log record goes.

Prefect does not redact (stack.md P10): a token that reached a log line would be copied into
the server's database. Suara never logs secrets on purpose; this filter is the second line,
installed on every handler of the root and Prefect loggers with the secrets of the settings.
"""

from __future__ import annotations

import logging

MASK = "***"


class SecretFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        # Longest first, so a secret containing another is masked whole; short values are
        # skipped because masking them would mangle ordinary text.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = message
        for s in self.secrets:
            masked = masked.replace(s, MASK)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def secret_values(settings) -> list[str]:
    values = []
    for name in ("kobo_token", "suara_pseudonym_key", "suara_restricted_key"):
        v = getattr(settings, name, None)
        if v is not None:
            values.append(v.get_secret_value())
    return values


def install(settings) -> SecretFilter:
    """Attach one SecretFilter to the handlers of the root and Prefect loggers (idempotent)."""
    flt = SecretFilter(secret_values(settings))
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
                handler.removeFilter(old)
            handler.addFilter(flt)
    return flt
