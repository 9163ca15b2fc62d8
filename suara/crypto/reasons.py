"""Why an encrypted submission goes to quarantine: stable codes, each with what failed and what a
data manager can do (``suara quarantine show``). Each says what happened, never what it held.

Apart from ``odk`` so that validation's reason catalogue can list them without importing the
cryptography stack (~25 ms of every sync's first page, and of the pull process's start).
"""

from __future__ import annotations

WRONG_KEY = "CRYPT_WRONG_KEY"
TAMPERED = "CRYPT_TAMPERED"
BAD_SIGNATURE = "CRYPT_BAD_SIGNATURE"
MALFORMED = "CRYPT_MALFORMED"
MISSING_FILE = "CRYPT_MISSING_FILE"

# code → (what failed, what a data manager can do): shown by `suara quarantine show`.
REASONS: dict[str, tuple[str, str]] = {
    WRONG_KEY: ("the submission's key does not unwrap with SUARA_FORM_PRIVATE_KEY (made for "
                "another key pair, or its key element is damaged)",
                "After a key rotation, make SUARA_FORM_PRIVATE_KEY a folder that also holds the "
                "earlier key, then release."),
    TAMPERED: ("an encrypted file does not decrypt to a well-formed submission of its manifest "
               "(damaged or swapped)",
               "Compare with the copy on the server; if the stored file is corrupt, re-send it from "
               "the device or drop the submission."),
    BAD_SIGNATURE: ("it decrypts, but the phone's signature does not match (content or manifest "
                    "altered, or an Enketo release older than Aug 2025 with non-ASCII text)",
                    "Review it with the field team; never release an unexplained mismatch."),
    MALFORMED: ("the row is not a complete ODK encrypted submission",
                "Check the client that sent it; drop it if it cannot be re-sent."),
    MISSING_FILE: ("an encrypted file its manifest lists is not on the server (upload still "
                   "arriving, or deleted)",
                   "Once the files are on the server, release it; the next sync decrypts it."),
}
