"""The sync's CPU per page, without HTTP or Prefect: N baseline submissions (the benchmark's,
pulled from ``suara sandbox`` before the clock starts) through
``flows.pipeline.process_batch`` in pages of 1,000, then the release step, into a fresh
SQLite (or PostgreSQL) warehouse. Prints submissions/s and seconds per stage; ``--profile``
adds the cProfile table, so a change to one stage can be measured in seconds.

    .venv/bin/python benchmarks/profile_pages.py                 # 10,000 submissions, SQLite
    .venv/bin/python benchmarks/profile_pages.py -n 20000 --profile 40
    .venv/bin/python benchmarks/profile_pages.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from flows import pipeline  # noqa: E402
from suara.forms import load_form_versions, load_forms  # noqa: E402
from suara.privacy import PrivacyKeys  # noqa: E402
from warehouse import Warehouse  # noqa: E402


def submissions(form_id: str, n: int) -> tuple[list[dict], dict[str, str]]:
    """The benchmark's own submissions (``suara sandbox``, as benchmarks/run.py starts it),
    pulled over HTTP before the clock starts; and the asset's version map."""
    import os

    from run import sandbox

    from suara.kobo import KoboClient
    from suara.settings import load_settings

    with sandbox(n) as (url, token, uid):
        os.environ.update(KOBO_URL=url, KOBO_TOKEN=token)
        client = KoboClient(load_settings())
        rows = [r for page in client.iter_pages(uid, page_size=1000) for r in page.results]
        return rows, client.version_map(uid)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--page", type=int, default=1000)
    ap.add_argument("--form", default="ilo_rights_baseline")
    ap.add_argument("--url", help="warehouse URL (default: a fresh SQLite file)")
    ap.add_argument("--profile", type=int, metavar="LINES", help="print the cProfile table (cumulative)")
    ap.add_argument("--dump", metavar="FILE", help="also write the cProfile data to FILE (for pstats or snakeviz)")
    args = ap.parse_args(argv)

    form = next(f for f in load_forms() if f.form_id == args.form)
    rows, version_map = submissions(form.form_id, args.n)
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/wh.db"
    wh = Warehouse(url, restricted_key="bench-only-restricted-key-0123456789")
    wh.upgrade({form.form_id: load_form_versions(form.form_id)})
    keys = PrivacyKeys(b"bench-only-pseudonym-key-0123456789")
    ctx = pipeline.FormContext(form, {form.version: form}, "uid", "", version_map, keys)
    pipeline.tune_collector()  # as run_form does: else the collector's time lands on whatever allocates
    prof = cProfile.Profile() if args.profile or args.dump else None
    pipeline.STAGE_SECONDS.clear()
    start = time.perf_counter()
    if prof:
        prof.enable()
    for s in range(0, args.n, args.page):
        pipeline.process_batch(ctx, wh, "bench", rows[s:s + args.page], watermark=s + args.page, known={})
    pipeline.release(ctx, wh, "bench")
    if prof:
        prof.disable()
    elapsed = time.perf_counter() - start
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in pipeline.STAGE_SECONDS.items())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.n:,} submissions in {elapsed:.2f}s = {args.n / elapsed:,.0f}/s; {stages}; peak RSS {rss:.0f} MB")
    del rows
    start = time.perf_counter()
    if prof:
        prof.enable()
    wh.refresh_reporting(form)
    if prof:
        prof.disable()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reporting refresh {time.perf_counter() - start:.2f}s; peak RSS {rss:.0f} MB")
    if prof and args.dump:
        prof.dump_stats(args.dump)
    if prof and args.profile:
        pstats.Stats(prof).sort_stats("cumtime").print_stats(args.profile)


if __name__ == "__main__":
    main()
