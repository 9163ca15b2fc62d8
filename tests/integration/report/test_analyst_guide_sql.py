"""Every SQL (and Python) example of docs/analyst-guide.md runs against a demo-like warehouse,
and the headline-indicator queries give the same figures as suara.indicators.

Blocks are fenced as ```sql <dialect> [reporting] [admin] [<indicator id>]: ``sqlite`` blocks
run on the analytics file (``reporting``: on the reporting file) opened the way an analyst
opens it; ``postgresql`` blocks run as a login role that is only a member of
``suara_analyst`` (``reporting``: of ``suara_viewer``), created with the guide's own
administrator block.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from suara.indicators import compute_all, indicators_for
from tests.conftest import REPO
from tests.integration.report import demo_warehouse
from tests.integration.warehouse.conftest import fresh_pg_database
from tests.unit.suara.report.report_data import real_forms

pytestmark = pytest.mark.integration

GUIDE = REPO / "docs" / "analyst-guide.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.M | re.S)
HEADLINE = {"RB-1", "RB-5", "RB-8", "OA-3", "VH-8"}


def blocks(language: str) -> list[tuple[set[str], str]]:
    out = []
    for info, body in FENCE.findall(GUIDE.read_text(encoding="utf-8")):
        words = info.split()
        if words and words[0] == language:
            out.append((set(words[1:]), body))
    return out


def sql_blocks(dialect: str) -> list[tuple[set[str], str]]:
    return [(tags, body) for tags, body in blocks("sql") if dialect in tags]


def statements(body: str) -> list[str]:
    # The examples hold no semicolons inside strings, so splitting on them is exact.
    lines = [ln for ln in body.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def indicator_id(tags: set[str]) -> str | None:
    ids = tags & HEADLINE
    return ids.pop() if ids else None


def test_every_sql_block_names_its_dialect_and_every_headline_has_both():
    tagged = blocks("sql")
    assert tagged, "the guide has no SQL"
    for tags, body in tagged:
        assert tags & {"sqlite", "postgresql"}, f"SQL block without a dialect tag:\n{body}"
    for dialect in ("sqlite", "postgresql"):
        assert {indicator_id(t) for t, _ in sql_blocks(dialect)} >= HEADLINE, dialect


# -- checking a query's figures against suara.indicators -------------------------------------


def engine_cells(frames: dict[str, pd.DataFrame], ind_id: str) -> pd.DataFrame:
    form = next(f for f in real_forms() if ind_id.split("-")[0] == {"ilo_rights_baseline": "RB",
                "ilo_org_assessment": "OA", "ilo_vh_reporting": "VH"}[f.form_id])
    ind = [i for i in indicators_for(form) if i.id == ind_id]
    return compute_all(ind, frames)


def check_figures(ind_id: str, result: pd.DataFrame, frames: dict[str, pd.DataFrame],
                  reporting: pd.DataFrame) -> None:
    assert len(result), f"{ind_id}: the query returned no rows"
    if ind_id == "VH-8":
        expected = reporting[reporting.indicator_id == "VH-8"].sort_values(["group_by", "group_value"])
        assert len(result) == len(expected)
        for got, exp in zip(result.itertuples(index=False), expected.itertuples(index=False), strict=True):
            if bool(exp.suppressed):
                assert got.pct_safe == "suppressed" and pd.isna(got.n)
            else:
                assert float(got.pct_safe) == pytest.approx(round(exp.value, 1)) and got.n == exp.n
        assert expected.suppressed.astype(bool).any(), "the demo data should have a suppressed VH-8 cell"
        return
    cells = engine_cells(frames, ind_id)
    figure = result.columns[-1]
    if ind_id == "RB-1":
        by_sex = cells[(cells.group_by == "sex") & (cells.group_value != "(missing)")].set_index("group_value")
        got = result.dropna(subset=["sex"]).set_index("sex")
        assert set(got.index) == set(by_sex.index)
        for sex, row in got.iterrows():
            assert int(row.n) == by_sex.loc[sex, "n"]
            assert float(row[figure]) == pytest.approx(round(by_sex.loc[sex, "value"], 1))
        return
    total = cells[cells.group_by == "all"].iloc[0]
    assert len(result) == 1
    assert int(result.iloc[0, 0]) == total.n
    assert float(result.iloc[0][figure]) == pytest.approx(round(total.value, 1))


# -- SQLite: the analytics file an analyst is handed ----------------------------------------


@pytest.fixture(scope="module")
def sqlite_files(demo_sqlite_root) -> Path:
    return demo_sqlite_root


def sqlite_query(path: Path, body: str) -> pd.DataFrame:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        *setup, last = statements(body)
        for s in setup:
            con.execute(s)
        return pd.read_sql_query(last, con)
    finally:
        con.close()


def sqlite_frames(path: Path) -> dict[str, pd.DataFrame]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: pd.read_sql_query(f'SELECT * FROM "{n}"', con) for n in names}
    finally:
        con.close()


@pytest.mark.parametrize("tags, body", sql_blocks("sqlite"), ids=lambda v: " ".join(sorted(v)) if isinstance(v, set) else None)
def test_sqlite_example_runs_on_the_handed_over_file(tags, body, sqlite_files):
    data = sqlite_files / "data"
    path = data / ("suara.reporting.db" if "reporting" in tags else "suara.db")
    result = sqlite_query(path, body)
    assert len(result) > 0, body
    ind = indicator_id(tags)
    if ind:
        reporting = sqlite_frames(data / "suara.reporting.db")["indicators"]
        check_figures(ind, result, sqlite_frames(data / "suara.db"), reporting)


def test_the_analytics_file_holds_only_the_tables_the_guide_lists(sqlite_files):
    console = next(body for _, body in blocks("console") if ".tables" in body)
    listed = set(console.split(".tables", 1)[1].split())
    present = set(sqlite_frames(sqlite_files / "data" / "suara.db"))
    assert present == listed


def test_handover_copy_is_one_plain_file_with_the_analytics_tables(sqlite_files, tmp_path):
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed (apt-get install sqlite3)")
    (_, script), = [(t, b) for t, b in blocks("sh") if "handover" in t]
    work = tmp_path / "server"
    shutil.copytree(sqlite_files / "data", work / "data")
    subprocess.run(["bash", "-euc", script], cwd=work, check=True, capture_output=True, timeout=60)
    copies = sorted(p.name for p in work.iterdir() if p.name.startswith("suara-analytics"))
    assert copies == ["suara-analytics.db"]  # no -wal/-shm: one file to hand over
    assert set(sqlite_frames(work / "suara-analytics.db")) == set(sqlite_frames(work / "data" / "suara.db"))
    assert len(sqlite_frames(work / "suara-analytics.db")["ilo_rights_baseline"]) > 0


def test_python_example_runs(sqlite_files, monkeypatch, capsys):
    (_, code), = blocks("python")
    monkeypatch.chdir(sqlite_files)
    exec(compile(code, str(GUIDE), "exec"), {})
    assert re.match(r"\d+ respondents; \d+ dictionary rows", capsys.readouterr().out)


# -- PostgreSQL: as a member of suara_analyst / suara_viewer ---------------------------------


@pytest.fixture(scope="module")
def pg_database(request):
    """A fresh database holding the demo warehouse, plus two login roles made as the guide
    says: one a member of suara_analyst (by the guide's own admin block), one of suara_viewer."""
    roles = {"analyst": f"analyst_{uuid.uuid4().hex[:8]}", "viewer": f"viewer_{uuid.uuid4().hex[:8]}"}
    with fresh_pg_database(request) as url:
        owner = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            demo_warehouse.build(url).close()
            with owner.connect() as c:
                (admin_block,) = [b for t, b in sql_blocks("postgresql") if "admin" in t]
                for s in statements(admin_block.replace("alice", roles["analyst"])):
                    c.execute(sa.text(s))
                c.execute(sa.text(f"CREATE ROLE {roles['viewer']} LOGIN"))
                c.execute(sa.text(f"GRANT suara_viewer TO {roles['viewer']}"))
            yield url, roles
        finally:
            with owner.connect() as c:  # roles are cluster-wide: drop them with the database
                for role in roles.values():
                    c.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
            owner.dispose()


def as_role(url: str, role: str) -> sa.Engine:
    return sa.create_engine(sa.make_url(url).set(username=role))


def pg_query(engine: sa.Engine, body: str) -> pd.DataFrame:
    with engine.connect() as c:
        *setup, last = statements(body)
        for s in setup:
            c.execute(sa.text(s))
        return pd.read_sql(sa.text(last), c)


@pytest.mark.postgres
@pytest.mark.parametrize("tags, body", [b for b in sql_blocks("postgresql") if "admin" not in b[0]],
                         ids=lambda v: " ".join(sorted(v)) if isinstance(v, set) else None)
def test_postgresql_example_runs_as_the_role_the_guide_names(tags, body, pg_database):
    url, roles = pg_database
    engine = as_role(url, roles["viewer" if "reporting" in tags else "analyst"])
    try:
        result = pg_query(engine, body)
        assert len(result) > 0, body
        ind = indicator_id(tags)
        if ind:
            owner = sa.create_engine(url)
            with owner.connect() as c:
                frames = {t: pd.read_sql(sa.text(f'SELECT * FROM analytics."{t}"'), c)
                          for t in sa.inspect(c).get_table_names(schema="analytics")}
                reporting = pd.read_sql(sa.text("SELECT * FROM reporting.indicators"), c)
            owner.dispose()
            check_figures(ind, result, frames, reporting)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_analyst_role_reads_analytics_and_nothing_else(pg_database):
    url, roles = pg_database
    engine = as_role(url, roles["analyst"])
    try:
        assert len(pg_query(engine, "SET search_path TO analytics; SELECT _id FROM ilo_rights_baseline")) > 0
        for table in ("restricted.manifest", "restricted.ilo_vh_reporting", "reporting.indicators"):
            with engine.connect() as c, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                c.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1"))
    finally:
        engine.dispose()
