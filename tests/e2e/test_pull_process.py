"""The pull process (flows/puller.py): pages pulled, normalised and validated in a second
process while the sync anonymises and loads them must give exactly the warehouse a sync in
one process gives — also when that process dies mid-pull — and it must not outlive the sync."""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from flows import puller
from tests.conftest import REPO
from tests.e2e.test_sync import _env, _state

pytestmark = [pytest.mark.e2e]


def _sync_each_form(forms) -> dict:
    """Every form's sync through ``run_form`` (plain functions, no Prefect): outcomes by form."""
    from flows.pipeline import new_run_id
    from flows.sync_form import run_form
    from suara.kobo import KoboClient
    from suara.settings import load_settings
    from warehouse import Warehouse

    settings = load_settings()
    client, wh = KoboClient(settings), Warehouse.from_settings(settings)
    out = {f.form_id: run_form(settings, f, client, wh, new_run_id(), reconcile=False, page_tasks=False)
           for f in forms}
    for form_id, o in out.items():
        assert o.status == "completed", (form_id, o.error)
    return out


def _summary(outcomes: dict) -> dict:
    """What a run reports per form: its counts and its validation totals (Data Docs)."""
    return {form_id: (o.counts.record(), o.counts.requests,
                      [(v.submissions, sorted((q._id, tuple(r.code for r in q.reasons)) for q in v.quarantined),
                        sorted((x.table, x.field or "", x.code, x.evaluated, x.failed) for x in v.outcomes))
                       for v in o.validation])
            for form_id, o in outcomes.items()}


@pytest.fixture(autouse=True)
def ready_at_once(monkeypatch):
    """A pull process is waited for when it starts, so it takes over right after the page
    that started it (in a sync it takes over whenever it is ready)."""
    start = puller.PullProcess.start

    def start_and_wait(self):
        start(self)
        deadline = time.monotonic() + 60
        while not self.ready() and time.monotonic() < deadline:
            time.sleep(0.02)

    start_and_wait.__wrapped__ = start  # for a test that needs the start as a sync sees it
    monkeypatch.setattr(puller.PullProcess, "start", start_and_wait)


@pytest.fixture()
def handovers(monkeypatch):
    """Counts the pages that came from a pull process."""
    seen = {"go": 0, "pages": 0, "as fetched": 0}
    go, results = puller.PullProcess.go, puller.PullProcess.results

    def counting_go(self, *a):
        seen["go"] += 1
        return go(self, *a)

    def counting_results(self):
        for page, screened in results(self):
            seen["pages"] += 1
            seen["as fetched"] += screened is None and bool(page.results)
            yield page, screened

    monkeypatch.setattr(puller.PullProcess, "go", counting_go)
    monkeypatch.setattr(puller.PullProcess, "results", counting_results)
    return seen


def test_pull_process__same_warehouse_counts_and_validation_as_one_process(monkeypatch, tmp_path, sandbox,
                                                                          forms, forms_dir, handovers):
    """Should load exactly what a single-process sync loads, counting the same."""
    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    alone = _sync_each_form(forms)
    assert handovers["go"] == 0
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    split = _sync_each_form(forms)
    # The plain forms handed over after their first two pages (the second was already being
    # fetched); the encrypted one decrypts in the sync's own process.
    plain = [f.form_id for f in forms if not f.encrypted]
    assert handovers["go"] == len(plain) == 2, handovers
    assert handovers["pages"] == sum(split[f].counts.pages - 2 for f in plain) > 0, handovers
    assert _summary(split) == _summary(alone)
    assert _state(two) == _state(one)


