"""Every storable kind round-trips with the same Python value on both dialects; nested repeats
cascade; concurrent loaders wait for each other instead of failing.

  K1 integer, decimal, text, choice, date, datetime (UTC), time and boolean columns read back
     as Python values equal on SQLite and PostgreSQL;
  K2 a nested repeat's rows go with their submission;
  K3 two threads loading two forms at once both commit (SQLite: BEGIN IMMEDIATE + busy timeout).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pandas as pd
import pytest

from suara.forms import form_from_markdown
from tests.integration.warehouse.conftest import RESTRICTED_KEY
from tests.integration.warehouse.helpers import load
from warehouse import LoadBatch, Warehouse

pytestmark = pytest.mark.integration

NESTED = """
| survey |
| | type | name | label | pii_class |
| | integer | n | N | - |
| | begin_repeat | outer | O | - |
| | integer | o_val | OV | - |
| | begin_repeat | inner | I | - |
| | integer | i_val | IV | - |
| | end_repeat | | | |
| | end_repeat | | | |
| settings |
| | form_id | version |
| | kinds_demo | 1 |
"""


@dataclass(frozen=True)
class Col:
    name: str
    kind: str
    source: str | None
    treatment: str = "keep"
    zone: str = "analytics"


KIND_COLUMNS = [Col("n", "integer", "n"), Col("amount", "decimal", None), Col("label", "text", None),
                Col("pick", "choice", None), Col("on_day", "date", None), Col("at", "datetime", None),
                Col("clock", "time", None), Col("ok", "boolean", None)]


class Policy:
    def columns(self, table):
        if table == "kinds_demo":
            return KIND_COLUMNS
        if table.endswith("__outer"):
            return [Col("o_val", "integer", "o_val")]
        return [Col("i_val", "integer", "i_val")]


def _wh(url):
    form = form_from_markdown(NESTED)
    wh = Warehouse(url, restricted_key=RESTRICTED_KEY, policy_for=lambda f: Policy())
    wh.upgrade({form.form_id: {form.version: form}})
    return wh, form


def _frames(ids):
    n = len(ids)
    top = pd.DataFrame({
        "_id": pd.array(ids, dtype="Int64"), "n": pd.array([7] * n, dtype="Int64"),
        "amount": pd.array([2.5] * n, dtype="Float64"), "label": ["x'y\ttab"] * n, "pick": ["b"] * n,
        "on_day": pd.to_datetime(["2026-03-04"] * n),
        "at": pd.to_datetime(["2026-03-04T10:15:30+07:00"] * n, utc=True),
        "clock": ["08:30:00.000+07:00"] * n, "ok": pd.array([True] * n, dtype="boolean"),
    })
    outer = pd.DataFrame([(i, 0, k, 10 * k) for i in ids for k in (1, 2)],
                         columns=["_id", "_parent_index", "_index", "o_val"])
    inner = pd.DataFrame([(i, p, k, p * 100 + k) for i in ids for p in (1, 2) for k in (1, 2, 3)],
                         columns=["_id", "_parent_index", "_index", "i_val"])
    return {"kinds_demo": top, "kinds_demo__outer": outer, "kinds_demo__inner": inner}


def test_kinds__round_trip__same_python_values(warehouse_url):
    """K1: Should read back typed values, datetimes in UTC, identical on both dialects."""
    wh, form = _wh(warehouse_url)
    try:
        load(wh, form, LoadBatch(run_id="r1", analytics=_frames([1])))
        row = wh.dump("analytics")["kinds_demo"][0]
    finally:
        wh.close()
    assert {k: row[k] for k in ("n", "amount", "label", "pick", "on_day", "at", "clock", "ok")} == {
        "n": 7, "amount": 2.5, "label": "x'y\ttab", "pick": "b", "on_day": dt.date(2026, 3, 4),
        "at": dt.datetime(2026, 3, 4, 3, 15, 30), "clock": dt.time(8, 30), "ok": True,
    }


def test_nested_repeat__erase__all_levels_gone(warehouse_url):
    """K2: Should store both repeat levels keyed to their parents and erase them with the submission."""
    wh, form = _wh(warehouse_url)
    try:
        load(wh, form, LoadBatch(run_id="r1", analytics=_frames([1, 2])))
        inner = wh.dump("analytics")["kinds_demo__inner"]
        assert [(r["_parent_index"], r["_index"], r["i_val"]) for r in inner if r["_id"] == 1][:4] == [
            (1, 1, 101), (1, 2, 102), (1, 3, 103), (2, 1, 201)]
        wh.erase(form, [1], run_id="r2", reason="deleted_on_server")
        counts = wh.table_counts()
    finally:
        wh.close()
    assert (counts["analytics.kinds_demo"], counts["analytics.kinds_demo__outer"],
            counts["analytics.kinds_demo__inner"]) == (1, 2, 6)


def test_apply_batch__two_threads__both_commit(tmp_path):
    """K3: Should serialise two concurrent SQLite writers rather than fail one with 'database is locked'."""
    wh, form = _wh(f"sqlite:///{tmp_path}/wh.db")
    errors: list[BaseException] = []

    def writer(start):
        try:
            for k in range(5):
                ids = list(range(start + k * 50, start + (k + 1) * 50))
                load(wh, form, LoadBatch(run_id=f"r{start}", analytics=_frames(ids)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 10_001)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert wh.table_counts()["analytics.kinds_demo"] == 500
    finally:
        wh.close()
