"""The data endpoint of the sandbox behaves like KPI's (kobo-api.md §5, §7, §8).

P1 limit is capped at 1000 and ``next`` carries the cap; P2 ``next``/``previous`` keep every
parameter, keys sorted; P3 keyset pagination by ``_id`` walks everything once; P4 bad
parameters get KPI's 400 bodies; Q1 only whitelisted operators work, others match nothing;
Q2 ``fields`` always adds ``_id``/``_uuid``/``meta/rootUuid``; C1 edits keep ``_id`` and
change ``_uuid``; C2 deletes are hard and ids never come back; C3 validation changes leave
``_uuid`` alone; L1 late submissions appear after their delay.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from suara.forms import form_from_markdown
from suara.sandbox import Sandbox

pytestmark = pytest.mark.integration


def _get(kobo, **params):
    for key in ("query", "sort", "fields"):
        if key in params and not isinstance(params[key], str):
            params[key] = json.dumps(params[key])
    return kobo.get(kobo.data_url, params=params)


def test_data__limit_over_cap__capped_at_1000(sandbox_form):
    """Should return 1000 rows for limit=5000 and put limit=1000 in next (P1)."""
    with Sandbox([sandbox_form], submissions=1500) as sb:
        import requests

        url = f"{sb.url}/api/v2/assets/{sb.asset_uid('sandbox_test')}/data/"
        page = requests.get(url, params={"limit": 5000},
                            headers={"Authorization": f"Token {sb.token}"}).json()
    assert page["count"] == 1500 and len(page["results"]) == 1000
    assert parse_qs(urlsplit(page["next"]).query) == {"limit": ["1000"], "start": ["1000"]}


def test_data__default_limit__100_and_links_keep_parameters(kobo):
    """Should page 100 by default; next/previous keep query/sort with sorted keys (P2)."""
    assert len(_get(kobo).json()["results"]) == 40 and _get(kobo).json()["next"] is None
    page = _get(kobo, limit=10, start=10, sort={"_id": -1}, query={"consent": "yes"}).json()
    nxt = urlsplit(page["next"])
    keys = [kv.split("=")[0] for kv in nxt.query.split("&")]
    assert keys == sorted(keys) == ["limit", "query", "sort", "start"]
    assert parse_qs(nxt.query)["start"] == ["20"]
    assert "start" not in parse_qs(urlsplit(page["previous"]).query)  # back to the first page
    ids = [r["_id"] for r in page["results"]]
    assert ids == sorted(ids, reverse=True)


def test_data__keyset_walk__every_row_once(kobo, sandbox):
    """Should return every id once when walking with {"_id": {"$gt": cursor}} (P3)."""
    seen, cursor = [], 0
    while True:
        rows = _get(kobo, limit=7, query={"_id": {"$gt": cursor}}, sort={"_id": 1}).json()["results"]
        if not rows:
            break
        seen += [r["_id"] for r in rows]
        cursor = rows[-1]["_id"]
    assert seen == sandbox.ids("sandbox_test")
    past = _get(kobo, start=1000).json()
    assert past["results"] == [] and past["next"] is None


@pytest.mark.parametrize(("params", "status", "body"), [
    ({"limit": 0}, 400, {"limit": "A positive integer is required"}),
    ({"limit": "ten"}, 400, {"limit": "A positive integer is required"}),
    ({"start": -5}, 400, {"start": "A positive integer is required."}),
    ({"query": "{not json"}, 400, {"query": "Value must be valid JSON."}),
    ({"fields": "[oops"}, 400, {"fields": "Value must be valid JSON."}),
    ({"query": {"_id": {"$in": 5}}}, 400, ["Unsupported query"]),
    ({"query": {"tags": {"$all": "x"}}}, 400, ["$all needs an array"]),
])
def test_data__bad_parameters__kpi_400_bodies(kobo, params, status, body):
    """Should answer bad parameters with KPI's status and body (P4)."""
    r = _get(kobo, **params)
    assert (r.status_code, r.json()) == (status, body)


