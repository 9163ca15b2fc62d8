"""Loading batches: idempotent upserts, delete propagation, atomicity, quarantine, run records.

Rules under test (design.md invariants):
  L1 loading the same batch twice gives the same warehouse;
  L2 an erased submission disappears with its repeat rows from every zone and the manifest;
  L3 rows, manifest and watermark commit together or not at all;
  L4 quarantine payloads are encrypted and need SUARA_RESTRICTED_KEY to be read.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from suara.errors import WarehouseError
from tests.integration.warehouse.helpers import load
from tests.unit.warehouse.sample_forms import FORM_ID, frames
from warehouse import LoadBatch, QuarantineItem, Warehouse, digest

pytestmark = pytest.mark.integration
KIDS = f"{FORM_ID}__kids"


def _batch(ids, run="r1", **kw) -> LoadBatch:
    analytics, restricted = frames(ids)
    return LoadBatch(run_id=run, analytics=analytics, restricted=restricted,
                     loaded={i: f"uuid-{i}" for i in ids}, form_versions=dict.fromkeys(ids, "2026010101"),
                     validation_status=dict.fromkeys(ids, "validation_status_approved"),
                     watermark=max(ids), **kw)


def test_apply_batch__same_batch_twice__same_warehouse(wh):
    """L1: Should leave identical zones after a second identical load, counting updates."""
    first = load(wh, FORM_ID, _batch(range(1, 11)))
    dumps = {z: wh.dump(z) for z in ("analytics", "restricted")}
    second = load(wh, FORM_ID, _batch(range(1, 11), run="r2"))
    assert {z: wh.dump(z) for z in ("analytics", "restricted")} == dumps
    assert (first.loaded, first.updated) == (10, 0)
    assert (second.loaded, second.updated) == (10, 10)
    counts = wh.table_counts()
    assert counts[f"analytics.{FORM_ID}"] == 10 and counts[f"analytics.{KIDS}"] == 20
    assert counts[f"restricted.{KIDS}"] == 20
    assert wh.watermark(FORM_ID) == 10


def test_apply_batch__select_multiple__one_flag_per_choice(wh):
    """Should split 'wage hours' into issues__wage=1, issues__hours=1 and leave flags NULL when unanswered."""
    load(wh, FORM_ID, _batch([1, 2, 5]))
    rows = {r["_id"]: r for r in wh.dump("analytics")[FORM_ID]}
    assert (rows[1]["issues__wage"], rows[1]["issues__hours"]) == (1, 1)
    assert (rows[2]["issues__wage"], rows[2]["issues__hours"]) == (0, 1)
    assert (rows[5]["issues__wage"], rows[5]["issues__hours"]) == (None, None)


def test_apply_batch__zones__sensitive_column_only_in_restricted(wh):
    """Should keep harassed_n and the exact visit date out of analytics."""
    load(wh, FORM_ID, _batch([1]))
    analytics_row = wh.dump("analytics")[FORM_ID][0]
    restricted_row = wh.dump("restricted")[FORM_ID][0]
    assert "harassed_n" not in analytics_row and "visit_date" not in analytics_row
    assert restricted_row["harassed_n"] == 1
    assert str(restricted_row["visit_date"]) == "2026-01-15"


def test_apply_batch__edit_removes_repeat_item__child_rows_replaced(wh):
    """Should replace a submission's repeat rows when it is loaded again with fewer items."""
    load(wh, FORM_ID, _batch([1, 2]))
    analytics, restricted = frames([1], kids_per_submission=1)
    load(wh, FORM_ID, LoadBatch(run_id="r2", analytics=analytics, restricted=restricted))
    kids = wh.dump("analytics")[KIDS]
    assert [(k["_id"], k["_index"]) for k in kids] == [(1, 1), (2, 1), (2, 2)]


def test_apply_batch__erase_ids__rows_children_and_manifest_gone_everywhere(wh):
    """L2: Should remove an erased submission and its repeat rows from both zones and the manifest."""
    load(wh, FORM_ID, _batch([1, 2, 3]))
    counts = wh.erase(FORM_ID, [2, 99], run_id="r2", reason="deleted_on_server")
    assert counts.deleted == 1
    for zone in ("analytics", "restricted"):
        dump = wh.dump(zone)
        assert sorted(r["_id"] for r in dump[FORM_ID]) == [1, 3]
        assert sorted({r["_id"] for r in dump[KIDS]}) == [1, 3]
    assert sorted(wh.manifest(FORM_ID)) == [1, 3]
    assert wh.privacy_audit_summary(FORM_ID, "r2") == {"event": "erase", "reason": "deleted_on_server",
                                                       "requested": 2}


