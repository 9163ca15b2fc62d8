"""The reporting refresh re-reads only the blocks of ids whose rows changed, and publishes the
same figures as a refresh from scratch.

Rules under test:
  I1 a refresh with nothing changed reads no submission rows and leaves reporting as it was;
  I2 new rows, an edit and an erasure re-read only the blocks they fall in, and the reporting
     tables equal those of a refresh with every block recomputed;
  I3 a change of what the sums depend on (indicator code, columns) recomputes every block;
  I4 the stored sums stay in the restricted zone;
  I5 sums read ahead (beside the release step) spare the refresh the blocks still in the
     state they were read in, and only those.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from suara import synth
from suara.cast import cast_frame
from suara.forms import load_form_versions
from suara.normalise import normalise
from suara.privacy import PrivacyKeys, anonymise
from tests.conftest import FORMS_DIR
from tests.integration.warehouse.conftest import warehouse_url  # noqa: F401 - SQLite and PostgreSQL
from tests.unit.suara.report.report_data import real_forms
from warehouse import LoadBatch, Warehouse, indicator_blocks

pytestmark = pytest.mark.integration
FORM = next(f for f in real_forms() if f.form_id == "ilo_rights_baseline")
KEYS = PrivacyKeys(b"test-only-pseudonym-key-0123456789")


def _load(wh: Warehouse, n: int, *, start: int = 1, seed: int = 3, run: str = "r1", only=None) -> None:
    """Synthetic submissions ``start``…``start + n - 1`` loaded (``only``: just those ids, with a
    new ``_uuid``, as an edit on the server leaves them)."""
    rows = synth.generate(FORM, n, seed=seed, start_id=start)
    if only is not None:
        rows = [{**r, "_uuid": r["_uuid"] + "-edited"} for r in rows if r["_id"] in only]
    norm = normalise({FORM.version: FORM}, FORM, rows, version_map={synth.version_uid(FORM): FORM.version})
    typed = {t: cast_frame(FORM, t, f)[0] for t, f in norm.frames.items()}
    out = anonymise(FORM, typed, KEYS, disclosure=False)
    wh.apply_batch(FORM, LoadBatch(run_id=run, analytics=out.analytics, restricted=out.restricted,
                                   loaded={i: norm.uuids[i] for i in norm.ids if i not in out.withheld},
                                   withheld={i: norm.uuids[i] for i in out.withheld}))


@pytest.fixture()
def wh(warehouse_url, monkeypatch):  # noqa: F811
    monkeypatch.setattr(indicator_blocks, "TARGET_ROWS", 50)  # blocks of 50 ids
    w = Warehouse(warehouse_url, restricted_key="test-only-restricted-key-0123456789abcdef")
    w.upgrade({FORM.form_id: load_form_versions(FORM.form_id, FORMS_DIR)})
    yield w
    w.close()


@pytest.fixture()
def reads(monkeypatch):
    """The ids of the submission rows each refresh reads."""
    seen: list[int] = []
    real = indicator_blocks._read

    def spy(*args, **kw):
        for chunk in real(*args, **kw):
            seen.extend(chunk["_id"].astype(int).tolist())
            yield chunk

    monkeypatch.setattr(indicator_blocks, "_read", spy)
    return seen


def _stored(wh: Warehouse) -> list[int]:
    with wh.engine.connect() as conn:
        return conn.execute(sa.text(f'SELECT _id FROM restricted."{FORM.form_id}" ORDER BY _id')).scalars().all()


def _reporting(wh: Warehouse) -> dict:
    dump = wh.dump("reporting")
    return {"indicators": [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()}
                           for r in dump["indicators"]],
            "distributions": dump["distributions"]}


def _from_scratch(wh: Warehouse) -> dict:
    with wh.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM restricted.indicator_blocks"))
    wh.refresh_reporting(FORM)
    return _reporting(wh)


def test_refresh__nothing_changed__reads_no_rows_and_publishes_the_same(wh, reads):
    """I1: Should reuse every block's sums when no row changed since the last refresh."""
    _load(wh, 240)
    wh.refresh_reporting(FORM)
    first = _reporting(wh)
    assert sorted(reads) == _stored(wh) and first["indicators"]
    reads.clear()
    wh.refresh_reporting(FORM)
    assert reads == []
    assert _reporting(wh) == first


