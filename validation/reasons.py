"""Reason codes for quarantined submissions: one per expectation family.

A reason names the form table, field and expectation, never a value: reasons are stored in
clear beside the encrypted payload and shown by ``suara quarantine list|show``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suara.crypto.reasons import REASONS as _crypto_reasons

# code → (what failed, what a data manager can do about it)
CATALOGUE: dict[str, tuple[str, str]] = {
    "VAL_TYPE": ("an answer does not parse as its field's type (integer, decimal, date, …)",
                 "Check the form version on the device; fix the value on the server, then release."),
    "VAL_REQUIRED": ("a required question that applies is unanswered",
                     "Check the relevance rules of the form version; fix the submission on the server."),
    "VAL_IRRELEVANT": ("a question that does not apply (its relevant is false) has an answer",
                       "Usually an edit on the server or a changed relevance rule; fix the form or the data."),
    "VAL_CHOICE": ("an answer is not one of the choices of the submission's form version",
                   "Add the choice to the form (new version) or correct the submission."),
    "VAL_CONSTRAINT": ("an answer breaks the field's constraint",
                       "Correct the value on the server, or relax the constraint in a new form version."),
    "VAL_CROSS_FIELD": ("answers contradict each other (e.g. more women members than members)",
                        "Correct the submission on the server, then release it."),
    "VAL_DUPLICATE_ID": ("two submissions in the batch share an _id or _uuid",
                         "Check for re-sent submissions on the server; drop the duplicate."),
    "VAL_UNKNOWN_VERSION": ("the submission's form version is not in forms/ (nor forms/versions/)",
                            "Archive that version as forms/versions/<form_id>/<version>.md, then release."),
}
# Decryption reasons (encrypted forms) are defined beside the decryptor.
CATALOGUE.update(_crypto_reasons)


@dataclass(frozen=True, order=True)
class Reason:
    """Why a submission is held. Never holds a value."""

    code: str
    table: str
    field: str
    expectation: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class QuarantinedSubmission:
    _id: int
    _uuid: str | None
    form_version: str
    reasons: list[Reason]


def describe(code: str) -> str:
    return CATALOGUE.get(code, ("unknown reason", ""))[0]


def hint(code: str) -> str:
    return CATALOGUE.get(code, ("", ""))[1]
