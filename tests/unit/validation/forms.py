"""Small test forms (markdown tables) and helpers shared by the validation tests."""

from __future__ import annotations

from suara.forms import form_from_markdown
from suara.normalise import normalise

SURVEY = """
| survey   |                    |           |        |          |                           |                                   |                        |
|          | type               | name      | label  | required | relevant                  | constraint                        | calculation            |
|          | text               | code      | Code   | yes      |                           | regex(., '^E[0-9]{{2}}$')          |                        |
|          | select_one yn      | consent   | C      | yes      |                           |                                   |                        |
|          | begin_group        | grp       | G      |          | ${{consent}} = 'yes'       |                                   |                        |
|          | integer            | total     | Total  | yes      |                           | . >= 1 and . <= 100               |                        |
|          | integer            | women     | Women  | yes      |                           | . >= 0 and . <= ${{total}}         |                        |
|          | select_multiple ch | picks     | Picks  |          |                           | not(selected(., 'none') and count-selected(.) > 1) |          |
|          | date               | when      | When   |          |                           | . <= today()                      |                        |
|          | text               | why       | Why    |          | selected(${{picks}}, 'b')  |                                   |                        |
|          | end_group          |           |        |          |                           |                                   |                        |
|          | calculate          | share     |        |          |                           |                                   | ${{women}} div ${{total}} |
|          | begin_repeat       | kids      | Kids   |          | ${{consent}} = 'yes'       |                                   |                        |
|          | integer            | kid_age   | Age    | yes      |                           | . >= 0 and . <= 17                |                        |
|          | end_repeat         |           |        |          |                           |                                   |                        |
{extra}
| choices  |                    |           |        |          |                           |                                   |                        |
|          | list_name          | name      | label  |          |                           |                                   |                        |
|          | yn                 | yes       | Yes    |          |                           |                                   |                        |
|          | yn                 | no        | No     |          |                           |                                   |                        |
|          | ch                 | a         | A      |          |                           |                                   |                        |
|          | ch                 | b         | B      |          |                           |                                   |                        |
|          | ch                 | none      | None   |          |                           |                                   |                        |
{choices}
| settings |                    |           |        |          |                           |                                   |                        |
|          | form_id            | version   |        |          |                           |                                   |                        |
|          | tiny               | {version} |        |          |                           |                                   |                        |
"""


def tiny_form(version: str = "1", extra: str = "", choices: str = ""):
    return form_from_markdown(SURVEY.format(version=version, extra=extra, choices=choices))


def good(_id: int = 1, **over) -> dict:
    """A valid submission of ``tiny_form()``; keyword ``grp__x`` overrides ``grp/x``, None drops."""
    sub = {
        "_id": _id, "_uuid": f"uuid-{_id}", "_submission_time": "2024-05-01T10:00:00",
        "__version__": "1", "code": "E07", "consent": "yes",
        "grp/total": "10", "grp/women": "4", "grp/picks": "a b", "grp/when": "2024-04-30",
        "grp/why": "because", "share": "0.4",
        "kids": [{"kids/kid_age": "3"}, {"kids/kid_age": "9"}],
    }
    for key, value in over.items():
        key = key.replace("grp__", "grp/")
        if value is None:
            sub.pop(key, None)
        else:
            sub[key] = value
    return sub


def batch(forms, submissions):
    """Normalise ``submissions`` for the versions in ``forms`` (newest is current)."""
    versions = {f.version: f for f in forms}
    current = versions[max(versions)]
    return normalise(versions, current, submissions), versions
