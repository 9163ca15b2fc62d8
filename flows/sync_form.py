"""Prefect flows for the sync: thin wrappers over flows.pipeline.

* ``sync_form``: pull new submissions page by page (one task per page, the next page fetched
  while this one loads), reconcile edits,
  validation changes and deletions when due, refresh reporting, record the run.
* ``reconcile_form``: the manifest scan alone (kobo-api.md §7.4).
* ``sync_all_forms``: every form (or the ones named), one after the other; one form failing
  does not stop the others, and the run record says which failed.

Retries: HTTP failures are retried by the Kobo client (the one owner of that failure kind);
tasks here retry only what the HTTP layer cannot see — a warehouse that is briefly locked
or unreachable (sqlalchemy OperationalError).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import pipeline, progress
from flows.counts import FormCounts
from suara import redact
from suara.errors import ConfigurationError, SuaraError
from suara.forms import Form, load_forms
from suara.settings import Settings, load_settings

log = logging.getLogger(__name__)


def _warehouse_transient(task, task_run, state) -> bool:
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classify, do not handle
        from sqlalchemy.exc import OperationalError

        return isinstance(exc, OperationalError)
    return False


_TASK = dict(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[1, 5],
             retry_condition_fn=_warehouse_transient, persist_result=False)


def _known(ctx: pipeline.FormContext, warehouse, records: list) -> dict:
    """The manifest entries of the submissions in ``records`` (to count updates, skip unchanged)."""
    ids = [r.get("_id") for r in records if isinstance(r, dict)]
    return warehouse.manifest(ctx.form.form_id, ids=[i for i in ids if isinstance(i, int)])


@task(**_TASK)
def load_page(ctx: pipeline.FormContext, warehouse, run_id: str, page, screened=None) -> FormCounts:
    """Carry one fetched page through every stage and load it (one transaction); with
    ``screened`` (normalised and validated by the pull process, flows/puller.py), the rest."""
    if screened is not None:
        known = warehouse.manifest(ctx.form.form_id, ids=screened.ids)
        counts = pipeline.load_prepared(ctx, warehouse, pipeline.finish_batch(ctx, run_id, screened, known=known))
    elif page.results:
        counts = pipeline.process_batch(ctx, warehouse, run_id, page.results, watermark=pipeline.watermark_of(page),
                                        known=_known(ctx, warehouse, page.results))
    else:
        return FormCounts(requests=page.requests)
    counts.requests += page.requests
    return counts


def _started(process_class, settings: Settings, ctx: pipeline.FormContext):
    """A started pull process, or None where one cannot start (a daemonic process such as a
    Dask worker may not have children; no /dev/shm for its queues): the pull goes on here."""
    try:
        helper = process_class(settings, ctx)
        helper.start()
    except Exception as exc:  # noqa: BLE001 - the sync does not need it
        log.warning("no pull process (%s: %s); pulling in the sync's process", type(exc).__name__, exc)
        return None
    return helper


def _pull(settings: Settings, ctx: pipeline.FormContext, client, warehouse, run_id: str, after_id: int,
          load, outcome: FormOutcome, on_last: Callable[[int], None] | None = None) -> int:
    """Every page after ``after_id``, loaded in page order; returns the cursor of the last.
    ``on_last`` is called with that cursor as the last page arrives, before it loads.

    When the first page shows enough to come (or, on a form's first pull, the asset's
    submission counter did, before that page was requested), a pull process starts
    (flows/puller.py); the pages keep coming from here until it is ready, then from it. If
    it fails, the pull goes on here from the last page loaded."""
    from flows.puller import Handover, PullFailed, PullProcess, wanted, wanted_first

    read = 0
    mode = settings.suara_pull_process  # "off" once a pull process failed or could not start
    helper = None

    def loaded(page, screened=None) -> None:
        counts = load(ctx, warehouse, run_id, page, screened)
        pipeline.give_back_memory()
        outcome.counts.add(counts)
        if counts.pages:
            progress.emit(ctx.form.form_id, "page", **outcome.counts.record(), pages=outcome.counts.pages)

    try:
        if wanted_first(mode, ctx, after_id):
            helper = _started(PullProcess, settings, ctx)
            if helper is None:
                mode = "off"
        while True:
            # The pull process gets the cursor after the latest fetched page as soon as it is
            # ready (``Handover``), and fetches and screens the next page while the sync loads
            # the pages it has: handed the cursor after a load, it made the sync wait for a
            # whole page's fetch and screening (~0.1 s of a 10,000-submission sync).
            handover = Handover(settings.suara_page_size, helper)
            try:
                for page in pipeline.pages(ctx, client, after_id, settings.suara_page_size,
                                           prefetch=not ctx.form.encrypted, handover=handover):
                    read += 1
                    # Decided as the page arrives, not after it loads: the process's start-up
                    # (~0.3 s of imports on the other core) then overlaps this page's load too.
                    if helper is None and wanted(mode, ctx.form, page, read):
                        helper = _started(PullProcess, settings, ctx)
                        if helper is None:
                            mode = "off"
                        else:
                            handover.attach(helper)
                    if page.next_after_id is None and on_last:
                        on_last(after_id)
                    loaded(page)
                    after_id = page.next_after_id or after_id
            finally:
                handover.end()
            if handover.cursor is None:
                return after_id
            # What pulling and screening here left behind (pandas objects in reference cycles,
            # which the tuned collector reaches late) goes now, before the two processes run
            # side by side: ~25 MB of the sync's at the moment both peak (measured at 100k:
            # 243 → 215 MB beside the pull process's ~155).
            pipeline.give_back_memory(collect=True)
            try:
                for page, screened in helper.results():
                    if page.next_after_id is None and on_last:
                        on_last(after_id)
                    loaded(page, screened)
                    after_id = page.next_after_id or after_id
                return after_id
            except PullFailed as exc:
                log.warning("the pull process stopped (%s); pulling in the sync's process from id %s", exc, after_id)
                helper.stop()
                helper, mode = None, "off"  # and never again for this form's pull
    finally:
        if helper is not None:
            helper.stop()


@task(**_TASK)
def reconcile_form_task(ctx: pipeline.FormContext, client, warehouse, run_id: str,
                        upto: int | None = None) -> tuple[FormCounts, int]:
    """The manifest scan: refetch edited or re-validated submissions, erase deleted ones.

    With ``upto`` (the watermark, when the pull follows) ids above it are left to the pull.
    Returns the counts and the highest id the server listed (0 for none)."""
    counts = FormCounts()
    listing = client.manifest(ctx.asset_uid)
    found = pipeline.changed_ids(listing, warehouse.manifest_index(ctx.form.form_id))
    counts.requests += getattr(listing, "requests", 0)
    if found.deleted:
        warehouse.erase(ctx.form, found.deleted, run_id=run_id, reason="deleted_on_server")
        counts.deleted = len(found.deleted)
    refetch = found.refetch if upto is None else [i for i in found.refetch if i <= upto]
    for chunk in client.fetch_ids(ctx.asset_uid, refetch):
        known = _known(ctx, warehouse, chunk)
        counts.add(pipeline.process_batch(ctx, warehouse, run_id, chunk, watermark=None, known=known))
    return counts, found.highest


@task(**_TASK)
def reread_late(ctx: pipeline.FormContext, client, warehouse, run_id: str, watermark: int,
                ahead: LateAhead | None = None) -> FormCounts:
    """Re-read rows at or below the watermark received within the late window (kobo-api.md §8):
    a slow submission can become visible after a higher ``_id`` was read. Rows the manifest
    already holds unchanged are skipped, so this costs requests, not loads. ``ahead``: the
    same re-read, its first request already sent (``LateAhead``)."""
    counts = FormCounts()
    pages = ahead if ahead is not None and ahead.watermark == watermark else client.iter_late(ctx.asset_uid, watermark)
    for page in pages:
        counts.requests += page.requests
        known = _known(ctx, warehouse, page.results)
        fresh = [r for r in page.results if not (
            isinstance(r, dict) and r.get("_id") in known and known[r["_id"]].uuid == r.get("_uuid"))]
        if fresh:
            counts.add(pipeline.process_batch(ctx, warehouse, run_id, fresh, watermark=None, known=known))
    return counts


class LateAhead:
    """The late re-read of ``watermark``, its first request sent on a thread as soon as the
    last page of the pull arrives: the server answers (~25 ms: it filters the form's rows by
    time) while that page loads, instead of after. Iterating gives ``iter_late``'s pages,
    the first one's error (if any) raised where it is due. The window then ends a page's
    load earlier: a row becoming visible in between is re-read by the next run, as one
    becoming visible just after the request always was."""

    def __init__(self, client, uid: str, watermark: int):
        self.watermark = watermark
        self._pages = client.iter_late(uid, watermark)
        self._first = _on_a_thread("suara-late-ahead", next, self._pages, None)

    def __iter__(self) -> Iterator:
        first = self._first.result()
        if first is not None:
            yield first
            yield from self._pages


@task(**_TASK)
def release_form(ctx: pipeline.FormContext, warehouse, run_id: str):
    """Analytics from the pages' candidate rows, k-anonymity decided over the whole table."""
    return pipeline.release(ctx, warehouse, run_id)