def test_pull_process__sync_idle__pages_sent_as_fetched_screened_by_the_sync__same_warehouse(
        monkeypatch, tmp_path, sandbox, forms, forms_dir, handovers):
    """Should, when the sync's process waits for a page, send every other page as fetched
    for it to screen too (``Sharing``) — and load exactly what a single-process sync loads.
    Here a thread takes each page as soon as it is sent (the pages wait in the sync's process
    instead), so the pull process finds the sync's process waiting at every page."""
    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    alone = _sync_each_form(forms)
    counted = puller.PullProcess.results

    def drained(self):
        items: queue.Queue = queue.Queue()

        def drain():
            try:
                for item in counted(self):
                    items.put(("item", item))
                items.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - raised where the sync reads
                items.put(("error", exc))

        threading.Thread(target=drain, daemon=True).start()
        while True:
            kind, item = items.get(timeout=60)
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    monkeypatch.setattr(puller.PullProcess, "results", drained)
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    split = _sync_each_form(forms)
    assert handovers["as fetched"] >= 2, handovers
    assert handovers["as fetched"] <= handovers["pages"] // 2 + 2, handovers  # never two in a row
    assert _summary(split) == _summary(alone)
    assert _state(two) == _state(one)


def test_pull_process__starts_as_the_first_page_arrives_and_takes_the_next_page_while_one_loads(
        monkeypatch, tmp_path, sandbox, forms, forms_dir):
    """Should start the pull process before the first page loads, and hand it the cursor after
    the latest fetched page as soon as it is ready — before the sync loads that page: the
    process then fetches and screens the next page meanwhile, so the sync never sits idle
    waiting for its first screened page."""
    from types import SimpleNamespace

    from flows import sync_form

    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    events: list[tuple] = []
    start, go, load = puller.PullProcess.start, puller.PullProcess.go, sync_form.load_page.fn
    results, from_helper = puller.PullProcess.results, []

    def noting_results(self):
        for page, screened in results(self):
            from_helper.append(page)  # screened there, or sent as fetched for the sync to screen
            yield page, screened

    def noting_start(self):
        events.append(("start",))
        start(self)

    def noting_go(self, after_id, page_size):
        events.append(("go", after_id))
        go(self, after_id, page_size)

    def noting_load(ctx, warehouse, run_id, page, screened=None):
        came = any(page is p for p in from_helper)
        events.append(("load", page.next_after_id, "pull process" if came else "sync"))
        return load(ctx, warehouse, run_id, page, screened)

    monkeypatch.setattr(puller.PullProcess, "start", noting_start)
    monkeypatch.setattr(puller.PullProcess, "go", noting_go)
    monkeypatch.setattr(puller.PullProcess, "results", noting_results)
    monkeypatch.setattr(sync_form, "load_page", SimpleNamespace(fn=noting_load))
    form = next(f for f in forms if not f.encrypted)
    outcome = _sync_each_form([form])[form.form_id]
    assert events[0] == ("start",), events[:3]
    at = events.index(next(e for e in events if e[0] == "go"))
    cursor = events[at][1]
    loads = [e for e in events if e[0] == "load"]
    own = [e for e in loads if e[2] == "sync"]
    # The sync loads its own pages up to the one that ends at the cursor handed over, and the
    # cursor went over before that page's load began; every page after it came from the pull
    # process, in order.
    assert own[-1] == ("load", cursor, "sync") and loads[:len(own)] == own, loads
    assert at < events.index(own[-1]), events
    assert loads[len(own):] and all(e[2] == "pull process" for e in loads[len(own):]), loads
    assert outcome.counts.pages == len(loads)


def test_pull_process__first_pull_the_counter_says_is_big__starts_before_the_first_page_is_requested(
        monkeypatch, tmp_path, sandbox, forms, forms_dir):
    """Should start the pull process (``auto``) before requesting the first page when the
    asset's submission counter shows enough for it on a form's first pull, and pull exactly
    what a sync in one process pulls; on the next pull (a watermark, nothing new) not at all."""
    from suara.kobo import KoboClient
    from tests.e2e.conftest import N

    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    form = next(f for f in forms if not f.encrypted)
    alone = _sync_each_form([form])
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "auto")
    monkeypatch.setattr(puller, "WORTH", N)  # the sandbox's counter: N submissions per form
    events: list[str] = []
    start, fetch = puller.PullProcess.start, KoboClient.fetch_page

    def noting_start(self):
        events.append("start")
        start(self)

    def noting_fetch(self, *a, **kw):
        events.append("fetch")
        return fetch(self, *a, **kw)

    monkeypatch.setattr(puller.PullProcess, "start", noting_start)
    monkeypatch.setattr(KoboClient, "fetch_page", noting_fetch)
    split = _sync_each_form([form])
    assert events[:2] == ["start", "fetch"], events[:4]
    assert _summary(split) == _summary(alone) and _state(two) == _state(one)
    events.clear()
    _sync_each_form([form])
    assert "start" not in events and events


