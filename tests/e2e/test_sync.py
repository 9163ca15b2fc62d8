"""The sync flow end to end: Prefect (test server) → sandbox over HTTP → SQLite warehouse.

Invariants of design.md, each checked with exact warehouse comparisons:
1. pulled = loaded + quarantined + withheld for every form in every run;
2. a second run changes nothing, and a crash followed by a re-run gives the same warehouse;
3. the watermark moves only with the rows it covers;
4. edits, validation changes, deletions and withdrawals made on the server reach the warehouse.
"""

from __future__ import annotations

import time

import pytest

from suara.forms import load_form_versions, load_forms
from tests.e2e.conftest import N
from warehouse import Warehouse

pytestmark = [pytest.mark.e2e]

KEY_ENV = {
    "SUARA_PSEUDONYM_KEY": "e2e-sync-pseudonym-key-0123456789",
    "SUARA_RESTRICTED_KEY": "e2e-sync-restricted-key-0123456789",
}
# Columns that legitimately differ between two warehouses that loaded the same data.
VOLATILE = {"refreshed_at", "run_id", "finished_at", "started_at", "updated_run", "quarantined_at",
            "updated_at", "created_at"}
PER_RUN_TABLES = {"responses", "run_records", "privacy_audits", "quarantine_actions"}


def _env(monkeypatch, sandbox, tmp_path, name: str, forms_dir):
    monkeypatch.setenv("KOBO_URL", sandbox.url)
    monkeypatch.setenv("KOBO_TOKEN", sandbox.token)
    url = f"sqlite:///{tmp_path / name / 'suara.db'}"
    monkeypatch.setenv("WAREHOUSE_URL", url)
    monkeypatch.setenv("SUARA_DATA_DIR", str(tmp_path / name))
    monkeypatch.setenv("SUARA_FORM_PRIVATE_KEY", str(forms_dir / "keys" / "DEMO_ONLY_private.pem"))
    for k, v in KEY_ENV.items():
        monkeypatch.setenv(k, v)
    wh = Warehouse(url)
    wh.upgrade({f.form_id: load_form_versions(f.form_id, forms_dir) for f in load_forms(forms_dir)})
    return wh


def _sync(reconcile=True) -> dict:
    from flows.sync_form import sync_all_forms

    record = sync_all_forms(reconcile=reconcile)
    for form_id, counts in record["forms"].items():
        assert counts["pulled"] == counts["loaded"] + counts["quarantined"] + counts["withheld"], form_id
    return record


def _state(wh: Warehouse) -> dict:
    """Every zone's rows, without per-run logs and volatile columns."""
    out = {}
    for zone in ("analytics", "restricted", "reporting"):
        for table, rows in wh.dump(zone).items():
            if table in PER_RUN_TABLES:
                continue
            out[f"{zone}.{table}"] = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
    return out


