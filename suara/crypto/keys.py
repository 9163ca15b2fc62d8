"""Form keys: the public key a form carries and the private key the pipeline decrypts with.

A form's ``settings.public_key`` is the base64 body (one line, no PEM armour) of the DER
SubjectPublicKeyInfo of an RSA key — what Collect and Enketo expect (encryption.md §1). The
private key is a PEM file named by ``SUARA_FORM_PRIVATE_KEY``; it lives off the server in normal
operation and is never logged, printed or copied.

Every problem is raised before any data moves, naming the form it blocks.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from suara.errors import ConfigurationError, FormDefinitionError
from suara.forms.model import Form
from suara.settings import Settings

KEY_BITS = 2048  # the size ODK and Kobo document; ODK Central refuses any other
ENV = "SUARA_FORM_PRIVATE_KEY"
_MIN_BITS = 2048


def generate_keypair(bits: int = KEY_BITS) -> tuple[bytes, str]:
    """A new key pair: (private key PEM, PKCS#8 unencrypted, the form's ``public_key`` value)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, public_key_b64(key.public_key())


def public_key_b64(public_key: rsa.RSAPublicKey) -> str:
    """The value for XLSForm ``settings.public_key`` (392 characters for 2048 bits)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def parse_public_key(value: str, *, form_id: str, where: str = "settings") -> rsa.RSAPublicKey:
    """Parse a form's ``public_key`` as Collect does, or raise FormDefinitionError saying how
    it is wrong (PEM armour, a PKCS#1 body, a private key pasted by mistake, not RSA, too small)."""
    text = value.strip()
    hint = ("Use the one-line output of `suara keys new` (or the body of an OpenSSL "
            "'BEGIN PUBLIC KEY' PEM with the armour and line breaks removed).")
    if "-----" in text:
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key contains PEM armour ('-----BEGIN …'); Collect "
            "cannot read it.", code="FORM_KEY_FORMAT", hint=hint)
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key is not base64.", code="FORM_KEY_FORMAT", hint=hint
        ) from None
    try:
        key = serialization.load_der_public_key(der)
    except ValueError:
        private = _looks_private(der)
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key is "
            + ("a PRIVATE key — remove it from the form at once and generate a new pair."
               if private else "not an X.509 SubjectPublicKeyInfo RSA key (a PKCS#1 'BEGIN RSA "
               "PUBLIC KEY' body is rejected by Collect)."),
            code="FORM_KEY_PRIVATE" if private else "FORM_KEY_FORMAT",
            hint="Anyone who saw this form can read its submissions; treat the key as leaked."
            if private else hint,
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key is not an RSA key.", code="FORM_KEY_FORMAT",
            hint=hint)
    if public_key_b64(key) != text:
        # cryptography also reads PKCS#1 bodies, which Collect's X.509 spec refuses.
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key is a PKCS#1 'RSA PUBLIC KEY' body; Collect needs "
            "the X.509 SubjectPublicKeyInfo ('BEGIN PUBLIC KEY') form.", code="FORM_KEY_FORMAT",
            hint=hint)
    if key.key_size < _MIN_BITS:
        raise FormDefinitionError(
            f"form {form_id} ({where}): public_key is {key.key_size}-bit; use {KEY_BITS}.",
            code="FORM_KEY_SIZE", hint="Generate a new pair with `suara keys new`.")
    return key


def _looks_private(der: bytes) -> bool:
    try:
        serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        return False
    return True


def form_public_key(form: Form) -> rsa.RSAPublicKey | None:
    """The parsed public key of an encrypted form, None for a plaintext form."""
    value = form.settings.get("public_key")
    return parse_public_key(value, form_id=form.form_id, where=form.source) if value else None


def read_private_key(path: Path, *, form_id: str) -> rsa.RSAPrivateKey:
    """Load a PEM private key (PKCS#1 or PKCS#8, unencrypted), naming the form on failure."""
    if not path.is_file():
        raise ConfigurationError(
            f"form {form_id} is encrypted but the private key file {ENV} points to does not "
            f"exist ({path}).", code="CONF_KEY_FILE",
            hint=f"Set {ENV} to the PEM file kept by the key custodians (see `suara keys new`).")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"form {form_id}: the private key file {path} cannot be read ({exc.strerror}).",
            code="CONF_KEY_FILE", hint="Check the file's owner and permissions (0600).") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"form {form_id}: {path} is not an unencrypted PEM private key.", code="CONF_KEY_PEM",
            hint="Point it to the 'BEGIN PRIVATE KEY' / 'BEGIN RSA PRIVATE KEY' file made with the "
            "form's key pair (remove any passphrase first).") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"form {form_id}: {path} is not an RSA private key.",
                                 code="CONF_KEY_PEM", hint="ODK encryption uses RSA keys.")
    return key


def _key_files(path: Path, form_id: str) -> list[Path]:
    """The PEM files ``SUARA_FORM_PRIVATE_KEY`` names: one file, or every ``*.pem`` of a folder
    (the current key pair plus those of earlier ones, after a key rotation)."""
    if path.is_dir():
        files = sorted(path.glob("*.pem"))
        if not files:
            raise ConfigurationError(
                f"form {form_id} is encrypted but the folder {ENV} points to holds no .pem file "
                f"({path}).", code="CONF_KEY_FILE",
                hint=f"Put the form's private key PEM in it, or set {ENV} to the file itself.")
        return files
    return [path]


def load_private_keys(settings: Settings, form: Form) -> tuple[rsa.RSAPrivateKey, ...]:
    """The private keys for an encrypted form: the one matching the form's ``public_key`` first,
    then any others in the folder (for submissions made before a key rotation).

    Raises ConfigurationError naming the form when the variable is unset, a file is missing or
    unreadable, or no key belongs to the form's public key — all before any data moves.
    """
    public = form_public_key(form)
    if public is None:
        raise ConfigurationError(f"form {form.form_id} is not encrypted (no public_key).",
                                 code="CONF_KEY_UNNEEDED", hint="Nothing to decrypt for this form.")
    path = settings.suara_form_private_key
    if path is None:
        raise ConfigurationError(
            f"form {form.form_id} is encrypted but {ENV} is not set.", code="CONF_KEY_UNSET",
            hint=f"Set {ENV} to the path of the form's private key PEM (demo: "
            "forms/keys/DEMO_ONLY_private.pem).")
    files = _key_files(Path(path).expanduser(), form.form_id)
    keys = [read_private_key(p, form_id=form.form_id) for p in files]
    wanted = public.public_numbers()
    current = next((k for k in keys if k.public_key().public_numbers() == wanted), None)
    if current is None:
        raise ConfigurationError(
            f"form {form.form_id}: no private key in {ENV} matches the form's public_key.",
            code="CONF_KEY_MISMATCH",
            hint="Use the private key generated together with this form's public_key; after a key "
            f"rotation, make {ENV} a folder holding the current key and the earlier ones.")
    return (current, *(k for k in keys if k is not current))


def load_private_key(settings: Settings, form: Form) -> rsa.RSAPrivateKey:
    """The private key matching the form's ``public_key`` (see ``load_private_keys``)."""
    return load_private_keys(settings, form)[0]


def load_private_key_for(form: Form, settings: Settings) -> tuple[rsa.RSAPrivateKey, ...]:
    """What the flows hand to ``decrypt_record``: every usable key, the current one first."""
    return load_private_keys(settings, form)
