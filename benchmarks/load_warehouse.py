"""Warehouse loading benchmark: N synthetic submissions through ``Warehouse.apply_batch``.

Frames are typed the way the anonymise stage hands them over, generated from the form's
privacy policy (every analytics and restricted column, select_multiples with their choices,
repeat rows), one batch at a time so memory stays bounded by the batch, as in a sync. Only
the ``apply_batch`` calls are timed; generating the frames is not.

    python benchmarks/load_warehouse.py                        # both dialects, baseline + org form
    python benchmarks/load_warehouse.py --dialect sqlite --submissions 100000 --batch 1000
    python benchmarks/load_warehouse.py --pg-admin postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Prints one line per (dialect, form): submissions/s, rows/s and values/s (all tables, both zones;
a baseline row has ~110 columns), seconds, and the process's peak RSS so far. PostgreSQL runs in a throw-away database.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suara.forms import Form, load_forms  # noqa: E402
from suara.privacy import policy_for  # noqa: E402
from warehouse import LoadBatch, Warehouse  # noqa: E402
from warehouse.derive import KEY_COLUMNS  # noqa: E402

FORMS = ("ilo_rights_baseline", "ilo_org_assessment")
KEY = "benchmark-restricted-key-0123456789"


def _values(form: Form, col, n: int, rng: np.random.Generator) -> pd.Series | list:
    fld = form.field(col.source) if col.source and form.has_field(col.source) else None
    names = list(form.choices(fld).names) if fld is not None and form.choices(fld) else ["a", "b", "c"]
    kind = col.kind
    if kind == "integer":
        return pd.array(rng.integers(0, 500, n), dtype="Int64")
    if kind == "decimal":
        return pd.array(rng.random(n) * 1000, dtype="Float64")
    if kind == "boolean":
        return pd.array(rng.random(n) < 0.5, dtype="boolean")
    if kind == "date":
        return pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"))
    if kind == "datetime":
        return pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 3e7, n), unit="s"))
    if kind == "time":
        return [f"{h:02d}:{m:02d}:00" for h, m in zip(rng.integers(0, 24, n), rng.integers(0, 60, n), strict=True)]
    if kind == "choice":
        return np.array(names, dtype=object)[rng.integers(0, len(names), n)]
    if kind == "choices":
        pick = rng.random((n, len(names))) < 0.3
        return [" ".join(c for c, p in zip(names, row, strict=True) if p) or None for row in pick]
    return [f"t{i}" for i in rng.integers(0, 10_000, n)]


def make_batch(form: Form, ids: np.ndarray, run_id: str, rng: np.random.Generator, items: int) -> LoadBatch:
    policy = policy_for(form)
    zones: dict[str, dict[str, pd.DataFrame]] = {"analytics": {}, "restricted": {}}
    for table, repeat in policy.tables.items():
        if repeat is None:
            keys = {"_id": pd.array(ids, dtype="Int64")}
        else:
            keys = {"_id": pd.array(np.repeat(ids, items), dtype="Int64"),
                    "_parent_index": pd.array(np.zeros(len(ids) * items, dtype=int), dtype="Int64"),
                    "_index": pd.array(np.tile(np.arange(1, items + 1), len(ids)), dtype="Int64")}
        n = len(keys["_id"])
        for zone in zones:
            cols = [c for c in policy.columns(table, zone) if c.name not in KEY_COLUMNS]
            zones[zone][table] = pd.DataFrame({**keys, **{c.name: _values(form, c, n, rng) for c in cols}})
    id_list = ids.tolist()
    return LoadBatch(run_id=run_id, analytics=zones["analytics"], restricted=zones["restricted"],
                     loaded={i: f"uuid-{i}" for i in id_list}, form_versions=dict.fromkeys(id_list, form.version),
                     watermark=int(ids.max()))


def bench(url: str, form: Form, submissions: int, batch: int, items: int) -> dict:
    rng = np.random.default_rng(7)
    with Warehouse(url, restricted_key=KEY) as wh:
        wh.upgrade({form.form_id: {form.version: form}})
        seconds, rows, cells = 0.0, 0, 0
        for start in range(1, submissions + 1, batch):
            ids = np.arange(start, min(start + batch, submissions + 1))
            b = make_batch(form, ids, "bench", rng, items)
            rows += sum(len(f) for zone in (b.analytics, b.restricted) for f in zone.values())
            cells += sum(f.size for zone in (b.analytics, b.restricted) for f in zone.values())
            t0 = time.perf_counter()
            wh.apply_batch(form, b)
            seconds += time.perf_counter() - t0
        counts = wh.table_counts()
    loaded = counts[f"analytics.{form.form_id}"]
    assert loaded == submissions, f"loaded {loaded} of {submissions}"
    return dict(seconds=seconds, rows=rows, subs_per_s=submissions / seconds, rows_per_s=rows / seconds,
                values_per_s=cells / seconds)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dialect", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--submissions", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000, help="submissions per apply_batch (a Kobo page: ≤1000)")
    ap.add_argument("--items", type=int, default=3, help="repeat items per submission (forms with repeats)")
    ap.add_argument("--form", action="append", choices=FORMS, help="form(s) to load (default: both)")
    ap.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args(argv)
    forms = {f.form_id: f for f in load_forms(REPO / "forms")}
    dialects = ("sqlite", "postgresql") if args.dialect == "both" else (args.dialect,)
    for dialect in dialects:
        for form_id in args.form or FORMS:
            form = forms[form_id]
            if dialect == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    result = bench(f"sqlite:///{tmp}/bench.db", form, args.submissions, args.batch, args.items)
            else:
                name = f"suara_bench_{uuid.uuid4().hex[:8]}"
                admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.exec_driver_sql(f'CREATE DATABASE "{name}"')
                try:
                    result = bench(args.pg_admin.rsplit("/", 1)[0] + "/" + name, form, args.submissions,
                                   args.batch, args.items)
                finally:
                    with admin.connect() as c:
                        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    admin.dispose()
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{dialect:10} {form_id:20} {args.submissions:>7} submissions in {result['seconds']:6.1f} s: "
                  f"{result['subs_per_s']:>8,.0f} submissions/s, {result['rows_per_s']:>8,.0f} rows/s, "
                  f"{result['values_per_s'] / 1e6:.1f} M values/s ({result['rows']:,} rows, both zones); "
                  f"peak RSS {rss:,.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