def _release(step, ctx, warehouse, run_id: str, outcome: FormOutcome) -> None:
    try:
        counts = step(ctx, warehouse, run_id)
    except Exception as exc:  # noqa: BLE001 - loaded data stays; the next run releases it
        log.exception("release of %s failed", ctx.form.form_id)
        outcome.status, outcome.error = "failed", outcome.error or f"WH_RELEASE: {type(exc).__name__}"
        return
    if counts is not None:
        outcome.release = counts.as_dict()


@dataclass
class FormOutcome:
    form_id: str
    counts: FormCounts = field(default_factory=FormCounts)
    status: str = "completed"
    error: str | None = None
    seconds: float = 0.0
    validation: list = field(default_factory=list, repr=False)  # per-page counts, for Data Docs
    release: dict | None = None  # warehouse.ReleaseCounts of this run's release step


def run_form(settings: Settings, form: Form, client, warehouse, run_id: str, *,
             reconcile: bool, page_tasks: bool = True, pull_new: bool = True) -> FormOutcome:
    """One form's whole sync (called inside the flows). ``pull_new=False`` runs only the
    manifest scan (``reconcile_form``).

    ``page_tasks=False`` runs the page steps as plain calls: used when the whole form is
    itself one task on a Dask worker (flows/scale.py), where nested task runs would need
    the worker to reach the Prefect API.
    """
    load = load_page if page_tasks else load_page.fn
    reconcile_step = reconcile_form_task if page_tasks else reconcile_form_task.fn
    late_step = reread_late if page_tasks else reread_late.fn
    release_step = release_form if page_tasks else release_form.fn
    pipeline.tune_collector()
    started = time.monotonic()
    outcome = FormOutcome(form.form_id)
    progress.emit(form.form_id, "start")
    warehouse.begin_run(run_id, form.form_id)
    ctx = None
    ahead = None  # the reporting refresh's reading, done beside the release step
    late: LateAhead | None = None  # the late re-read, sent as the pull's last page arrives

    def late_ahead(cursor: int) -> None:
        nonlocal late
        # Not for encrypted forms: their pages fetch media during the load on the same session.
        if not reconcile and cursor and not form.encrypted:
            late = LateAhead(client, ctx.asset_uid, cursor)
    try:
        ctx = pipeline.open_form(settings, client, form)
        cursor = warehouse.watermark(form.form_id) or 0
        listed = None
        if reconcile:
            # The scan first: it also lists new ids, so a sync with nothing new skips the pull
            # and costs the manifest's pages alone. It finds late-visible rows (ids below the
            # watermark it has never seen) too.
            counts, listed = reconcile_step(ctx, client, warehouse, run_id, cursor if pull_new else None)
            outcome.counts.add(counts)
        if pull_new and (listed is None or listed > cursor):
            cursor = _pull(settings, ctx, client, warehouse, run_id, cursor, load, outcome, late_ahead)
            if 0 < outcome.counts.pulled <= READ_AHEAD_MAX:
                ahead = _read_ahead(warehouse, form)
        if not reconcile and cursor:
            outcome.counts.add(late_step(ctx, client, warehouse, run_id, cursor, late))
        outcome.validation = ctx.validation
    except ConfigurationError as exc:
        outcome.status, outcome.error = "config_error", f"{exc.code}: {exc.message}"
    except SuaraError as exc:
        outcome.status, outcome.error = "failed", f"{exc.code}: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - a failed form must not stop the others
        log.exception("form %s failed", form.form_id)
        outcome.status, outcome.error = "failed", f"{type(exc).__name__}"
    if ctx is not None:
        # Also after a failure: the pages that did load are released, never half a page.
        _release(release_step, ctx, warehouse, run_id, outcome)
    _close(warehouse, run_id, form, outcome)
    try:
        # After the run record, so the reporting zone's response counts include this run.
        with pipeline.timed("refresh"):
            warehouse.refresh_reporting(form, ahead=_taken(ahead, form))
    except Exception as exc:  # noqa: BLE001 - loaded data stays; the run says reporting failed
        log.exception("reporting refresh of %s failed", form.form_id)
        outcome.status, outcome.error = "failed", f"WH_REPORTING: {type(exc).__name__}"
        _close(warehouse, run_id, form, outcome)
    outcome.seconds = time.monotonic() - started
    progress.emit(form.form_id, "end", status=outcome.status, **outcome.counts.record())
    return outcome


