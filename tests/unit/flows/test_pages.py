"""The page walk of a sync: the next page is fetched while one loads, in order, errors in turn."""

import threading

import pytest

from flows.pipeline import pages
from suara.errors import KoboError
from suara.kobo import Page


class _Ctx:
    asset_uid = "aX"


class _Client:
    """Three pages of ids 1–6; the page after ``fail_after`` raises."""

    def __init__(self, fail_after=None):
        self.asked: list[int] = []
        self.fail_after = fail_after
        self.second_asked = threading.Event()

    def fetch_page(self, uid, after_id=None, page_size=None):
        self.asked.append(after_id)
        if len(self.asked) == 2:
            self.second_asked.set()
        if self.fail_after is not None and after_id == self.fail_after:
            raise KoboError("server gone", code="KOBO_TEST")
        ids = [i for i in range(1, 7) if i > after_id][:2]
        nxt = ids[-1] if ids and ids[-1] < 6 else None
        return Page([{"_id": i} for i in ids], after_id, nxt, 1, 2)


@pytest.mark.parametrize("prefetch", [True, False])
def test_pages__every_page_in_order(prefetch):
    """Should yield the pages in id order, prefetching or not."""
    got = [[r["_id"] for r in p.results] for p in pages(_Ctx(), _Client(), 0, 2, prefetch=prefetch)]
    assert got == [[1, 2], [3, 4], [5, 6]]


def test_pages__prefetch__next_page_requested_while_this_one_loads():
    """Should ask for page 2 before the caller is done with page 1."""
    client = _Client()
    walk = pages(_Ctx(), client, 0, 2, prefetch=True)
    next(walk)
    assert client.second_asked.wait(5)  # the caller has not asked for page 2 yet
    walk.close()


def test_pages__failing_request__raised_after_the_pages_before_it():
    """Should hand over the pages before a failed request, then raise its error."""
    client = _Client(fail_after=4)
    walk = pages(_Ctx(), client, 0, 2, prefetch=True)
    assert [r["_id"] for r in next(walk).results] == [1, 2]
    assert [r["_id"] for r in next(walk).results] == [3, 4]
    with pytest.raises(KoboError):
        next(walk)
