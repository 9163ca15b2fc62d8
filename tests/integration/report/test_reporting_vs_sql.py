"""The reporting zone's indicator cells equal the same figures computed by direct SQL on the
warehouse's microdata (restricted zone: every loaded row), cell by cell, for headline
indicators of each instrument — and no published cell rests on fewer respondents than the
threshold."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from warehouse import Warehouse

# (indicator, breakdown column or None, numerator SQL condition, denominator SQL condition, table)
SHARES = [
    ("RB-1", "sex", "contract = 'pkwtt'", "eligible = 1 AND contract IS NOT NULL AND contract <> 'dk'",
     "ilo_rights_baseline"),
    ("RB-8", "sex", "g_sh_channel IN ('union_rep', 'union_women')", "eligible = 1", "ilo_rights_baseline"),
    ("RB-10", "sex", "u_member = 'yes'", "eligible = 1 AND u_member IN ('yes', 'no')", "ilo_rights_baseline"),
    ("VH-1", "sex", "any_vh = 1", "go = 1 AND COALESCE(withdrawn, 0) = 0", "ilo_vh_reporting"),
    ("VH-8", "sex", "v_safe_union = 'yes'", "go = 1 AND COALESCE(withdrawn, 0) = 0", "ilo_vh_reporting"),
    ("OA-4", None, "top_women IS NOT NULL AND top_women <> 'none'", "consent_org = 'yes'", "ilo_org_assessment"),
]


@pytest.fixture(scope="module")
def warehouse(demo_sqlite_root):
    wh = Warehouse(f"sqlite:///{demo_sqlite_root / 'data' / 'suara.db'}")
    yield wh
    wh.close()


def _cells(conn, indicator: str) -> dict[tuple[str, str], dict]:
    rows = conn.execute(sa.text(
        "SELECT group_by, group_value, numerator, denominator, value, n, suppressed "
        "FROM reporting.indicators WHERE indicator_id = :i"), {"i": indicator}).mappings().all()
    return {(r["group_by"], r["group_value"]): dict(r) for r in rows}


@pytest.mark.parametrize(("indicator", "by", "num", "den", "table"), SHARES, ids=[s[0] for s in SHARES])
def test_share_cells_equal_direct_sql(warehouse, indicator, by, num, den, table):
    """Should publish, for every unsuppressed cell, exactly Σ[num ∧ den] / Σ[den] × 100 of the SQL."""
    group = f"{by}" if by else "'all'"
    sql = (f"SELECT {group} AS g, SUM(CASE WHEN ({num}) AND ({den}) THEN 1 ELSE 0 END) AS num_, "
           f"SUM(CASE WHEN ({den}) THEN 1 ELSE 0 END) AS den_ FROM restricted.{table} GROUP BY 1")
    total = (f"SELECT SUM(CASE WHEN ({num}) AND ({den}) THEN 1 ELSE 0 END), "
             f"SUM(CASE WHEN ({den}) THEN 1 ELSE 0 END) FROM restricted.{table}")
    with warehouse.engine.connect() as conn:
        cells = _cells(conn, indicator)
        direct = {("all", "all"): tuple(conn.execute(sa.text(total)).one())}
        if by:
            for g, n_, d_ in conn.execute(sa.text(sql)):
                if d_:
                    direct[(by, str(g))] = (n_, d_)
    assert cells, f"no cells for {indicator}"
    published = 0
    for key, (n_, d_) in direct.items():
        cell = cells.get(key)
        assert cell is not None, f"{indicator} {key} missing from reporting"
        if cell["suppressed"]:
            assert cell["value"] is None and cell["numerator"] is None
            continue
        published += 1
        assert (cell["numerator"], cell["denominator"]) == (n_, d_), (indicator, key)
        assert math.isclose(cell["value"], 100.0 * n_ / d_), (indicator, key)
    assert published >= 1, f"every cell of {indicator} was suppressed: the test would prove nothing"


def test_mean_score_equals_direct_sql(warehouse):
    """RB-5: mean % correct over eligible respondents equals AVG(k_score) / 18 × 100."""
    with warehouse.engine.connect() as conn:
        cell = _cells(conn, "RB-5")[("all", "all")]
        avg, n = conn.execute(sa.text(
            "SELECT AVG(COALESCE(k_score, 0)), COUNT(*) FROM restricted.ilo_rights_baseline WHERE eligible = 1")).one()
    assert not cell["suppressed"]
    assert cell["n"] == n
    assert math.isclose(cell["value"], avg / 18 * 100)


def test_no_published_cell_below_threshold(warehouse):
    """Should never publish a cell whose respondents, or 'yes'/'no' counts, are 1..threshold-1."""
    with warehouse.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT form_id, indicator_id, unit, sensitive, numerator, denominator, n "
            "FROM reporting.indicators WHERE suppressed = 0")).mappings().all()
    assert rows
    for r in rows:
        threshold = 10 if r["sensitive"] else 5
        assert not (0 < r["n"] < threshold), dict(r)
        if r["unit"] == "%":
            yes, no = r["numerator"], r["denominator"] - r["numerator"]
            assert not (0 < yes < threshold) and not (0 < no < threshold), dict(r)
