"""The warehouse: three zones (restricted, analytics, reporting) on SQLite or PostgreSQL.

Public API (see warehouse/README.md):

* ``Warehouse(url)`` / ``Warehouse.from_settings(settings)``
* ``.plan(form_versions_by_form) -> SchemaPlan`` / ``.upgrade(...) -> SchemaPlan``
* ``.watermark(form_id)``, ``.manifest(form_id, ids=None)``, ``.manifest_index(form_id)``
  (sorted ids and digests for the reconcile scan; ``warehouse.manifest.digest``)
* ``.begin_run(run_id, form_ids)``, ``.apply_batch(form, LoadBatch) -> LoadCounts``,
  ``.finish_run(run_id, form_id, counts, status, error_code=None)``, ``.run_records(run_id)``
* ``.quarantine_list(...)``, ``.quarantine_get(form_id, _id)``, ``.quarantine_mark(...)``
* ``.erase(form, ids, run_id=, reason=)``, ``.reconcile_due(form_id, every)``
* ``.quarantine_reason_counts(form_id, run_id)``, ``.privacy_audit_summary(form_id, run_id)``
* ``.release(form, columns, decide, run_id=)``: analytics from the candidate tables, decided
  over the whole table (warehouse/release.py) -> ReleaseCounts | None
* ``.refresh_reporting(form_or_forms)`` (indicator tables, warehouse/indicators.py)
* ``.table_counts()``, ``.dump(zone)`` for exact comparisons; ``.export_analytics(path)`` (SQLite)
"""

from warehouse.facade import Warehouse
from warehouse.load import LoadBatch, LoadCounts, ManifestEntry
from warehouse.manifest import ManifestIndex, digest
from warehouse.plan import PlanStep, SchemaPlan
from warehouse.quarantine import QuarantineEntry, QuarantineItem
from warehouse.release import ReleaseCounts
from warehouse.runs import RunRecord
from warehouse.session import ANALYTICS, REPORTING, RESTRICTED, ZONES, zone_files

__all__ = [
    "ANALYTICS", "REPORTING", "RESTRICTED", "ZONES", "LoadBatch", "LoadCounts", "ManifestEntry",
    "ManifestIndex", "digest",
    "PlanStep", "QuarantineEntry", "QuarantineItem", "ReleaseCounts", "RunRecord", "SchemaPlan", "Warehouse", "zone_files",
]
