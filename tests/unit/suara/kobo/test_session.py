"""The HTTP choke point: retries, backoff, Retry-After, page shrinking, error mapping, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from suara.errors import (
    ConfigurationError,
    KoboAuthError,
    KoboError,
    KoboNotFoundError,
    KoboPermissionError,
    KoboTransientError,
)
from suara.kobo.session import KoboSession, parse_json, parse_retry_after, sanitise_url
from tests.unit.suara.kobo.conftest import make_session
from tests.unit.suara.kobo.fake_kobo import TOKEN, Fault

DATA = "/api/v2/assets/aAAA/data/"
SECRET_QUERY = {"query": '{"name": "Siti Rahayu"}', "limit": 1000}


@pytest.fixture
def seeded(fake):
    fake.add_asset("aAAA", "f", n=3)
    return fake


def test_sanitise_url__drops_credentials_and_query_values():
    """Should keep paging numbers but hide query values and user:password."""
    shown = sanitise_url("https://u:pw@kf.example.org/api/v2/assets/a1/data/?query=%7B%22name%22%3A%22Siti%22%7D&limit=100&start=200")
    assert shown == "https://kf.example.org/api/v2/assets/a1/data/?query=…&limit=100&start=200"


def test_parse_json__what_the_standard_library_accepts_still_parses():
    # orjson refuses NaN and integers beyond 64 bits; a server sending them must not make a
    # page "unparsable" (it would be retried until the sync fails).
    body = b'{"results": [{"_id": 1, "score": NaN, "big": 123456789012345678901234567890, "s": "\\u00e9"}]}'
    row = parse_json(body)["results"][0]
    assert row["_id"] == 1 and row["score"] != row["score"]  # NaN
    assert row["big"] == 123456789012345678901234567890 and row["s"] == "\u00e9"
    with pytest.raises(ValueError):
        parse_json(b'{"results": [')


def test_parse_retry_after__seconds_and_http_date():
    """Should read both forms of Retry-After."""
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Fri, 01 May 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("garbage") is None


def test_session__base_url_with_api_suffix_and_prefix__joins_paths():
    """Should accept a path prefix and tolerate a pasted /api/v2 suffix."""
    s = KoboSession("https://kobo.example.org/kpi/api/v2/", TOKEN)
    assert s.url("/api/v2/assets/") == "https://kobo.example.org/kpi/api/v2/assets/"
    assert s.rebase("http://internal:8000/kpi/api/v2/assets/?start=100") == "https://kobo.example.org/kpi/api/v2/assets/?start=100"


def test_session__not_a_url__configuration_error():
    """Should refuse a KOBO_URL that is not http(s)."""
    with pytest.raises(ConfigurationError, match="KOBO_URL"):
        KoboSession("kf.kobotoolbox.org", TOKEN)


def test_request__429_with_retry_after__waits_that_long_then_succeeds(session, seeded, sleeps):
    """Should honour Retry-After seconds on 429."""
    seeded.faults.append(Fault(DATA, 429, {"Retry-After": "3"}))
    body = session.get_json(DATA, {"limit": 10})
    assert len(body["results"]) == 3
    assert sleeps == [3.0]
    assert session.requests_made == 2


def test_request__5xx_then_ok__full_jitter_backoff_within_bounds(session, seeded, sleeps):
    """Should back off with full jitter: attempt n waits within [0, 2**n] seconds."""
    for status in (500, 502, 503):
        seeded.faults.append(Fault(DATA, status))
    session.get_json(DATA, {"limit": 10})
    assert len(sleeps) == 3
    assert all(0 <= s <= 2**i for i, s in enumerate(sleeps))
    assert len(set(sleeps)) == 3  # jittered, not a fixed schedule


def test_request__always_failing__bounded_attempts_then_transient_error(session, seeded, sleeps):
    """Should try retries+1 times, then raise without leaking query values or the body."""
    seeded.faults.extend(Fault(DATA, 503, body=b"<html>Siti Rahayu</html>") for _ in range(10))
    with pytest.raises(KoboTransientError) as err:
        session.get_json(DATA, SECRET_QUERY)
    assert session.requests_made == 5 and len(sleeps) == 4
    text = str(err.value)
    assert "HTTP 503" in text and "5 times" in text
    assert "Siti" not in text and TOKEN not in text and "limit=" in text


def test_request__retry_after_too_long__reported_not_waited(session, seeded, sleeps):
    """Should not hang for an hour when the server asks to wait that long."""
    seeded.faults.append(Fault(DATA, 429, {"Retry-After": "3600"}))
    with pytest.raises(KoboTransientError, match="wait 3600 s"):
        session.get_json(DATA)
    assert sleeps == []


@pytest.mark.parametrize("fault", [
    Fault(DATA, 200, body=b'{"count": 3, "results": [{"_id": 1'),       # truncated JSON
    Fault(DATA, 200, body=b"<html>proxy page</html>"),                  # not JSON
    Fault(DATA, error=requests.ConnectionError("Connection reset by peer")),
    Fault(DATA, error=requests.exceptions.ChunkedEncodingError("IncompleteRead")),
])
def test_request__broken_body_or_reset__retried(session, seeded, sleeps, fault):
    """Should retry truncated/unparsable bodies and connection resets."""
    seeded.faults.append(fault)
    body = session.get_json(DATA, {"limit": 10}, valid=lambda b: isinstance(b.get("results"), list))
    assert len(body["results"]) == 3 and len(sleeps) == 1


def test_request__timeouts_on_big_pages__limit_halved_down_to_50(seeded, sleeps):
    """Should halve `limit` after a timeout/502/504 and never go under 50."""
    session = make_session(seeded, sleeps, retries=6)
    seeded.faults.extend([Fault(DATA, error=requests.ReadTimeout()), Fault(DATA, 504)] + [Fault(DATA, 502)] * 3)
    session.get_json(DATA, {"limit": 1000})
    limits = [dict(p.split("=") for p in c.url.split("?")[1].split("&"))["limit"] for c in seeded.calls]
    assert limits == ["1000", "500", "250", "125", "62", "50"]
    assert session.page_limit == 50


def test_request__post_not_repeated_after_timeout_or_502(session, seeded, sleeps):
    """Should not repeat a POST the server may have acted on (an import could run twice)."""
    seeded.faults.append(Fault("/api/v2/imports/", error=requests.ReadTimeout()))
    with pytest.raises(KoboTransientError, match="once"):
        session.request("POST", "/api/v2/imports/", data={"library": "false"})
    seeded.faults.append(Fault("/api/v2/imports/", 502))
    with pytest.raises(KoboTransientError):
        session.request("POST", "/api/v2/imports/", data={"library": "false"})
    assert sleeps == [] and session.requests_made == 2


def test_request__post_retried_after_503(session, seeded, sleeps):
    """Should repeat a POST when the server says it did nothing (503/429)."""
    seeded.faults.append(Fault("/deployment/", 503, {"Retry-After": "1"}))
    session.request("POST", "/api/v2/assets/aAAA/deployment/", json_body={"active": True},
                    expect="response", ok_statuses=(405,))
    assert sleeps == [1.0]


def test_request__401__auth_error_says_what_to_do_without_token(fake, sleeps):
    """Should say the token was rejected, name the URL, not retry and not print the token."""
    fake.add_asset("aAAA", "f")
    s = make_session(fake, sleeps, token="wrongwrongwrongwrong")
    with pytest.raises(KoboAuthError) as err:
        s.get_json("/api/v2/assets/")
    text = str(err.value)
    assert "rejected the token" in text and "KOBO_TOKEN" in text and "Invalid token." in text
    assert "wrongwrong" not in text and s.requests_made == 1


def test_request__403_on_data__names_view_submissions(session, seeded):
    """Should name the missing permission for the endpoint."""
    seeded.faults.append(Fault(DATA, 403, body=b'{"detail": "You do not have permission to perform this action."}'))
    with pytest.raises(KoboPermissionError) as err:
        session.get_json(DATA)
    assert "'view_submissions'" in str(err.value) and "aAAA" in str(err.value)


def test_request__403_on_deployment__names_change_asset(session, seeded):
    seeded.faults.append(Fault("/deployment/", 403, body=b"{}"))
    with pytest.raises(KoboPermissionError, match="'change_asset'"):
        session.request("PATCH", "/api/v2/assets/aAAA/deployment/", json_body={"active": True})


def test_request__404__names_the_asset_and_the_missing_token_cause(session, seeded):
    """Should say which asset was not found and hint at ignored tokens."""
    with pytest.raises(KoboNotFoundError) as err:
        session.get_json("/api/v2/assets/aMISSING/")
    assert "asset aMISSING" in str(err.value) and "token" in err.value.hint


def test_request__400_validation__names_parameters_not_values(session, seeded):
    """Should name the refused parameter, never echo its value."""
    seeded.faults.append(Fault(DATA, 400, body=b'{"query": "Value must be valid JSON."}'))
    with pytest.raises(KoboError) as err:
        session.get_json(DATA, SECRET_QUERY)
    assert err.value.code == "KOBO_400" and "query" in str(err.value) and "Siti" not in str(err.value)


def test_request__410__points_at_kobocat_host(session, seeded):
    seeded.faults.append(Fault("/api/v2/assets/", 410, body=b'{"detail": "The V1 API has been removed."}'))
    with pytest.raises(KoboError, match="HTTP 410") as err:
        session.get_json("/api/v2/assets/")
    assert "kc." in err.value.hint


def test_request__token_only_to_kobo_host(session, seeded):
    """Should send Authorization to KOBO_URL's host and never to another host."""
    with pytest.raises(KoboNotFoundError, match="files.elsewhere.test"):
        session.request("GET", "https://files.elsewhere.test/x.jpg", expect="bytes")
    session.request("GET", "http://kobo.test/api/v2/assets/aAAA/", expect="bytes")
    other, own = seeded.calls
    assert "Authorization" not in other.headers
    assert own.headers["Authorization"] == f"Token {TOKEN}"
    assert own.url.startswith("https://kobo.test/")  # http link to our host upgraded to KOBO_URL's scheme


