"""``Warehouse``: the one object the flows, the CLI and the tests talk to.

Each public method is one transaction. ``apply_batch`` in particular writes rows, deletions,
quarantine, manifest, watermark and audit together or not at all.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet

from suara.errors import WarehouseError
from suara.forms.model import Form
from warehouse import ops, runs, snapshot
from warehouse import quarantine as qmod
from warehouse.derive import FormSchema, PolicyFor, derive_form
from warehouse.fastload import ID_CHUNK, max_ids
from warehouse.load import LoadBatch, LoadCounts, ManifestEntry, apply_batch
from warehouse.manifest import ManifestIndex, read_index
from warehouse.migrate import current_revision, ensure_schemas, head_revision, upgrade_fixed
from warehouse.plan import SchemaPlan, apply_form_steps, form_steps, registry
from warehouse.release import Decision, ReleaseCounts
from warehouse.release import pending as release_pending
from warehouse.release import release as release_rows
from warehouse.roles import grant_roles
from warehouse.runs import RunRecord
from warehouse.session import ANALYTICS, create_engine, is_sqlite, require_existing, writer
from warehouse.tables import build_tables, load_shapes

log = logging.getLogger(__name__)

ANALYZE_EVERY_ROWS = 10_000
FormVersions = Mapping[str, Mapping[str, Form]]  # form_id → {version: Form}


def utcnow() -> dt.datetime:
    """Naive UTC: every timestamp column of the warehouse holds UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _registry_rows(conn: sa.Connection, form_id: str) -> list[tuple]:
    """Every registry field ``load_shapes`` reads for a form, in its order, as plain tuples."""
    mark = "?" if is_sqlite(conn) else "%s"
    reg = ops.derived_columns
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute("SELECT zone, table_name, position, column_name, kind, choice, parent_table, form_id "
                    f"FROM {reg.schema}.{reg.name} WHERE form_id = {mark} "
                    "ORDER BY zone, table_name, position, column_name", (form_id,))
        return [tuple(r) for r in cur.fetchall()]
    finally:
        cur.close()


def _indicators():
    """warehouse.indicators, or None where it is not installed (an error inside it is raised)."""
    try:
        import warehouse.indicators as indicators
    except ImportError as exc:
        if exc.name != "warehouse.indicators":
            raise
        return None
    return indicators


