"""The one door to a KoboToolbox server: every HTTP request Suara makes goes through here.

This module owns, in one place (kobo-api.md §2, §3, §8.7):

* joining paths onto ``KOBO_URL`` (which may carry a path prefix) and re-basing the absolute
  links a server hands back, so a proxy that rewrites ``https`` to ``http`` cannot send us
  elsewhere;
* the ``Authorization: Token …`` header, sent only to the host of ``KOBO_URL``;
* default timeouts and the retry policy: 429 (``Retry-After`` honoured), 500/502/503/504,
  timeouts, resets, truncated or unparsable bodies, with exponential backoff and full jitter;
  large pages that time out (or 502/504) are retried with half the ``limit`` (never under 50);
* turning every failure into a ``KoboError`` subclass naming a sanitised URL and the status.

Retries wrap the send (not urllib3's ``Retry``) so tests can drive them with a fake transport
and a patched ``sleep``. Messages never hold the token, query values (a query can quote an
answer) or response bodies (a body can hold submissions); only the ``detail`` text DRF
writes for 4xx errors is quoted, shortened.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests

from suara.errors import (
    ConfigurationError,
    KoboAuthError,
    KoboError,
    KoboNotFoundError,
    KoboPermissionError,
    KoboTransientError,
)

log = logging.getLogger(__name__)

USER_AGENT = "suara (+https://github.com/suara)"
CONNECT_TIMEOUT = 10.0
BACKOFF_BASE = 1.0        # seconds; attempt n waits uniform(0, min(CAP, BASE * 2**n))
BACKOFF_CAP = 60.0
RETRY_AFTER_MAX = 300.0   # a server asking for longer than this is reported, not waited on
MIN_PAGE_LIMIT = 50
# Bodies are read in pieces of this size: requests reads 10 KiB at a time, 250 rounds of
# Python per 2.5 MB page of submissions (~3 ms of CPU a page, measured: a fetch's median
# 15.3 → 12.8 ms), on the prefetch thread whose GIL time the stages then wait for.
BODY_CHUNK = 1 << 20
# Query parameters whose values are safe to show: numbers and formats, never queries.
SHOWN_PARAMS = {"limit", "start", "offset", "format"}
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Statuses where the server did not act on the request, so even a POST may be repeated.
NOT_ACTED_STATUSES = {429, 503}
SHRINK_STATUSES = {502, 504}


def _read_body(resp: requests.Response) -> None:
    """Read a streamed response's whole body in ``BODY_CHUNK`` pieces and keep it where
    ``resp.content`` finds it (requests' own cache of the body, as if read without ``stream``).
    A response whose body is there already (one built in memory) is left as it is."""
    if resp._content is not False:
        return
    try:
        resp._content = b"".join(resp.iter_content(BODY_CHUNK))
    finally:
        resp.close()  # the connection goes back to the pool, read or not


def parse_json(body: bytes) -> Any:
    """A response body as JSON. orjson parses a 2.5 MB page of submissions in ~8 ms, the
    standard library in ~10 ms (the decode runs on the prefetch thread, holding the GIL the
    stages need); what it refuses but JSON parsers commonly accept (NaN, integers beyond 64
    bits) goes to ``json``, so no body that parsed before is refused now. Raises ValueError if
    neither can."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def sanitise_url(url: str) -> str:
    """The URL without credentials and without query values other than paging numbers."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(
        f"{k}={v if k in SHOWN_PARAMS else '…'}" for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def permission_for(method: str, path: str) -> str:
    """The KPI permission a request needs, to say which one a 403 is missing."""
    if "/data" in path:
        if method == "GET":
            return "view_submissions"
        return "delete_submissions" if method == "DELETE" else "change_submissions"
    if "/deployment" in path or "/imports" in path:
        return "change_asset"
    return "view_asset" if method == "GET" else "change_asset"


def _asset_uid_in(path: str) -> str | None:
    segments = [s for s in path.split("/") if s]
    if "assets" in segments:
        i = segments.index("assets")
        if i + 1 < len(segments) and not segments[i + 1].startswith("?"):
            return segments[i + 1]
    return None


def _detail(resp: requests.Response) -> str:
    """DRF's ``detail`` text of a 4xx answer (server-written, never an answer), shortened."""
    try:
        body = resp.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        text = body.get("detail") or body.get("error")
        if isinstance(text, str):
            return text[:160]
        # A validation error: name the parameters, not their values.
        return "problem with parameter(s): " + ", ".join(sorted(str(k) for k in body))[:160]
    return ""


@dataclass
class _Call:
    """One logical request (its attempts share it; a retry may lower ``params["limit"]``)."""

    method: str
    url: str
    params: dict | None
    json_body: Any
    data: dict | None
    files: dict | None
    expect: str
    valid: Callable[[Any], bool] | None
    what: str | None
    permission: str | None
    ok_statuses: tuple[int, ...]

    @property
    def idempotent(self) -> bool:
        return self.method in ("GET", "HEAD", "PUT", "DELETE")

    @property
    def shown(self) -> str:
        """The URL with its parameters, sanitised for messages and logs."""
        url = self.url
        if self.params:
            url += ("&" if "?" in url else "?") + urlencode(self.params)
        return sanitise_url(url)


@dataclass
class _Failure:
    kind: str            # "HTTP 503", "timeout", "connection reset", "unparsable body" …
    retryable: bool
    shrink: bool = False
    wait: float | None = None  # from Retry-After


class KoboSession:
    """HTTP to one KPI server, with its token, timeouts, retries and error mapping.

    ``transport`` is a ``requests.Session`` (tests mount a fake adapter on it).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        retries: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        transport: requests.Session | None = None,
    ):
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"KOBO_URL must be an http(s) URL such as https://kf.kobotoolbox.org (got {sanitise_url(base_url or '')!r}).",
                hint="Set KOBO_URL to the server's base address (the one in your browser), no /api/v2 suffix.",
            )
        path = parts.path.rstrip("/")
        if path.endswith("/api/v2"):
            path = path[: -len("/api/v2")]
        self.base_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self._origin = (parts.scheme, parts.netloc)
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.http = transport or requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT
        self.requests_made = 0
        self._thread = threading.local()  # requests made by each thread (``requests_in_thread``)
        self.page_limit: int | None = None  # shrunk page size, sticky for this session

    @classmethod
    def from_settings(cls, settings, **kwargs) -> KoboSession:
        if not settings.kobo_url:
            raise ConfigurationError(
                "KOBO_URL is not set.",
                hint="Set KOBO_URL (e.g. https://kf.kobotoolbox.org, https://eu.kobotoolbox.org, or your "
                "self-hosted server), or run `suara sandbox` for a local one.",
            )
        return cls(
            settings.kobo_url,
            settings.secret("kobo_token"),
            timeout=settings.suara_http_timeout,
            retries=settings.suara_http_retries,
            **kwargs,
        )

    def __repr__(self) -> str:  # never the token
        return f"KoboSession({self.base_url!r})"

    # -- URLs -----------------------------------------------------------------------------

    def url(self, path_or_url: str) -> str:
        """An absolute URL: paths join onto KOBO_URL; links to our own host are re-based."""
        if path_or_url.startswith(("http://", "https://")):
            parts = urlsplit(path_or_url)
            if parts.netloc == self._origin[1]:
                return urlunsplit((self._origin[0], *parts[1:]))
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def rebase(self, link: str) -> str:
        """A pagination link re-based onto KOBO_URL (servers behind proxies emit wrong hosts)."""
        parts = urlsplit(link)
        base = urlsplit(self.base_url)
        path = parts.path
        if base.path and not path.startswith(base.path + "/"):
            path = base.path + path
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    @property
    def requests_in_thread(self) -> int:
        """Requests this thread has made: what a page cost, even while another thread (the
        next page's prefetch, a version lookup) uses the same session."""
        return getattr(self._thread, "requests", 0)

    # -- the one send ---------------------------------------------------------------------

    def get_json(self, path: str, params: dict | None = None, **kw) -> Any:
        return self.request("GET", path, params=params, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json_body: Any = None,
        data: dict | None = None,
        files: dict | None = None,
        expect: str = "json",
        valid: Callable[[Any], bool] | None = None,
        what: str | None = None,
        permission: str | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> Any:
        """Send with retries; return parsed JSON (``expect="json"``), bytes, or the Response.

        ``valid`` checks the shape of a parsed body; a body failing it counts as truncated and
        is retried. ``ok_statuses`` are non-2xx statuses returned to the caller as a Response
        instead of raised (e.g. 405 on a deployment POST).
        """
        call = _Call(method.upper(), self.url(path), dict(params) if params else None, json_body,
                     data, files, expect, valid, what, permission, ok_statuses)
        attempts = self.retries + 1
        last: _Failure | None = None
        for attempt in range(attempts):
            failure, result = self._attempt(call)
            if failure is None:
                return result
            last = failure
            if not failure.retryable or attempt == attempts - 1:
                break
            if failure.wait is not None and failure.wait > RETRY_AFTER_MAX:
                break
            if failure.shrink and call.params and "limit" in call.params:
                self._shrink(call.params)
            delay = failure.wait if failure.wait is not None else self._backoff(attempt)
            log.info("kobo: %s %s failed (%s); retry %d/%d in %.1fs", call.method, call.shown,
                     failure.kind, attempt + 1, attempts - 1, delay)
            self.sleep(delay)
        assert last is not None
        if last.wait is not None and last.wait > RETRY_AFTER_MAX:
            raise KoboTransientError(
                f"{call.method} {call.shown}: the server asked to wait {last.wait:.0f} s ({last.kind}).",
                hint="The server is rate limiting or busy; run again later.",
            )
        tried = "once" if not last.retryable else f"{attempts} times"
        raise KoboTransientError(
            f"{call.method} {call.shown} failed {tried}; last failure: {last.kind}.",
            hint="The server or the network is struggling. Run again later; raise SUARA_HTTP_TIMEOUT "
            "or SUARA_HTTP_RETRIES if this keeps happening; lower SUARA_PAGE_SIZE for big forms.",
        )

    def _attempt(self, call: _Call) -> tuple[_Failure | None, Any]:
        headers = {"Accept": "application/json"} if call.expect == "json" else {}
        if self._token and self.same_origin(call.url):
            headers["Authorization"] = f"Token {self._token}"
        idempotent = call.idempotent
        self.requests_made += 1
        self._thread.requests = self.requests_in_thread + 1
        try:
            resp = self.http.request(
                call.method, call.url, params=call.params, json=call.json_body, data=call.data,
                files=call.files, headers=headers,
                timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout), stream=True,
            )
            _read_body(resp)  # here, so a body cut short or stalling is one of the failures below
        except requests.ConnectTimeout:
            return _Failure("connect timeout", retryable=True), None
        except requests.Timeout:
            return _Failure("timeout", retryable=idempotent, shrink=True), None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            return _Failure("truncated body", retryable=idempotent), None
        except requests.ConnectionError as exc:
            if "ReadTimeout" in repr(exc):  # a body that stalls mid-way surfaces as ConnectionError
                return _Failure("timeout", retryable=idempotent, shrink=True), None
            return _Failure("connection failed", retryable=idempotent or _not_sent(exc)), None
        status = resp.status_code
        log.debug("kobo: %s %s → %s", call.method, call.shown, status)
        if status in call.ok_statuses:
            return None, resp
        if status in RETRY_STATUSES:
            wait = parse_retry_after(resp.headers.get("Retry-After")) if status in (429, 503) else None
            return _Failure(
                f"HTTP {status}", retryable=idempotent or status in NOT_ACTED_STATUSES,
                shrink=status in SHRINK_STATUSES, wait=wait,
            ), None
        if status >= 400:
            raise self._error(call, resp)
        if call.expect == "response":
            return None, resp
        if call.expect == "bytes":
            return None, resp.content
        if not resp.content and call.method != "GET":
            return None, None
        try:
            body = parse_json(resp.content)
        except ValueError:
            return _Failure("unparsable JSON body", retryable=idempotent), None
        if call.valid is not None and not call.valid(body):
            return _Failure("body of unexpected shape", retryable=idempotent), None
        return None, body

    def _shrink(self, params: dict) -> None:
        try:
            limit = int(params["limit"])
        except (TypeError, ValueError):
            return
        if limit > MIN_PAGE_LIMIT:
            params["limit"] = max(MIN_PAGE_LIMIT, limit // 2)
            self.page_limit = params["limit"]
            log.warning("kobo: large pages are failing; page size lowered to %d", params["limit"])

    def _backoff(self, attempt: int) -> float:
        return self.rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))

    def _error(self, call: _Call, resp: requests.Response) -> KoboError:
        status, method, shown, url, what = resp.status_code, call.method, call.shown, call.url, call.what
        path = urlsplit(url).path
        detail = _detail(resp)
        said = f' (server said: "{detail}")' if detail else ""
        if status == 401:
            return KoboAuthError(
                f"{self.base_url} rejected the token (HTTP 401) for {method} {shown}{said}.",
                hint="Check KOBO_TOKEN: copy the API key from Account Settings → Security on this server "
                "(or GET /token/?format=json while logged in), and make sure KOBO_URL is the server the "
                "account lives on (kf.kobotoolbox.org and eu.kobotoolbox.org are separate).",
            )
        if status == 403:
            need = call.permission or permission_for(method, path)
            uid = _asset_uid_in(path)
            return KoboPermissionError(
                f"The token's account lacks the '{need}' permission for {what or (f'asset {uid}' if uid else path)} "
                f"(HTTP 403 on {method} {shown}){said}.",
                hint=f"Ask the project owner to share the project with this account with '{need}' "
                "(Project → Settings → Sharing), or use the owner's token.",
            )
        if status == 404:
            uid = _asset_uid_in(path)
            thing = what or (f"asset {uid}" if uid else path)
            host = self.base_url if self.same_origin(url) else sanitise_url(url).split(path)[0]
            return KoboNotFoundError(
                f"{thing} was not found on {host} (HTTP 404 on {method} {shown}).",
                hint="Check the asset uid (the 22 characters after #/forms/ in the project's URL). KPI "
                "also answers 404 to an account without access, or when the token was not sent "
                "(e.g. dropped on a redirect): check KOBO_URL's scheme and host.",
            )
        if status == 410:
            return KoboError(
                f"{method} {shown}: the server says this API was removed (HTTP 410).",
                code="KOBO_410",
                hint="KOBO_URL must be the KPI address (kf.… / eu.…), not a legacy KoboCAT (kc.…) host.",
            )
        return KoboError(
            f"{method} {shown} was refused with HTTP {status}{said}.",
            code=f"KOBO_{status}" if 400 <= status < 600 else "KOBO_001",
            hint="This is not retried; check the request target and the project's state in the Kobo UI.",
        )


def _not_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection never opened, so even a POST cannot have reached the server."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text
