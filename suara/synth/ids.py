"""Stable identifiers in KPI's formats, the same on every run (uids, form UUIDs)."""

from __future__ import annotations

import hashlib
import uuid

from suara.forms.model import Form

_UID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"  # shortuuid's


def stable_uid(prefix: str, *parts: object) -> str:
    """A KPI-style uid (prefix + 21 shortuuid characters) that is the same on every run."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest(), "big")
    out = []
    for _ in range(21):
        n, r = divmod(n, len(_UID_ALPHABET))
        out.append(_UID_ALPHABET[r])
    return prefix + "".join(out)


def version_uid(form: Form) -> str:
    """The ``__version__`` uid a sandbox deployment of this form version carries."""
    return stable_uid("v", form.form_id, form.version)


def formhub_uuid(form: Form) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"suara:{form.form_id}").hex