# Above this many new submissions the refresh reads after the release step, not beside it: the
# two side by side held ~60-90 MB more at a million (419 MB with the pull process, 425 MB in
# one process, against 360 and 338 MB), past the 400 MB a sync of that size must stay under;
# and the reading is a small share of so long a sync. At 100,000 they held 370 MB.
READ_AHEAD_MAX = 100_000


def _read_ahead(warehouse, form: Form) -> Future:
    """The reporting refresh's reading and summing of the new rows (most of it: ~0.1 s of a
    10,000-submission sync), started on a thread as the pull ends: it runs while this thread
    waits on the late re-read's request and on the release step's statements (which leave the
    GIL free), instead of after them. It only reads; the refresh takes what it read for the
    blocks of ids whose rows have not changed since (warehouse/indicator_blocks.py)."""
    return _on_a_thread("suara-read-ahead", warehouse.indicator_sums_ahead, form)


def _on_a_thread(name: str, fn, *args) -> Future:
    """``fn(*args)`` started on a thread of its own; its result or error is the future's."""
    pool = ThreadPoolExecutor(1, thread_name_prefix=name)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _taken(ahead: Future | None, form: Form) -> dict | None:
    """What the read-ahead found, for ``refresh_reporting``; None if it failed (the refresh
    then reads the rows itself)."""
    if ahead is None:
        return None
    try:
        sums = ahead.result()
    except Exception as exc:  # noqa: BLE001 - an optimisation only; the refresh reads for itself
        log.info("reading ahead for the reporting refresh of %s failed (%s); the refresh reads the rows itself",
                 form.form_id, type(exc).__name__)
        return None
    return {form.form_id: sums} if sums is not None else None