def test_pull_process__in_the_prefect_flow__same_warehouse(prefect_backend, monkeypatch, tmp_path, sandbox,
                                                          forms_dir, handovers):
    """Should hand pages from the pull process to the flow's page tasks like its own pages."""
    from tests.e2e.test_sync import _sync

    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    alone = _sync(reconcile=False)
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    split = _sync(reconcile=False)
    assert handovers["go"] == 2 and handovers["pages"] > 0, handovers
    assert split["forms"] == alone["forms"] and set(split["status"].values()) == {"completed"}
    assert _state(two) == _state(one)


def test_pull_process__killed_mid_pull__the_sync_goes_on_without_it(monkeypatch, tmp_path, sandbox, forms,
                                                                    forms_dir):
    """Should finish the pull in the sync's process from the last page loaded, losing nothing."""
    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    alone = _sync_each_form(forms)
    results = puller.PullProcess.results
    killed = []

    def dying(self):
        for n, item in enumerate(results(self)):
            if n == 1:
                os.kill(self.process.pid, signal.SIGKILL)
                killed.append(self.process.pid)
            yield item

    monkeypatch.setattr(puller.PullProcess, "results", dying)
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    split = _sync_each_form(forms)
    assert len(killed) == 2, killed
    assert _summary(split) == _summary(alone)
    assert _state(two) == _state(one)


def test_pull_process__killed_halfway_through_handing_over_a_page__the_sync_is_told(
        monkeypatch, tmp_path, sandbox, forms, forms_dir):
    """Should report the pull process gone, not wait for ever for the rest of a page it was
    writing when it died (a page bigger than the pipe between the processes holds)."""
    from flows import pipeline
    from suara.kobo import KoboClient
    from suara.settings import load_settings
    from tests.e2e.conftest import N

    _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    settings = load_settings()
    form = next(f for f in forms if not f.encrypted)
    helper = puller.PullProcess(settings, pipeline.open_form(settings, KoboClient(settings), form))
    helper.start()
    try:
        helper.go(0, N)  # one page of every submission: far more than the pipe's 64 KB
        assert helper.out._reader.poll(60), "no page came"
        time.sleep(0.5)  # the process's feeder thread now waits for the pipe to drain
        os.kill(helper.process.pid, signal.SIGKILL)
        helper.process.join(10)
        told: list[str] = []

        def read() -> None:
            try:
                list(helper.results())
                told.append("the pull ended")
            except puller.PullFailed as exc:
                told.append(f"failed: {exc}")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(30)
        assert told and told[0].startswith("failed: the pull process exited"), told or "still waiting"
    finally:
        helper.stop()


def test_pull_process__dies_before_taking_the_form__nothing_is_left_waiting(forms, capfd):
    """Should leave no thread of the sync writing the form's context to a process that died
    before reading it (the context is bigger than the pipe holds)."""
    import pickle

    from flows import pipeline
    from suara.privacy import PrivacyKeys
    from suara.settings import Settings

    form = next(f for f in forms if f.form_id == "ilo_rights_baseline")
    ctx = pipeline.FormContext(form, {form.version: form}, "uid", "", {}, PrivacyKeys(b"t" * 32))
    assert len(pickle.dumps(ctx)) > 2**16
    helper = puller.PullProcess(Settings(kobo_url="http://127.0.0.1:9", kobo_token="t" * 40), ctx)
    puller.PullProcess.start.__wrapped__(helper)  # returns at once, as in a sync
    try:
        os.kill(helper.process.pid, signal.SIGKILL)  # still importing: ~0.5 s before it reads
        helper.process.join(10)
        writer = helper.orders._thread
        writer.join(10)
        assert not writer.is_alive(), "still writing the context to a process that is gone"
        assert not helper.ready()
    finally:
        helper.stop()
    assert "Error" not in capfd.readouterr().err


