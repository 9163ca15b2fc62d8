"""The release step: analytics written from the candidate tables, decided over the whole table.

Rules under test:
  R1 a row withheld while its class is small is released once later rows bring the class to k;
  R2 cells the decision changes are changed in analytics only: the candidate keeps the answer;
  R3 a released row that is edited is rewritten; one no longer released leaves with its repeat rows;
  R4 nothing pending → no work and no audit row; a release writes one audit row with counts;
  R5 with the real forms and k-anonymity, the analytics zone is the same however the rows were
     paged (one batch, pages of 1,000, pages of 137), and every released class has k rows;
  R6 a warehouse from before the candidate tables keeps its analytics rows on upgrade;
  R7 a release that rewrites every candidate row (every submission edited) replaces the
     analytics rows and their repeat rows, none left twice or stale.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.integration.warehouse.helpers import keep_all
from tests.unit.warehouse.sample_forms import FORM_ID, V1, frames, versions
from warehouse import LoadBatch, Warehouse

pytestmark = pytest.mark.integration
KIDS = f"{FORM_ID}__kids"


def _batch(ids, run="r1", **extra) -> LoadBatch:
    analytics, restricted = frames(ids, extra=extra or None)
    return LoadBatch(run_id=run, analytics=analytics, restricted=restricted,
                     loaded={i: f"uuid-{i}" for i in ids})


def at_least_three(frames_in):
    """A toy k=3 decision on ``note``: classes of fewer than 3 rows are withheld, and the
    value 'note 1' is blanked (a stand-in for local suppression)."""
    f = frames_in[FORM_ID]
    sizes = f.groupby("consent")["_id"].transform("size")
    out = f.loc[sizes >= 3].copy()
    out["note"] = out["note"].where(out["note"] != "note 1", None)
    return {FORM_ID: out}, {"k_min_after": {FORM_ID: int(sizes.min()) if len(sizes) else 0}}


COLUMNS = {FORM_ID: ["consent", "note"]}


def _analytics(wh: Warehouse, table: str = FORM_ID) -> pd.DataFrame:
    with wh.engine.connect() as c:
        return pd.read_sql(sa.text(f'SELECT * FROM analytics."{table}" ORDER BY 1'), c)


def test_release__class_reaches_k_later__earlier_rows_released(wh):
    """R1: Should release rows withheld while their class was small once the class reaches k."""
    wh.apply_batch(FORM_ID, _batch([1, 2], consent="rare"))
    first = wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1")
    assert (first.candidates, first.released) == (2, 0)
    assert _analytics(wh).empty and _analytics(wh, KIDS).empty

    wh.apply_batch(FORM_ID, _batch([3], run="r2", consent="rare"))
    second = wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r2")
    assert (second.candidates, second.released, second.written) == (3, 3, 3)
    assert _analytics(wh)["_id"].tolist() == [1, 2, 3]
    assert len(_analytics(wh, KIDS)) == 6  # repeat rows follow their submissions


def test_release__decision_changes_a_cell__candidate_keeps_the_answer(wh):
    """R2: Should blank the cell in analytics only, so a later decision can bring it back."""
    wh.apply_batch(FORM_ID, _batch([1, 2, 3]))
    wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1")
    notes = _analytics(wh).set_index("_id")["note"]
    assert notes.isna().tolist() == [True, False, False]
    with wh.engine.connect() as c:
        kept = c.execute(sa.text(f'SELECT note FROM restricted."_candidate__{FORM_ID}" WHERE _id = 1')).scalar_one()
    assert kept == "note 1"
    wh.apply_batch(FORM_ID, _batch([4], run="r2"))
    again = wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r2")
    assert again.written == 1  # only the new row: unchanged rows are not rewritten
    assert _analytics(wh).set_index("_id")["note"].isna().sum() == 1


def test_release__edit_and_withdrawal__rewritten_and_removed_with_repeat_rows(wh):
    """R3: Should rewrite an edited row and remove one that is no longer released."""
    wh.apply_batch(FORM_ID, _batch([1, 2, 3, 4]))
    wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1")
    wh.apply_batch(FORM_ID, _batch([2], run="r2", workers=pd.array([999], dtype="Int64")))
    # 4 moves to a class of its own: classes {1,2,3} and {4} → 4 leaves analytics.
    wh.apply_batch(FORM_ID, _batch([4], run="r2", consent="other"))
    counts = wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r2")
    assert (counts.written, counts.removed, counts.released) == (1, 1, 3)
    a = _analytics(wh).set_index("_id")
    assert a.index.tolist() == [1, 2, 3] and a.loc[2, "workers"] == 999
    assert sorted(set(_analytics(wh, KIDS)["_id"])) == [1, 2, 3]


def test_release__every_row_rewritten__analytics_replaced_with_repeat_rows(wh):
    """R7: Should replace every analytics row and its repeat rows when every candidate is
    rewritten, leaving no stale or doubled row."""
    wh.apply_batch(FORM_ID, _batch([1, 2, 3, 4]))
    wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1")
    kids_before = len(_analytics(wh, KIDS))
    wh.apply_batch(FORM_ID, _batch([1, 2, 3, 4], run="r2", workers=pd.array([7] * 4, dtype="Int64")))
    counts = wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r2")
    assert (counts.candidates, counts.written, counts.removed) == (4, 4, 0)
    a = _analytics(wh)
    assert a["_id"].tolist() == [1, 2, 3, 4] and a["workers"].tolist() == [7] * 4
    assert a["note"].isna().tolist() == [True, False, False, False]  # the decision applied again
    kids = _analytics(wh, KIDS)
    assert len(kids) == kids_before and not kids.duplicated(subset=["_id", "_index"]).any()


def test_release__nothing_pending__no_work_and_one_audit_per_release(wh):
    """R4: Should skip a release with nothing new, and record each release's counts."""
    wh.apply_batch(FORM_ID, _batch([1, 2, 3]))
    assert wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1") is not None
    assert wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r1") is None
    with wh.engine.connect() as c:
        audits = c.execute(sa.text("SELECT audit FROM restricted.privacy_audits ORDER BY audit_id")).scalars().all()
    assert len(audits) == 2 and '"event": "release"' in audits[-1]
    assert '"released": 3' in audits[-1] and "note 1" not in audits[-1]
    wh.erase(FORM_ID, [3], run_id="r2", reason="deleted_on_server")
    assert wh.release(FORM_ID, COLUMNS, at_least_three, run_id="r2").released == 0  # class fell to 2


