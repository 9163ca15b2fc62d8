"""Scale-out path: forms synced as parallel tasks on a Dask cluster give the same warehouse."""

from __future__ import annotations

import pytest

from tests.e2e.test_sync import _env, _state, _sync

pytestmark = [pytest.mark.e2e]


def test_dask__forms_in_parallel__same_warehouse_as_sequential(prefect_backend, monkeypatch, tmp_path,
                                                             sandbox, forms_dir):
    """Should run each form as a task on a Dask cluster and load exactly what a sequential run loads."""
    from prefect_dask import DaskTaskRunner

    from flows.scale import sync_forms_parallel

    sequential = _env(monkeypatch, sandbox, tmp_path, "sequential", forms_dir)
    _sync()
    expected = _state(sequential)

    parallel = _env(monkeypatch, sandbox, tmp_path, "parallel", forms_dir)
    # Threads keep the test light; a real cluster uses processes or machines (flows/scale.py).
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": False,
                                            "dashboard_address": None})
    record = sync_forms_parallel.with_options(task_runner=runner)(reconcile=True)
    assert all(s == "completed" for s in record["status"].values()), record.get("errors")
    for form_id, c in record["forms"].items():
        assert c["pulled"] == c["loaded"] + c["quarantined"] + c["withheld"], form_id
    assert _state(parallel) == expected
