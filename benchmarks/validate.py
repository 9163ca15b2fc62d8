"""Benchmark: validate N synthetic rights-baseline submissions (normalise → cast → suites).

Generates ``--distinct`` submissions with ``suara.synth`` (2 % with injected defects by
default) and repeats them with fresh ``_id``/``_uuid`` up to N, so the batch has the survey's
real answer distribution without paying the generator for every row. Then times
``suara.normalise.normalise`` and ``validation.validate_batch`` on the whole batch and prints
rows/s and the process's peak RSS.

    .venv/bin/python benchmarks/validate.py                 # 100,000 submissions, fast engine
    .venv/bin/python benchmarks/validate.py -n 2000 --engine gx
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suara import synth  # noqa: E402
from suara.forms import load_form  # noqa: E402
from suara.normalise import normalise  # noqa: E402
from validation import validate_batch  # noqa: E402


def _batch(form, n: int, distinct: int, edge_share: float, seed: int) -> list[dict]:
    base = synth.generate(form, min(n, distinct), seed=seed, edge_share=edge_share)
    out = []
    for k in range(-(-n // len(base))):
        for sub in base:
            if len(out) == n:
                break
            copy = dict(sub)
            copy["_id"] = sub["_id"] + k * len(base)
            copy["_uuid"] = f"{sub['_uuid']}-{k}"
            out.append(copy)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=100_000, help="submissions (default 100,000)")
    ap.add_argument("--distinct", type=int, default=5_000, help="distinct generated submissions")
    ap.add_argument("--edge-share", type=float, default=0.02, help="share with injected defects")
    ap.add_argument("--engine", choices=("fast", "gx"), default="fast")
    ap.add_argument("--form", default=str(REPO / "forms" / "ilo_rights_baseline.md"))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    form = load_form(args.form)
    versions = {form.version: form}
    t0 = time.perf_counter()
    subs = _batch(form, args.n, args.distinct, args.edge_share, args.seed)
    t1 = time.perf_counter()
    norm = normalise(versions, form, subs, version_map={synth.version_uid(form): form.version})
    t2, c2 = time.perf_counter(), time.process_time()
    result = validate_batch(versions, norm, engine=args.engine)
    t3, c3 = time.perf_counter(), time.process_time()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = result.summary()
    print(f"form {form.form_id} v{form.version}: {len(subs):,} submissions "
          f"({args.distinct:,} distinct, {args.edge_share:.0%} with defects), engine {args.engine}")
    print(f"  generate   {t1 - t0:6.2f} s (not part of the figure)")
    print(f"  normalise  {t2 - t1:6.2f} s")
    print(f"  validate   {t3 - t2:6.2f} s  ({len(subs) / (t3 - t2):,.0f} submissions/s; "
          f"{len(result.outcomes):,} expectations checked)")
    print(f"             {c3 - c2:6.2f} s of CPU (the wall figure is noisy on a shared 2-core box)")
    print(f"  total      {t3 - t1:6.2f} s  ({len(subs) / (t3 - t1):,.0f} submissions/s normalise+validate)")
    print(f"  valid {summary['valid']:,}, quarantined {summary['quarantined']:,} {summary['by_code']}")
    print(f"  peak RSS   {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