def test_release__text_columns__handed_to_the_decision_as_categoricals(wh, monkeypatch):
    """Should read the decision's text columns as codes, chunk by chunk: a million rows of
    quasi-identifiers as one string object per cell took 340 MB (pandas 3 reads text as
    ``str``, not ``object``)."""
    import warehouse.release as release_module

    monkeypatch.setattr(release_module, "CHUNK", 2)  # several chunks, categories merged
    wh.apply_batch(FORM_ID, _batch([1, 2, 3, 4, 5], consent="yes"))
    seen = {}

    def record(frames_in):
        seen.update(frames_in[FORM_ID].dtypes.to_dict())
        return frames_in, {}

    wh.release(FORM_ID, COLUMNS, record, run_id="r1")
    assert all(isinstance(seen[c], pd.CategoricalDtype) for c in COLUMNS[FORM_ID]), seen
    assert _analytics(wh)["note"].notna().sum() == 5  # values intact after the round trip


def test_upgrade__warehouse_without_candidate_tables__keeps_analytics_rows(warehouse_url):
    """R6: Should fill new candidate tables from analytics, so the first release keeps the rows."""
    wh = Warehouse(warehouse_url, restricted_key="k" * 32)
    try:
        wh.upgrade(versions(V1))
        wh.apply_batch(FORM_ID, _batch([1, 2]))
        wh.release(FORM_ID, {}, keep_all, run_id="r1")
        with wh.engine.begin() as c:  # as an older warehouse: no candidate tables or registry rows
            c.exec_driver_sql(f'DELETE FROM restricted."_candidate__{KIDS}"')
            c.exec_driver_sql(f'DELETE FROM restricted."_candidate__{FORM_ID}"')
            c.exec_driver_sql(f'DROP TABLE restricted."_candidate__{KIDS}"')
            c.exec_driver_sql(f'DROP TABLE restricted."_candidate__{FORM_ID}"')
            c.execute(sa.text("DELETE FROM restricted.derived_columns WHERE table_name IN (:a, :b)"),
                      {"a": f"_candidate__{FORM_ID}", "b": f"_candidate__{KIDS}"})
        plan = wh.upgrade(versions(V1))
        assert any("_candidate__" in str(s) for s in plan.steps)
        wh.apply_batch(FORM_ID, _batch([3], run="r2"))
        wh.release(FORM_ID, {}, keep_all, run_id="r2")
        assert _analytics(wh)["_id"].tolist() == [1, 2, 3]
        assert len(_analytics(wh, KIDS)) == 6
    finally:
        wh.close()


def _real_load(url: str, form, rows: list[dict], page: int) -> dict:
    """Load ``rows`` of a real form in pages of ``page`` as the sync does, release, dump analytics."""
    from suara.cast import cast_frame
    from suara.forms import load_form_versions
    from suara.normalise import normalise
    from suara.privacy import PrivacyKeys, ReleaseDecision, anonymise
    from tests.conftest import FORMS_DIR
    from warehouse.naming import sql_name

    wh = Warehouse(url, restricted_key="k" * 32)
    try:
        wh.upgrade({form.form_id: load_form_versions(form.form_id, FORMS_DIR)})
        keys = PrivacyKeys(b"test-only-pseudonym-key-0123456789")
        for start in range(0, len(rows), page):
            norm = normalise({form.version: form}, form, rows[start:start + page])
            typed = {t: cast_frame(form, t, f)[0] for t, f in norm.frames.items()}
            out = anonymise(form, typed, keys, disclosure=False)
            wh.apply_batch(form, LoadBatch(run_id="r", analytics=out.analytics, restricted=out.restricted,
                                           loaded={i: norm.uuids[i] for i in norm.ids if i not in out.withheld}))
        decision = ReleaseDecision(form, keys.version, sql_name)
        wh.release(form, decision.columns, decision, run_id="r")
        return {"dump": wh.dump("analytics"), "qis": decision.columns[sql_name(form.form_id)],
                "k": decision.policy.settings.k}
    finally:
        wh.close()


def test_release__real_form__same_analytics_however_paged_and_k_holds(tmp_path, monkeypatch):
    """R5: Should give one analytics zone for one set of rows, whatever the page size."""
    import warehouse.release
    from suara import synth

    monkeypatch.setattr(warehouse.release, "CHUNK", 97)  # the whole-table reads in many chunks
    from tests.unit.suara.report.report_data import real_forms

    form = next(f for f in real_forms() if f.form_id == "ilo_rights_baseline")
    rows = synth.generate(form, 1500, seed=11)
    results = [_real_load(f"sqlite:///{tmp_path / str(page) / 'wh.db'}", form, rows, page)
               for page in (1500, 1000, 137)]
    dumps = [r["dump"] for r in results]
    assert dumps[0] == dumps[1] == dumps[2]
    released = pd.DataFrame(dumps[0][form.form_id])
    assert 0 < len(released) < 1500
    sizes = released.groupby(results[0]["qis"], dropna=False).size()
    assert sizes.min() >= results[0]["k"]
