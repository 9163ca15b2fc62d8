"""The benchmark's own measurement (benchmarks/run.py): what it reports must be what happened."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

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


def test_median_run__three_runs__the_middle_rate_and_the_highest_peak_rss():
    """Should report the run with the median rate (its stages and seconds with it) but the
    highest peak RSS of all runs: the memory limit must hold for every run."""
    runs = [{"rate": 9000.0, "seconds": 1.11, "rss_mb": 350.0, "rss_before_reporting_mb": 340.0},
            {"rate": 11000.0, "seconds": 0.91, "rss_mb": 380.0, "rss_before_reporting_mb": 379.0},
            {"rate": 10000.0, "seconds": 1.0, "rss_mb": 360.0, "rss_before_reporting_mb": 355.0}]
    out = run.median_run(runs)
    assert (out["rate"], out["seconds"]) == (10000.0, 1.0)
    assert (out["rss_mb"], out["rss_before_reporting_mb"]) == (380.0, 379.0)
    assert out["rates"] == [9000.0, 11000.0, 10000.0]


def test_median_run__even_number_of_runs__the_slower_middle_one():
    """Should not round a tie of two middle runs up to the faster one."""
    runs = [{"rate": r, "rss_mb": 300.0} for r in (8000.0, 12000.0, 9000.0, 11000.0)]
    assert run.median_run(runs)["rate"] == 9000.0


def test_repeats__default_three_up_to_ten_thousand_else_one__and_as_asked():
    assert [run.repeats(n, None) for n in (10_000, 100_000, 1_000_000)] == [3, 1, 1]
    assert run.repeats(100_000, 2) == 2


def test_main__repeat_below_one__refused_before_anything_runs(capsys):
    """Should refuse ``--repeat 0`` with a message saying what is allowed, instead of running
    no worker and failing on an empty list of runs."""
    with pytest.raises(SystemExit) as exit_:
        run.main(["--sizes", "10", "--repeat", "0"])
    assert exit_.value.code == 2
    assert "--repeat must be 1 or more (got 0)" in capsys.readouterr().err


def test_ab_side__checkout_and_setting__parsed_and_bad_ones_refused(tmp_path):
    """Should read ``checkout[:mode]`` (auto by default) and refuse a setting the sync does not
    know or a folder that is not a checkout, saying which."""
    import argparse

    import ab

    assert ab.side(str(REPO)) == (REPO, "auto")
    assert ab.side(f"{REPO}:off") == (REPO, "off")
    with pytest.raises(argparse.ArgumentTypeError, match="one of off, auto, on"):
        ab.side(f"{REPO}:fast")
    with pytest.raises(argparse.ArgumentTypeError, match="not a Suara checkout"):
        ab.side(str(tmp_path))


def test_ab_summary__medians_ratio_and_pairs_won():
    import ab

    s = ab.summary([100.0, 300.0, 200.0], [150.0, 250.0, 260.0])
    assert (s["first"], s["second"], s["pairs"]) == (200.0, 250.0, 3)
    assert s["ratio"] == 1.25
    assert s["ahead"] == 2
