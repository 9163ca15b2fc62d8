"""Run a suite through Great Expectations 1.x itself (ephemeral context, no progress bars).

Used by ``validate_batch(..., engine="gx")`` and by the tests that hold the fast engine to
GX's answers. GX's full results hold the unexpected *values*; only the row positions leave
this module (``unexpected_index_list`` over a ``_row`` column), so no answer reaches a
result, log or artifact from here. A result whose ``exception_info`` records a raised
exception fails the batch (stack.md P11: GX hides such failures instead of listing rows).
"""

from __future__ import annotations

import logging
import os
import uuid

import numpy as np
import pandas as pd

from suara.errors import ValidationSetupError
from validation.checks import as_gx_column

_CONTEXT = None


def context():
    """One ephemeral GX context per process, with tqdm bars off (stack.md P14)."""
    global _CONTEXT
    if _CONTEXT is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx

        for name in ("great_expectations", "great_expectations.core"):
            logging.getLogger(name).setLevel(logging.ERROR)
        _CONTEXT = gx.get_context(mode="ephemeral")
        _CONTEXT.variables.progress_bars = {"globally": False}
    return _CONTEXT


def gx_suite(specs: list[dict], name: str):
    """A ``gx.ExpectationSuite`` from configurations (``validation.suites``)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context()  # GX needs an active context to build suites
    suite = gx.ExpectationSuite(name=name)
    for pos, spec in enumerate(specs):
        config = ExpectationConfiguration(type=spec["type"], kwargs=dict(spec["kwargs"]),
                                          meta={**spec["meta"], "pos": pos})
        suite.add_expectation(config.to_domain_obj())
    return suite


def form_gx_suites(form) -> dict:
    """``{table: gx.ExpectationSuite}`` for one form version, named ``<table>@<version>``."""
    from validation.suites import form_suites

    return {table: gx_suite(specs, f"{table}@{form.version}") for table, specs in form_suites(form).items()}


def _frame_for_gx(specs: list[dict], frame: pd.DataFrame) -> pd.DataFrame:
    columns = {s["kwargs"]["column"] for s in specs if s["kwargs"]["column"] in frame.columns}
    data = {}
    for name in sorted(columns):
        col = frame[name]
        data[name] = as_gx_column(col.to_numpy()) if col.dtype == np.int8 else col.to_numpy()
    data["_row"] = np.arange(len(frame))
    return pd.DataFrame(data)


def failing_masks(specs: list[dict], frame: pd.DataFrame) -> list[np.ndarray]:
    """For each expectation, the rows of ``frame`` GX reports as unexpected."""
    n = len(frame)
    masks = [np.zeros(n, dtype=bool) for _ in specs]
    runnable = [i for i, s in enumerate(specs) if s["kwargs"]["column"] in frame.columns]
    if not runnable or n == 0:
        return masks
    ctx = context()
    token = uuid.uuid4().hex[:12]
    batch_def = (ctx.data_sources.add_pandas(f"suara_{token}")
                 .add_dataframe_asset("rows").add_batch_definition_whole_dataframe("whole"))
    suite = gx_suite([specs[i] for i in runnable], f"suite_{token}")
    batch = batch_def.get_batch(batch_parameters={"dataframe": _frame_for_gx(specs, frame)})
    result = batch.validate(suite, result_format={
        "result_format": "COMPLETE", "unexpected_index_column_names": ["_row"],
        "partial_unexpected_count": 0,
    })
    for r in result.results:
        spec = specs[runnable[int(r.expectation_config.meta["pos"])]]
        raised = [v for v in (r.exception_info or {}).values()
                  if isinstance(v, dict) and v.get("raised_exception")]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raised.append(r.exception_info)
        if raised:
            meta = spec["meta"]
            raise ValidationSetupError(
                f"Great Expectations could not evaluate '{meta['expectation']}' on "
                f"{meta['table']}.{meta['field']} ({spec['type']}).",
                hint="The column's type does not suit the expectation; check suara.cast kinds.",
            )
        for item in (r.result or {}).get("unexpected_index_list") or []:
            masks[runnable[int(r.expectation_config.meta["pos"])]][int(item["_row"])] = True
    ctx.data_sources.delete(f"suara_{token}")
    return masks