def test_pull_process__cannot_start__the_sync_pulls_by_itself(monkeypatch, tmp_path, sandbox, forms, forms_dir):
    """Should sync as one process where a pull process cannot start (e.g. inside a daemonic
    process such as a Dask worker, which may not have children)."""
    monkeypatch.setenv("SUARA_PAGE_SIZE", "10")
    one = _env(monkeypatch, sandbox, tmp_path, "one", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "off")
    alone = _sync_each_form(forms)

    def refuse(self):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(puller.PullProcess, "start", refuse)
    # On the logger itself: Prefect's logging set-up may stop it propagating to pytest's handler.
    said: list[str] = []
    heard = logging.Handler()
    heard.emit = lambda record: said.append(record.getMessage())
    logger = logging.getLogger("flows.sync_form")
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, heard])
    two = _env(monkeypatch, sandbox, tmp_path, "two", forms_dir)
    monkeypatch.setenv("SUARA_PULL_PROCESS", "on")
    split = _sync_each_form(forms)
    assert _summary(split) == _summary(alone)
    assert _state(two) == _state(one)
    assert sum("no pull process (AssertionError" in m for m in said) == 2, said


def test_pull_process__exits_when_the_sync_is_killed(tmp_path, forms):
    """Should not outlive a sync killed with SIGKILL (nobody would load its pages)."""
    script = textwrap.dedent("""
        import sys, time
        from flows import pipeline, puller
        from suara.forms import load_forms
        from suara.privacy import PrivacyKeys
        from suara.settings import Settings

        if __name__ == "__main__":
            form = next(f for f in load_forms() if not f.encrypted)
            ctx = pipeline.FormContext(form, {form.version: form}, "uid", "", {}, PrivacyKeys(b"t" * 32))
            helper = puller.PullProcess(Settings(kobo_url="http://127.0.0.1:9", kobo_token="t" * 40), ctx)
            helper.start()
            while not helper.ready():
                time.sleep(0.05)
            print(helper.process.pid, flush=True)
            time.sleep(600)
    """)
    path = tmp_path / "sync_stand_in.py"
    path.write_text(script)
    parent = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the pull process outlived the sync"
    finally:
        parent.kill()


def test_pull_process__run_as_a_module_like_prefect_engine__does_not_run_that_module_again(tmp_path):
    """Should not re-run the main module of the sync's process in the pull process: a deployed
    flow run is ``python -m prefect.engine``, and re-running that imported Prefect there
    (~0.7 s more before it was ready, 137 MB instead of 82 MB before its first page)."""
    (tmp_path / "engine_stand_in.py").write_text(textwrap.dedent("""
        import os, time
        with open(os.environ["RAN_BY"], "a") as f:  # every process that runs this module says so
            print(os.getpid(), flush=True, file=f)
        from flows import pipeline, puller
        from suara.forms import load_forms
        from suara.privacy import PrivacyKeys
        from suara.settings import Settings

        if __name__ == "__main__":
            form = next(f for f in load_forms() if not f.encrypted)
            ctx = pipeline.FormContext(form, {form.version: form}, "uid", "", {}, PrivacyKeys(b"t" * 32))
            helper = puller.PullProcess(Settings(kobo_url="http://127.0.0.1:9", kobo_token="t" * 40), ctx)
            helper.start()
            deadline = time.monotonic() + 60
            while not helper.ready() and time.monotonic() < deadline:
                time.sleep(0.02)
            print(helper.ready(), helper.process.pid, flush=True)
            helper.stop()
    """))
    ran_by = tmp_path / "ran_by.txt"
    env = {**os.environ, "RAN_BY": str(ran_by),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "engine_stand_in"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    ready, child = out.stdout.split()
    assert ready == "True", "the pull process never got ready"
    runs = ran_by.read_text().split()
    assert child not in runs, "the pull process ran the sync's main module again"
    assert len(runs) == 1, runs


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
