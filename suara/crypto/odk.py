"""ODK submission encryption, as KoboCollect / ODK Collect / Enketo do it, and its inverse.

The scheme (shared/encryption.md §2-§3): a random 32-byte AES key per submission, wrapped with
RSA-OAEP (SHA-256 for both the OAEP hash and MGF1); every file (media first, in manifest order,
then the instance XML last) PKCS#7-padded and encrypted with AES-256-CFB128 under an IV derived
from MD5(instanceID ‖ key) with one byte bumped per file; and an element signature = the
RSA-OAEP-wrapped MD5 of a text naming the form, the wrapped key, the instanceID and the MD5 of
every plaintext file.

Nothing here logs, and no error message carries key material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

# The quarantine codes (suara/crypto/reasons.py, which validation reads without importing
# cryptography), raised here and still named odk.WRONG_KEY … by callers.
from suara.crypto.reasons import (  # noqa: F401
    BAD_SIGNATURE,
    MALFORMED,
    MISSING_FILE,
    REASONS,
    TAMPERED,
    WRONG_KEY,
)
from suara.errors import DecryptionError

try:  # CFB moved to the "decrepit" package in cryptography 47 (pitfall 15); keep both working.
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - cryptography < 47
    from cryptography.hazmat.primitives.ciphers.modes import CFB

XML_NAME = "submission.xml"
COLLECT_NS = "http://www.opendatakit.org/xforms/encrypted"
ENKETO_NS = "http://opendatakit.org/submissions"

_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
_BLOCK = 16


@dataclass(frozen=True)
class Manifest:
    """What an encrypted submission's manifest says, whatever layout it came in."""

    form_id: str
    version: str | None          # None when the form has none, or the source dropped it (API JSON)
    instance_id: str
    encrypted_key: str           # base64, as posted (it enters the signature verbatim)
    signature: str               # base64
    media: tuple[str, ...] = ()  # ".enc" names in encryption order
    xml_file: str = XML_NAME + ".enc"


@dataclass(frozen=True)
class DecryptedSubmission:
    xml: bytes
    media: dict[str, bytes] = field(default_factory=dict)  # plaintext name (no ".enc") → bytes
    instance_id: str = ""
    form_id: str = ""
    version: str | None = None


def _fail(code: str, message: str, hint: str, *, instance_id: str = "") -> DecryptionError:
    where = f"submission {instance_id}: " if instance_id else ""
    return DecryptionError(where + message, code=code, hint=hint)


# -- manifest ---------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _attr(el: ET.Element, name: str) -> str | None:
    for k, v in el.attrib.items():
        if _local(k) == name:
            return v
    return None


_ROOT_TAG = re.compile(rb"<(?!\?|!)[^>]*>")
_ATTRIBUTE = re.compile(rb'\s([\w:.-]+)\s*=\s*("[^"]*"|\'[^\']*\')')


def _drop_duplicate_root_attributes(xml: bytes) -> bytes:
    """Keep the first of each repeated attribute on the root element only."""
    tag = _ROOT_TAG.search(xml)
    if tag is None:
        return xml
    seen: set[bytes] = set()

    def keep_first(m: re.Match) -> bytes:
        if m.group(1) in seen:
            return b""
        seen.add(m.group(1))
        return m.group(0)

    fixed = _ATTRIBUTE.sub(keep_first, tag.group(0))
    return xml[:tag.start()] + fixed + xml[tag.end():]


