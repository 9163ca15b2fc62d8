"""Fuzz: 10,000 malformed submissions (wrong types, missing and unknown keys, huge strings,
control characters, SQL and formula injection, wrong form version, broken envelopes) must not
crash the sync; each one ends loaded, quarantined or withheld, counted, and in the manifest
in exactly one state; the injection strings change no table."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.resilience.fuzz import KINDS, malformed
from tests.resilience.harness import configure, scale, sync_here

pytestmark = [pytest.mark.resilience, pytest.mark.e2e, pytest.mark.timeout(scale().timeout)]

KEYS = {"SUARA_PSEUDONYM_KEY": "resilience-fuzz-pseudonym-key-0123456789",
        "SUARA_RESTRICTED_KEY": "resilience-fuzz-restricted-key-0123456789"}
FORM = "ilo_rights_baseline"


def test_fuzz__malformed_submissions__each_loaded_quarantined_or_withheld(prefect_backend, monkeypatch, tmp_path,
                                                                          sandbox, forms, forms_dir):
    """Should finish the sync with every malformed submission accounted for exactly once."""
    wh = configure(monkeypatch, sandbox, tmp_path / "fuzz", forms_dir, KEYS)
    monkeypatch.setenv("SUARA_PAGE_SIZE", "1000")  # the real page cap: 10,000 rows in 11 pages
    form = next(f for f in forms if f.form_id == FORM)
    broken = malformed(form, scale().fuzz)
    assert Counter(kind for kind, _ in broken).keys() == set(KINDS)
    kind_of = dict(zip(sandbox.add(FORM, [sub for _, sub in broken]), (k for k, _ in broken), strict=True))
    tables_before = set(wh.table_counts())

    record = sync_here(reconcile=False)  # the pull alone: each submission read exactly once
    assert all(s == "completed" for s in record["status"].values()), record.get("errors")
    c = record["forms"][FORM]
    on_server = set(sandbox.ids(FORM))
    assert c["pulled"] == len(on_server) == scale().submissions + scale().fuzz
    assert c["quarantined"] > 0 and c["loaded"] > 0, c

    manifest = [r for r in wh.dump("restricted")["manifest"] if r["form_id"] == FORM]
    assert sorted(r["_id"] for r in manifest) == sorted(on_server)  # each id once
    states = Counter(r["state"] for r in manifest)
    assert states == Counter({"loaded": c["loaded"], "quarantined": c["quarantined"],
                              "withheld": c["withheld"]}) - Counter(), (states, c)
    held = {e._id for e in wh.quarantine_list(FORM)}
    assert held == {r["_id"] for r in manifest if r["state"] == "quarantined"}
    # Loaded rows are in the secure dataset; analytics holds those consenting to share.
    loaded = {r["_id"] for r in manifest if r["state"] == "loaded"}
    restricted_ids = {r["_id"] for r in wh.dump("restricted")[FORM]}
    assert restricted_ids == loaded, Counter(kind_of.get(i, "seeded") for i in loaded ^ restricted_ids)
    assert {r["_id"] for r in wh.dump("analytics")[FORM]} <= loaded
    # No injected statement ran: every table is still there (the sync adds only reporting's).
    after = set(wh.table_counts())
    assert tables_before <= after and all(t.startswith("reporting.") for t in after - tables_before), after

    # The manifest scan afterwards finds nothing to refetch or erase: the warehouse holds what
    # the server holds, malformed or not.
    again = sync_here(reconcile=True)
    assert all(v["pulled"] == 0 and v["deleted"] == 0 for v in again["forms"].values()), again["forms"]
