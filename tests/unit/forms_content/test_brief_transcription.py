"""The committed forms say what the content brief (shared/forms-content.md) says.

Guards the transcription: a question dropped, a label or skip rule edited in one place but not
the other, an answer key that no longer matches the scored calculation. Skips when the brief
is not beside the repository (it is a shared, read-only document, not part of the package).
"""

from __future__ import annotations

import re

import pytest

from suara.forms import Form, load_form
from tests.conftest import FORMS_DIR, SHARED

BRIEF = SHARED / "forms-content.md"
pytestmark = pytest.mark.skipif(not BRIEF.exists(), reason="shared/forms-content.md not present")

# form id → (question-list heading, choice-list heading, heading after the choices)
SECTIONS = {
    "ilo_rights_baseline": ("### 3.3", "### 3.5", "### 3.6"),
    "ilo_vh_reporting": ("### 4.4", "### 4.5", "### 4.6"),
    "ilo_org_assessment": ("### 5.3", "### 5.4", "### 5.5"),
}
# Deliberate differences from the brief's tables, each explained in forms/README.md.
CLASS_CHANGES = {"workers_total": "O"}
SECTION_RE = re.compile(
    r"^\*\*(Section|Repeat) `(\w+)`: (.+?) / (.+?)\*\*(?: \(shown only if `(.+?)`[;)])?"
)
NOTE_RE = re.compile(r'^Full text of note `(\w+)`\. EN: "(.*)" ID: "(.*)"$')
HINT_RE = re.compile(r"^(.*?)\s*_\((?:hint|petunjuk): (.*)\)_$")
TOKEN_RE = re.compile(r'(\w+): (`[^`]*`|"[^"]*" / "[^"]*")|(required)')


def _lines(start: str, end: str) -> list[str]:
    lines = BRIEF.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith(start))
    j = next(n for n, line in enumerate(lines) if n > i and line.startswith(end))
    return lines[i:j]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip()[1:-1].split(" | ")]


def _code(cell: str) -> str:
    return cell.strip().strip("`")


def brief_questions(form_id: str) -> tuple[list[dict], list[dict], dict[str, tuple[str, str]]]:
    lines = _lines(SECTIONS[form_id][0], "### ")  # up to the next heading
    notes = {m.group(1): (m.group(2), m.group(3)) for m in map(NOTE_RE.match, lines) if m}
    questions, groups = [], []
    for line in lines:
        m = SECTION_RE.match(line)
        if m:
            groups.append(
                {
                    "name": m.group(2),
                    "en": m.group(3),
                    "id": m.group(4),
                    "relevant": m.group(5) or "",
                    "kind": "repeat" if m.group(1) == "Repeat" else "group",
                    "repeat_count": "".join(re.findall(r"`repeat_count = (.+)`\)$", line)),
                }
            )
        elif line.startswith("| `"):
            name, typ, en, idl, logic, cls = _cells(line)
            q = {
                "name": _code(name),
                "type": _code(typ),
                "en": en,
                "id": idl,
                "class": cls,
                "logic": {},
            }
            for key, value, required in TOKEN_RE.findall(logic):
                q["logic"][key or required] = value.strip("`") if value.startswith("`") else value
            questions.append(q)
    return questions, groups, notes


def brief_choices(form_id: str) -> list[dict]:
    _, start, end = SECTIONS[form_id]
    rows = _lines(start, end) + (
        _lines("### 3.5", "### 3.6") if form_id != "ilo_rights_baseline" else []
    )
    out = []
    for line in rows:
        if line.startswith("| `"):
            ln, name, en, idl, extra = _cells(line)
            out.append(
                {"list": _code(ln), "name": _code(name), "en": en, "id": idl, "extra": extra}
            )
    return out


@pytest.fixture(scope="module", params=list(SECTIONS))
def pair(request) -> tuple[Form, str]:
    return load_form(FORMS_DIR / f"{request.param}.md"), request.param


