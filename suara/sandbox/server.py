"""``Sandbox``: a local KoboToolbox-compatible server (127.0.0.1 only) for the demo and tests.

It serves the KPI v2 endpoints the client uses (``api.py``) from an in-memory store seeded
with synthetic submissions (``suara.synth``), over a threaded HTTP/1.1 server with keep-alive.
Tests drive it through admin helpers that change data the way KPI would (``edit``,
``delete``, ``set_validation``, ``add`` with late visibility), inject faults (``faults``)
and count requests (``requests``).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from suara.forms.model import Form
from suara.sandbox.api import Api
from suara.sandbox.assets import Asset
from suara.sandbox.faults import FAULT_KINDS, FaultPlan, error_response
from suara.sandbox.store import Encryptor, Store
from suara.sandbox.wire import (
    Request,
    Response,
    json_response,
    server_error,
)
from suara.synth import formhub_uuid, generate

_AUTH_HEADERS = {"WWW-Authenticate": "Session"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    fault: str | None


class RequestLog:
    """Every request the sandbox answered, in order (thread-safe)."""

    def __init__(self):
        self._items: list[RequestRecord] = []
        self._lock = threading.Lock()

    def _add(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._items))

    def __getitem__(self, i):
        return self._items[i]

    def count(self, path_contains: str = "", method: str | None = None) -> int:
        return sum(1 for r in self if path_contains in r.path and (method is None or r.method == method))

    def paths(self) -> list[str]:
        return [r.path for r in self]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries Content-Length
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits
    # ~40 ms (delayed ACK) per response, e.g. per encrypted attachment download.
    disable_nagle_algorithm = True
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # the sandbox is quiet; tests read Sandbox.requests instead

    def do_GET(self):
        self._handle()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET

    def do_HEAD(self):
        self._handle(head=True)

    def _handle(self, head: bool = False) -> None:
        sandbox: Sandbox = self.server.sandbox  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = sandbox._faults.draw(parts.path) if sandbox._faults else None
        if fault in ("truncated", "slow") or fault is None:
            resp = sandbox._respond(self.command, parts.path, parts.query, body,
                                    self.headers.get("Authorization"),
                                    self.headers.get("Content-Type", ""))
        else:
            accept = self.headers.get("Accept", "")
            wants_json = "application/json" in accept and "text/html" not in accept \
                and "*/*" not in accept and "format=" not in parts.query
            status, headers, payload = error_response(fault, wants_json=wants_json,
                                                      retry_after=sandbox._faults.retry_after)
            resp = Response(status, payload, headers)
        sandbox.requests._add(RequestRecord(self.command, parts.path, parts.query, resp.status, fault))
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        if fault == "truncated":
            self.send_header("Connection", "close")
        self.end_headers()
        if fault == "truncated":
            self.wfile.write(resp.body[: len(resp.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if fault == "slow":
            self.wfile.flush()
            time.sleep(sandbox._faults.slow_seconds)
        if not head:
            self.wfile.write(resp.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_sockets: set = set()
        self._sockets_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End keep-alive connections so a stopped sandbox answers nothing more."""
        with self._sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class Sandbox:
    """A Kobo-compatible server on 127.0.0.1 seeded with synthetic submissions.

    ``forms`` may hold several versions of one form_id (oldest first): they become versions
    of one asset, each deployed in turn; seeded submissions use the newest.
    """

    def __init__(self, forms: Sequence[Form], *, submissions: int | dict[str, int] = 100,
                 seed: int = 0, token: str | None = None, port: int = 0,
                 edge_share: float = 0.0, late_visibility_seconds: float = 0,
                 encryptor: Encryptor | None = None):
        self.forms = list(forms)
        self.submissions, self.seed, self.port = submissions, seed, port
        self.edge_share, self.late = edge_share, late_visibility_seconds
        self.encryptor = encryptor
        self._token = token or secrets.token_hex(20)  # DRF keys are 40 hex characters
        self._view_only: set[str] = set()
        self._faults: FaultPlan | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._adds = 0
        self.requests = RequestLog()
        self.url: str | None = None  # http://127.0.0.1:PORT once started
        self.store: Store | None = None
        self.api: Api | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.sandbox = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.store = Store(self.url, seed=self.seed, encryptor=self.encryptor,
                           late_visibility_seconds=self.late)
        self.api = Api(self.store)
        self.api.token_value = self._token
        try:
            self._seed()
        except BaseException:
            server.server_close()
            raise
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="suara-sandbox", daemon=True)
        self._thread.start()
        return self

    def _seed(self) -> None:
        assets: dict[str, Asset] = {}
        for form in self.forms:
            asset = self.store.save_form(form, asset=assets.get(form.form_id))
            self.store.deploy(asset, active=True)
            assets[form.form_id] = asset
        for form_id, asset in assets.items():
            n = self.submissions.get(form_id, 0) if isinstance(self.submissions, dict) \
                else self.submissions
            if n:
                self.store.seed_asset(asset, n, edge_share=self.edge_share)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def token(self) -> str:
        return self._token

    # -- requests -----------------------------------------------------------------------------

    def _authenticate(self, header: str | None) -> tuple[bool, bool] | Response:
        """(authenticated, may view submissions), or KPI's 401 for bad credentials."""
        if not header:
            return False, False
        parts = header.split()
        keyword = parts[0].lower() if parts else ""
        if keyword == "token":
            if len(parts) == 1:
                return self._unauthorised("Invalid token header. No credentials provided.")
            if len(parts) > 2:
                return self._unauthorised("Invalid token header. Token string should not contain spaces.")
            if hmac.compare_digest(parts[1].encode(), self._token.encode()):
                return True, True
            if parts[1] in self._view_only:
                return True, False
            return self._unauthorised("Invalid token.")
        if keyword == "basic":
            return self._unauthorised("Invalid username/password.")
        return False, False  # an unknown bearer token is silently anonymous

    @staticmethod
    def _unauthorised(detail: str) -> Response:
        resp = json_response(401, {"detail": detail})
        resp.headers.update(_AUTH_HEADERS)
        return resp

    def _respond(self, method: str, path: str, query: str, body: bytes, auth: str | None,
                 content_type: str) -> Response:
        who = self._authenticate(auth)
        if isinstance(who, Response):
            return who
        params = dict(parse_qsl(query, keep_blank_values=True))
        req = Request(method, path, params, body, content_type, *who)
        try:
            return self.api.dispatch(req)
        except Exception:  # a sandbox bug must look like a server error, not hang the client
            log.exception("sandbox: unhandled error answering %s %s", method, path)
            return server_error()

    # -- admin helpers for tests --------------------------------------------------------------

    def _asset(self, form_id: str) -> Asset:
        if self.store is None:
            raise RuntimeError("start the sandbox first")
        return self.store.asset_for(form_id)

    def asset_uid(self, form_id: str) -> str:
        return self._asset(form_id).uid

    def add(self, form_id: str, submissions: int | list[dict], *, version: str | None = None,
            edge_share: float = 0.0, late_seconds: float | None = None) -> list[int]:
        """New submissions, received now (``_submission_time`` = now, UTC). ``version`` picks
        an older form version; ``late_seconds`` overrides the sandbox's late visibility."""
        asset = self._asset(form_id)
        v = next((x for x in asset.versions if x.form.version == version), None) if version \
            else asset.version(asset.deployed_version)
        if v is None:
            raise KeyError(f"form {form_id} has no version {version!r} in the sandbox")
        self._adds += 1
        if isinstance(submissions, int):
            subs = generate(v.form, submissions, seed=self.seed * 1000 + self._adds,
                            edge_share=edge_share, version_uid=v.uid)
        else:
            subs = [self._complete(v.form, v.uid, s) for s in submissions]
        received = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        for s in subs:
            s["_submission_time"] = received
        return self.store.insert(asset, subs, late_seconds=late_seconds)

    def _complete(self, form: Form, vuid: str, sub: dict) -> dict:
        """Fill the keys a hand-written submission leaves out."""
        iid = str(uuid.uuid4())
        out = {"formhub/uuid": formhub_uuid(form), **sub}
        out.setdefault("__version__", vuid)
        out.setdefault("meta/instanceID", "uuid:" + iid)
        out.setdefault("_uuid", out["meta/instanceID"].removeprefix("uuid:"))
        out.setdefault("meta/rootUuid", out["meta/instanceID"])
        for key, value in (("_attachments", []), ("_status", "submitted_via_web"),
                           ("_geolocation", [None, None]), ("_validation_status", {}),
                           ("_submitted_by", "enumerator_01")):
            out.setdefault(key, value)
        return out

    def edit(self, form_id: str, _id: int, changes: dict) -> dict:
        """Edit like KPI: new ``_uuid``, ``meta/deprecatedID`` = the old instanceID."""
        return self.store.edit(self._asset(form_id), _id, changes)

    def delete(self, form_id: str, ids: int | Sequence[int]) -> int:
        return self.store.delete(self._asset(form_id), [ids] if isinstance(ids, int) else list(ids))

    def set_validation(self, form_id: str, _id: int, uid: str | None) -> dict:
        return self.store.set_validation(self._asset(form_id), _id, uid)

    def record(self, form_id: str, _id: int) -> dict:
        """The submission as the API returns it (visible or not)."""
        asset = self._asset(form_id)
        return self.store.record(asset, self.store.row(asset, _id))

    def ids(self, form_id: str) -> list[int]:
        """Every stored ``_id`` of the form, including rows not yet visible."""
        return list(self._asset(form_id).ids)

    def add_token(self, token: str, *, view_submissions: bool = False) -> None:
        """A second account's token: with ``view_submissions=False`` it sees projects but gets
        403 on their data (KPI's view_asset without view_submissions)."""
        if view_submissions:
            raise NotImplementedError("only the sandbox's own token may read submissions")
        self._view_only.add(token)

    def faults(self, rate: float = 0.2, kinds: Sequence[str] = FAULT_KINDS, seed: int = 0,
               **options) -> FaultPlan:
        """Start injecting faults; see ``FaultPlan`` for ``sequence``, ``paths``,
        ``retry_after`` and ``slow_seconds``."""
        self._faults = FaultPlan(rate, kinds, seed, **options)
        return self._faults

    def clear_faults(self) -> None:
        self._faults = None
