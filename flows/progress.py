"""Progress events from running flows to whoever is watching (the CLI's bars or plain lines).

Flows run in the CLI's own process, so a module-level reporter is enough; when nobody
listens (a deployment run by a worker) events go nowhere. Events carry counts only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Reporter = Callable[[str, str, dict[str, Any]], None]
_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> None:
    global _reporter
    _reporter = reporter


def emit(form_id: str, event: str, **data: Any) -> None:
    if _reporter is not None:
        _reporter(form_id, event, data)
