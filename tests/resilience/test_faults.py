"""Faults: with 20 % of requests failing (429, 5xx, truncated bodies, slow answers) the sync
must end with exactly the warehouse a clean run builds, and say every form completed."""

from __future__ import annotations

from collections import Counter

import pytest

from suara.sandbox import FAULT_KINDS
from tests.resilience.harness import configure, scale, state, sync_here

pytestmark = [pytest.mark.resilience, pytest.mark.e2e, pytest.mark.timeout(scale().timeout)]

KEYS = {"SUARA_PSEUDONYM_KEY": "resilience-faults-pseudonym-key-0123456789",
        "SUARA_RESTRICTED_KEY": "resilience-faults-restricted-key-0123456789"}


def test_faults__a_fifth_of_requests_fail__same_warehouse_as_a_clean_run(prefect_backend, monkeypatch, tmp_path,
                                                                        sandbox, forms_dir):
    """Should retry through every fault kind and load exactly what a clean run loads."""
    clean = configure(monkeypatch, sandbox, tmp_path / "clean", forms_dir, KEYS)
    sync_here()
    expected = state(clean)

    faulty = configure(monkeypatch, sandbox, tmp_path / "faulty", forms_dir, KEYS)
    sandbox.requests.clear()
    sandbox.faults(rate=0.2, seed=7, retry_after=0, slow_seconds=0.2)
    try:
        record = sync_here()
    finally:
        sandbox.clear_faults()
    assert all(s == "completed" for s in record["status"].values()), record.get("errors")
    fired = Counter(r.fault for r in sandbox.requests if r.fault)
    # The plan really hit the run: about a fifth of requests, with most kinds represented.
    assert sum(fired.values()) >= 0.1 * len(sandbox.requests), (fired, len(sandbox.requests))
    assert len(fired) >= len(FAULT_KINDS) // 2, fired
    assert state(faulty) == expected
