"""Keyset paging, the late window, the manifest scan, refetches and the version map."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from suara.errors import KoboError
from tests.unit.suara.kobo.fake_kobo import FakeKobo, Fault


def _params(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.url).query).items()}


def test_iter_pages__server_caps_pages__reads_everything_once(settings, fake, client):
    """Should read every row exactly once when the server serves smaller pages than asked."""
    fake.max_page = 300
    fake.add_asset("aAAA", "f", n=1234)
    pages = list(client.iter_pages("aAAA"))
    ids = [r["_id"] for p in pages for r in p.results]
    assert ids == list(range(1, 1235))
    assert [len(p.results) for p in pages] == [300, 300, 300, 300, 34]
    assert pages[-1].next_after_id is None
    first = _params(fake.calls[0])
    assert first["limit"] == "1000" and json.loads(first["sort"]) == {"_id": 1} and "start" not in first
    assert json.loads(_params(fake.calls[1])["query"]) == {"_id": {"$gt": 300}}


def test_iter_pages__full_last_page_holding_the_count__stops_there(fake, client):
    """Should stop after a full page when the server's count says nothing follows."""
    fake.add_asset("aAAA", "f", n=200)
    pages = list(client.iter_pages("aAAA", page_size=100))
    assert [len(p.results) for p in pages] == [100, 100]
    assert client.requests_made == 2


def test_iter_pages__full_last_page_without_count__stops_on_empty_page(fake, client):
    """Should not trust a full page to be the last when the server sends no count."""
    fake.send_count = False
    fake.add_asset("aAAA", "f", n=200)
    pages = list(client.iter_pages("aAAA", page_size=100))
    assert [len(p.results) for p in pages] == [100, 100, 0]
    assert client.requests_made == 3


def test_iter_pages__short_page_with_next__keeps_going(fake, client):
    """Should not stop on a short page while the server still offers `next`."""
    fake.max_page = 7
    fake.add_asset("aAAA", "f", n=10)
    assert sum(len(p.results) for p in client.iter_pages("aAAA", page_size=50)) == 10


def test_iter_pages__after_watermark__only_newer_rows(fake, client):
    fake.add_asset("aAAA", "f", n=50)
    rows = [r["_id"] for p in client.iter_pages("aAAA", after_id=45) for r in p.results]
    assert rows == [46, 47, 48, 49, 50]


def test_iter_pages__server_ignores_cursor__error_not_endless_loop(fake, client):
    """Should stop with a clear error when the server ignores the _id query."""
    fake.add_asset("aAAA", "f", n=5)
    fake.ignore_query = True
    with pytest.raises(KoboError, match="ignored the _id cursor"):
        list(client.iter_pages("aAAA", after_id=3, page_size=2))


def test_iter_pages__page_of_garbage__retried_then_read(fake, client, sleeps):
    """Should treat a page without `results` of submissions as truncated and retry it."""
    fake.add_asset("aAAA", "f", n=5)
    fake.faults.append(Fault("/data/", 200, body=b'{"results": [{"no_id": 1}]}'))
    assert sum(len(p.results) for p in client.iter_pages("aAAA")) == 5
    assert len(sleeps) == 1


def test_fetch_page__shrunk_after_timeouts__later_pages_stay_small(fake, client):
    """Should keep the halved page size for the following pages."""
    fake.add_asset("aAAA", "f", n=1500)
    fake.faults.append(Fault("/data/", 504))
    pages = list(client.iter_pages("aAAA"))
    assert [p.limit for p in pages] == [500, 500, 500]
    assert sum(len(p.results) for p in pages) == 1500
    assert pages[0].requests == 2


def test_iter_late__rows_at_or_below_watermark_in_window(fake, client):
    """Should re-read recent rows up to the watermark, asking by _submission_time."""
    fake.add_asset("aAAA", "f")
    fake.data["aAAA"] = [FakeKobo.submission(i, time=t) for i, t in [
        (1, "2026-05-01T09:00:00"), (2, "2026-05-01T11:56:00"), (3, "2026-05-01T11:58:00"),
        (4, "2026-05-01T11:57:00")]]
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    pages = list(client.iter_late("aAAA", watermark=3, window_seconds=300, now=now))
    assert [r["_id"] for p in pages for r in p.results] == [2, 3]
    assert json.loads(_params(fake.calls[0])["query"]) == {"_submission_time": {"$gte": "2026-05-01T11:55:00"}}