def test_data__operator_whitelist(kobo, sandbox):
    """Should apply whitelisted operators and let others match nothing (Q1)."""
    all_rows = _get(kobo).json()["results"]
    women = [r["_id"] for r in all_rows if r.get("grp/sex") == "female"]
    assert 0 < len(women) < 40
    assert _get(kobo, query={"grp/sex": "female"}).json()["count"] == len(women)
    assert _get(kobo, query={"grp/sex": {"$in": ["female"]}}).json()["count"] == len(women)
    assert _get(kobo, query={"grp/sex": {"$eq": "female"}}).json()["count"] == 0  # encoded by KPI
    assert _get(kobo, query={"$nor": [{"grp/sex": "male"}]}).json()["count"] == 0
    assert _get(kobo, query={"_id": str(women[0])}).json()["count"] == 1  # scalar _id is cast
    assert _get(kobo, query={"_id": {"$gt": str(women[0])}}).json()["count"] == 0  # not inside $gt
    assert _get(kobo, query={"grp/age": {"$gt": 30}}).json()["count"] == 0  # answers are strings
    older = _get(kobo, query={"grp/age": {"$regex": "^[45]"}}).json()["results"]
    assert older and all(r["grp/age"][0] in "45" for r in older)


def test_data__fields__adds_keys_kpi_always_returns(kobo):
    """Should return only the fields asked plus _id, _uuid, meta/rootUuid and {} status (Q2)."""
    row = _get(kobo, fields=["consent"], limit=1).json()["results"][0]
    assert set(row) == {"_id", "consent", "_uuid", "meta/rootUuid", "_validation_status"}
    assert row["_validation_status"] == {}


def test_edit__new_uuid_same_id_and_deprecated_id(kobo, sandbox):
    """Should keep _id, _submission_time, rootUuid; change _uuid; set deprecatedID (C1)."""
    _id = sandbox.ids("sandbox_test")[5]
    before = kobo.get(f"{kobo.data_url}{_id}/").json()
    sandbox.edit("sandbox_test", _id, {"consent": "no", "grp/sex": None})
    once = kobo.get(f"{kobo.data_url}{_id}/").json()
    sandbox.edit("sandbox_test", _id, {"consent": "yes"})
    after = kobo.get(f"{kobo.data_url}{_id}/").json()
    assert once["consent"] == "no" and "grp/sex" not in once
    assert once["meta/deprecatedID"] == before["meta/instanceID"]
    assert after["meta/deprecatedID"] == once["meta/instanceID"] != after["meta/rootUuid"]
    assert len({before["_uuid"], once["_uuid"], after["_uuid"]}) == 3
    assert after["meta/instanceID"] == "uuid:" + after["_uuid"]
    for key in ("_id", "_submission_time", "meta/rootUuid", "_submitted_by"):
        assert after[key] == before[key]
    edited = _get(kobo, query={"meta/deprecatedID": {"$exists": True}}).json()["results"]
    assert [r["_id"] for r in edited] == [_id]
    by_root = kobo.get(f"{kobo.data_url}{before['meta/rootUuid']}/").json()
    assert by_root["_id"] == _id


def test_delete__hard_and_ids_never_reused(kobo, sandbox):
    """Should remove rows for good; new rows get higher ids (C2)."""
    ids = sandbox.ids("sandbox_test")
    assert kobo.delete(f"{kobo.data_url}{ids[0]}/").status_code == 204
    assert kobo.get(f"{kobo.data_url}{ids[0]}/").status_code == 404
    r = kobo.delete(f"{kobo.data_url}bulk/", json={"payload": {"submission_ids": [ids[1], 999999]}})
    assert (r.status_code, r.json()) == (400, {"detail": "One or more submission ids are invalid"})
    r = kobo.delete(f"{kobo.data_url}bulk/", json={"payload": {"submission_ids": ids[1:3]}})
    assert r.json() == {"detail": "2 submissions have been deleted"}
    new = sandbox.add("sandbox_test", 2)
    assert min(new) > max(ids)
    assert _get(kobo).json()["count"] == 40 - 3 + 2


def test_validation_status__set_and_clear_leave_uuid(kobo, sandbox):
    """Should set and clear statuses over HTTP and via the helper, never touching _uuid (C3)."""
    _id = sandbox.ids("sandbox_test")[0]
    uuid_before = kobo.get(f"{kobo.data_url}{_id}/").json()["_uuid"]
    r = kobo.patch(f"{kobo.data_url}{_id}/validation_status/",
                   json={"validation_status.uid": "validation_status_approved"})
    assert r.status_code == 200 and r.json()["label"] == "Approved"
    row = kobo.get(f"{kobo.data_url}{_id}/").json()
    assert row["_validation_status"]["uid"] == "validation_status_approved"
    assert row["_uuid"] == uuid_before
    q = {"_validation_status.uid": "validation_status_approved"}
    assert [r["_id"] for r in _get(kobo, query=q).json()["results"]] == [_id]
    sandbox.set_validation("sandbox_test", _id, None)
    assert kobo.get(f"{kobo.data_url}{_id}/").json()["_validation_status"] == {}


