"""The pull process: a second process that requests pages, normalises and validates them
while the sync's own process anonymises and loads them.

Why: per 1,000 submissions, the pull, normalising and validating take ~45 ms and anonymising
and loading ~45 ms, and the GIL keeps one process on one core. Split there, the halves
overlap on two cores (the split also balances what each side pays to pickle the valid rows
across, ~6 ms).

What stays the same: every write happens in the sync's process, page after page, rows,
manifest and watermark in one transaction, exactly as without this process. The pull process
never touches the warehouse: a sync killed at any moment leaves what a single-process sync
would leave, and the pull process exits by itself once the sync's process is gone
(``_watch``). Retries stay with the Kobo client, in whichever process makes the request.

When: ``SUARA_PULL_PROCESS=auto`` (the default) starts it for pulls of ``WORTH`` submissions
or more on two or more cores: below that, it saves nothing worth its memory. ``on``
starts it for any pull of two pages or more, ``off`` never. It holds ~150 MB of its own
(pandas and the stages, a page); to keep the two processes within 400 MB at a million
submissions, both give freed heap back after every page and it prefetches nothing (the
sync's process loads meanwhile, so its HTTP waits overlap work anyway).

How: the sync starts it as the first page arrives (or, on a form's first pull that the
asset's submission counter says is big, before that page is requested) and loads the first
pages itself while this process starts (~0.3 s to import the stages; the form's context follows
through a queue, so starting it never waits for those imports). As soon as this process is
ready and a page has been fetched whose successor nobody requested, it gets the cursor after
that page (``Handover``) and fetches and screens the next one while the sync still loads the
pages it has; from then on screened pages come back through a queue of at most ``AHEAD``, so
memory stays a few pages — and, while the sync's process has time to spare, every other page
comes back as fetched for it to screen too (``Sharing``). If the process fails in any way, the
sync goes on from the last page it loaded, in-process, where the same error (if it is one) is
raised with its own traceback and handled as before.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import os
import pickle
import queue
import threading
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from flows import pipeline

log = logging.getLogger(__name__)

AHEAD = 2          # screened pages waiting for their load
POLL = 0.5         # seconds between checks that the other process is alive
POLL_READY = 0.05  # seconds between a watcher's checks that its walk is still on
# Starting the process costs ~0.3 s of imports on the other core (a fresh interpreter), while
# the sync loads the first pages itself. Interleaved runs on 2026-11-29 (six pairs each, SQLite,
# starting on the first page and handing over before a page loads): 10,000 submissions 9,212/s
# with it vs 8,488/s without (PostgreSQL, four pairs: 8,653 vs 8,136/s), for ~150 MB more;
# 5,000: 6,652 vs 7,339/s — too few pages left once it is ready.
WORTH = 10_000


def wanted(setting: str, form, page, pages_read: int) -> bool:
    """Whether a form's pull should start a pull process on ``page`` (the ``pages_read``-th),
    by ``SUARA_PULL_PROCESS``: ``off``; ``on`` whenever a page follows; ``auto`` when the
    machine has a second core and at least ``WORTH`` submissions are to come (the server's
    count on the first page, or as many read without one). Never for encrypted forms: they
    decrypt with the sync's own HTTP session."""
    if form.encrypted or page.next_after_id is None or setting == "off":
        return False
    if setting == "on":
        return True
    if (os.cpu_count() or 1) < 2:
        return False
    if page.count is not None:
        return pages_read == 1 and page.count >= WORTH
    return pages_read * max(len(page.results), 1) >= WORTH


def wanted_first(setting: str, ctx: pipeline.FormContext, after_id: int) -> bool:
    """Whether to start the pull process before the first page is even requested: a form's
    first pull (nothing loaded yet, ``after_id`` 0) in ``auto`` when the asset's submission
    counter, read by the asset look-up, says ``WORTH`` or more are there. It then starts while
    the first page is on its way (~35 ms here; against a distant server, often longer than the
    process's start-up), not after. The counter is a hint: if it is stale, the process found
    too little to do is stopped at the end of the pull, as when a pull ends before it is ready."""
    if setting != "auto" or after_id or ctx.form.encrypted or (os.cpu_count() or 1) < 2:
        return False
    return ctx.server_count is not None and ctx.server_count >= WORTH


