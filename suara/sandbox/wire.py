"""One request and one response of the sandbox's API, independent of the HTTP plumbing."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP

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


@dataclass(frozen=True)
class FilePart:
    name: str       # the form field (``file``, ``xml_submission_file``)
    filename: str
    data: bytes


def multipart(body: bytes, content_type: str) -> tuple[dict[str, str], list[FilePart]]:
    """A multipart/form-data body as (plain fields, uploaded files in order)."""
    fields: dict[str, str] = {}
    files: list[FilePart] = []
    if not content_type.startswith("multipart/"):
        return fields, files
    msg = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=HTTP)
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition") or ""
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files.append(FilePart(name, part.get_filename(), data))
        elif name:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files
