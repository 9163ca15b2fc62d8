"""The late re-read sent ahead (flows/sync_form.py ``LateAhead``): its first request goes out
as it is made, its pages come in ``iter_late``'s order, and a failed request raises where the
re-read would have raised it."""

from __future__ import annotations

import threading

import pytest

from flows.sync_form import LateAhead
from suara.errors import KoboError


class _Client:
    def __init__(self, pages, error: Exception | None = None):
        self.pages, self.error = pages, error
        self.asked: list[tuple[str, int]] = []
        self.first_sent = threading.Event()

    def iter_late(self, uid: str, watermark: int):
        self.asked.append((uid, watermark))
        self.first_sent.set()
        if self.error:
            raise self.error
        yield from self.pages


def test_late_ahead__first_request_sent_before_anyone_iterates():
    client = _Client(["p1"])
    ahead = LateAhead(client, "aUid", 4000)
    assert client.first_sent.wait(5)
    assert client.asked == [("aUid", 4000)] and ahead.watermark == 4000


def test_late_ahead__pages_in_order_then_done():
    assert list(LateAhead(_Client(["p1", "p2", "p3"]), "aUid", 10)) == ["p1", "p2", "p3"]
    assert list(LateAhead(_Client([]), "aUid", 10)) == []


def test_late_ahead__failed_request__raised_when_iterated_not_when_sent():
    ahead = LateAhead(_Client([], error=KoboError("the server did not answer")), "aUid", 10)
    with pytest.raises(KoboError, match="did not answer"):
        list(ahead)