class _Secret:
    """A secret's value, printed as stars (the pull process's stand-in for pydantic's SecretStr)."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "**********"

    __str__ = __repr__


@dataclass(frozen=True)
class PullSettings:
    """What the pull process reads of the settings (its Kobo client, its log filter), as plain
    values: unpickling ``Settings`` there imported pydantic and built the model, ~80 ms of
    its start-up (``python -c``: 391 → 314 ms for its imports)."""

    kobo_url: str
    kobo_token: _Secret | None = field(repr=False)
    suara_pseudonym_key: _Secret | None = field(repr=False)
    suara_restricted_key: _Secret | None = field(repr=False)
    suara_http_timeout: float
    suara_http_retries: int
    suara_page_size: int
    suara_data_dir: Path
    suara_late_window_seconds: int
    assets: dict[str, str]

    @classmethod
    def of(cls, settings) -> PullSettings:
        def value(f):
            v = getattr(settings, f.name)
            return _Secret(v.get_secret_value()) if hasattr(v, "get_secret_value") else v
        return cls(**{f.name: value(f) for f in fields(cls)})

    def secret(self, name: str) -> str:
        return getattr(self, name).get_secret_value()


class PullProcess:
    """The sync's handle on a pull process: ``start`` (returns at once), ``ready``, ``go``
    from a cursor, then ``results`` until the last page; ``stop`` always."""

    def __init__(self, settings, ctx: pipeline.FormContext):
        mp = multiprocessing.get_context("spawn")  # a clean interpreter: no copied threads or sockets
        self.orders = mp.Queue()
        self.out = mp.Queue(maxsize=AHEAD)
        self.started = mp.Event()
        # Seconds the sync's process has waited for pages so far (``Sharing``); written here only.
        self.waited = mp.Value("d", 0.0, lock=False)
        # The pull process's copy of the context: no HTTP client, the version map resolved here.
        portable = replace(ctx, download=None, fetch_version_map=None,
                           version_map=dict(pipeline.versions_of(ctx)), validation=[])
        self.process = _Spawned(target=_main, name="suara-pull", daemon=True,
                                args=(PullSettings.of(settings), self.orders, self.out, self.started, self.waited,
                                      os.getpid()))
        self._context = portable

    def start(self) -> None:
        self.process.start()
        # Each side closes its copy of the pipe end it never uses, so the other process's death
        # ends a read or a write instead of leaving it waiting for ever: ``results`` waiting for
        # the rest of a page cut off mid-write (a page is bigger than the pipe's 64 KB), or the
        # queue's thread here blocked writing the context to a process that died before reading
        # it (that thread then ends quietly on the broken pipe).
        self.out._writer.close()
        self.orders._reader.close()
        self.orders._ignore_epipe = True
        # The context (the parsed form: ~200 KB pickled) goes through the queue, not the
        # process's arguments: spawn writes those into a pipe that the new interpreter reads
        # only as its imports allow, so start() blocked the sync for those ~0.4 s of imports.
        # The queue's feeder thread writes it instead, while the sync goes on.
        self.orders.put(self._context)

    def ready(self) -> bool:
        return self.started.is_set() and self.process.is_alive()

    def go(self, after_id: int, page_size: int) -> None:
        self.orders.put((after_id, page_size))

    def results(self):
        """(page, screened) in page order, screened None for an empty page or one sent as
        fetched (``Sharing``: the page then holds its records); ends after the last page.
        Raises ``PullFailed`` if the process failed or exited (the caller knows the last page
        it loaded, so where to go on from)."""
        while True:
            try:
                with pipeline.timed("pull"):  # the sync's process waiting for a screened page
                    item = self._next()
            except queue.Empty:
                if not self.process.is_alive():
                    raise PullFailed("the pull process exited") from None
                continue
            except (EOFError, OSError) as exc:  # the process died, mid-page or between pages
                raise PullFailed(f"the pull process exited ({type(exc).__name__})") from None
            kind = item[0]
            if kind == "end":
                return
            if kind == "failed":
                raise PullFailed(item[1])
            if kind == "raw":  # a page as fetched (``Sharing``): the sync screens it too
                yield pickle.loads(item[1]), None
                continue
            yield pickle.loads(item[1])

    def _next(self):
        """The next item from the pull process; the time spent waiting for it is added to ``waited``."""
        start = time.perf_counter()
        try:
            return self.out.get(timeout=POLL)
        finally:
            self.waited.value += time.perf_counter() - start

    def stop(self) -> None:
        if self.process.pid is None:
            return
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout=10)
        for q in (self.orders, self.out):
            q.cancel_join_thread()
            q.close()


class Handover:
    """Hands a form's pull to its pull process as soon as two things are true: the process is
    ready, and a page has been fetched whose successor nobody has requested yet. Whichever
    thread sees the second first does it — the page walk's thread as a page arrives, a watcher
    as the process gets ready, or the sync's thread as it takes a page — under the lock that
    the page walk (``pipeline.pages``) also holds to request the next page, so no page is
    requested twice and the walk stops right after the page whose cursor went over.

    Before, the cursor went over only as the sync took its next page: on average half a page's
    load (~65 ms at 10,000 submissions) after the process was ready, with the other core idle."""

    def __init__(self, page_size: int, helper: PullProcess | None = None):
        self.lock = threading.RLock()
        self.page_size = page_size
        self.helper: PullProcess | None = None
        self.cursor: int | None = None      # the cursor handed over (at most once)
        self._pending = None                # the latest request's future; its successor not requested
        self._ended = threading.Event()
        if helper is not None:
            self.attach(helper)

    def attach(self, helper: PullProcess) -> None:
        """Watch ``helper`` from now on (it has just started)."""
        with self.lock:
            self.helper = helper
        threading.Thread(target=self._watch, args=(helper,), daemon=True, name="suara-handover").start()

    def requested(self, future) -> None:
        """The page walk asked for a page (None: it asks for no more). Under ``lock``."""
        self._pending = future
        if future is not None:
            future.add_done_callback(self._arrived)

    def until(self) -> bool:
        """Whether the walk stops after the page it is taking now. Under ``lock``."""
        self._try()
        return self.cursor is not None

    def end(self) -> None:
        """The walk is over: the watcher stops."""
        self._ended.set()

    def _arrived(self, future) -> None:
        with self.lock:
            if future is self._pending:
                self._try()

    def _watch(self, helper: PullProcess) -> None:
        while not self._ended.is_set():
            if helper.started.wait(POLL_READY):
                with self.lock:
                    self._try()
                return

    def _try(self) -> None:
        future, helper = self._pending, self.helper
        if self.cursor is not None or helper is None or future is None or not future.done():
            return
        if future.cancelled() or future.exception() is not None:
            return
        after = future.result().next_after_id
        if after is None or not helper.ready():
            return
        helper.go(after, self.page_size)
        self.cursor = after


_SPAWNING = threading.Lock()


class _Spawned(multiprocessing.context.SpawnProcess):
    """A spawned process that does not run the parent's main module first.

    Why: spawn re-runs the parent's ``__main__`` in the child (as ``__mp_main__``) before
    its target, in case the target lives there. Ours never does, and a deployed flow run's
    main module is ``prefect.engine`` (``python -m prefect.engine``, Prefect's process
    worker): re-run in the pull process, it imported Prefect — measured here ready after
    ~1.0 s instead of ~0.3 s, with 137 MB before its first page, which a sync of a million
    submissions cannot afford beside the 400 MB the two processes must stay under."""

    @staticmethod
    def _Popen(process_obj):
        # The main module is read from the preparation data only as the process starts, by
        # the module-level function below; it is replaced for that moment, under a lock (a
        # process spawned by another thread in that same moment would skip its main module
        # too; its target would have to live in ``__main__`` for that to matter).
        prepare = multiprocessing.spawn.get_preparation_data

        def without_main(name):
            data = prepare(name)
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
            return data

        with _SPAWNING:
            multiprocessing.spawn.get_preparation_data = without_main
            try:
                return multiprocessing.context.SpawnProcess._Popen(process_obj)
            finally:
                multiprocessing.spawn.get_preparation_data = prepare


class PullFailed(Exception):
    """The pull process stopped before the last page; the sync goes on without it."""


def _main(settings, orders, out, started, waited, parent: int) -> None:
    """The pull process: take the form's context, wait for a cursor, then pull and screen
    every page after it."""
    from suara.kobo import KoboClient
    from suara.redact import install

    threading.Thread(target=_watch, args=(parent,), daemon=True, name="suara-parent-watch").start()
    install(settings)
    pipeline.tune_collector()
    client = KoboClient(settings)
    ctx: pipeline.FormContext = orders.get()
    ctx.download = client.download
    started.set()
    after_id, page_size = orders.get()
    try:
        send_pages(ctx, client, after_id, page_size, out, waited)
    except BaseException as exc:  # noqa: BLE001 - the sync redoes the work and raises it there
        out.put(("failed", type(exc).__name__))
    finally:
        out.close()
        out.join_thread()


def send_pages(ctx: pipeline.FormContext, client, after_id: int, page_size: int, out, waited) -> None:
    """Every page after ``after_id`` into ``out``, in order: screened (``"page"``), or as
    fetched (``"raw"``) when ``Sharing`` says so from how long the sync's process has
    ``waited`` for pages; then ``"end"``."""
    sharing = Sharing()
    # No prefetch here: the sync's process loads meanwhile, so the HTTP wait overlaps
    # work anyway, and a second page of raw records held meanwhile costs ~20 MB.
    for page in pipeline.pages(ctx, client, after_id, page_size, prefetch=False):
        if sharing.unscreened(page, waited=waited.value):
            out.put(("raw", pickle.dumps(page, pickle.HIGHEST_PROTOCOL)))
            continue
        screened = None
        if page.results:
            pipeline.STAGE_SECONDS.clear()
            screened = pipeline.screen_batch(ctx, page.results, watermark=pipeline.watermark_of(page))
            screened.seconds = dict(pipeline.STAGE_SECONDS)
            sharing.screened(sum(screened.seconds.values()))
        # The sync needs the page's cursor and cost, not its raw records.
        out.put(("page", packed((replace(page, results=[]), screened))))
        pipeline.give_back_memory()
    out.put(("end",))


class Sharing:
    """Whether the pull process sends a page as fetched, for the sync's process to screen as
    well as load: when, since the last page went, the sync's process has waited for pages at
    least a third of the time this process took to screen its latest one — it has time to
    spare — and that page went screened.

    Why: on SQLite, screening a page costs about twice what loading it costs, so the sync's
    process waited about half of each page (~60 ms of ~135 ms at 10,000 submissions on a slow
    spell of the VM); where loading costs more (PostgreSQL, whose server shares the cores here),
    it hardly waits, and sharing on a signal that ignored that (the queue found empty) measured
    slower there (2-8 %). Never two pages in a row: the sync's process also loads every page, so
    taking every other page at most keeps it from becoming the slower of the two. Nothing goes
    as fetched before a page has been screened here (the sync's process still has pages of its
    own to load just after the hand-over). A page is ~1.3 MB pickled as fetched against
    ~0.3 MB screened; the sync's process screens it exactly as the pages it fetched itself."""

    SPARE = 1 / 3

    def __init__(self):
        self._last = False     # whether the page before went as fetched
        self._cost = None      # seconds this process took to screen its latest page (None: none yet)
        self._seen = 0.0       # the sync's waiting, in seconds, when the last page went

    def screened(self, seconds: float) -> None:
        self._cost = seconds

    def unscreened(self, page, *, waited: float) -> bool:
        spare = waited - self._seen
        self._seen = waited
        send = (not self._last and bool(page.results) and self._cost is not None
                and spare >= self.SPARE * self._cost)
        self._last = send
        return send


def packed(item) -> bytes:
    """``item`` pickled without a memo: a page's frames hold ~100,000 distinct objects, and
    memoising each (to find repeats that a screened page does not have) was ~40 % of pickling
    it — 5.7 → 3.5 ms a page, in the process that sets the pace. Fast mode refuses a cyclic
    object with ValueError (the sync then goes on without this process); shared objects
    arrive as copies."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # deprecated attribute, still the only switch for the memo
    pickler.dump(item)
    return buffer.getvalue()


def _watch(parent: int) -> None:
    """Exit as soon as the sync's process is gone (killed: nobody will load these pages)."""
    while True:
        time.sleep(POLL)
        if os.getppid() != parent:
            os._exit(0)
