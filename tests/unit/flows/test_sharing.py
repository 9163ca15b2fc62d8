"""The pull process sharing screening with the sync's process (flows/puller.py ``Sharing``,
``send_pages``, ``PullProcess.results``): when the sync's process has nothing queued, every
other page goes back as fetched and the sync screens it itself; order and content unchanged."""

from __future__ import annotations

import pickle
import queue
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
    """The queue to the sync's process: what was put, and a scripted answer to ``empty``."""

    def __init__(self, idle):
        self.items: list[tuple] = []
        self._idle = idle

    def empty(self) -> bool:
        return self._idle(len(self.items))

    def put(self, item) -> None:
        self.items.append(item)


def _screened_here(monkeypatch) -> list[list[int]]:
    screened: list[list[int]] = []

    def screen(ctx, records, *, watermark):
        screened.append([r["_id"] for r in records])
        return SimpleNamespace(ids=[r["_id"] for r in records], seconds=None)

    monkeypatch.setattr(pipeline, "screen_batch", screen)
    return screened


def test_sharing__idle_sync__every_other_page_as_fetched_never_the_first_nor_an_empty_one():
    """Should send a page as fetched only when the sync's process has nothing queued, never
    the first page after the hand-over, never two in a row, never an empty page."""
    page, empty = Page([{"_id": 1}], 0, 1, 1, 1), Page([], 1, None, 1, 1)
    sharing = Sharing()
    assert [sharing.unscreened(page, idle=True) for _ in range(5)] == [False, True, False, True, False]
    sharing = Sharing()
    assert [sharing.unscreened(page, idle=False) for _ in range(3)] == [False, False, False]
    sharing = Sharing()
    assert sharing.unscreened(page, idle=True) is False
    assert sharing.unscreened(empty, idle=True) is False


def test_send_pages__sync_idle__alternate_pages_go_as_fetched_with_their_records(monkeypatch):
    """Should screen pages 1 and 3 here and send pages 2 and 4 as fetched, records and cursor
    intact, in page order, then the end."""
    screened = _screened_here(monkeypatch)
    out = _Out(idle=lambda n: True)
    send_pages(_Ctx(), _Client(), 0, 2, out)
    assert [kind for kind, *_ in out.items] == ["page", "raw", "page", "raw", "end"]
    assert screened == [[1, 2], [5, 6]]
    raw = [pickle.loads(item[1]) for item in out.items if item[0] == "raw"]
    assert [(p.after_id, [r["_id"] for r in p.results], p.next_after_id) for p in raw] == \
        [(2, [3, 4], 4), (6, [7, 8], None)]
    assert raw[0].results[0]["q"] == "answer 3"
    page, sent = pickle.loads(out.items[0][1])
    assert (page.results, page.next_after_id, sent.ids) == ([], 2, [1, 2])


def test_send_pages__sync_busy__every_page_screened_here(monkeypatch):
    """Should screen every page when screened pages are waiting in the queue."""
    screened = _screened_here(monkeypatch)
    out = _Out(idle=lambda n: n == 0)
    send_pages(_Ctx(), _Client(), 0, 2, out)
    assert [kind for kind, *_ in out.items] == ["page"] * 4 + ["end"]
    assert screened == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_results__a_page_sent_as_fetched__yielded_with_its_records_and_nothing_screened():
    """Should hand the sync a page sent as fetched with its records and no screening, between
    the screened pages, in the order they were sent."""
    helper = PullProcess.__new__(PullProcess)
    helper.out = queue.Queue()
    helper.process = SimpleNamespace(is_alive=lambda: True)
    first = Page([], 0, 2, 1, 2)
    fetched = Page([{"_id": 3}, {"_id": 4}], 2, None, 1, 2)
    helper.out.put(("page", packed((first, SimpleNamespace(ids=[1, 2])))))
    helper.out.put(("raw", pickle.dumps(fetched)))
    helper.out.put(("end",))
    got = list(helper.results())
    assert [(p.next_after_id, s.ids if s else None) for p, s in got] == [(2, [1, 2]), (None, None)]
    assert got[1][0].results == fetched.results
