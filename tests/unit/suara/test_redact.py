"""The secret-masking log filter: a known secret never reaches a handler's output."""

import logging

from suara.redact import SecretFilter, install
from suara.settings import load_settings


def test_secret_filter__masks_known_values_in_formatted_messages(caplog):
    flt = SecretFilter(["supersecret-token-123", "short"])
    logger = logging.getLogger("suara.test.redact")
    caplog.handler.addFilter(flt)
    with caplog.at_level(logging.INFO, logger="suara.test.redact"):
        logger.info("headers=%s", {"Authorization": "Token supersecret-token-123"})
    assert "supersecret-token-123" not in caplog.text
    assert "Token ***" in caplog.text


def test_install__attaches_to_root_handlers(monkeypatch):
    monkeypatch.setenv("KOBO_TOKEN", "kobo-token-for-redaction-test-0001")
    handler = logging.StreamHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install(load_settings())
        install(load_settings())  # idempotent: one filter per handler
        assert sum(isinstance(f, SecretFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