def test_late_visibility__row_appears_after_delay(kobo, sandbox):
    """Should hide a late row (lower _id) until its delay passes, then show it (L1)."""
    late = sandbox.add("sandbox_test", 1, late_seconds=0.6)[0]
    quick = sandbox.add("sandbox_test", 1)[0]
    assert late < quick
    ids = [r["_id"] for r in _get(kobo, query={"_id": {"$gt": late - 1}}).json()["results"]]
    assert ids == [quick]
    assert kobo.get(f"{kobo.data_url}{late}/").status_code == 404
    time.sleep(0.7)
    ids = [r["_id"] for r in _get(kobo, query={"_id": {"$gt": late - 1}}).json()["results"]]
    assert ids == [late, quick]


def test_attachments__listed_and_downloadable(kobo, sandbox):
    """Should list media answers in _attachments and serve their bytes with the token."""
    rows = [r for r in _get(kobo).json()["results"] if r["_attachments"]]
    assert rows
    att = rows[0]["_attachments"][0]
    assert att["media_file_basename"] == rows[0]["grp/photo"] and att["question_xpath"] == "grp/photo"
    assert att["filename"].endswith(f"/{rows[0]['_uuid']}/{rows[0]['grp/photo']}")
    r = kobo.get(att["download_url"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg" and r.content
    assert kobo.get(att["download_url"], headers={"Authorization": ""}).status_code == 404


def test_versions__older_version_rows_carry_its_uid(sandbox_form):
    """Should keep each form version's uid, exposed with content.settings.version."""
    old = form_from_markdown(SANDBOX_OLD)
    with Sandbox([old, sandbox_form], submissions=3) as sb:
        import requests

        s = requests.Session()
        s.headers["Authorization"] = f"Token {sb.token}"
        base = f"{sb.url}/api/v2/assets/{sb.asset_uid('sandbox_test')}/"
        versions = s.get(base + "versions/").json()["results"]
        assert len(versions) == 2
        mapping = {v["uid"]: s.get(v["url"]).json()["content"]["settings"]["version"] for v in versions}
        sb.add("sandbox_test", 2, version="2025120101")
        rows = s.get(base + "data/").json()["results"]
        assert sorted(mapping[r["__version__"]] for r in rows) == ["2025120101"] * 2 + ["2026010101"] * 3


SANDBOX_OLD = """\
| survey |
|  | type | name | label | required |
|  | select_one yn | consent | Consent? | yes |
| choices |
|  | list_name | name | label |
|  | yn | yes | Yes |
|  | yn | no | No |
| settings |
|  | form_id | version |
|  | sandbox_test | 2025120101 |
"""


def test_late_visibility__sandbox_wide_delay_applies_to_new_rows(sandbox_form):
    """Should hold every new row back by late_visibility_seconds, seeded rows not (L1)."""
    with Sandbox([sandbox_form], submissions=5, late_visibility_seconds=0.5) as sb:
        import requests

        url = f"{sb.url}/api/v2/assets/{sb.asset_uid('sandbox_test')}/data/"
        auth = {"Authorization": f"Token {sb.token}"}
        sb.add("sandbox_test", 3)
        assert requests.get(url, headers=auth).json()["count"] == 5
        time.sleep(0.6)
        assert requests.get(url, headers=auth).json()["count"] == 8


def test_request_log__one_request_per_page(kobo, sandbox):
    """Should record each request, so tests can count pages a client fetched."""
    sandbox.requests.clear()
    cursor = 0
    while rows := _get(kobo, limit=10, query={"_id": {"$gt": cursor}}).json()["results"]:
        cursor = rows[-1]["_id"]
    assert sandbox.requests.count("/data/", method="GET") == 5  # 4 full pages + the empty one
    assert all(r.status == 200 for r in sandbox.requests)
