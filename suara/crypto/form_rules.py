"""Encryption rules for ``suara forms check``: what a form's encryption settings must satisfy.

``encryption_findings(form)`` returns problems rather than raising, so the forms check can list
them all beside its own findings (``suara.forms.rules``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from suara.crypto.keys import parse_public_key
from suara.errors import FormDefinitionError
from suara.forms.model import Form

# The committed demo key sits beside the forms (forms/keys/demo_public.pem).
DEMO_PUBLIC_KEY = Path("keys") / "demo_public.pem"


@dataclass(frozen=True)
class EncryptionFinding:
    severity: str  # "error" | "warning" | "notice"
    code: str
    where: str
    message: str
    hint: str


def _pem_body(path: Path) -> str | None:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return "".join(line.strip() for line in lines if not line.startswith("-----"))


def _is_demo_key(form: Form, value: str) -> bool:
    source = Path(form.source)
    candidates = [source.parent / DEMO_PUBLIC_KEY, source.parent.parent.parent / DEMO_PUBLIC_KEY]
    return any(_pem_body(p) == value.strip() for p in candidates if p.is_file())


def encryption_findings(form: Form) -> list[EncryptionFinding]:
    value = form.settings.get("public_key")
    if not value:
        return []
    where = f"{form.source}, settings"
    try:
        parse_public_key(value, form_id=form.form_id, where="settings")
    except FormDefinitionError as exc:
        return [EncryptionFinding("error", exc.code, where, exc.message, exc.hint or "")]
    out = []
    if not form.settings.get("submission_url"):
        out.append(EncryptionFinding(
            "warning", "FORM_KEY_URL", where,
            "public_key is set but submission_url is not: phones still encrypt, but Kobo will "
            "not show the project as encrypted (it needs both).",
            "Add submission_url (e.g. https://kc.kobotoolbox.org/submission, or the server's own)."))
    if str(form.settings.get("auto_delete", "")).lower() not in ("true", "yes"):
        out.append(EncryptionFinding(
            "warning", "FORM_KEY_AUTODELETE", where,
            "encrypted submissions stay on the phone after sending (auto_delete is not true).",
            "Set auto_send=true and auto_delete=true so finalised reports leave the device."))
    if _is_demo_key(form, value):
        out.append(EncryptionFinding(
            # A notice, not a warning: the demo is meant to run on it; `suara forms deploy`
            # refuses it for any server that is not on this machine.
            "notice", "FORM_KEY_DEMO", where,
            "public_key is the committed DEMO key: anyone with the repository can decrypt.",
            "Before fieldwork run `suara keys new`, keep the private key offline, put the printed "
            "public_key here and bump version."))
    return out
