"""A small form served by a real sandbox on 127.0.0.1, and a session carrying its token."""

from __future__ import annotations

import pytest
import requests

from suara.forms import form_from_markdown
from suara.sandbox import Sandbox

SANDBOX_FORM = """\
| survey |
|  | type | name | label | required | relevant | constraint |
|  | start | start | | | | |
|  | select_one yn | consent | Consent? | yes | | |
|  | begin_group | grp | Main | | ${consent}='yes' | |
|  | select_one sex | sex | Sex | yes | | |
|  | integer | age | Age | yes | | . >= 18 and . <= 60 |
|  | image | photo | Photo of the notice board | | | |
|  | end_group | | | | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
|  | sex | female | Female |
|  | sex | male | Male |
| settings |
|  | form_id | version | form_title |
|  | sandbox_test | 2026010101 | Sandbox test form |
"""


@pytest.fixture(scope="session")
def sandbox_form():
    return form_from_markdown(SANDBOX_FORM)


@pytest.fixture
def sandbox(sandbox_form):
    with Sandbox([sandbox_form], submissions=40, seed=3) as sb:
        yield sb


@pytest.fixture
def kobo(sandbox):
    """A requests session authenticated against the sandbox, with helpers for its URLs."""
    s = requests.Session()
    s.headers["Authorization"] = f"Token {sandbox.token}"
    s.base = sandbox.url
    s.data_url = f"{sandbox.url}/api/v2/assets/{sandbox.asset_uid('sandbox_test')}/data/"
    yield s
    s.close()