def test_manifest__ids_uuids_validation(fake, client):
    """Should list (id, uuid, validation uid) for every row, selecting only those fields."""
    fake.add_asset("aAAA", "f", n=3)
    fake.data["aAAA"][1]["_validation_status"] = {"uid": "validation_status_approved", "timestamp": 1}
    assert list(client.manifest("aAAA")) == [
        (1, "uuid-1", None), (2, "uuid-2", "validation_status_approved"), (3, "uuid-3", None)]
    assert json.loads(_params(fake.calls[0])["fields"]) == ["_id", "_uuid", "_validation_status"]


def test_manifest__streams_pages_lazily(fake, client):
    """Should request the next page only when the caller gets there (memory stays bounded)."""
    fake.max_page = 10
    fake.add_asset("aAAA", "f", n=35)
    it = client.manifest("aAAA")
    [next(it) for _ in range(10)]
    assert client.requests_made == 1


def test_fetch_ids__chunks_and_skips_deleted(fake, client):
    """Should refetch by `$in` in chunks of at most 200 and skip ids gone from the server."""
    fake.add_asset("aAAA", "f", n=500)
    wanted = list(range(1, 451)) + [9999]
    chunks = list(client.fetch_ids("aAAA", wanted))
    assert [len(c) for c in chunks] == [200, 200, 50]
    assert [r["_id"] for c in chunks for r in c] == list(range(1, 451))
    assert "$in" in json.loads(_params(fake.calls[0])["query"])["_id"]


def test_fetch_ids__server_caps_below_chunk__asks_for_the_rest(fake, client):
    fake.max_page = 60
    fake.add_asset("aAAA", "f", n=300)
    chunks = list(client.fetch_ids("aAAA", range(1, 201)))
    assert [r["_id"] for r in chunks[0]] == list(range(1, 201))


def test_version_map__every_deployed_version(fake, client):
    """Should map each deployed KPI version uid to the form version it carried."""
    asset = fake.add_asset("aAAA", "f", version="2026.1")
    old = asset["deployed_version_id"]
    fake.versions["aAAA"]["vNEW"] = {"settings": {"form_id": "f", "version": "2026.2"}}
    asset.update(version_id="vNEW", deployed_version_id="vNEW")
    asset["deployed_versions"]["results"].insert(0, {"uid": "vNEW"})
    assert client.version_map("aAAA") == {"vNEW": "2026.2", old: "2026.1"}


@settings_(max_examples=60, deadline=None)
@given(n=st.integers(0, 120), cap=st.integers(1, 40), page=st.integers(1, 60),
       deletes=st.lists(st.integers(1, 120), max_size=15), start=st.integers(0, 20))
def test_iter_pages__any_caps_and_deletes_mid_walk__each_survivor_once_in_order(n, cap, page, deletes, start):
    """Should, whatever the server's cap and our page size, read every row that still exists
    when the walk reaches it exactly once, in ascending order, even with deletes mid-walk."""
    import random as _random

    from suara.kobo.submissions import SubmissionService
    from tests.unit.suara.kobo.conftest import make_session

    fake = FakeKobo(max_page=cap)
    fake.add_asset("aAAA", "f", n=n)
    session = make_session(fake, [])
    service = SubmissionService(session, None)
    rng, pending, seen = _random.Random(n), list(deletes), []
    for p in service.iter_pages("aAAA", start, page):
        seen += [r["_id"] for r in p.results]
        if pending:  # delete a row somewhere while the walk is under way
            gone = pending.pop(rng.randrange(len(pending)))
            fake.data["aAAA"] = [d for d in fake.data["aAAA"] if d["_id"] != gone]
    survivors = {d["_id"] for d in fake.data["aAAA"]}
    assert seen == sorted(set(seen))
    assert survivors & set(range(start + 1, n + 1)) <= set(seen) <= set(range(start + 1, n + 1))
