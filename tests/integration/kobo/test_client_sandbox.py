"""The Kobo client against the sandbox over real HTTP: pulls, changes, faults, errors, deploy."""

from __future__ import annotations

import time

import pytest

from suara.errors import KoboAuthError, KoboNotFoundError, KoboPermissionError, KoboTransientError
from suara.kobo import KoboClient
from suara.sandbox import Sandbox
from suara.settings import load_settings
from tests.unit.suara.kobo.forms_md import form

pytestmark = pytest.mark.integration

N = 2500


@pytest.fixture
def sandbox():
    with Sandbox([form()], submissions=N, seed=1) as sb:
        yield sb


def make_client(sb, tmp_path, *, token=None, sleeps=None, **overrides) -> KoboClient:
    settings = load_settings(kobo_url=sb.url, kobo_token=token or sb.token,
                             suara_data_dir=tmp_path / "data", **overrides)
    return KoboClient(settings, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def pull(client, uid, after_id=None, page_size=None) -> list[dict]:
    return [r for p in client.iter_pages(uid, after_id, page_size) for r in p.results]


def test_full_pull__many_pages__every_submission_once(sandbox, tmp_path):
    """Should read all 2,500 submissions in order, in pages of at most 1,000, nothing twice."""
    client = make_client(sandbox, tmp_path)
    uid, how = client.find_asset(form())
    assert how == "content.settings"
    pages = list(client.iter_pages(uid))
    ids = [r["_id"] for p in pages for r in p.results]
    assert ids == sorted(sandbox.ids("rights_baseline")) and len(ids) == N
    assert max(len(p.results) for p in pages) == 1000
    assert client.requests_made == 2 + len(pages)  # asset list + one detail, then the pages


def test_full_pull__one_connection_for_every_page(sandbox, tmp_path, monkeypatch):
    """Should read each body whole and keep the connection alive: pages of 1,000 are read
    in large pieces, and a new TCP connection per request would cost a handshake each."""
    accepted = []
    server = sandbox._server
    serve = server.process_request

    def counted(request, address):  # the server calls this once per accepted connection
        accepted.append(address)
        serve(request, address)

    monkeypatch.setattr(server, "process_request", counted)
    client = make_client(sandbox, tmp_path)
    uid = sandbox.asset_uid("rights_baseline")
    assert [len(p.results) for p in client.iter_pages(uid)] == [1000, 1000, 500]
    assert len(accepted) == 1


def test_incremental_pull__only_new_submissions(sandbox, tmp_path):
    """Should, from a watermark, read exactly the submissions added since."""
    client = make_client(sandbox, tmp_path)
    uid = sandbox.asset_uid("rights_baseline")
    watermark = max(r["_id"] for r in pull(client, uid))
    added = sandbox.add("rights_baseline", 30)
    assert [r["_id"] for r in pull(client, uid, watermark)] == sorted(added)
    assert pull(client, uid, max(added)) == []


def test_manifest__detects_edit_validation_and_deletion(sandbox, tmp_path):
    """Should reveal edits (new _uuid), validation changes and deletions; refetch gives the edit."""
    client = make_client(sandbox, tmp_path)
    uid = sandbox.asset_uid("rights_baseline")
    before = {i: (u, v) for i, u, v in client.manifest(uid)}
    assert len(before) == N
    sandbox.edit("rights_baseline", 10, {"q1": "diubah"})
    sandbox.set_validation("rights_baseline", 20, "validation_status_approved")
    sandbox.delete("rights_baseline", [30, 2500])
    after = {i: (u, v) for i, u, v in client.manifest(uid)}
    changed = sorted(i for i in after if after[i] != before[i])
    assert changed == [10, 20]
    assert after[20][1] == "validation_status_approved"
    assert sorted(set(before) - set(after)) == [30, 2500]
    [chunk] = list(client.fetch_ids(uid, [10, 30]))
    assert [r["_id"] for r in chunk] == [10] and chunk[0]["q1"] == "diubah"
    assert chunk[0]["_uuid"] == after[10][0] != before[10][0]


def test_manifest__costs_one_request_per_thousand(sandbox, tmp_path):
    client = make_client(sandbox, tmp_path)
    uid = sandbox.asset_uid("rights_baseline")
    list(client.manifest(uid))
    assert client.requests_made == 3


def test_late_window__finds_a_submission_that_appeared_late(sandbox, tmp_path):
    """Should catch a lower _id that became visible after a higher one was read."""
    client = make_client(sandbox, tmp_path)
    uid = sandbox.asset_uid("rights_baseline")
    [late] = sandbox.add("rights_baseline", 1, late_seconds=1.0)
    [quick] = sandbox.add("rights_baseline", 1)
    assert late < quick
    new = [r["_id"] for r in pull(client, uid, N)]
    assert new == [quick]  # the late one is not visible yet
    time.sleep(1.2)
    assert pull(client, uid, quick) == []  # the normal walk never goes back
    found = [r["_id"] for p in client.iter_late(uid, quick, 600) for r in p.results]
    assert late in found and all(i <= quick for i in found)


def test_faults__survived_with_the_same_result(sandbox, tmp_path):
    """Should end with exactly the fault-free result despite 429/5xx/truncated/slow answers."""
    clean = pull(make_client(sandbox, tmp_path), sandbox.asset_uid("rights_baseline"))
    every_kind = ["429", "500", "502", "503", "504", "truncated", "slow"]
    plan = sandbox.faults(rate=0.3, seed=3, slow_seconds=1.5, sequence=[*every_kind, None] * 2)
    sleeps: list[float] = []
    client = make_client(sandbox, tmp_path, sleeps=sleeps, suara_http_timeout=0.5, suara_http_retries=8)
    uid = sandbox.asset_uid("rights_baseline")
    faulty = pull(client, uid, page_size=500)
    sandbox.clear_faults()
    assert faulty == clean
    assert {k for k, _ in plan.injected} == set(every_kind) and len(plan.injected) > 14
    assert len(sleeps) == len(plan.injected)  # one backoff per fault, no fault left unretried
    assert client.session.page_limit is not None and client.session.page_limit < 1000  # shrunk


@pytest.mark.parametrize("kind", ["429", "500", "503", "truncated"])
def test_faults__never_ending__transient_error_with_url(sandbox, tmp_path, kind):
    """Should give up after the configured attempts with a message naming the URL, not the data."""
    sandbox.faults(rate=1.0, kinds=[kind], paths=["/api/v2/assets/"])
    client = make_client(sandbox, tmp_path, suara_http_retries=2)
    with pytest.raises(KoboTransientError) as err:
        client.fetch_page(sandbox.asset_uid("rights_baseline"), after_id=5)
    text = str(err.value)
    assert "3 times" in text and "/data/" in text and "query=…" in text and sandbox.token not in text


def test_errors__401_wrong_token(sandbox, tmp_path):
    client = make_client(sandbox, tmp_path, token="0" * 40)
    with pytest.raises(KoboAuthError, match="rejected the token.*Invalid token"):
        client.assets()


def test_errors__403_without_view_submissions(sandbox, tmp_path):
    sandbox.add_token("1" * 40)
    client = make_client(sandbox, tmp_path, token="1" * 40)
    uid = sandbox.asset_uid("rights_baseline")
    assert client.asset(uid)["uid"] == uid  # may see the project …
    with pytest.raises(KoboPermissionError, match=f"'view_submissions' permission for submissions of asset {uid}"):
        client.fetch_page(uid)  # … but not its data


def test_errors__404_unknown_asset(sandbox, tmp_path):
    client = make_client(sandbox, tmp_path)
    with pytest.raises(KoboNotFoundError, match="aNoSuchAsset"):
        client.fetch_page("aNoSuchAsset")


def test_deploy__round_trip_new_then_new_version(tmp_path):
    """Should create, deploy, verify; then replace with a new version; version_map knows both."""
    def built(f):
        # The workbook as `suara forms build` would write it (the test form skips project rules).
        import openpyxl

        book = openpyxl.Workbook()
        book.remove(book.active)
        for name, rows in f.sheets.to_dict().items():
            sheet, header = book.create_sheet(name), list(rows[0])
            sheet.append(header)
            for row in rows:
                sheet.append([row.get(h, "") for h in header])
        path = tmp_path / f"{f.form_id}-{f.version}.xlsx"
        book.save(path)
        return path

    with Sandbox([], submissions=0) as sb:
        client = make_client(sb, tmp_path)
        v1, v2 = form(version="2026.05.1"), form(version="2026.06.1")
        first = client.deploy(v1, built(v1))
        assert first.created and first.version == "2026.05.1"
        assert client.find_asset(v1) == (first.asset_uid, "registry")
        second = client.deploy(v2, built(v2))
        assert (second.asset_uid, second.created, second.how) == (first.asset_uid, False, "registry")
        assert client.version_map(first.asset_uid) == {first.version_id: "2026.05.1", second.version_id: "2026.06.1"}
        asset = client.asset(first.asset_uid)
        assert asset["deployment__active"] and asset["deployed_version_id"] == second.version_id
        assert len(client.assets()) == 1  # replaced, not duplicated
