"""One request and one response of the sandbox's API, independent of the HTTP plumbing."""

from __future__ import annotations

from dataclasses import dataclass, field

from suara.sandbox.assets import dumps


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, obj) -> Response:
    return Response(status, dumps(obj), {"Content-Type": "application/json"})


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    content_type: str
    authenticated: bool  # False: anonymous (no or unrecognised credentials)
    can_view_data: bool


NOT_FOUND = {"detail": "Not found."}
NOT_DEPLOYED = {"detail": "The specified asset has not been deployed"}


def server_error() -> Response:
    """KPI's unhandled exception: Django's HTML 500 page."""
    return Response(500, b"<h1>Server Error (500)</h1>", {"Content-Type": "text/html"})