def test_refresh__new_edited_and_erased_rows__only_their_blocks_reread(wh, reads):
    """I2: Should re-read only the blocks holding new, edited or erased rows, and publish what
    a refresh from scratch publishes."""
    _load(wh, 240)
    wh.refresh_reporting(FORM)
    reads.clear()
    gone = next(i for i in _stored(wh) if i >= 150)  # a stored row, in a later block than the edits
    _load(wh, 20, start=241, run="r2")             # new rows: ids 241-260
    edited = [i for i in _stored(wh) if i >= 60][:3]
    _load(wh, 240, run="r2", only=edited)          # the same answers, rewritten as edits
    wh.erase(FORM, [gone], run_id="r2", reason="deleted_on_server")
    wh.refresh_reporting(FORM)
    stored = _stored(wh)
    with wh.engine.connect() as conn:  # about 50 rows per block: ids per block depend on density
        per = conn.execute(sa.text("SELECT DISTINCT block_ids FROM restricted.indicator_blocks")).scalar_one()
    touched = {i // per for i in (gone, *edited, *range(241, 261))}
    assert sorted(reads) == [i for i in stored if i // per in touched]
    assert len(touched) < len({i // per for i in stored}) - 1  # most blocks were reused
    assert gone not in stored and any(i > 240 for i in reads)
    incremental = _reporting(wh)
    reads.clear()
    assert _from_scratch(wh) == incremental
    assert sorted(reads) == stored


def test_refresh__definition_changes__every_block_recomputed(wh, reads, monkeypatch):
    """I3: Should recompute every block when the indicator code or columns change."""
    _load(wh, 120)
    wh.refresh_reporting(FORM)
    reads.clear()
    monkeypatch.setattr(indicator_blocks, "definition", lambda *a: "another-definition")
    wh.refresh_reporting(FORM)
    assert sorted(reads) == _stored(wh)
    with wh.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT DISTINCT definition FROM restricted.indicator_blocks")).scalars().all()
    assert kept == ["another-definition"]


def test_refresh__block_sums__kept_in_the_restricted_zone_only(wh):
    """I4: Should keep the raw (unsuppressed) sums out of analytics and reporting."""
    _load(wh, 60)
    wh.refresh_reporting(FORM)
    assert "indicator_blocks" not in wh.dump("analytics") and "indicator_blocks" not in wh.dump("reporting")
    with wh.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM restricted.indicator_blocks")).scalar_one() == 2


def test_refresh__warehouse_before_revision_0004__publishes_from_every_row_and_says_upgrade(wh, reads, caplog):
    """Should still publish the same reporting on a warehouse whose fixed tables predate the
    block sums, and say how to get them, instead of failing the sync's reporting step."""
    _load(wh, 120)
    wh.refresh_reporting(FORM)
    expected = _reporting(wh)
    with wh.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE restricted.indicator_blocks"))
    reads.clear()
    with caplog.at_level("WARNING", logger="warehouse.indicator_blocks"):
        wh.refresh_reporting(FORM)
    assert _reporting(wh) == expected
    assert sorted(reads) == _stored(wh)
    assert "suara warehouse upgrade" in caplog.text


def _per_block(wh: Warehouse) -> int:
    with wh.engine.connect() as conn:
        return conn.execute(sa.text("SELECT DISTINCT block_ids FROM restricted.indicator_blocks")).scalar_one()


def test_refresh__sums_read_ahead__refresh_reads_only_blocks_changed_since(wh, reads):
    """I5: Should take the sums read ahead for every block still as it was read, re-read the
    block a later write changed, and publish what a refresh from scratch publishes."""
    _load(wh, 240)
    ahead = wh.indicator_sums_ahead(FORM)
    assert sorted(reads) == _stored(wh)            # the read-ahead read every new row
    reads.clear()
    edited = [i for i in _stored(wh) if i >= 60][:2]
    _load(wh, 240, run="r2", only=edited)          # written after the read-ahead
    wh.refresh_reporting(FORM, ahead={FORM.form_id: ahead})
    per = _per_block(wh)
    assert sorted(reads) == [i for i in _stored(wh) if i // per in {i // per for i in edited}]
    incremental = _reporting(wh)
    assert _from_scratch(wh) == incremental


def test_refresh__sums_read_ahead_with_nothing_changed__refresh_reads_no_rows(wh, reads):
    """I5: Should need no read in the refresh when nothing changed after the read-ahead, and
    keep the sums it took for the next refresh."""
    _load(wh, 120)
    ahead = wh.indicator_sums_ahead(FORM)
    reads.clear()
    wh.refresh_reporting(FORM, ahead={FORM.form_id: ahead})
    assert reads == []
    published = _reporting(wh)
    assert published["indicators"]
    wh.refresh_reporting(FORM)                     # the cache now holds what was taken
    assert reads == [] and _reporting(wh) == published
    assert _from_scratch(wh) == published


def test_refresh__sums_read_ahead_under_another_definition__not_used(wh, reads, monkeypatch):
    """I5: Should not take sums read under another definition (indicator code or columns
    changed in between): every block is read again."""
    _load(wh, 120)
    ahead = wh.indicator_sums_ahead(FORM)
    reads.clear()
    monkeypatch.setattr(indicator_blocks, "definition", lambda *a: "another-definition")
    wh.refresh_reporting(FORM, ahead={FORM.form_id: ahead})
    assert sorted(reads) == _stored(wh)


def test_sums_read_ahead__writes_nothing(wh):
    """The read-ahead runs beside the release step's write transaction: it must only read."""
    _load(wh, 120)
    before = {zone: wh.dump(zone) for zone in ("analytics", "reporting")}
    with wh.engine.connect() as conn:
        blocks = conn.execute(sa.text("SELECT COUNT(*) FROM restricted.indicator_blocks")).scalar_one()
    ahead = wh.indicator_sums_ahead(FORM)
    assert ahead.blocks and blocks == 0
    with wh.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM restricted.indicator_blocks")).scalar_one() == 0
    assert {zone: wh.dump(zone) for zone in ("analytics", "reporting")} == before
