"""The pull process sharing screening with the sync's process (flows/puller.py ``Sharing``,
``send_pages``, ``PullProcess.results``): while the sync's process has time to spare, every
other page goes back as fetched and the sync screens it itself; order and content unchanged."""

from __future__ import annotations

import pickle
import queue
import threading
import time
from types import SimpleNamespace

from flows import pipeline
from flows.puller import PullProcess, Sharing, packed, send_pages
from suara.kobo import Page


class _Ctx:
    asset_uid = "aX"


class _Client:
    """Pages of two submissions, ids 1–8, the last page empty of a successor."""

    def fetch_page(self, uid, after_id=None, page_size=None):
        ids = [i for i in range(1, 9) if i > after_id][:2]
        return Page([{"_id": i, "q": f"answer {i}"} for i in ids], after_id, ids[-1] if ids[-1] < 8 else None, 1, 2)


class _Out:
    """The queue to the sync's process: what was put."""

    def __init__(self):
        self.items: list[tuple] = []

    def put(self, item) -> None:
        self.items.append(item)


class _Waited:
    """The sync's process's seconds of waiting so far, scripted by how many items were put:
    ``per_page`` more for every page sent."""

    def __init__(self, out: _Out, per_page: float):
        self.out, self.per_page = out, per_page

    @property
    def value(self) -> float:
        return self.per_page * len(self.out.items)


def _screened_here(monkeypatch, seconds: float = 0.1) -> list[list[int]]:
    """Screening replaced by a stand-in that takes ``seconds`` (as the pull process counts it)."""
    screened: list[list[int]] = []

    def screen(ctx, records, *, watermark):
        screened.append([r["_id"] for r in records])
        pipeline.STAGE_SECONDS["validate"] += seconds
        return SimpleNamespace(ids=[r["_id"] for r in records], seconds=None)

    monkeypatch.setattr(pipeline, "screen_batch", screen)
    return screened


def test_sharing__sync_with_time_to_spare__every_other_page_as_fetched():
    """Should send a page as fetched when the sync's process waited at least a third of the
    latest page's screening since the last page went, never two in a row, never before a page
    was screened here, never an empty page."""
    page, empty = Page([{"_id": 1}], 0, 1, 1, 1), Page([], 1, None, 1, 1)
    sharing, waited, sent = Sharing(), 0.0, []
    for _ in range(5):
        waited += 0.05  # 50 ms of waiting per page against 100 ms of screening: time to spare
        sent.append(sharing.unscreened(page, waited=waited))
        if not sent[-1]:
            sharing.screened(0.1)
    assert sent == [False, True, False, True, False]
    sharing = Sharing()
    assert sharing.unscreened(page, waited=10.0) is False  # nothing screened here yet
    sharing.screened(0.1)
    assert sharing.unscreened(empty, waited=20.0) is False


def test_sharing__sync_busy__every_page_screened_here():
    """Should screen every page here when the sync's process hardly waits (it is the slower
    of the two: PostgreSQL's loads here)."""
    page = Page([{"_id": 1}], 0, 1, 1, 1)
    sharing, waited, sent = Sharing(), 0.0, []
    for _ in range(5):
        waited += 0.02  # 20 ms per page against 100 ms of screening
        sent.append(sharing.unscreened(page, waited=waited))
        sharing.screened(0.1)
    assert sent == [False] * 5


def test_send_pages__sync_waiting__alternate_pages_go_as_fetched_with_their_records(monkeypatch):
    """Should, the sync's process waiting half of each page's screening, screen pages 1 and 3
    here and send pages 2 and 4 as fetched, records and cursor intact, in page order, then
    the end."""
    screened = _screened_here(monkeypatch)
    out = _Out()
    send_pages(_Ctx(), _Client(), 0, 2, out, _Waited(out, per_page=0.05))
    assert [kind for kind, *_ in out.items] == ["page", "raw", "page", "raw", "end"]
    assert screened == [[1, 2], [5, 6]]
    raw = [pickle.loads(item[1]) for item in out.items if item[0] == "raw"]
    assert [(p.after_id, [r["_id"] for r in p.results], p.next_after_id) for p in raw] == \
        [(2, [3, 4], 4), (6, [7, 8], None)]
    assert raw[0].results[0]["q"] == "answer 3"
    page, sent = pickle.loads(out.items[0][1])
    assert (page.results, page.next_after_id, sent.ids) == ([], 2, [1, 2])


def test_send_pages__sync_busy__every_page_screened_here(monkeypatch):
    """Should screen every page when the sync's process hardly waits."""
    screened = _screened_here(monkeypatch)
    out = _Out()
    send_pages(_Ctx(), _Client(), 0, 2, out, _Waited(out, per_page=0.01))
    assert [kind for kind, *_ in out.items] == ["page"] * 4 + ["end"]
    assert screened == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_results__a_page_sent_as_fetched__yielded_with_its_records_and_nothing_screened():
    """Should hand the sync a page sent as fetched with its records and no screening, between
    the screened pages, in the order they were sent."""
    helper = PullProcess.__new__(PullProcess)
    helper.out = queue.Queue()
    helper.process = SimpleNamespace(is_alive=lambda: True)
    helper.waited = SimpleNamespace(value=0.0)
    first = Page([], 0, 2, 1, 2)
    fetched = Page([{"_id": 3}, {"_id": 4}], 2, None, 1, 2)
    helper.out.put(("page", packed((first, SimpleNamespace(ids=[1, 2])))))
    helper.out.put(("raw", pickle.dumps(fetched)))
    helper.out.put(("end",))
    got = list(helper.results())
    assert [(p.next_after_id, s.ids if s else None) for p, s in got] == [(2, [1, 2]), (None, None)]
    assert got[1][0].results == fetched.results


def test_results__time_waited_for_pages__added_up_for_the_pull_process():
    """Should add up how long the sync's process waited for its pages (what ``Sharing``
    reads), not the time it worked on them."""
    helper = PullProcess.__new__(PullProcess)
    helper.out = queue.Queue()
    helper.process = SimpleNamespace(is_alive=lambda: True)
    helper.waited = SimpleNamespace(value=0.0)
    helper.out.put(("raw", pickle.dumps(Page([{"_id": 1}], 0, 1, 1, 1))))
    pages = helper.results()
    next(pages)  # there at once
    assert helper.waited.value < 0.05
    time.sleep(0.2)  # working on it: not waiting
    later = ("raw", pickle.dumps(Page([{"_id": 2}], 1, None, 1, 1)))
    threading.Timer(0.3, helper.out.put, args=(later,)).start()
    page, _ = next(pages)
    assert page.results == [{"_id": 2}]
    assert 0.25 <= helper.waited.value < 0.45
