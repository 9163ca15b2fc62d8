"""Schema: tables derived from the forms, zone files, evolution across form versions, CLI.

Rules under test:
  S1 every form and repeat gets its tables in the zones its policy asks for;
  S2 upgrading an up-to-date warehouse changes nothing (and says so);
  S3 the SQLite analytics file physically holds analytics tables only;
  S4 a new version adds columns and choice columns, keeping old rows untouched;
  S5 a removed question keeps its column; a type change is refused before anything changes.
"""

from __future__ import annotations

import sqlite3

import pytest

from suara.cli import main
from suara.errors import SchemaEvolutionError
from suara.forms import load_forms
from tests.integration.warehouse.conftest import RESTRICTED_KEY
from tests.integration.warehouse.helpers import load
from tests.unit.warehouse.sample_forms import FORM_ID, V1, V2, V3_TYPE_CHANGE, frames, versions
from warehouse import LoadBatch, Warehouse, zone_files

pytestmark = pytest.mark.integration


def test_upgrade__three_forms__tables_in_their_zones_then_nothing_to_do(warehouse_url, forms_dir):
    """S1, S2: Should create each form's tables once; a second upgrade finds nothing to change."""
    forms = {f.form_id: {f.version: f} for f in load_forms(forms_dir)}
    assert len(forms) == 3
    with Warehouse(warehouse_url) as wh:
        first = wh.upgrade(forms)
        second = wh.upgrade(forms)
        counts = wh.table_counts()
    assert not first.is_empty and second.is_empty
    assert str(second).startswith("fixed tables up to date")
    for form_id in forms:
        assert f"analytics.{form_id}" in counts and f"restricted.{form_id}" in counts
    assert "analytics.ilo_org_assessment__tr" in counts
    assert counts["analytics.data_dictionary"] > 0 and counts["analytics.choice_labels"] > 0


def test_upgrade__sqlite__analytics_file_holds_analytics_only(tmp_path, forms_dir):
    """S3: Should leave no restricted table or sensitive column in the file handed to analysts."""
    url = f"sqlite:///{tmp_path}/wh.db"
    with Warehouse(url) as wh:
        wh.upgrade(versions(V1))
    files = zone_files(url)
    with sqlite3.connect(files["analytics"]) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {r[1] for r in db.execute(f"PRAGMA table_info({FORM_ID})")}
    assert tables == {FORM_ID, f"{FORM_ID}__kids", "choice_labels", "data_dictionary", "column_map",
                      "table_catalogue"}
    assert "harassed_n" not in columns and "visit_date" not in columns
    assert {"issues", "issues__wage", "issues__hours"} <= columns
    with Warehouse(url) as wh:
        copy = wh.export_analytics(tmp_path / "for-analyst.db")
    with sqlite3.connect(copy) as db:
        assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with sqlite3.connect(files["restricted"]) as db:
        restricted = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"manifest", "watermarks", "quarantine", "alembic_version", FORM_ID} <= restricted


def test_upgrade__new_version__adds_question_and_choice_keeping_rows(wh):
    """S4: Should add `meetings` and `issues__safety`, keep version-1 rows, and load version-2 rows."""
    analytics, restricted = frames([1, 2])
    load(wh, FORM_ID, LoadBatch(run_id="r1", analytics=analytics, restricted=restricted))
    before = {r["_id"]: r for r in wh.dump("analytics")[FORM_ID]}

    plan = wh.upgrade(versions(V1, V2))
    lines = str(plan).splitlines()
    assert f"add column analytics.{FORM_ID}.meetings (integer)" in lines
    assert f"add choice columns analytics.{FORM_ID}: issues__safety" in lines
    assert f"add column restricted.{FORM_ID}.meetings (integer)" in lines

    after = {r["_id"]: r for r in wh.dump("analytics")[FORM_ID]}
    for i, row in before.items():
        assert {k: after[i][k] for k in row} == row
        assert after[i]["meetings"] is None and after[i]["issues__safety"] is None
    analytics, restricted = frames([3], version="2026020101", extra={"meetings": [4], "issues": ["safety"]})
    load(wh, FORM_ID, LoadBatch(run_id="r2", analytics=analytics, restricted=restricted))
    new = next(r for r in wh.dump("analytics")[FORM_ID] if r["_id"] == 3)
    assert (new["meetings"], new["issues__safety"], new["issues__wage"]) == (4, 1, 0)
    dictionary = wh.dump("analytics")["data_dictionary"]
    meetings = [r for r in dictionary if r["column_name"] == "meetings"]
    assert [r["form_version"] for r in meetings] == ["2026020101"]
    assert meetings[0]["question_en"] == "Meetings" and meetings[0]["question_id"] == "Rapat"
    safety = [r for r in wh.dump("analytics")["choice_labels"] if r["choice"] == "safety"]
    assert [(r["form_version"], r["label_id"]) for r in safety] == [("2026020101", "Keselamatan")]


