"""Scale-out: forms synced in parallel as tasks on a Dask cluster (prefect-dask).

A form's pages depend on each other (the cursor, the watermark), so the unit of parallel
work is a form: ``sync_forms_parallel`` submits one task per form to the flow's task runner.
Point it at a cluster with ``SUARA_DASK_ADDRESS=tcp://scheduler:8786`` (every worker needs
this project installed and the same environment: KOBO_*, WAREHOUSE_URL — use PostgreSQL
for several machines — and the keys); without an address a local cluster of processes is
started. On one 2-core machine the plain ``sync_all_forms`` is as fast: Dask pays off with
several forms and several machines.
"""

from __future__ import annotations

import os
from dataclasses import asdict

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import pipeline
from flows.counts import FormCounts
from flows.sync_form import FormOutcome, _open, _select, run_form, run_record
from suara import redact
from suara.settings import load_settings


def dask_task_runner(address: str | None = None):
    """A DaskTaskRunner for ``address`` (or SUARA_DASK_ADDRESS), else a local process cluster."""
    from prefect_dask import DaskTaskRunner

    address = address or os.environ.get("SUARA_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@task(cache_policy=NO_CACHE, persist_result=False)
def sync_form_task(form_id: str, run_id: str, reconcile: bool | None) -> dict:
    """One form's whole sync, where the task runs (a Dask worker): returns its outcome."""
    settings = load_settings()
    redact.install(settings)
    (form,) = _select(settings, [form_id])
    client, warehouse = _open(settings)
    due = reconcile if reconcile is not None else warehouse.reconcile_due(form_id, settings.suara_reconcile_every)
    outcome = run_form(settings, form, client, warehouse, run_id, reconcile=due, page_tasks=False)
    outcome.validation = []  # per-page counts stay on the worker; the result travels light
    return {**asdict(outcome), "requests": client.requests_made}


@flow
def sync_forms_parallel(form_ids: list[str] | None = None, reconcile: bool | None = None) -> dict:
    """Every form (or those named) synced concurrently on the flow's task runner."""
    settings = load_settings()
    run_id = pipeline.new_run_id()
    forms = _select(settings, form_ids)
    futures = [sync_form_task.submit(f.form_id, run_id, reconcile) for f in forms]
    results = [f.result() for f in futures]
    outcomes = []
    for r in results:
        counts = FormCounts(**r.pop("counts")) if isinstance(r.get("counts"), dict) else r.pop("counts")
        requests = r.pop("requests")
        outcomes.append((FormOutcome(**{**r, "counts": counts}), requests))
    return run_record(run_id, [o for o, _ in outcomes], sum(n for _, n in outcomes))


def parallel_flow(address: str | None = None):
    """``sync_forms_parallel`` bound to a Dask task runner."""
    return sync_forms_parallel.with_options(task_runner=dask_task_runner(address))