def _close(warehouse, run_id: str, form: Form, outcome: FormOutcome) -> None:
    status = "completed" if outcome.status == "completed" else "failed"
    warehouse.finish_run(run_id, form.form_id, outcome.counts.record(), status,
                         error_code=outcome.error.split(":")[0] if outcome.error else None)


def _open(settings: Settings):
    from suara.kobo import KoboClient
    from warehouse import Warehouse

    return KoboClient(settings), Warehouse.from_settings(settings)


def _select(settings: Settings, form_ids: list[str] | None) -> list[Form]:
    forms = load_forms(settings.forms_dir())
    if not form_ids:
        return forms
    by_id = {f.form_id: f for f in forms}
    missing = [f for f in form_ids if f not in by_id]
    if missing:
        raise ConfigurationError(
            f"unknown form id(s): {', '.join(missing)}",
            hint=f"Known forms: {', '.join(sorted(by_id))}.",
        )
    return [by_id[f] for f in form_ids]


@flow
def sync_form(form_id: str, reconcile: bool | None = None) -> dict:
    """Sync one form: pull, validate, anonymise, load; reconcile when due."""
    return sync_all_forms.fn([form_id], reconcile=reconcile)


@flow
def sync_all_forms(form_ids: list[str] | None = None, reconcile: bool | None = None) -> dict:
    """Sync every form (or those named). Returns the run record of design.md."""
    from prefect.runtime import flow_run

    from flows.artifacts import publish_run_artifacts

    settings = load_settings()
    redact.install(settings)
    run_id = str(flow_run.id or pipeline.new_run_id())
    forms = _select(settings, form_ids)
    client, warehouse = _open(settings)
    outcomes = []
    for form in forms:
        due = reconcile if reconcile is not None else warehouse.reconcile_due(form.form_id, settings.suara_reconcile_every)
        outcomes.append(run_form(settings, form, client, warehouse, run_id, reconcile=due))
    record = run_record(run_id, outcomes, client.requests_made)
    publish_run_artifacts(record, outcomes, warehouse, _outputs(settings, outcomes))
    return record


def _outputs(settings: Settings, outcomes: list[FormOutcome]) -> dict[str, str]:
    """Build the run's Data Docs (counts only) and say where they and the report are."""
    links = {}
    results = [r for o in outcomes for r in o.validation]
    if results:
        try:
            from validation.datadocs import build_data_docs

            links["Data Docs (validation)"] = str(build_data_docs(results, settings.suara_data_dir / "datadocs"))
        except Exception as exc:  # noqa: BLE001 - docs must never fail a sync that loaded data
            log.warning("could not build Data Docs (%s)", type(exc).__name__)
    report = settings.suara_data_dir / "report" / "index.html"
    links["Indicator report"] = f"{report}" if report.exists() else "run `suara report`"
    return links


def run_record(run_id: str, outcomes: list[FormOutcome], requests: int) -> dict:
    return {
        "run_id": run_id,
        "forms": {o.form_id: o.counts.record() for o in outcomes},
        "status": {o.form_id: o.status for o in outcomes},
        "errors": {o.form_id: o.error for o in outcomes if o.error},
        "requests": requests,
    }


@flow
def reconcile_form(form_id: str) -> dict:
    """Only the manifest scan for one form: edits, validation changes and deletions."""
    settings = load_settings()
    redact.install(settings)
    (form,) = _select(settings, [form_id])
    client, warehouse = _open(settings)
    run_id = pipeline.new_run_id()
    outcome = run_form(settings, form, client, warehouse, run_id, reconcile=True, pull_new=False)
    return run_record(run_id, [outcome], client.requests_made)