def read_manifest(manifest_xml: bytes) -> Manifest:
    """Parse any manifest layout (Collect, Enketo, spec, Aggregate/Briefcase re-serialised) by
    local element names, ignoring namespaces, order and whitespace (pitfall 8)."""
    try:
        root = ET.fromstring(manifest_xml.lstrip())
    except ET.ParseError:
        try:  # Kobo's 2016 Briefcase downloads repeat xmlns on the root (encryption.md §2 step 8)
            root = ET.fromstring(_drop_duplicate_root_attributes(manifest_xml.lstrip()))
        except ET.ParseError:
            raise _fail(MALFORMED, "the encryption manifest is not well-formed XML.",
                        "Re-download the submission; if it persists, quarantine holds it for "
                        "review.") from None
    values: dict[str, str] = {}
    media: list[str] = []
    for el in root.iter():
        name = _local(el.tag)
        text = (el.text or "").strip()
        if name == "file":
            media.append(text)
        elif name in ("base64EncryptedKey", "base64EncryptedElementSignature", "instanceID",
                      "encryptedXmlFile") and name not in values:
            values[name] = text
    missing = [n for n in ("base64EncryptedKey", "base64EncryptedElementSignature", "instanceID")
               if not values.get(n)]
    form_id = _attr(root, "id") or ""
    if missing or not form_id or _attr(root, "encrypted") not in (None, "yes"):
        raise _fail(MALFORMED, "the encryption manifest lacks " + ", ".join(missing or ["a form id"]) + ".",
                    "This is not a complete ODK encrypted submission; check the client that sent it.")
    return Manifest(
        form_id=form_id, version=_attr(root, "version"), instance_id=values["instanceID"],
        encrypted_key=values["base64EncryptedKey"], signature=values["base64EncryptedElementSignature"],
        media=tuple(media), xml_file=values.get("encryptedXmlFile") or XML_NAME + ".enc",
    )


def collect_manifest(m: Manifest) -> bytes:
    """The manifest exactly as Collect's kXML serializer writes it (encryption.md §2 step 8)."""
    version = f" version={quoteattr(m.version)}" if m.version is not None else ""
    parts = [
        f"<data id={quoteattr(m.form_id)}{version} encrypted=\"yes\" xmlns=\"{COLLECT_NS}\">",
        f"<base64EncryptedKey>{m.encrypted_key}</base64EncryptedKey>",
        "<orx:meta xmlns:orx=\"http://openrosa.org/xforms\">",
        f"<orx:instanceID>{escape(m.instance_id)}</orx:instanceID></orx:meta>\n",
        *(f"<media><file>{escape(name)}</file></media>\n" for name in m.media),
        f"<encryptedXmlFile>{escape(m.xml_file)}</encryptedXmlFile>",
        f"<base64EncryptedElementSignature>{m.signature}</base64EncryptedElementSignature></data>",
    ]
    return "".join(parts).encode("utf-8")


def enketo_manifest(m: Manifest) -> bytes:
    """The manifest as Enketo (web forms on Kobo) writes it (encryption.md §2 step 8)."""
    version = f" version={quoteattr(m.version)}" if m.version is not None else ""
    parts = [
        f"<data xmlns=\"{ENKETO_NS}\" encrypted=\"yes\" id={quoteattr(m.form_id)}{version}>",
        f"<base64EncryptedKey>{m.encrypted_key}</base64EncryptedKey>",
        "<meta xmlns=\"http://openrosa.org/xforms\">",
        f"<instanceID>{escape(m.instance_id)}</instanceID></meta>",
        *(f"<media><file>{escape(name)}</file></media>" for name in m.media),
        f"<encryptedXmlFile>{escape(m.xml_file)}</encryptedXmlFile>",
        f"<base64EncryptedElementSignature>{m.signature}</base64EncryptedElementSignature></data>",
    ]
    return "".join(parts).encode("utf-8")


# -- primitives -------------------------------------------------------------------------------


def iv_seed(instance_id: str, key: bytes) -> bytes:
    return hashlib.md5(instance_id.encode("utf-8") + key).digest()


def file_iv(seed: bytes, index: int) -> bytes:
    """IV of the file at ``index`` (0-based, encryption order): byte ``j mod 16`` of the seed is
    bumped once for every j in 0..index, so the first file already has byte 0 + 1 (pitfall 4)."""
    iv = bytearray(seed)
    for j in range(index + 1):
        iv[j % _BLOCK] = (iv[j % _BLOCK] + 1) & 0xFF
    return bytes(iv)


def _pkcs7_pad(data: bytes) -> bytes:
    n = _BLOCK - len(data) % _BLOCK
    return data + bytes([n]) * n


def _pkcs7_unpad(data: bytes) -> bytes | None:
    if not data or len(data) % _BLOCK:
        return None
    n = data[-1]
    if not 1 <= n <= _BLOCK or data[-n:] != bytes([n]) * n:
        return None
    return data[:-n]


def aes_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return enc.update(_pkcs7_pad(plaintext)) + enc.finalize()


def aes_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes | None:
    """Plaintext, or None when the padding is wrong (wrong key or damaged ciphertext)."""
    dec = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    return _pkcs7_unpad(dec.update(ciphertext) + dec.finalize())


