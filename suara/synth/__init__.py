"""Synthetic submissions generated from the Form model, in Kobo's JSON shape (kobo-api.md §6).

Everything comes from the ``Form``: choice lists and ``choice_filter`` cascades, ``relevant``
(a field's own and its groups'), ``constraint`` (numeric bounds are read from the expression,
regexes are generated from), ``required``, ``calculation`` (evaluated with ``suara.xpath``,
so ``eligible``/``k_score``/``any_vh`` hold what the device would compute) and
``repeat_count``. Nothing here names a question of a particular form.

Realism comes from a few generic rules, so indicators are not trivial: yes/no questions that
gate later groups (their answers feed a group ``relevant`` or a calculation) are answered
"yes" most of the time, so most respondents consent and some decline; "female" is chosen
more often than other choices; "yes" to a sensitive (``pii_class`` S) question is rarer;
"don't know"/"refuse"/"other" are rare; optional questions are sometimes skipped.

``edge_share`` turns a share of rows into edge cases, one kind per row, in turn through
``edge_kinds`` (the ``EDGE_*`` constants); ``generate_labelled`` says which row got which.
Output is deterministic for a seed, and row ``i`` does not depend on ``n``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from suara.forms.model import Form
from suara.synth.device import BASE_TIME, Generator
from suara.synth.edges import (
    CONTROL_CHARS,
    EDGE_CONTROL_CHARS,
    EDGE_HUGE_STRING,
    EDGE_IRRELEVANT_ANSWER,
    EDGE_KINDS,
    EDGE_MISSING_REQUIRED,
    EDGE_OUT_OF_RANGE,
    EDGE_PLANTED_IDENTIFIER,
    EDGE_UNKNOWN_CHOICE,
    EDGE_WRONG_VERSION,
    EDGES,
    HUGE_STRING_LENGTH,
    UNKNOWN_CHOICE,
)
from suara.synth.ids import formhub_uuid, stable_uid, version_uid

_deployed_version_uid = version_uid  # generate() has a parameter of the same name

__all__ = [
    "BASE_TIME", "CONTROL_CHARS", "EDGE_CONTROL_CHARS", "EDGE_HUGE_STRING",
    "EDGE_IRRELEVANT_ANSWER", "EDGE_KINDS", "EDGE_MISSING_REQUIRED", "EDGE_OUT_OF_RANGE",
    "EDGE_PLANTED_IDENTIFIER", "EDGE_UNKNOWN_CHOICE", "EDGE_WRONG_VERSION", "HUGE_STRING_LENGTH",
    "UNKNOWN_CHOICE", "Synthetic", "formhub_uuid", "generate", "generate_labelled",
    "stable_uid", "version_uid",
]


@dataclass(frozen=True)
class Synthetic:
    submission: dict
    edge: str | None   # the EDGE_* kind of this row, None for a clean row
    field: str | None  # name of the field the edge touched (None for wrong_version)


def generate(form: Form, n: int, *, seed: int = 0, edge_share: float = 0.0, start_id: int = 1,
             version_uid: str | None = None, edge_kinds: Sequence[str] = EDGE_KINDS) -> list[dict]:
    """``n`` submissions of ``form`` as the KPI data endpoint returns them."""
    return [s.submission for s in generate_labelled(
        form, n, seed=seed, edge_share=edge_share, start_id=start_id, version_uid=version_uid,
        edge_kinds=edge_kinds)]


def generate_labelled(form: Form, n: int, *, seed: int = 0, edge_share: float = 0.0,
                      start_id: int = 1, version_uid: str | None = None,
                      edge_kinds: Sequence[str] = EDGE_KINDS) -> list[Synthetic]:
    """Like ``generate``, also saying which edge case each row carries."""
    unknown = set(edge_kinds) - set(EDGE_KINDS)
    if unknown:
        raise ValueError(f"unknown edge kinds {sorted(unknown)}; use the EDGE_* constants")
    gen = Generator(form, seed, version_uid or _deployed_version_uid(form))
    picker = random.Random(f"{seed}:edges")
    out, turn = [], 0
    for i in range(n):
        sub, values = gen.respondent(i, start_id + i)
        edge = field = None
        if edge_kinds and picker.random() < edge_share:
            for k in range(len(edge_kinds)):
                kind = edge_kinds[(turn + k) % len(edge_kinds)]
                field = EDGES[kind](gen, sub, values, random.Random(f"{seed}:edge:{i}"))
                if field is not False:
                    edge, turn = kind, turn + k + 1
                    break
            field = field or None
        out.append(Synthetic(sub, edge, field))
    return out
