"""Consent gating: which submissions may be stored, which may be released, which are erased.

* ``consent_fields`` (all must hold): without them a submission is *withheld*: it reaches
  neither zone and is counted (design.md invariant 1: pulled = loaded + quarantined + withheld).
* ``withdrawn_fields`` (any may hold): the person withdrew; the submission is withheld and
  *erased* from every zone and derived table (the warehouse deletes the ids in ``erase``).
* ``share_fields`` (all must hold): consent to share de-identified microdata; without it the
  submission stays in the restricted zone (aggregates only) and is left out of ``analytics``.

A condition on a field the frame lacks (an older form version) does not hold: fail closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def holds(values: pd.Series, expected: str) -> np.ndarray:
    """True where a typed value equals ``expected`` as the form author wrote it: numbers
    compare as numbers (``1`` = ``1.0``), select_multiple answers by membership."""
    present = values.notna().to_numpy()
    if pd.api.types.is_bool_dtype(values):
        want = expected.strip().lower() in ("1", "true", "yes", "ok")
        return present & (values.fillna(not want).astype(bool).to_numpy() == want)
    if pd.api.types.is_numeric_dtype(values):
        try:
            number = float(expected)
        except ValueError:
            return np.zeros(len(values), dtype=bool)
        return present & (pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64",
                                                                          na_value=np.nan) == number)
    text = values.astype("object").where(values.notna(), "").map(str).str.strip()
    exact = (text == expected.strip()).to_numpy()
    member = text.str.split().map(lambda tokens: expected.strip() in tokens).to_numpy(dtype=bool)
    return present & (exact | member)


def _all(frame: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    ok = np.ones(len(frame), dtype=bool)
    for name, value in pairs:
        ok &= holds(frame[name], value) if name in frame.columns else False
    return ok


def _any(frame: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    hit = np.zeros(len(frame), dtype=bool)
    for name, value in pairs:
        if name in frame.columns:
            hit |= holds(frame[name], value)
    return hit


@dataclass(frozen=True)
class ConsentDecision:
    """Submission ids by outcome (``_id`` values of the submission table)."""

    withheld: set[int]    # no consent, or withdrawn: in no zone
    erase: set[int]       # withdrawn: delete everywhere
    not_shared: set[int]  # consented to aggregates but not to microdata sharing


def decide(frame: pd.DataFrame, consent, withdrawn, share) -> ConsentDecision:
    """Apply the form's consent policy to its submission table (one row per ``_id``)."""
    ids = frame["_id"].to_numpy()
    withdrawn_mask = _any(frame, withdrawn)
    consented = _all(frame, consent) & ~withdrawn_mask
    shared = _all(frame, share)
    as_ids = lambda mask: {int(i) for i in ids[mask]}  # noqa: E731
    return ConsentDecision(
        withheld=as_ids(~consented),
        erase=as_ids(withdrawn_mask),
        not_shared=as_ids(consented & ~shared),
    )
