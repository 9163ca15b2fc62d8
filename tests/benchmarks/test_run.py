"""The benchmark's own measurement (benchmarks/run.py): what it reports must be what happened."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import run  # noqa: E402


def test_tree_rss__a_child_holding_memory__counted_in_the_peak():
    """Should add a child process's memory to the worker's peak (the pull process's counts as
    the sync's), although children are looked for only every 0.5 s."""
    tree = run.TreeRss()
    time.sleep(0.1)
    alone = tree.mb()
    child = subprocess.Popen([sys.executable, "-c", "import time; b = b'x' * (200 * 2**20); time.sleep(3)"])
    try:
        deadline = time.monotonic() + 10
        while tree.mb() < alone + 150 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert tree.mb() >= alone + 150
    finally:
        child.kill()
        child.wait()
        tree.stop.set()


def test_core_times__two_loops_at_once__each_timed_in_its_own_process():
    """Should time the loop alone and two copies at once in separate processes (the header's
    "two at once"): two processes at once cannot each finish faster than the loop alone can
    by more than timing noise, nor be slower than running them one after the other twice over."""
    alone, pair = run.core_times(2 * 10**5)
    assert 0 < alone < 5 and 0 < pair < 5
    assert pair > alone * 0.5
    assert pair < alone * 4 + 0.5
