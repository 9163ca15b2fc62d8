"""Benchmark: the privacy checks and transforms on 100,000 rows (anonymisation.md G13).

Times, on synthetic data shaped like the brief's timing table (age, sex, province, role,
tenure; one sensitive attribute):

* ``measure``: k, violators of k = 2/3/5/10, distinct l, prosecutor risk: the per-release check;
* ``protect``: local suppression (≤ 5 % per QI), recoding, withholding, on generalised QIs;
* the free-text scrubber, in µs per answer, over the red-team corpus;
* ``anonymise`` of N synthetic submissions of a real form (normalised and typed first).

    .venv/bin/python benchmarks/privacy.py            # 100,000 rows
    .venv/bin/python benchmarks/privacy.py -n 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from suara.privacy.kanon import measure, protect  # noqa: E402
from suara.privacy.scrub import scrub_text  # noqa: E402

QI = ["age", "sex", "province", "role", "tenure"]


def frame(n: int, generalised: bool) -> pd.DataFrame:
    r = np.random.default_rng(1)
    df = pd.DataFrame({"age": r.integers(18, 61, n), "sex": r.choice(["F", "M"], n, p=[0.8, 0.2]),
                       "province": r.integers(0, 10, n), "role": r.integers(0, 12, n),
                       "tenure": r.integers(0, 30, n), "sa": r.integers(0, 6, n)})
    if generalised:
        df = df.assign(age=df.age // 10, tenure=(df.tenure // 5).clip(upper=3), role=df.role // 6)
    return df


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=100_000, help="rows (default 100,000)")
    ap.add_argument("--submissions", type=int, default=2000, help="submissions for anonymise()")
    args = ap.parse_args()

    for label, generalised in (("raw QIs", False), ("generalised QIs", True)):
        df = frame(args.n, generalised)
        stats = measure(df, QI, 5, ["sa"])
        t = best_of(lambda df=df: measure(df, QI, 5, ["sa"]))
        print(f"measure  {label:16} {args.n:>7} rows {stats.classes:>6} classes  k_min={stats.k_min} "
              f"violators(5)={stats.violators[5]}  l_min={stats.l_min['sa']}  {t:.3f} s")
    df = frame(args.n, True)
    t = time.perf_counter()
    result = protect(df, QI, 5, l_columns=["sa"], l=2)
    elapsed = time.perf_counter() - t
    print(f"protect  generalised QIs  {args.n:>7} rows  suppressed={sum(result.suppressed.values())} cells "
          f"withheld={len(result.withheld)} rows  k_min {result.before.k_min}→{result.after.k_min}  {elapsed:.3f} s")

    from tests.unit.suara.privacy.redteam import clean_corpus, planted_corpus

    texts = [p.text for p in planted_corpus()] + clean_corpus()
    t = best_of(lambda: [scrub_text(x) for x in texts])
    print(f"scrub    {len(texts)} answers  {t / len(texts) * 1e6:.1f} µs per answer")

    from suara.cast import cast_frame
    from suara.forms import load_forms
    from suara.normalise import normalise
    from suara.privacy import PrivacyKeys, anonymise
    from suara.synth import generate, version_uid

    keys = PrivacyKeys(b"benchmark-key-0123456789abcdef012", "1")
    for form in load_forms():
        subs = generate(form, args.submissions, seed=1)
        norm = normalise({form.version: form}, form, subs, version_map={version_uid(form): form.version})
        typed = {name: cast_frame(form, name, f)[0] for name, f in norm.frames.items()}
        t = best_of(lambda form=form, typed=typed: anonymise(form, typed, keys), repeat=1)
        print(f"anonymise {form.form_id:20} {args.submissions} submissions  {t:.3f} s")


if __name__ == "__main__":
    main()
