"""Fault injection for client tests: what a KoboToolbox server and its proxy do on a bad day.

Kinds (kobo-api.md §3): ``"429"`` with ``Retry-After``; ``"500"`` as Django's HTML page (JSON
only for ``Accept: application/json`` without ``format``); ``"502"``/``"503"``/``"504"`` as
nginx HTML; ``"truncated"``: a 200 whose body stops half-way, then the connection closes;
``"slow"``: headers at once, the body after ``slow_seconds``.

A plan fires on a share of requests (``rate``, seeded) and/or follows an explicit
``sequence`` first (``["429", None, "500"]``: one entry per matching request, None = serve
normally), which makes retry tests exact.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

FAULT_KINDS = ("429", "500", "502", "503", "504", "truncated", "slow")

_NGINX = ("<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
          "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
          "</body>\r\n</html>\r\n")
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
_DJANGO_500 = ('<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
               "</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n")


class FaultPlan:
    def __init__(self, rate: float = 0.2, kinds: Sequence[str] = FAULT_KINDS, seed: int = 0, *,
                 sequence: Sequence[str | None] = (), paths: Sequence[str] = ("/api/v2/",),
                 retry_after: int = 1, slow_seconds: float = 1.0):
        unknown = [k for k in [*kinds, *sequence] if k is not None and k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {FAULT_KINDS}")
        self.rate, self.kinds, self.paths = rate, tuple(kinds), tuple(paths)
        self.retry_after, self.slow_seconds = retry_after, slow_seconds
        self._sequence = list(sequence)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: list[tuple[str, str]] = []  # (kind, path) of every fault served

    def draw(self, path: str) -> str | None:
        """The fault for this request, or None to serve it normally."""
        if not any(path.startswith(p) for p in self.paths):
            return None
        with self._lock:
            if self._sequence:
                kind = self._sequence.pop(0)
            elif self.kinds and self._rng.random() < self.rate:
                kind = self._rng.choice(self.kinds)
            else:
                kind = None
            if kind:
                self.injected.append((kind, path))
            return kind


def error_response(kind: str, *, wants_json: bool, retry_after: int) -> tuple[int, dict, bytes]:
    """Status, headers and body of a fault that replaces the response."""
    if kind == "429":
        unit = "second" if retry_after == 1 else "seconds"
        body = ('{"detail":"Request was throttled. Expected available in '
                f'{retry_after} {unit}."}}').encode()
        return 429, {"Content-Type": "application/json", "Retry-After": str(retry_after)}, body
    if kind == "500":
        if wants_json:
            return 500, {"Content-Type": "application/json"}, b'{"error":"Server Error (500)"}'
        return 500, {"Content-Type": "text/html; charset=utf-8"}, _DJANGO_500.encode()
    code = int(kind)
    return code, {"Content-Type": "text/html"}, _NGINX.format(code=code, reason=_REASONS[code]).encode()