def _check_artifacts(record: dict, token: str) -> None:
    """Every run leaves, per form, a markdown summary for project managers: counts, the
    balance check and links — and no secret."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[record["run_id"]])))
    by_key = {a.key: a for a in arts}
    for form_id, counts in record["forms"].items():
        md = by_key[f"sync-{form_id.replace('_', '-')}"].data
        assert f"| {counts['pulled']} | {counts['loaded']} |" in md
        assert "pulled = loaded + quarantined + withheld → **yes**" in md
        assert "Data Docs" in md and "Privacy audit" in md
        assert token not in md and KEY_ENV["SUARA_PSEUDONYM_KEY"] not in md
    assert "sync-counts" in by_key


def _ids(wh: Warehouse, zone: str, table: str) -> set[int]:
    return {r["_id"] for r in wh.dump(zone).get(table, [])}


def test_sync__first_then_second_run__second_changes_nothing(prefect_backend, monkeypatch, tmp_path,
                                                               sandbox, forms, forms_dir):
    """Should load every form, balance the counts, and change nothing on a second run."""
    wh = _env(monkeypatch, sandbox, tmp_path, "a", forms_dir)
    first = _sync()
    assert set(first["forms"]) == {f.form_id for f in forms}
    assert all(s == "completed" for s in first["status"].values()), first.get("errors")
    for form_id, c in first["forms"].items():
        assert c["pulled"] == N, form_id
        assert c["loaded"] > N // 2, form_id
    before = _state(wh)
    assert before["restricted.manifest"], "manifest written"
    _check_artifacts(first, sandbox.token)
    second = _sync()
    assert all(c["pulled"] == 0 and c["deleted"] == 0 for c in second["forms"].values()), second["forms"]
    assert _state(wh) == before
    # No-change cost: the manifest scan per form (one page here) and the asset lookup by
    # content.settings (one listing, one detail per asset); no data page (the scan listed
    # nothing new) and no version lookups (nothing to normalise).
    assert second["requests"] == 1 + 2 * len(forms), second["requests"]


@pytest.fixture()
def plain_sandbox(forms):
    """Submissions in clear (an edit of an encrypted report is a new ciphertext from the phone,
    which the sandbox does not model), so the test can edit answers server-side."""
    from suara.sandbox import Sandbox

    with Sandbox(forms, submissions=N, seed=12, edge_share=0.0) as sb:
        yield sb


def test_sync__server_changes__edits_deletions_validation_withdrawals_arrive(prefect_backend, monkeypatch,
                                                                            tmp_path, plain_sandbox, forms_dir):
    """Should apply edits, validation changes, hard deletes and consent withdrawals on the next sync."""
    sandbox = plain_sandbox
    wh = _env(monkeypatch, sandbox, tmp_path, "a", forms_dir)
    _sync()
    base = "ilo_rights_baseline"
    loaded = sorted(_ids(wh, "restricted", base))
    edited, deleted, validated = loaded[0], loaded[1], loaded[2]
    sandbox.edit(base, edited, {"grp_close/enum_overheard": "yes"})
    sandbox.delete(base, [deleted])
    sandbox.set_validation(base, validated, "validation_status_approved")
    vh = "ilo_vh_reporting"
    vh_loaded = sorted(_ids(wh, "restricted", vh))
    withdrawn = vh_loaded[0]
    sandbox.edit(vh, withdrawn, {"grp_ref/consent_confirm": "no", "withdrawn": "1"})

    second = _sync(reconcile=True)
    c = second["forms"][base]
    assert c["deleted"] == 1
    assert c["updated"] >= 1
    assert deleted not in _ids(wh, "restricted", base) | _ids(wh, "analytics", base)
    manifest = {r["_id"]: r for r in wh.dump("restricted")["manifest"] if r["form_id"] == base}
    assert deleted not in manifest
    assert manifest[edited]["_uuid"] == sandbox.record(base, edited)["_uuid"]
    assert manifest[validated]["validation_status"] == "validation_status_approved"
    rows = {r["_id"]: r for r in wh.dump("restricted")[base]}
    assert rows[edited]["enum_overheard"] == "yes"
    # A withdrawal erases the report from every zone; it is counted as withheld.
    assert second["forms"][vh]["withheld"] >= 1
    assert withdrawn not in _ids(wh, "restricted", vh) | _ids(wh, "analytics", vh)


def test_sync__faults_injected__same_warehouse_as_a_clean_run(prefect_backend, monkeypatch, tmp_path,
                                                             sandbox, forms_dir):
    """Should survive 429/5xx/truncated/slow responses and end with exactly a clean run's warehouse."""
    clean = _env(monkeypatch, sandbox, tmp_path, "clean", forms_dir)
    _sync()
    expected = _state(clean)
    faulty = _env(monkeypatch, sandbox, tmp_path, "faulty", forms_dir)
    sandbox.faults(rate=0.2, seed=3, retry_after=0, slow_seconds=0.2)
    try:
        record = _sync()
    finally:
        sandbox.clear_faults()
    assert all(s == "completed" for s in record["status"].values()), record.get("errors")
    assert _state(faulty) == expected


