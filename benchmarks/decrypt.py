"""Benchmark: decrypt N encrypted harassment reports the way the pull does.

Generates N synthetic ``ilo_vh_reporting`` submissions, encrypts each as KoboCollect would
(sandbox encryptor, demo public key: submission.xml.enc + audit.csv.enc per report), then times
``suara.crypto.pull.decrypt_record`` over all of them: RSA-OAEP key and signature unwrap,
AES-CFB decryption of both files, signature check, and XML → Kobo JSON. Downloads are served
from memory, so the figure is the CPU cost of decryption alone.

    .venv/bin/python benchmarks/decrypt.py            # 10,000 reports, one process
    .venv/bin/python benchmarks/decrypt.py -n 2000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptography.hazmat.primitives import serialization  # noqa: E402

from suara import synth  # noqa: E402
from suara.crypto.pull import decrypt_record  # noqa: E402
from suara.forms import load_form  # noqa: E402
from suara.sandbox.encrypted import odk_encryptor  # noqa: E402

FORM = REPO / "forms" / "ilo_vh_reporting.md"
DEMO_KEY = REPO / "forms" / "keys" / "DEMO_ONLY_private.pem"


def _key():
    return serialization.load_pem_private_key(DEMO_KEY.read_bytes(), password=None)


def _decrypt_chunk(chunk: list[tuple[dict, dict[str, bytes]]]) -> int:
    form, key = load_form(FORM), _key()
    done = 0
    for record, by_url in chunk:
        decrypt_record(form, record, by_url.__getitem__, key)
        done += 1
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="submissions (default 10000)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    args = parser.parse_args(argv)

    form = load_form(FORM)
    t0 = time.perf_counter()
    subs = synth.generate(form, args.n, seed=1)
    encrypt = odk_encryptor()  # the form's own public_key: the committed demo key
    items = []
    for sub in subs:
        record, files, _ = encrypt(form, sub)
        items.append((record, {a["download_url"]: files[a["media_file_basename"]]
                               for a in record["_attachments"]}))
    t1 = time.perf_counter()
    size = sum(len(b) for _, files in items for b in files.values())
    print(f"encrypted {args.n:,} reports ({size / 1e6:.1f} MB of .enc files) in {t1 - t0:.1f} s "
          "(synthesis + encryption)")

    t2, c2 = time.perf_counter(), time.process_time()
    if args.workers <= 1:
        done = _decrypt_chunk(items)
    else:
        step = -(-len(items) // args.workers)
        with ProcessPoolExecutor(args.workers) as pool:
            done = sum(pool.map(_decrypt_chunk, [items[i:i + step] for i in range(0, len(items), step)]))
    elapsed, cpu = time.perf_counter() - t2, time.process_time() - c2
    print(f"decrypted and verified {done:,} reports in {elapsed:.2f} s with {args.workers} "
          f"process(es): {done / elapsed:,.0f} submissions/s (cpu count {os.cpu_count()})")
    if args.workers <= 1:  # CPU time is what a busy machine does not distort
        print(f"CPU time {cpu:.2f} s: {done / cpu:,.0f} submissions per CPU-second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
