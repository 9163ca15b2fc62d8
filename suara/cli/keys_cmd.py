"""``suara keys new [--out DIR] [--name NAME]``: a key pair for encrypting a deployment's forms.

Writes the private key (PEM, mode 0600, never overwriting) and the public key PEM, then prints
the one-line ``public_key`` value for the forms' settings and how to keep the private key.
The private key itself is never printed.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from suara.crypto.keys import ENV, generate_keypair
from suara.errors import ConfigurationError

CUSTODY = """\
Custody of the private key ({private}):
  * It decrypts every report submitted with this public key. Whoever holds it can read them.
  * Make two offline copies (e.g. two encrypted USB drives) held by two named custodians, in
    different places; then delete any other copy (including this one once copied).
  * Never put it on the Kobo server, a phone or tablet, a shared drive, e-mail, chat or git.
  * On the machine that runs the pipeline, set {env} to its path only while decrypting, with
    file mode 0600, owned by the pipeline's user.
  * If it is lost, submissions encrypted with this key can never be read; if it leaks, make a
    new pair, redeploy the forms with the new public_key and a new version.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    keys = subparsers.add_parser("keys", help="generate key pairs for encrypted forms")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    keys.set_defaults(handler=lambda args: keys.print_help() or 2)
    new = sub.add_parser("new", help="generate an RSA-2048 key pair for a deployment's forms")
    new.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="folder for the key files (default: the current folder)")
    new.add_argument("--name", default="suara_form", metavar="NAME",
                     help="file name stem: NAME_private.pem and NAME_public.pem (default: suara_form)")
    new.set_defaults(handler=run_new)


def _public_pem(b64: str) -> str:
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def write_keypair(out: Path, name: str) -> tuple[Path, Path, str]:
    """Create the pair on disk; returns (private path, public path, public_key value)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigurationError(f"--name '{name}' is not a plain file name.", code="CONF_KEY_NAME",
                                 hint="Use letters, digits, '_', '-' and '.'.")
    private, public = out / f"{name}_private.pem", out / f"{name}_public.pem"
    for path in (private, public):
        if path.exists():
            raise ConfigurationError(
                f"{path} already exists; refusing to overwrite a key.", code="CONF_KEY_EXISTS",
                hint="Choose another --name or --out; an overwritten private key loses every "
                "submission encrypted for it.")
    out.mkdir(parents=True, exist_ok=True)
    pem, b64 = generate_keypair()
    # O_EXCL + mode 0600 at creation: the key is never readable by others, not even briefly.
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(private, 0o600)  # in case a umask or ACL widened it
    public.write_text(_public_pem(b64), encoding="ascii")
    return private, public, b64


def run_new(args: argparse.Namespace) -> int:
    private, public, b64 = write_keypair(args.out, args.name)
    print(f"Wrote the private key to {private} (mode 0600) and the public key to {public}.")
    print()
    print("Put this one line into the settings sheet of each encrypted form, column public_key")
    print("(and bump the form's version):")
    print()
    print(f"public_key={b64}")
    print()
    print(CUSTODY.format(private=private, env=ENV))
    return 0
