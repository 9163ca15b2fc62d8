"""Keyed pseudonyms (G9): stable within a domain and key version, unjoinable across domains."""

from __future__ import annotations

import base64
import hashlib
import re

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suara.errors import ConfigurationError
from suara.privacy.keys import PrivacyKeys, normalise_identifier
from suara.settings import load_settings

KEY = b"0123456789abcdef0123456789abcdef"


def test_same_value_same_domain_is_stable_and_versioned():
    keys = PrivacyKeys(KEY, "2")
    a = keys.pseudonym("baseline", "F-017")
    assert a == keys.pseudonym("baseline", " f-017 ")  # normalised before hashing
    assert a.startswith("p2_") and len(a) == 3 + 26
    assert re.fullmatch(r"p2_[a-z2-7]{26}", a)  # no long digit runs to look like a phone


def test_domains_and_key_versions_do_not_join():
    keys = PrivacyKeys(KEY, "1")
    nik = "3201011234560001"
    assert keys.pseudonym("baseline", nik) != keys.pseudonym("harassment", nik)
    assert PrivacyKeys(KEY, "1").pseudonym("d", nik) != PrivacyKeys(KEY[::-1], "1").pseudonym("d", nik)


def test_pseudonym_is_not_a_plain_or_salted_hash():
    p = PrivacyKeys(KEY).pseudonym("d", "3201011234560001")
    plain = hashlib.sha256(b"3201011234560001").digest()[:16]
    assert base64.b32encode(plain).decode().rstrip("=").lower() not in p


def test_series_keeps_missing_and_matches_scalar():
    keys = PrivacyKeys(KEY)
    out = keys.pseudonymise("d", pd.Series(["f1", None, "f1", 5.0]))
    assert out[0] == out[2] == keys.pseudonym("d", "f1")
    assert pd.isna(out[1])
    assert out[3] == keys.pseudonym("d", "5")


@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_distinct_values_get_distinct_pseudonyms(a, b):
    keys = PrivacyKeys(KEY)
    same = normalise_identifier(a) == normalise_identifier(b)
    assert (keys.pseudonym("d", a) == keys.pseudonym("d", b)) == same


def test_missing_or_placeholder_key_is_a_configuration_error(monkeypatch):
    with pytest.raises(ConfigurationError, match="SUARA_PSEUDONYM_KEY is not set"):
        PrivacyKeys.from_settings(load_settings())
    monkeypatch.setenv("SUARA_PSEUDONYM_KEY", "changeme")
    with pytest.raises(ConfigurationError, match="placeholder"):
        PrivacyKeys.from_settings(load_settings())


def test_key_from_settings_records_version_and_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("SUARA_PSEUDONYM_KEY", "a-real-key-of-enough-length-123")
    monkeypatch.setenv("SUARA_PSEUDONYM_KEY_VERSION", "7")
    keys = PrivacyKeys.from_settings(load_settings())
    assert keys.version == "7"
    assert "a-real-key" not in repr(keys)


def test_pseudonyms_never_look_like_identifiers_to_the_scanner():
    from suara.privacy.scrub import residual_identifiers

    keys = PrivacyKeys(KEY)
    assert residual_identifiers(keys.pseudonym("d", str(i)) for i in range(5000)) == {}