def rsa_wrap(public_key: rsa.RSAPublicKey, data: bytes) -> str:
    return base64.b64encode(public_key.encrypt(data, _OAEP)).decode("ascii")


def rsa_unwrap(private_key: rsa.RSAPrivateKey, b64: str) -> bytes | None:
    """The unwrapped bytes, or None when they were not wrapped for this key (or are damaged)."""
    try:
        return private_key.decrypt(base64.b64decode(b64, validate=False), _OAEP)
    except (ValueError, binascii.Error):
        return None


def signature_text(form_id: str, version: str | None, encrypted_key: str, instance_id: str,
                   md5_by_name: Mapping[str, str]) -> str:
    """The text whose MD5 the client signs (encryption.md §2 step 7); ``md5_by_name`` maps
    plaintext file names (the XML as ``submission.xml``) to hex MD5s, in encryption order."""
    lines = [form_id]
    if version is not None:
        lines.append(version)
    lines += [encrypted_key, instance_id]
    lines += [f"{name}::{md5}" for name, md5 in md5_by_name.items()]
    return "\n".join(lines) + "\n"


# -- decryption -------------------------------------------------------------------------------


def _plain_name(enc_name: str) -> str:
    return enc_name[:-4] if enc_name.endswith(".enc") else enc_name


def _xml_identity(xml: bytes) -> tuple[str | None, str | None, str | None] | None:
    """(root id, root version, meta/instanceID) of a decrypted instance, None if unparsable."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    instance_id = None
    for el in root.iter():
        if el.tag.endswith("instanceID") and _local(el.tag) == "instanceID":
            instance_id = (el.text or "").strip()
            break
    return _attr(root, "id"), _attr(root, "version"), instance_id


PrivateKeys = rsa.RSAPrivateKey | Sequence[rsa.RSAPrivateKey]


def _unwrap_submission_key(manifest: Manifest, private_key: PrivateKeys
                           ) -> tuple[bytes | None, rsa.RSAPrivateKey | None]:
    """(AES key, the private key that unwrapped it). After a rotation several keys are tried
    (pitfall 13): an OAEP failure is cheap and clean."""
    candidates = (private_key,) if isinstance(private_key, rsa.RSAPrivateKey) else tuple(private_key)
    for candidate in candidates:
        key = rsa_unwrap(candidate, manifest.encrypted_key)
        if key is not None and len(key) == 32:
            return key, candidate
    return None, None


def decrypt_manifest(manifest: Manifest, files: Mapping[str, bytes],
                     private_key: PrivateKeys) -> DecryptedSubmission:
    """Decrypt and verify one submission given its parsed manifest and its ``.enc`` files.
    ``private_key`` may be several keys (current first, then those of earlier key pairs).

    Raises DecryptionError: WRONG_KEY (the AES key does not unwrap), MISSING_FILE (a listed
    file was not supplied — retry later), TAMPERED (a file does not decrypt to a well-formed
    submission of this manifest), BAD_SIGNATURE (decrypts, but the client's signature does not
    match: altered content or manifest, or an old Enketo non-ASCII bug — pitfall 11).
    """
    iid = manifest.instance_id
    key, owner = _unwrap_submission_key(manifest, private_key)
    if key is None or owner is None:
        raise _fail(WRONG_KEY, f"the submission key of form {manifest.form_id} does not unwrap "
                    "with the configured private key.",
                    "Check SUARA_FORM_PRIVATE_KEY is the key of this form's public_key (after a key "
                    "rotation, older submissions need the old key).", instance_id=iid)
    seed = iv_seed(iid, key)
    names = [*manifest.media, manifest.xml_file]
    absent = [n for n in names if n not in files]
    if absent:
        raise _fail(MISSING_FILE, f"{len(absent)} encrypted file(s) listed in the manifest are not "
                    f"available ({', '.join(absent)}).",
                    "The upload may still be arriving or a file was deleted on the server; once "
                    "the files are there, `suara quarantine release` hands the submission back to "
                    "the next sync.", instance_id=iid)
    md5s: dict[str, str] = {}
    plain: dict[str, bytes] = {}
    for index, name in enumerate(names):
        data = aes_decrypt(key, file_iv(seed, index), files[name])
        if data is None:
            raise _fail(TAMPERED, f"{name} does not decrypt (bad padding): the ciphertext is "
                        "damaged or does not belong to this manifest.",
                        "Re-download the file; if it persists the stored file is corrupt.",
                        instance_id=iid)
        label = XML_NAME if index == len(names) - 1 else _plain_name(name)
        md5s[label] = hashlib.md5(data).hexdigest()
        plain[label] = data
    xml = plain.pop(XML_NAME)
    identity = _xml_identity(xml)
    if identity is None:
        raise _fail(TAMPERED, "the decrypted submission is not well-formed XML.",
                    "The ciphertext was altered or decrypted with the wrong IV order; re-download it.",
                    instance_id=iid)
    xml_id, xml_version, xml_iid = identity
    if xml_id != manifest.form_id or (xml_iid is not None and xml_iid != iid):
        raise _fail(TAMPERED, "the decrypted submission names another form or instance than "
                    "its manifest.", "The encrypted file was swapped; review it in quarantine.",
                    instance_id=iid)
    version = manifest.version if manifest.version is not None else xml_version
    digest = rsa_unwrap(owner, manifest.signature)
    expected = hashlib.md5(
        signature_text(manifest.form_id, version, manifest.encrypted_key, iid, md5s).encode("utf-8")
    ).digest()
    if digest != expected:
        raise _fail(BAD_SIGNATURE, "the element signature does not match the decrypted files.",
                    "The submission or its manifest was altered after the phone signed it (or it "
                    "came from an Enketo release older than Aug 2025 with non-ASCII text). Review "
                    "it in quarantine before releasing it.", instance_id=iid)
    return DecryptedSubmission(xml=xml, media=plain, instance_id=iid,
                               form_id=manifest.form_id, version=version)


def decrypt_submission(manifest_xml: bytes, files: Mapping[str, bytes],
                       private_key: PrivateKeys) -> DecryptedSubmission:
    """Decrypt one submission from its manifest XML and its ``.enc`` files (name → bytes)."""
    return decrypt_manifest(read_manifest(manifest_xml), files, private_key)


# -- encryption (what the phone does; used by the sandbox and the tests) ----------------------


def encrypt_files(xml: bytes, public_key: rsa.RSAPublicKey, instance_id: str, form_id: str,
                  version: str | None, media: Mapping[str, bytes] | None = None,
                  *, key: bytes | None = None) -> tuple[Manifest, dict[str, bytes]]:
    """Encrypt a submission like Collect; ``key`` fixes the AES key (tests re-encrypting a
    published vector byte for byte), otherwise a fresh random one is drawn."""
    key = key if key is not None else os.urandom(32)
    seed = iv_seed(instance_id, key)
    wrapped = rsa_wrap(public_key, key)
    ordered = [*(media or {}).items(), (XML_NAME, xml)]
    files: dict[str, bytes] = {}
    md5s: dict[str, str] = {}
    for index, (name, data) in enumerate(ordered):
        files[name + ".enc"] = aes_encrypt(key, file_iv(seed, index), data)
        md5s[name] = hashlib.md5(data).hexdigest()
    digest = hashlib.md5(
        signature_text(form_id, version, wrapped, instance_id, md5s).encode("utf-8")
    ).digest()
    manifest = Manifest(
        form_id=form_id, version=version, instance_id=instance_id, encrypted_key=wrapped,
        signature=rsa_wrap(public_key, digest),
        media=tuple(f"{name}.enc" for name in (media or {})),
    )
    return manifest, files


def encrypt_submission(xml: bytes, public_key: rsa.RSAPublicKey, instance_id: str, form_id: str,
                       version: str | None, media: Mapping[str, bytes] | None = None,
                       *, layout: str = "collect") -> tuple[bytes, dict[str, bytes]]:
    """What KoboCollect does at finalisation: returns (manifest XML, {".enc" name: bytes}).

    ``layout`` is "collect" (KoboCollect/ODK Collect) or "enketo" (Kobo's web forms).
    """
    if not re.match(r"^\S+$", instance_id):
        raise ValueError("instance_id must be the record's meta/instanceID (e.g. 'uuid:…')")
    manifest, files = encrypt_files(xml, public_key, instance_id, form_id, version, media)
    writer = {"collect": collect_manifest, "enketo": enketo_manifest}[layout]
    return writer(manifest), files
