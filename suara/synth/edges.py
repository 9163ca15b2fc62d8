"""Edge cases planted in otherwise valid rows, one kind per row (``EDGE_*``).

Each function returns the name of the field it changed, None when no field is involved, or
False when the row has nothing it can apply to (the next kind in turn is tried).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from suara.forms.model import Field
from suara.synth.ids import stable_uid

EDGE_OUT_OF_RANGE = "out_of_range"            # a number outside its constraint
EDGE_UNKNOWN_CHOICE = "unknown_choice"        # a choice code the list does not have
EDGE_MISSING_REQUIRED = "missing_required"    # a required, relevant answer removed
EDGE_IRRELEVANT_ANSWER = "irrelevant_answer"  # an answer to a question its relevant hides
EDGE_WRONG_VERSION = "wrong_version"          # __version__ the server never deployed
EDGE_HUGE_STRING = "huge_string"              # a text answer of HUGE_STRING_LENGTH characters
EDGE_CONTROL_CHARS = "control_chars"          # a text answer with control characters
EDGE_PLANTED_IDENTIFIER = "planted_identifier"  # a NIK (16 digits) and a +62 phone in free text
EDGE_KINDS = (
    EDGE_OUT_OF_RANGE, EDGE_UNKNOWN_CHOICE, EDGE_MISSING_REQUIRED, EDGE_IRRELEVANT_ANSWER,
    EDGE_WRONG_VERSION, EDGE_HUGE_STRING, EDGE_CONTROL_CHARS, EDGE_PLANTED_IDENTIFIER,
)
UNKNOWN_CHOICE = "zz_unknown"
HUGE_STRING_LENGTH = 60_000
CONTROL_CHARS = "\x00\x07\x1b[2J\x7f\u202e"


def _top_fields(gen, types: Sequence[str]) -> list[Field]:
    return [f for f in gen.form.value_fields(None) if f.type in types and not f.is_metadata]


def _edge_out_of_range(gen, sub, values, rng):
    for f in _top_fields(gen, ("integer", "decimal")):
        if f.path in sub and f.constraint:
            for bad in ("-1", "999999999", "100001", "0"):
                if not gen.satisfies(f, bad, values):
                    sub[f.path] = bad
                    return f.name
    return False


def _edge_unknown_choice(gen, sub, values, rng):
    fields = [f for f in _top_fields(gen, ("select_one", "select_multiple")) if f.path in sub]
    if not fields:
        return False
    f = rng.choice(fields)
    sub[f.path] = UNKNOWN_CHOICE if f.type == "select_one" else f"{sub[f.path]} {UNKNOWN_CHOICE}"
    return f.name


def _edge_missing_required(gen, sub, values, rng):
    fields = [f for f in gen.form.value_fields(None)
              if f.required and f.path in sub and not f.is_metadata and f.type != "calculate"]
    if not fields:
        return False
    f = rng.choice(fields)
    del sub[f.path]
    return f.name


def _edge_irrelevant_answer(gen, sub, values, rng):
    fields = [f for f in _top_fields(gen, ("select_one", "integer", "text", "select_multiple"))
              if f.path not in sub and gen.form.relevant_chain(f) and not gen.relevant(f, values, {})]
    if not fields:
        return False
    f = rng.choice(fields)
    cl = gen.form.choices(f)
    sub[f.path] = cl.choices[0].name if cl and cl.choices else ("1" if f.type == "integer" else "ya")
    return f.name


def _edge_wrong_version(gen, sub, values, rng):
    sub["__version__"] = stable_uid("v", gen.form.form_id, "never-deployed")
    return None


def _text_target(gen, sub) -> Field | None:
    texts = _top_fields(gen, ("text",))
    ranked = sorted(texts, key=lambda f: (bool(f.constraint), f.path not in sub))
    return ranked[0] if ranked else None


def _text_edge(make):
    def apply(gen, sub, values, rng):
        f = _text_target(gen, sub)
        if f is None:
            return False
        sub[f.path] = make(rng)
        return f.name
    return apply


def _planted(rng: random.Random) -> str:
    nik = "3216" + "".join(str(rng.randrange(10)) for _ in range(12))
    phone = f"+62 81{rng.randrange(10)}-{rng.randrange(1000, 9999)}-{rng.randrange(1000, 9999)}"
    return f"pengawas lembur, NIK {nik}, hubungi {phone}"


EDGES = {
    EDGE_OUT_OF_RANGE: _edge_out_of_range,
    EDGE_UNKNOWN_CHOICE: _edge_unknown_choice,
    EDGE_MISSING_REQUIRED: _edge_missing_required,
    EDGE_IRRELEVANT_ANSWER: _edge_irrelevant_answer,
    EDGE_WRONG_VERSION: _edge_wrong_version,
    EDGE_HUGE_STRING: _text_edge(lambda rng: ("upah lembur " * HUGE_STRING_LENGTH)[:HUGE_STRING_LENGTH]),
    EDGE_CONTROL_CHARS: _text_edge(lambda rng: f"gudang{CONTROL_CHARS}lama"),
    EDGE_PLANTED_IDENTIFIER: _text_edge(_planted),
}