def test_manifest__after_load__uuid_version_and_validation_recorded(wh):
    """Should record each loaded submission's uuid, version and validation status, filterable by ids."""
    load(wh, FORM_ID, _batch([1, 2, 3]))
    entries = wh.manifest(FORM_ID, ids=[2, 3, 404])
    assert sorted(entries) == [2, 3]
    assert entries[2].uuid == "uuid-2" and entries[2].state == "loaded"
    assert (entries[2].form_version, entries[2].validation_status) == ("2026010101", "validation_status_approved")


def test_manifest__ids_above_and_below_the_highest__only_stored_ones(wh):
    """Should answer a look-up of ids around and above the highest stored id (a page of new
    submissions) with exactly the stored ones, per form."""
    load(wh, FORM_ID, _batch([1, 2, 3]))
    assert sorted(wh.manifest(FORM_ID, ids=[0, 3, 1, 4, 10**12])) == [1, 3]
    assert wh.manifest(FORM_ID, ids=[4, 5, 6]) == {}
    assert wh.manifest(FORM_ID, ids=[]) == {}
    assert wh.manifest("no_such_form", ids=[1, 2, 3]) == {}


def test_manifest_index__read_in_slices__same_ids_and_digests_as_the_manifest(wh, monkeypatch):
    """Should hand the reconcile scan every stored id, ascending, with the digest of its uuid
    and validation status, however many rows each read takes."""
    import warehouse.manifest

    monkeypatch.setattr(warehouse.manifest, "READ_ROWS", 2)
    load(wh, FORM_ID, _batch([3, 1, 2]))
    index = wh.manifest_index(FORM_ID)
    entries = wh.manifest(FORM_ID)
    assert index.ids.tolist() == [1, 2, 3]
    assert index.digests.tolist() == [digest(entries[i].uuid, entries[i].validation_status) for i in (1, 2, 3)]
    assert len(wh.manifest_index("no_such_form")) == 0


def test_apply_batch__crash_after_rows__nothing_half_written(wh, monkeypatch):
    """L3: Should roll back rows, manifest and watermark when the batch fails after writing rows."""
    load(wh, FORM_ID, _batch([1]))
    before = wh.table_counts()
    import warehouse.load

    def boom(*a, **kw):
        raise RuntimeError("simulated crash between rows and watermark")

    monkeypatch.setattr(warehouse.load.qmod, "put", boom)
    with pytest.raises(RuntimeError):
        load(wh, FORM_ID, _batch([2, 3, 4], run="r2"))
    assert wh.table_counts() == before
    assert wh.watermark(FORM_ID) == 1
    assert sorted(wh.manifest(FORM_ID)) == [1]


def test_apply_batch__unknown_column__refused_with_upgrade_hint(wh):
    """Should refuse a frame with a column the warehouse lacks and say to run the upgrade."""
    analytics, _ = frames([1], extra={"brand_new": [1]})
    with pytest.raises(WarehouseError, match="brand_new") as err:
        load(wh, FORM_ID, LoadBatch(run_id="r1", analytics=analytics))
    assert "suara warehouse upgrade" in str(err.value)
    assert wh.table_counts()[f"analytics.{FORM_ID}"] == 0


def _quarantine_item(i=7):
    reasons = [{"code": "VAL_RANGE", "table": FORM_ID, "field": "workers", "expectation": "between"}]
    return QuarantineItem(i, f"uuid-{i}", "2026010101", reasons, {"workers": "secret-answer-123"})


def test_quarantine__payload_encrypted__readable_only_with_key(wh, warehouse_url):
    """L4: Should store the payload encrypted and give it back decrypted with the right key only."""
    counts = load(wh, FORM_ID, LoadBatch(run_id="r1", quarantine=[_quarantine_item()]))
    assert counts.quarantined == 1 and counts.pulled == 1
    with wh.engine.connect() as c:
        raw = c.exec_driver_sql("SELECT payload, reasons FROM restricted.quarantine").one()
    assert b"secret-answer-123" not in bytes(raw[0])
    assert "VAL_RANGE" in raw[1] and "secret-answer-123" not in raw[1]
    [listed] = wh.quarantine_list(FORM_ID)
    assert listed.reasons[0]["code"] == "VAL_RANGE" and listed.payload is None
    assert wh.quarantine_get(FORM_ID, 7).payload == {"workers": "secret-answer-123"}
    assert wh.manifest(FORM_ID)[7].state == "quarantined"
    other = Warehouse(warehouse_url, restricted_key="another-key-0123456789abcdef")
    try:
        with pytest.raises(WarehouseError, match="could not be decrypted"):
            other.quarantine_get(FORM_ID, 7)
    finally:
        other.close()


