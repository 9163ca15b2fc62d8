"""A one-question test form as a markdown table, shared by the kobo tests."""

from suara.forms import form_from_markdown

FORM_MD = """
| survey   |         |       |           |
|          | type    | name  | label     |
|          | text    | q1    | Question  |
| settings |         |         |          |
|          | form_id | version | form_title |
|          | {form_id} | {version} | Test form |
"""


def form(form_id="rights_baseline", version="2026.05.1"):
    return form_from_markdown(FORM_MD.format(form_id=form_id, version=version))
