"""Two versions of Suara's sync compared in interleaved runs over one sandbox: each side is a
checkout (its own benchmarks/run.py worker and packages, e.g. a ``git worktree`` of an older
commit) and a ``SUARA_PULL_PROCESS`` setting. The sides alternate which runs first, each run on
a fresh database, so the development VM's drift (±30 % between runs on a slow day) falls on
both alike; prints every pair with the speed check, then the medians, their ratio and how
often the second side was ahead.

    git worktree add /tmp/base e99419a && ln -s "$PWD/.venv" /tmp/base/.venv
    .venv/bin/python benchmarks/ab.py /tmp/base . --pairs 12                 # 10k SQLite
    .venv/bin/python benchmarks/ab.py .:off .:auto --dialect postgresql      # one process vs two
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402

MODES = ("off", "auto", "on")


def side(text: str) -> tuple[Path, str]:
    """``checkout[:mode]`` → (checkout, SUARA_PULL_PROCESS); the mode defaults to ``auto``."""
    path, _, mode = text.partition(":")
    mode = mode or "auto"
    if mode not in MODES:
        raise argparse.ArgumentTypeError(f"pull-process setting must be one of {', '.join(MODES)} (got {mode!r})")
    checkout = Path(path).resolve()
    if not (checkout / "benchmarks" / "run.py").is_file():
        raise argparse.ArgumentTypeError(f"{checkout} is not a Suara checkout (no benchmarks/run.py)")
    return checkout, mode


def summary(first: list[float], second: list[float]) -> dict:
    """Medians of each side's rates, their ratio (second ÷ first) and the pairs the second won."""
    a, b = statistics.median(first), statistics.median(second)
    return {"first": a, "second": b, "ratio": b / a,
            "ahead": sum(y > x for x, y in zip(first, second, strict=True)), "pairs": len(first)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first", type=side, help="checkout[:off|auto|on]")
    ap.add_argument("second", type=side, help="checkout[:off|auto|on]")
    ap.add_argument("--n", type=int, default=10_000, help="submissions (default 10000)")
    ap.add_argument("--dialect", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pairs", type=int, default=12, help="runs of each side (default 12)")
    opts = ap.parse_args(argv)
    if opts.pairs < 1 or opts.n < 1:
        ap.error("--pairs and --n must be 1 or more")
    sides = [opts.first, opts.second]
    names = [f"{c.name}:{m}" for c, m in sides]
    for checkout in {c for c, _ in sides}:
        run.compile_bytecode(checkout)
    rates: list[list[float]] = [[], []]
    with tempfile.TemporaryDirectory(prefix="suara-ab-") as tmp, run.sandbox(opts.n) as (url, token, uid):
        common = dict(url=url, token=token, uid=uid, n=opts.n, tmp=tmp)
        for p in range(opts.pairs):
            line = []
            for i in ((0, 1) if p % 2 == 0 else (1, 0)):
                checkout, mode = sides[i]
                with run.database(opts.dialect, Path(tmp), f"ab{p}_{i}") as (wh_url, _):
                    rate = run.run_worker("suara", checkout, warehouse=wh_url, pull_process=mode, **common)["rate"]
                rates[i].append(rate)
                line.append(f"{names[i]} {rate:,.0f}/s")
            print(f"pair {p + 1}: {run.speed()} · " + " · ".join(line), flush=True)
    s = summary(*rates)
    print(f"{opts.n:,} {opts.dialect}: median {names[0]} {s['first']:,.0f}/s, {names[1]} {s['second']:,.0f}/s, "
          f"ratio {s['ratio']:.3f}; {names[1]} ahead in {s['ahead']} of {s['pairs']} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
