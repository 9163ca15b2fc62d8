"""Fixtures for the crypto tests: the published vectors, a throw-away key pair, the real forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from suara.forms import load_form

REPO = Path(__file__).resolve().parents[4]
VECTORS = REPO.parent / "shared" / "encryption-vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    if not (VECTORS / "checks.json").is_file():
        pytest.skip("the published ODK vectors (shared/encryption-vectors) are not present")
    return VECTORS


@pytest.fixture(scope="session")
def checks(vectors) -> dict:
    return json.loads((vectors / "checks.json").read_text())


def load_pem(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def harassment_form():
    return load_form(REPO / "forms" / "ilo_vh_reporting.md")


@pytest.fixture(scope="session")
def org_form():
    return load_form(REPO / "forms" / "ilo_org_assessment.md")