def test_quarantine_mark__drop__logged_and_payload_wiped(wh):
    """Should log who dropped what and forget the dropped payload; unknown ids change nothing."""
    load(wh, FORM_ID, LoadBatch(run_id="r1", quarantine=[_quarantine_item(7), _quarantine_item(8)]))
    with pytest.raises(WarehouseError, match="9"):
        wh.quarantine_mark(FORM_ID, [8, 9], "drop", "dm@example.org")
    assert wh.quarantine_mark(FORM_ID, [8], "drop", "dm@example.org", "duplicate") == 1
    assert [e._id for e in wh.quarantine_list(FORM_ID)] == [7]
    dropped = wh.quarantine_get(FORM_ID, 8)
    assert dropped.status == "dropped" and dropped.payload is None
    assert dropped.actions[0]["actor"] == "dm@example.org" and dropped.actions[0]["action"] == "drop"
    assert wh.quarantine_reason_counts(FORM_ID) == {"VAL_RANGE": 1}
    assert wh.quarantine_reason_counts(FORM_ID, run_id="r1") == {"VAL_RANGE": 2}


def test_quarantine__fixed_on_server__released_when_loaded(wh):
    """Should release a held submission once an edit of it loads."""
    load(wh, FORM_ID, LoadBatch(run_id="r1", quarantine=[_quarantine_item(1)]))
    load(wh, FORM_ID, _batch([1], run="r2"))
    assert wh.quarantine_list(FORM_ID) == []
    assert wh.quarantine_get(FORM_ID, 1).status == "released"
    assert wh.manifest(FORM_ID)[1].state == "loaded"


def test_run_records__begin_and_finish__counts_recorded(wh):
    """Should record per-form counts and status for a run."""
    wh.begin_run("run-1", [FORM_ID])
    assert wh.run_records("run-1")[0].status == "running"
    counts = load(wh, FORM_ID, _batch([1, 2], run="run-1", withheld=[3]))
    wh.finish_run("run-1", FORM_ID, counts, "completed")
    [rec] = wh.run_records("run-1")
    assert (rec.status, rec.pulled, rec.loaded, rec.withheld) == ("completed", 3, 2, 1)
    assert rec.pulled == rec.loaded + rec.quarantined + rec.withheld
    assert rec.finished_at is not None


def test_apply_batch__privacy_audit__stored_as_json(wh):
    """Should append the batch's privacy audit to restricted.privacy_audits."""
    wh.apply_batch(FORM_ID, _batch([1], audit={"suppressed": 0, "k": 10}))
    with wh.engine.connect() as c:
        audit = c.execute(sa.text("SELECT audit FROM restricted.privacy_audits")).scalar_one()
    assert '"k": 10' in audit


def test_reconcile_due__every_second_run__alternates(wh):
    """Should ask for the manifest scan on the first and then every N-th finished run, never for 0."""
    due = []
    for n in range(4):
        due.append(wh.reconcile_due(FORM_ID, 2))
        wh.begin_run(f"run-{n}", FORM_ID)
        wh.finish_run(f"run-{n}", FORM_ID, {}, "completed")
    assert due == [True, False, True, False]
    assert wh.reconcile_due(FORM_ID, 0) is False


KILL_SCRIPT = """
import os, sys
sys.path.insert(0, {repo!r})
import warehouse.load
from tests.unit.warehouse.sample_forms import FORM_ID, frames
from warehouse import LoadBatch, Warehouse

def die(*a, **kw):
    os._exit(9)  # the process dies with the rows written but nothing committed

warehouse.load.qmod.put = die
wh = Warehouse({url!r}, restricted_key="k" * 32)
analytics, restricted = frames([2, 3])
wh.apply_batch(FORM_ID, LoadBatch(run_id="r2", analytics=analytics, restricted=restricted,
                                  loaded={{2: "u2", 3: "u3"}}, watermark=3))
"""


def test_apply_batch__process_killed_mid_batch__nothing_half_written(wh, warehouse_url):
    """L3: Should recover to the last committed batch when the loading process is killed."""
    import subprocess
    import sys
    from pathlib import Path

    load(wh, FORM_ID, _batch([1]))
    before = {z: wh.dump(z) for z in ("analytics", "restricted")}
    repo = str(Path(__file__).resolve().parents[3])
    script = KILL_SCRIPT.format(repo=repo, url=warehouse_url)
    result = subprocess.run([sys.executable, "-c", script], cwd=repo, timeout=120)
    assert result.returncode == 9
    assert {z: wh.dump(z) for z in ("analytics", "restricted")} == before
    assert wh.watermark(FORM_ID) == 1