def test_every_question_of_the_brief_in_order(pair):
    form, form_id = pair
    questions, groups, _ = brief_questions(form_id)
    assert [f.name for f in form.fields if not f.generated] == [q["name"] for q in questions]
    assert [g.name for g in form.groups] == [g["name"] for g in groups]
    for q in questions:
        f = form.field(q["name"])
        assert f.raw["type"] == q["type"], q["name"]
        assert f.pii_class == CLASS_CHANGES.get(q["name"], q["class"]), q["name"]


def test_labels_hints_and_notes_match(pair):
    form, form_id = pair
    questions, groups, notes = brief_questions(form_id)
    for q in questions:
        f = form.field(q["name"])
        en, idl = notes.get(q["name"], (q["en"], q["id"]))
        hint_en, hint_id = HINT_RE.match(en), HINT_RE.match(idl)
        if hint_en:
            en, idl = hint_en.group(1), hint_id.group(1)
            assert f.hints == {
                "English (en)": hint_en.group(2),
                "Indonesian (id)": hint_id.group(2),
            }
        else:
            assert f.hints == {}, q["name"]
        expected = {"English (en)": en, "Indonesian (id)": idl} if en else {}
        assert f.labels == expected, q["name"]
    for g in groups:
        assert form.group(g["name"]).labels == {"English (en)": g["en"], "Indonesian (id)": g["id"]}
        assert form.group(g["name"]).relevant == g["relevant"]
        assert form.group(g["name"]).kind == g["kind"]
        assert form.group(g["name"]).repeat_count == g["repeat_count"]


def test_logic_matches(pair):
    form, form_id = pair
    questions, _, _ = brief_questions(form_id)
    for q in questions:
        f, logic = form.field(q["name"]), q["logic"]
        assert f.required == ("required" in logic), q["name"]
        assert f.relevant == logic.get("relevant", ""), q["name"]
        assert f.constraint == logic.get("constraint", ""), q["name"]
        assert f.choice_filter == logic.get("choice_filter", ""), q["name"]
        assert f.appearance == logic.get("appearance", ""), q["name"]
        if "calc" in logic:  # the scores are written out from the answer keys (next test)
            assert f.calculation == logic["calc"], q["name"]
        if "message" in logic:
            en, idl = re.fullmatch(r'"(.*)" / "(.*)"', logic["message"]).groups()
            assert f.constraint_message == {"English (en)": en, "Indonesian (id)": idl}, q["name"]


def test_scores_use_the_answer_keys():
    form = load_form(FORMS_DIR / "ilo_rights_baseline.md")
    keys = {
        _code(c[0]): _code(c[2])
        for c in map(_cells, _lines("### 3.4", "### 3.5"))
        if c[0].startswith("`")
    }
    assert len(keys) == 26
    for score, prefix, n in (("k_score", "k", 18), ("j_score", "j", 8)):
        terms = re.findall(r"if\(\$\{(\w+)\}='(\w+)',1,0\)", form.field(score).calculation)
        assert dict(terms) == {k: v for k, v in keys.items() if k.startswith(prefix)}
        assert len(terms) == n
    dk_terms = re.findall(r"if\(\$\{(k\d\d)\}='dk',1,0\)", form.field("k_dk").calculation)
    assert sorted(dk_terms) == [f"k{i:02d}" for i in range(1, 19)]


def test_every_choice_of_the_brief(pair):
    form, form_id = pair
    for c in brief_choices(form_id):
        if c["list"] not in form.choice_lists:
            assert not any(f.list_name == c["list"] for f in form.fields)
            continue
        got = form.choice_lists[c["list"]].get(c["name"])
        assert got is not None, (c["list"], c["name"])
        assert got.labels == {"English (en)": c["en"], "Indonesian (id)": c["id"]}, c["name"]
        if c["extra"]:
            column, value = c["extra"].split("=")
            assert got.extra.get(column) == value, (c["list"], c["name"])
