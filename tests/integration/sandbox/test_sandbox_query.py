"""MongoDB operators on the data endpoint, checked against the rows the sandbox serves.

Each query's result is compared with the same filter applied in Python to the full listing,
so the test states the operator's meaning rather than a fixed count.
"""

from __future__ import annotations

import json

import pytest
import requests

from suara.forms import form_from_markdown
from suara.sandbox import Sandbox

pytestmark = pytest.mark.integration

REPEAT_FORM = """\
| survey |
|  | type | name | label | required | constraint |
|  | select_one yn | member | Member? | yes | |
|  | text | note_text | Note | | |
|  | begin_repeat | kids | Children | | |
|  | integer | kid_age | Age | yes | . >= 0 and . <= 3 |
|  | end_repeat | | | | |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id | version |
|  | query_test | 1 |
"""


@pytest.fixture(scope="module")
def served():
    with Sandbox([form_from_markdown(REPEAT_FORM)], submissions=60, seed=8) as sb:
        s = requests.Session()
        s.headers["Authorization"] = f"Token {sb.token}"
        url = f"{sb.url}/api/v2/assets/{sb.asset_uid('query_test')}/data/"
        rows = s.get(url, params={"limit": 1000}).json()["results"]
        yield s, url, rows


def _ids(served, query) -> list[int]:
    s, url, _ = served
    return [r["_id"] for r in s.get(url, params={"query": json.dumps(query), "limit": 1000}).json()["results"]]


def _kid_ages(row) -> list[str]:
    return [k["kids/kid_age"] for k in row.get("kids", [])]


@pytest.mark.parametrize(("query", "meaning"), [
    ({"$or": [{"member": "yes"}, {"note_text": {"$exists": True}}]},
     lambda r: r.get("member") == "yes" or "note_text" in r),
    ({"$and": [{"member": "yes"}, {"_id": {"$lte": 30}}]},
     lambda r: r.get("member") == "yes" and r["_id"] <= 30),
    ({"member": {"$ne": "yes"}}, lambda r: r.get("member") != "yes"),
    ({"member": {"$nin": ["yes"]}}, lambda r: r.get("member") not in ("yes",)),
    ({"note_text": {"$exists": False}}, lambda r: "note_text" not in r),
    ({"note_text": {"$regex": "^PABRIK", "$options": "i"}},
     lambda r: r.get("note_text", "").lower().startswith("pabrik")),
    ({"member": {"$not": {"$in": ["no"]}}}, lambda r: r.get("member") != "no"),
    ({"kids": {"$elemMatch": {"kids/kid_age": "3"}}}, lambda r: "3" in _kid_ages(r)),
    ({"_submission_time": {"$gte": "2026-05-04T12:00:00"}},
     lambda r: r["_submission_time"] >= "2026-05-04T12:00:00"),
])
def test_query__operator_meaning(served, query, meaning):
    """Should return exactly the rows the operator's MongoDB meaning selects."""
    want = [r["_id"] for r in served[2] if meaning(r)]
    assert 0 < len(want) < len(served[2]), "the data should make this query discriminate"
    assert _ids(served, query) == want


def test_query__dotted_key_and_unknown_operator_match_nothing(served):
    """Should encode dotted keys (other than _validation_status.*) into no-match clauses."""
    assert _ids(served, {"kids.kid_age": "3"}) == []
    assert _ids(served, {"member": {"$size": 1}}) == []


def test_query__id_in__exact_rows_with_other_clauses(served):
    """Should return exactly the listed ids (refetch of changed rows), other clauses applied."""
    rows = served[2]
    some = [rows[3]["_id"], rows[1]["_id"], rows[7]["_id"], 10**9]
    assert _ids(served, {"_id": {"$in": some}}) == sorted(some[:3])
    members = [r["_id"] for r in rows if r.get("member") == "yes" and r["_id"] in some]
    assert _ids(served, {"_id": {"$in": some}, "member": "yes"}) == members