def test_upgrade__question_removed_later__column_kept(wh):
    """S5: Should keep a column when the newer forms no longer have the question."""
    wh.upgrade(versions(V1, V2))
    plan = wh.upgrade(versions(V1))  # version 2 (with `meetings`) no longer on disk
    assert plan.is_empty
    analytics, restricted = frames([1])
    load(wh, FORM_ID, LoadBatch(run_id="r1", analytics=analytics, restricted=restricted))
    assert wh.dump("analytics")[FORM_ID][0]["meetings"] is None


def test_upgrade__type_change__refused_and_nothing_changed(wh):
    """S5: Should refuse `workers` turning from integer into text, name both versions, change nothing."""
    before = wh.table_counts()
    with pytest.raises(SchemaEvolutionError) as err:
        wh.upgrade(versions(V1, V2, V3_TYPE_CHANGE))
    message = str(err.value)
    assert "workers" in message and "integer" in message and "text" in message
    assert "new name" in message
    assert wh.table_counts() == before
    with pytest.raises(SchemaEvolutionError):
        wh.plan(versions(V3_TYPE_CHANGE))  # the registry remembers the old type


def test_cli__upgrade_twice__both_succeed(tmp_path, monkeypatch, forms_dir, capsys):
    """Should upgrade an empty warehouse, then report an up-to-date one, both with exit status 0."""
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SUARA_FORMS_DIR", str(forms_dir))
    monkeypatch.setenv("SUARA_RESTRICTED_KEY", RESTRICTED_KEY)
    assert main(["warehouse", "plan"]) == 0
    out = capsys.readouterr().out
    assert "create table analytics.ilo_rights_baseline" in out and "not created yet" in out
    assert list(tmp_path.iterdir()) == []  # plan changes nothing, not even by creating empty files
    assert main(["warehouse", "upgrade"]) == 0
    assert "upgraded" in capsys.readouterr().out
    assert main(["warehouse", "upgrade"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("already up to date")


def test_cli__plan_on_an_upgraded_warehouse__nothing_to_do(tmp_path, monkeypatch, forms_dir, capsys):
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SUARA_FORMS_DIR", str(forms_dir))
    monkeypatch.setenv("SUARA_RESTRICTED_KEY", RESTRICTED_KEY)
    assert main(["warehouse", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["warehouse", "plan"]) == 0
    out = capsys.readouterr().out
    assert "form tables up to date" in out and "create table" not in out and "not created yet" not in out


def test_engine__sqlite__pragmas_and_transactional_ddl(tmp_path):
    """Should open every zone in WAL with foreign keys on, and roll back DDL with its transaction."""
    with Warehouse(f"sqlite:///{tmp_path}/wh.db") as wh, wh.engine.connect() as conn:
        modes = {z: conn.exec_driver_sql(f"PRAGMA {z}.journal_mode").scalar() for z in ("analytics", "restricted", "reporting")}
        assert modes == {"analytics": "wal", "restricted": "wal", "reporting": "wal"}
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # Commit order follows attach order: rows (analytics) before their watermark (restricted).
        attached = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list") if r[1] not in ("main", "temp")]
        assert attached == ["analytics", "restricted", "reporting"]
        conn.rollback()  # end the autobegun read transaction
        with conn.begin() as txn:
            conn.exec_driver_sql("CREATE TABLE reporting.scratch (x integer)")
            txn.rollback()
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM reporting.sqlite_master WHERE name = 'scratch'").scalar() == 0