def test_session_repr__hides_token(session):
    assert TOKEN not in repr(session)


def test_logs__debug_and_retries__never_hold_token_or_query_values(session, seeded, caplog):
    """Should log sanitised URLs only, even at DEBUG, through retries and failures."""
    caplog.set_level("DEBUG")
    seeded.faults.extend([Fault(DATA, 503), Fault(DATA, 504)])
    session.get_json(DATA, SECRET_QUERY)
    seeded.faults.append(Fault(DATA, 403, body=b'{"detail": "nope"}'))
    with pytest.raises(KoboPermissionError):
        session.get_json(DATA, SECRET_QUERY)
    text = caplog.text
    assert "retry 1/4" in text and "→ 200" in text
    assert TOKEN not in text and "Siti" not in text and "Rahayu" not in text


def test_requests_in_thread__a_page_costs_only_its_own_requests(session, seeded):
    """Should count each thread's requests apart: a page fetched while another thread uses
    the session (the prefetch, a version lookup) is charged only what it asked for."""
    import threading

    other = threading.Thread(target=lambda: [session.get_json("/api/v2/assets/") for _ in range(3)])
    before = session.requests_in_thread
    other.start()
    session.get_json("/api/v2/assets/")
    other.join()
    assert session.requests_in_thread - before == 1
    assert session.requests_made == 4
