"""Crash: ``suara sync`` killed with SIGKILL at random moments, then re-run, must end with
exactly a clean run's warehouse — nothing lost, nothing duplicated, the watermark where the
rows are. The kill moments are seeded and spread over the sync's working span (after its
first form starts), so they land in pulls, loads, reconciles and reporting refreshes."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.resilience.harness import REPO, SYNC, child_env, configure, scale, state, sync_child

pytestmark = [pytest.mark.resilience, pytest.mark.e2e, pytest.mark.timeout(scale().timeout)]

KEYS = {"SUARA_PSEUDONYM_KEY": "resilience-crash-pseudonym-key-0123456789",
        "SUARA_RESTRICTED_KEY": "resilience-crash-restricted-key-0123456789"}


class _Child:
    """``suara sync`` in a child process; notes when its first form starts and counts pages."""

    def __init__(self):
        self.proc = subprocess.Popen(SYNC, cwd=REPO, env=child_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.started = threading.Event()
        self.pages = 0
        self.began = time.monotonic()
        self.working_from: float | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            if ": started" in line and not self.started.is_set():
                self.working_from = time.monotonic()
                self.started.set()
            elif "pages " in line:
                self.pages += 1

    def wait(self) -> int:
        rc = self.proc.wait(timeout=300)
        self.proc.stdout.close()
        self._reader.join(timeout=5)
        self.started.set()
        return rc


def test_crash__sigkill_at_random_points_then_rerun__same_warehouse(prefect_backend, monkeypatch, tmp_path,
                                                                      sandbox, forms_dir):
    """Should converge on the clean warehouse after every SIGKILL and re-run."""
    clean = configure(monkeypatch, sandbox, tmp_path / "clean", forms_dir, KEYS)
    child = _Child()
    assert child.wait() == 0
    span = time.monotonic() - child.working_from  # the sync's working time, without start-up
    expected = state(clean)
    assert expected["restricted.manifest"]

    rng = random.Random(20261128)
    killed_after_pages = []
    # The killed syncs pull with a pull process whenever there is a second page (flows/puller.py),
    # which must die with them; the re-runs pull as they would by default.
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    for point in range(scale().kill_points):
        wh = configure(monkeypatch, sandbox, tmp_path / f"crash{point}", forms_dir, KEYS)
        child = _Child()
        assert child.started.wait(120), "the sync never started a form"
        time.sleep(rng.uniform(0.0, 0.95) * span)
        helpers = _children(child.proc.pid)
        child.proc.send_signal(signal.SIGKILL)
        rc = child.wait()
        _assert_gone(helpers)
        killed_after_pages.append(child.pages if rc == -signal.SIGKILL else "finished")
        _assert_watermarks_cover_loaded_rows(wh)
        monkeypatch.delenv("SUARA_PULL_PROCESS")
        rerun = sync_child()
        monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
        for form_id, c in rerun["forms"].items():
            assert c["pulled"] == c["loaded"] + c["quarantined"] + c["withheld"], (point, form_id, c)
        assert state(wh) == expected, f"kill point {point} (after {killed_after_pages[-1]} pages)"
        wh.close()
    # The kills must have hit running syncs, not only finished ones.
    assert sum(1 for p in killed_after_pages if p != "finished") >= max(1, len(killed_after_pages) // 2), \
        killed_after_pages


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (a pull process, if one was running)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(") ", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _assert_gone(pids: list[int], within: float = 10.0) -> None:
    """The killed sync's helpers exit by themselves (nobody would load their pages)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in pids if _running(p)]
        if not alive:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes {alive} outlived the killed sync")


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _assert_watermarks_cover_loaded_rows(wh) -> None:
    """Right after a kill: each form's watermark is exactly its highest manifest _id (a fresh
    warehouse pulls in _id order), so no row above it was committed without it, or vice versa."""
    manifest = wh.dump("restricted").get("manifest", [])
    for form_id in {r["form_id"] for r in manifest} | set(_marked(wh)):
        ids = [r["_id"] for r in manifest if r["form_id"] == form_id]
        assert wh.watermark(form_id) == (max(ids) if ids else None), form_id


def _marked(wh) -> list[str]:
    return [r["form_id"] for r in wh.dump("restricted").get("watermarks", [])]
