"""Handing the pull to the pull process (flows/puller.py ``Handover`` with ``pipeline.pages``):
as soon as the process is ready and a fetched page's successor has not been requested, from
whichever thread sees it first; never a page requested twice, never one skipped."""

from __future__ import annotations

import threading
import time

from flows.pipeline import pages
from flows.puller import Handover
from suara.kobo import Page


class _Ctx:
    asset_uid = "aX"


class _Client:
    """Pages of two ids, 1–12; each request can be held until the test lets it through."""

    def __init__(self):
        self.asked: list[int] = []
        self.gates: dict[int, threading.Event] = {}  # after_id → released when set
        self.lock = threading.Lock()

    def fetch_page(self, uid, after_id=None, page_size=None):
        with self.lock:
            self.asked.append(after_id)
        gate = self.gates.get(after_id)
        if gate is not None:
            assert gate.wait(5)
        ids = [i for i in range(1, 13) if i > after_id][:2]
        nxt = ids[-1] if ids and ids[-1] < 12 else None
        return Page([{"_id": i} for i in ids], after_id, nxt, 1, 2)


class _Helper:
    def __init__(self):
        self.started = threading.Event()
        self.went: list[int] = []
        self.gone = threading.Event()

    def ready(self) -> bool:
        return self.started.is_set()

    def go(self, after_id, page_size):
        self.went.append(after_id)
        self.gone.set()


def _ids(page):
    return [r["_id"] for r in page.results]


def test_handover__ready_while_a_page_loads_and_the_next_is_fetched__handed_at_once():
    """Should hand over the cursor after the page already fetched while the sync still loads
    the one before it, and stop the walk after that fetched page."""
    client, helper = _Client(), _Helper()
    handover = Handover(2, helper)
    walk = pages(_Ctx(), client, 0, 2, prefetch=True, handover=handover)
    assert _ids(next(walk)) == [1, 2]            # page 2 (after id 2) is being fetched meanwhile
    second = next(walk)                          # the sync takes page 2; page 3 goes out
    assert _ids(second) == [3, 4]
    deadline = time.monotonic() + 5
    while len(client.asked) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    helper.started.set()                         # ready while "loading" page 2, page 3 fetched
    assert helper.gone.wait(5)
    assert helper.went == [6]                    # the cursor after page 3, before the sync took it
    assert _ids(next(walk)) == [5, 6]
    assert list(walk) == []                      # the walk ends after page 3
    handover.end()
    assert client.asked == [0, 2, 4] and handover.cursor == 6


def test_handover__ready_while_the_next_page_is_in_flight__handed_when_it_arrives():
    """Should not hand over the cursor of a page whose successor is already on its way: it
    waits for that successor to arrive, so no page is requested twice."""
    client, helper = _Client(), _Helper()
    client.gates[2] = threading.Event()          # page 2 held on the wire
    handover = Handover(2, helper)
    walk = pages(_Ctx(), client, 0, 2, prefetch=True, handover=handover)
    assert _ids(next(walk)) == [1, 2]
    helper.started.set()
    assert not helper.gone.wait(0.3)             # nothing handed while page 2 is in flight
    client.gates[2].set()
    assert helper.gone.wait(5) and helper.went == [4]
    assert _ids(next(walk)) == [3, 4] and list(walk) == []
    handover.end()
    assert client.asked == [0, 2]


def test_handover__ready_when_the_sync_takes_a_page__that_page_is_the_last():
    client, helper = _Client(), _Helper()
    helper.started.set()
    handover = Handover(2)
    walk = pages(_Ctx(), client, 0, 2, prefetch=False, handover=handover)
    assert _ids(next(walk)) == [1, 2] and handover.cursor is None   # no helper yet
    handover.attach(helper)
    assert _ids(next(walk)) == [3, 4]
    assert list(walk) == [] and helper.went == [4] and client.asked == [0, 2]
    handover.end()


def test_handover__never_ready__every_page_walked_here_and_nothing_handed():
    client, helper = _Client(), _Helper()
    handover = Handover(2, helper)
    got = [_ids(p) for p in pages(_Ctx(), client, 0, 2, prefetch=True, handover=handover)]
    handover.end()
    assert got == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]
    assert helper.went == [] and handover.cursor is None
    helper.started.set()                         # ready after the walk: nothing to hand over
    assert not helper.gone.wait(0.2)
