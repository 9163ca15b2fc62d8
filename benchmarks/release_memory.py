"""Memory and time of the release step and of the reporting refresh over a large form, without
syncing it: 20,000 baseline submissions go through the pipeline into a fresh SQLite warehouse,
then their restricted rows and candidate rows are copied inside the database (new ids) up to N,
and the release step (k-anonymity decided over every candidate row), a first reporting refresh
(every block read) and a second one (nothing changed: no block read) run with RSS sampled
every 20 ms.

    .venv/bin/python benchmarks/release_memory.py              # about 1,000,000 rows
    .venv/bin/python benchmarks/release_memory.py -n 300000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from profile_pages import submissions  # noqa: E402

from flows import pipeline  # noqa: E402
from suara.forms import load_form_versions, load_forms  # noqa: E402
from suara.privacy import PrivacyKeys  # noqa: E402
from warehouse import Warehouse  # noqa: E402
from warehouse.derive import candidate_name  # noqa: E402

BASE = 20_000
FORM_ID = "ilo_rights_baseline"


@contextmanager
def sampled(label: str):
    """Print the step's seconds, RSS before and the peak RSS sampled during it."""
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak, done = [before], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        done.set()
        thread.join()
        mb = 2 ** 20
        print(f"{label}: {time.perf_counter() - start:.1f} s, RSS {before / mb:.0f} MB before, "
              f"peak {peak[0] / mb:.0f} MB (+{(peak[0] - before) / mb:.0f})")


def copy_rows(wh: Warehouse, tables: list[str], copies: int) -> None:
    """Each table's rows copied ``copies`` times with ids shifted by multiples of BASE."""
    with wh.engine.begin() as conn:
        for table in tables:
            cols = [r[1] for r in conn.exec_driver_sql(f'PRAGMA restricted.table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in cols)
            for k in range(1, copies):
                shifted = ", ".join(f'"_id" + {k * BASE}' if c == "_id" else f'"{c}"' for c in cols)
                conn.exec_driver_sql(f'INSERT INTO restricted."{table}" ({names}) '
                                     f'SELECT {shifted} FROM restricted."{table}" WHERE _id <= {BASE}')


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1_200_000, help="submissions before consent and quarantine "
                    "(about 85 %% reach the candidate table; the default gives about a million)")
    args = ap.parse_args(argv)
    form = next(f for f in load_forms() if f.form_id == FORM_ID)
    wh = Warehouse(f"sqlite:///{tempfile.mkdtemp()}/wh.db", restricted_key="bench-only-restricted-key-0123456789")
    wh.upgrade({FORM_ID: load_form_versions(FORM_ID)})
    keys = PrivacyKeys(b"bench-only-pseudonym-key-0123456789")
    rows, version_map = submissions(FORM_ID, BASE)
    ctx = pipeline.FormContext(form, {form.version: form}, "uid", "", version_map, keys)
    for s in range(0, BASE, 1000):
        pipeline.process_batch(ctx, wh, "bench", rows[s:s + 1000], watermark=s + 1000, known={})
    del rows
    with sampled(f"copy to {args.n:,} submissions"):
        copy_rows(wh, [FORM_ID, candidate_name(FORM_ID)], max(1, args.n // BASE))
    with sampled("release"):
        counts = pipeline.release(ctx, wh, "bench", force=True)
    print(f"  {counts}")
    with sampled("reporting refresh, every block read"):
        wh.refresh_reporting(form)
    with sampled("reporting refresh, nothing changed"):
        wh.refresh_reporting(form)


if __name__ == "__main__":
    main()