def test_sync__crash_mid_run_then_rerun__same_warehouse_watermark_follows_rows(prefect_backend, monkeypatch,
                                                                             tmp_path, sandbox, forms_dir):
    """Should leave a consistent warehouse after a crash in a load, and converge on re-run."""
    clean = _env(monkeypatch, sandbox, tmp_path, "clean", forms_dir)
    monkeypatch.setenv("SUARA_PAGE_SIZE", "25")
    _sync()
    expected = _state(clean)

    crashed = _env(monkeypatch, sandbox, tmp_path, "crashed", forms_dir)
    from warehouse import facade

    real = facade.Warehouse.apply_batch
    calls = {"n": 0}

    def crashing(self, form, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash during a load")
        return real(self, form, batch)

    monkeypatch.setattr(facade.Warehouse, "apply_batch", crashing)
    first = _sync()
    assert "failed" in first["status"].values()
    # The watermark of the failed form covers exactly the rows loaded before the crash.
    for form_id, status in first["status"].items():
        if status == "failed":
            mark = crashed.watermark(form_id)
            manifest_ids = {r["_id"] for r in crashed.dump("restricted")["manifest"] if r["form_id"] == form_id}
            assert mark is not None and manifest_ids and max(manifest_ids) == mark
    monkeypatch.setattr(facade.Warehouse, "apply_batch", real)
    _sync()
    assert _state(crashed) == expected


def test_reconcile_form__scan_only__erases_server_deletions_without_pulling(prefect_backend, monkeypatch,
                                                                          tmp_path, sandbox, forms_dir):
    """Should run only the manifest scan: a hard delete on the server is erased, nothing new pulled."""
    from flows.sync_form import reconcile_form

    wh = _env(monkeypatch, sandbox, tmp_path, "a", forms_dir)
    _sync()
    base = "ilo_rights_baseline"
    gone = sorted(_ids(wh, "restricted", base))[0]
    sandbox.delete(base, [gone])
    sandbox.add(base, 3)  # ids the manifest never saw: the scan loads them (as late arrivals)
    mark = wh.watermark(base)
    record = reconcile_form(base)
    assert record["status"] == {base: "completed"}, record.get("errors")
    assert record["forms"][base]["deleted"] == 1
    assert gone not in _ids(wh, "restricted", base) | _ids(wh, "analytics", base)
    assert wh.watermark(base) == mark  # the scan refetches by id; only the sync moves the watermark


def test_sync__submission_visible_late__next_sync_loads_it_through_the_late_reread(prefect_backend, monkeypatch,
                                                                                 tmp_path, sandbox, forms_dir):
    """Should load a submission that became visible after higher ids were read, on the next
    sync without a scan: its late re-read (first request sent as the pull's last page
    arrives) finds it below the watermark."""
    from flows import sync_form

    wh = _env(monkeypatch, sandbox, tmp_path, "a", forms_dir)
    _sync(reconcile=False)
    base = "ilo_rights_baseline"
    shown_at = time.monotonic() + 8.0  # generous: the sync before that must not see it, even on a busy machine
    [late] = sandbox.add(base, 1, late_seconds=8.0)
    quick = sandbox.add(base, 2)
    assert late < min(quick)
    iterated: list[int] = []
    real_iter = sync_form.LateAhead.__iter__

    def spy(self):
        iterated.append(self.watermark)
        return real_iter(self)

    monkeypatch.setattr(sync_form.LateAhead, "__iter__", spy)
    _sync(reconcile=False)
    stored = _ids(wh, "restricted", base) | _ids(wh, "analytics", base) | {
        r["_id"] for r in wh.dump("restricted")["quarantine"] if r["form_id"] == base}
    assert set(quick) <= stored and late not in stored and wh.watermark(base) == max(quick)
    time.sleep(max(0.0, shown_at + 0.2 - time.monotonic()))  # now the late one is visible, below the watermark
    iterated.clear()
    record = _sync(reconcile=False)
    assert record["forms"][base]["pulled"] == 1, record["forms"][base]
    manifest = {r["_id"] for r in wh.dump("restricted")["manifest"] if r["form_id"] == base}
    assert late in manifest and wh.watermark(base) == max(quick)
    assert max(quick) in iterated  # the re-read went through the request sent ahead
