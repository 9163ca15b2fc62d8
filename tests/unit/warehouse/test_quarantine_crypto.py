"""Quarantine payload encryption: key derived from SUARA_RESTRICTED_KEY, placeholders refused."""

import pytest

from suara.errors import ConfigurationError, WarehouseError
from suara.settings import load_settings
from warehouse import Warehouse
from warehouse.quarantine import fernet_for, reason_dicts, seal, unseal


def test_seal__same_secret__round_trip_and_no_plaintext():
    """Should give the payload back with the same secret and hide it in the token."""
    token = seal(fernet_for("a-long-restricted-secret-1234"), {"phone": "0812-555"})
    assert b"0812" not in token
    assert unseal(fernet_for("a-long-restricted-secret-1234"), token) == {"phone": "0812-555"}


def test_unseal__other_secret__error_without_payload():
    """Should refuse another key with an actionable message."""
    token = seal(fernet_for("a-long-restricted-secret-1234"), {"phone": "0812-555"})
    with pytest.raises(WarehouseError, match="SUARA_RESTRICTED_KEY") as err:
        unseal(fernet_for("another-long-secret-5678"), token)
    assert "0812" not in str(err.value)


def test_from_settings__placeholder_key__configuration_error(tmp_path):
    """Should refuse a placeholder SUARA_RESTRICTED_KEY when a payload must be encrypted."""
    settings = load_settings(warehouse_url=f"sqlite:///{tmp_path}/w.db", suara_restricted_key="changeme")
    wh = Warehouse.from_settings(settings)
    with pytest.raises(ConfigurationError, match="SUARA_RESTRICTED_KEY"):
        wh._cipher()
    wh.close()


def test_reason_dicts__objects_and_dicts__only_the_four_keys():
    """Should keep code, table, field and expectation, dropping anything else (e.g. a value)."""
    out = reason_dicts([{"code": "C1", "table": "t", "field": "f", "expectation": "e", "value": "secret"}])
    assert out == [{"code": "C1", "table": "t", "field": "f", "expectation": "e"}]
