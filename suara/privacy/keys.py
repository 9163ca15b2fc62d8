"""Keyed pseudonyms: HMAC-SHA256 under a per-domain key derived from ``SUARA_PSEUDONYM_KEY``.

Why keyed: NIKs, phone numbers and factory codes come from tiny, structured spaces, so a plain
or salted hash is reversed by enumeration (anonymisation.md §8). Why per domain: the same
person or factory must not be joinable across forms unless their policies name the same
``pseudonym_domain``. The key version goes into every pseudonym (``p1_…``) and the audit, so a
rotated key can never be confused with the old one; the key itself goes nowhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from suara.errors import ConfigurationError

_VERSION = re.compile(r"^[A-Za-z0-9]{1,8}$")
_DIGEST_BYTES = 16  # 128 bits, as anonymisation.md §8 recommends


def normalise_identifier(value: str) -> str:
    """The canonical form hashed: NFKC, trimmed, case-folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", str(value)).casefold().split())


@dataclass(frozen=True)
class PrivacyKeys:
    """The pseudonym master key and its version. ``repr`` never shows the key."""

    master: bytes = field(repr=False)
    version: str = "1"

    def __post_init__(self):
        if len(self.master) < 16:
            raise ConfigurationError(
                "SUARA_PSEUDONYM_KEY is shorter than 16 bytes.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
            )
        if not _VERSION.match(self.version):
            raise ConfigurationError(
                "SUARA_PSEUDONYM_KEY_VERSION must be 1-8 letters or digits.",
                hint="Use e.g. 1, 2, 2025a; bump it whenever the key changes.",
            )

    @classmethod
    def from_settings(cls, settings) -> PrivacyKeys:
        """Read the key through ``Settings.secret``: a missing or placeholder key is a
        ConfigurationError, never a silent default."""
        raw = settings.secret("suara_pseudonym_key")
        return cls(raw.encode("utf-8"), str(settings.suara_pseudonym_key_version))

    def domain_key(self, domain: str) -> bytes:
        # HMAC(master, label) as a KDF: independent keys per domain from one secret.
        return hmac.new(self.master, b"suara-pseudonym-domain:" + domain.encode(), hashlib.sha256).digest()

    def pseudonym(self, domain: str, value: str) -> str:
        return self._token(self.domain_key(domain), value)

    def _token(self, key: bytes, value: str) -> str:
        digest = hmac.new(key, normalise_identifier(value).encode("utf-8"), hashlib.sha256)
        # Base32 (a-z, 2-7), not hex: hex pseudonyms often hold runs of ten or more digits,
        # which identifier scanners (and people) would read as phone or ID numbers.
        text = base64.b32encode(digest.digest()[:_DIGEST_BYTES]).decode("ascii").rstrip("=").lower()
        return f"p{self.version}_{text}"

    def pseudonymise(self, domain: str, values: pd.Series) -> pd.Series:
        """Pseudonyms for a column; missing stays missing. Each distinct value is hashed once
        (and turned into text once: 5.0 and "5" are the same answer, see ``_as_text``)."""
        raw = values.astype(object).to_numpy()
        present = ~pd.isna(raw)
        out = np.full(len(raw), pd.NA, dtype=object)
        if present.any():
            codes, uniques = pd.factorize(raw[present])
            key = self.domain_key(domain)
            hashed = np.array([self._token(key, _as_text(u)) for u in uniques], dtype=object)
            out[present] = hashed[codes]
        return pd.Series(out, index=values.index, dtype="object")


def _as_text(v) -> str:
    # Typed frames give 5.0 for an integer code read as float; hash "5", as Kobo sent it.
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