class Warehouse:
    """The three-zone warehouse at ``url`` (see warehouse/session.py for the layout)."""

    def __init__(self, url: str, *, restricted_key: str | Callable[[], str] | None = None,
                 policy_for: PolicyFor | None = None):
        self.url = url
        self.engine = create_engine(url)
        self._key = restricted_key
        self._fernet: Fernet | None = None
        self._policy_for = policy_for
        self._tables: dict[str, tuple[list, dict, dict]] = {}  # form_id → (registry rows, shapes, sa.Tables)
        self._unanalysed: dict[str, int] = {}  # form_id → submissions written since the last ANALYZE

    @classmethod
    def from_settings(cls, settings, *, policy_for: PolicyFor | None = None, existing: bool = False) -> Warehouse:
        """The warehouse at WAREHOUSE_URL; ``existing`` (commands that only read) refuses a
        SQLite path with no warehouse rather than creating empty files there."""
        if existing:
            require_existing(settings.warehouse_url)
        # The key is read only when a payload is encrypted or decrypted, so commands that
        # never touch quarantine work without SUARA_RESTRICTED_KEY.
        return cls(settings.warehouse_url, restricted_key=lambda: settings.secret("suara_restricted_key"),
                   policy_for=policy_for)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            key = self._key() if callable(self._key) else self._key
            if not key:
                raise WarehouseError("No SUARA_RESTRICTED_KEY was given to the warehouse.", code="WH_034",
                                     hint="Set SUARA_RESTRICTED_KEY (a long random secret kept outside the warehouse).")
            self._fernet = qmod.fernet_for(key)
        return self._fernet

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction (BEGIN IMMEDIATE on SQLite): commits on success only."""
        with writer(self.engine.connect()) as conn, conn.begin():
            yield conn

    # -- schema -----------------------------------------------------------------------------

    def derive(self, form_versions_by_form: FormVersions) -> list[FormSchema]:
        return [derive_form(versions, self._policy_for) for _, versions in sorted(form_versions_by_form.items())]

    def _plan(self, conn: sa.Connection, schemas: list[FormSchema]) -> SchemaPlan:
        return SchemaPlan(
            fixed_from=current_revision(conn), fixed_to=head_revision(),
            steps=form_steps(registry(conn), schemas),
            dictionaries=[(s.form_id, v) for s in schemas for v in s.by_version],
            roles=not is_sqlite(conn),
        )

    def plan(self, form_versions_by_form: FormVersions) -> SchemaPlan:
        """What ``upgrade`` would do; changes nothing (raises SchemaEvolutionError as upgrade would)."""
        schemas = self.derive(form_versions_by_form)
        with self.engine.connect() as conn:
            return self._plan(conn, schemas)

    def upgrade(self, form_versions_by_form: FormVersions) -> SchemaPlan:
        """Fixed tables to head, form-derived tables and catalogues, roles (PostgreSQL): one transaction."""
        schemas = self.derive(form_versions_by_form)
        with self._write() as conn:
            ensure_schemas(conn)
            plan = self._plan(conn, schemas)
            upgrade_fixed(conn)
            apply_form_steps(conn, plan.steps, schemas)
            if plan.roles:
                grant_roles(conn)
        return plan

    def refresh_reporting(self, forms: Form | Sequence[Form], ahead: Mapping[str, Any] | None = None) -> bool:
        """Recompute the reporting zone's indicator tables of ``forms`` (warehouse/indicators.py);
        ``ahead``: form_id → what ``indicator_sums_ahead`` returned, used where still true."""
        indicators = _indicators()
        if indicators is None:
            log.warning("warehouse.indicators is not installed; reporting tables were not refreshed")
            return False
        with self._write() as conn:
            for form in [forms] if isinstance(forms, Form) else forms:
                indicators.refresh(conn, form, ahead=(ahead or {}).get(form.form_id))
        return True

    def indicator_sums_ahead(self, form: Form):
        """The indicator sums the next ``refresh_reporting`` of ``form`` would read, read now
        in one read-only snapshot (``indicator_blocks.SumsAhead``; None before the form has a
        table or without warehouse.indicators). Meant to run on a thread beside the release
        step: the refresh then reads only blocks whose rows changed since."""
        indicators = _indicators()
        if indicators is None:
            return None
        with self.engine.connect() as conn:
            if not is_sqlite(conn):  # one snapshot for the block states and the rows
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                return indicators.sums_ahead(conn, form)

    # -- loading ----------------------------------------------------------------------------

    def watermark(self, form_id: str) -> int | None:
        w = ops.watermarks
        with self.engine.connect() as conn:
            return conn.execute(sa.select(w.c.last_id).where(w.c.form_id == form_id)).scalar_one_or_none()

    def manifest(self, form_id: str, ids: Sequence[int] | None = None) -> dict[int, ManifestEntry]:
        """The manifest of a form (or of the given ids only), by _id."""
        m = ops.manifest
        with self.engine.connect() as conn:
            q = sa.select(m).where(m.c.form_id == form_id).order_by(m.c._id)
            rows = []
            if ids is None:
                rows = list(conn.execute(q))
            else:
                wanted = sorted({int(i) for i in ids if isinstance(i, int)})
                # A page of new submissions (every page of a first sync) lies above the
                # manifest's highest id: one step down its key index answers for the whole
                # page, where the IN list cost ~11 ms a page to build and run.
                top = max_ids(conn, [(m, {"form_id": form_id})])[0] if wanted else None
                wanted = [] if top is None else wanted[:bisect.bisect_right(wanted, top)]
                for i in range(0, len(wanted), ID_CHUNK):
                    rows += conn.execute(q.where(m.c._id.in_(wanted[i:i + ID_CHUNK]))).all()
            return {r._id: ManifestEntry(r._id, r._uuid, r.state, r.form_version, r.validation_status) for r in rows}

    def manifest_index(self, form_id: str) -> ManifestIndex:
        """The whole manifest of a form as sorted ids and digests (warehouse/manifest.py):
        what the reconcile scan compares, 16 bytes per submission."""
        with self.engine.connect() as conn:
            return read_index(conn, form_id)

    def apply_batch(self, form: Form | str, batch: LoadBatch) -> LoadCounts:
        form_id = form if isinstance(form, str) else form.form_id
        with self._write() as conn:
            shapes, tables = self._form_tables(conn, form_id)
            counts = apply_batch(conn, form_id, shapes, tables, batch, self._cipher, utcnow())
        self._refresh_statistics(form_id, counts.pulled, tables.values())
        return counts

    def _form_tables(self, conn: sa.Connection, form_id: str) -> tuple[dict, dict]:
        # The registry is the truth, but rebuilding the shapes from it cost ~10 ms per page:
        # its raw rows (one driver-level query) say whether the cached ones still hold.
        rows = _registry_rows(conn, form_id)
        cached = self._tables.get(form_id)
        if cached is None or cached[0] != rows:
            shapes = load_shapes(conn, form_id)
            if not shapes:
                raise WarehouseError(f"The warehouse has no tables for form {form_id}.", code="WH_021",
                                     hint="Run `suara warehouse upgrade` first.")
            cached = self._tables[form_id] = (rows, shapes, build_tables(list(shapes.values())))
        return cached[1], cached[2]

    def release(self, form: Form | str, columns: Mapping[str, Sequence[str]], decide: Decision, *,
                run_id: str, force: bool = False) -> ReleaseCounts | None:
        """Write analytics from the candidate tables as ``decide`` rules over the whole table
        (warehouse/release.py), when anything changed since the last release (or ``force``).
        Returns None when there was nothing to do."""
        form_id = form if isinstance(form, str) else form.form_id
        with self._write() as conn:
            if not force and not release_pending(conn, form_id):
                return None
            shapes, tables = self._form_tables(conn, form_id)
            return release_rows(conn, form_id, shapes, tables, columns, decide, run_id, utcnow())

    def _refresh_statistics(self, form_id: str, written: int, tables) -> None:
        """ANALYZE a fast-growing form on PostgreSQL. Autovacuum refreshes planner statistics
        about once a minute; during an initial load the stale ones make the planner scan a
        form's whole manifest for every page (measured: 0.4 s per 1,000-row page at 30k rows)."""
        if is_sqlite(self.engine):
            return
        self._unanalysed[form_id] = self._unanalysed.get(form_id, 0) + written
        if self._unanalysed[form_id] < ANALYZE_EVERY_ROWS:
            return
        self._unanalysed[form_id] = 0
        # Key columns only: row counts and key statistics are what the id lookups need, and a
        # full ANALYZE of a 200-column table costs seconds.
        with self.engine.begin() as conn:
            for t in (ops.manifest, *tables):
                keys = ", ".join(f'"{c.name}"' for c in t.primary_key.columns)
                conn.exec_driver_sql(f'ANALYZE "{t.schema}"."{t.name}" ({keys})')

    def erase(self, form: Form | str, ids: Sequence[int], *, run_id: str, reason: str) -> LoadCounts:
        """Remove submissions from every zone, quarantine and manifest (e.g. deleted on the
        server), in one transaction; the privacy audit records the reason and how many, not ids."""
        audit = {"event": "erase", "reason": reason, "requested": len(ids)}
        return self.apply_batch(form, LoadBatch(run_id=run_id, erase=list(ids), audit=audit))

    # -- run records ------------------------------------------------------------------------

    def begin_run(self, run_id: str, form_ids: str | Sequence[str]) -> None:
        with self._write() as conn:
            runs.begin(conn, run_id, [form_ids] if isinstance(form_ids, str) else list(form_ids), utcnow())

    def finish_run(self, run_id: str, form_id: str, counts: LoadCounts | Mapping[str, int], status: str,
                   error_code: str | None = None) -> None:
        """Close a form's run record: status ``completed`` or ``failed`` and its counts."""
        with self._write() as conn:
            runs.finish(conn, run_id, form_id, counts, status, error_code, utcnow())

    def run_records(self, run_id: str | None = None) -> list[RunRecord]:
        with self.engine.connect() as conn:
            return runs.records(conn, run_id)

    def reconcile_due(self, form_id: str, every: int) -> bool:
        """Whether this sync should run the manifest scan (every N-th run; SUARA_RECONCILE_EVERY)."""
        with self.engine.connect() as conn:
            return runs.reconcile_due(conn, form_id, every)

    def privacy_audit_summary(self, form_id: str, run_id: str | None = None) -> dict:
        with self.engine.connect() as conn:
            return runs.audit_summary(conn, form_id, run_id)

    # -- quarantine -------------------------------------------------------------------------

    def quarantine_list(self, form_id: str | None = None, status: str | None = "held") -> list[qmod.QuarantineEntry]:
        with self.engine.connect() as conn:
            return qmod.list_entries(conn, form_id, status)

    def quarantine_get(self, form_id: str, _id: int) -> qmod.QuarantineEntry:
        with self.engine.connect() as conn:
            return qmod.get_entry(conn, form_id, _id, self._cipher)

    def quarantine_mark(self, form_id: str, ids: Sequence[int], action: str, actor: str,
                        note: str | None = None) -> int:
        with self._write() as conn:
            return qmod.mark(conn, form_id, ids, action, actor, note, utcnow())

    def quarantine_reason_counts(self, form_id: str, run_id: str | None = None) -> dict[str, int]:
        with self.engine.connect() as conn:
            return qmod.reason_counts(conn, form_id, run_id)

    # -- inspection -------------------------------------------------------------------------

    def export_analytics(self, path: str | Path) -> Path:
        """A self-contained copy of the analytics zone (SQLite), safe to hand to an analyst:
        one file, no WAL beside it, nothing from the other zones."""
        if not is_sqlite(self.engine):
            raise WarehouseError("export_analytics copies the SQLite analytics file.", code="WH_060",
                                 hint="On PostgreSQL, grant the analyst the suara_analyst role instead.")
        target = Path(path)
        if target.exists():
            raise WarehouseError(f"{target} already exists; nothing was written.", code="WH_061",
                                 hint="Choose a new file name.")
        with self.engine.connect() as conn, sqlite3.connect(target) as out:
            conn.connection.driver_connection.backup(out, name=ANALYTICS)
            out.execute("PRAGMA journal_mode=DELETE")
        return target

    def table_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return snapshot.table_counts(conn)

    def dump(self, zone: str) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return snapshot.dump(conn, zone)

