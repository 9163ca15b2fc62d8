"""The sync's steps as plain functions (no Prefect here), so tests can call them directly.

`flows/sync_form.py` wraps them in tasks; each call handles one page or batch, never one
submission (stack.md P5). The order per batch follows design.md:

    decrypt → normalise → validate → anonymise → load (rows + manifest + watermark, one transaction)

and after the pages, ``release``: k-anonymity over the whole table, analytics written from the
candidate rows the pages loaded.
"""

from __future__ import annotations

import gc
import itertools
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from suara.forms import Form, load_form_versions
from suara.normalise import normalise

if TYPE_CHECKING:  # at run time imported where built: the pull process never needs the
    # warehouse, nor pydantic (the settings' ~80 ms of its start-up)
    from flows.counts import FormCounts
    from suara.settings import Settings

log = logging.getLogger(__name__)

# Seconds spent in each stage of process_batch since the process started (or since the caller
# cleared it): the benchmark reads this for its stage shares. Two clock reads per stage per
# batch, so it costs nothing worth measuring.
STAGE_SECONDS: defaultdict[str, float] = defaultdict(float)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS[stage] += time.perf_counter() - start


@dataclass
class FormContext:
    """Everything a form's sync needs, resolved once before any data moves."""

    form: Form
    versions: dict[str, Form]
    asset_uid: str
    asset_how: str
    version_map: dict[str, str] | None  # None until a page needs it (see ``versions_of``)
    privacy_keys: object
    private_key: object | None = None
    download: object = None  # client.download, for encrypted submissions' files
    # The validation counts of the form's pages added up (no rows, no values), for Data Docs.
    validation: list = field(default_factory=list)
    fetch_version_map: object = None  # client.version_map bound to the asset
    server_count: int | None = None  # the asset's submission counter, as looked up (a hint)


_COLLECTOR_TUNED = False
_LIBC: object = None


def give_back_memory(collect: bool = False) -> None:
    """Hand the heap's free pages back to the system after a page. glibc keeps freed memory
    for reuse, so without this a process's RSS stays at its largest page's high-water mark
    plus fragmentation (~10 MB of the sync's, ~20 MB of the pull process's at 50,000
    submissions; a few ms per page). With ``collect``, unreachable reference cycles are freed
    first (a full collection: once per sync, not per page). Trimming does nothing where there
    is no glibc."""
    global _LIBC
    if collect:
        gc.collect()
    if _LIBC is None:
        import ctypes

        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - glibc has it; musl and others do not
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def tune_collector() -> None:
    """Once per process, before the first sync moves data: freeze what is alive (modules,
    forms, settings, caches — it lives as long as the process) so full collections stop
    scanning it, and collect the youngest generation every 5,000 allocations instead of 700.
    A page allocates hundreds of thousands of short-lived containers; with the defaults the
    collector took ~11 % of a 10,000-submission sync (0.16 s of 1.4 s, measured with
    gc.callbacks), with this ~2 %. Nothing here creates reference cycles worth collecting
    sooner."""
    global _COLLECTOR_TUNED
    if _COLLECTOR_TUNED:
        return
    _COLLECTOR_TUNED = True
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:  # 0: collection is off; leave it so
        gc.set_threshold(max(young, 5000), middle, old)


def versions_of(ctx: FormContext) -> dict[str, str]:
    """The asset's version map, fetched when the first page with submissions needs it: a sync
    that finds nothing new costs no requests for it."""
    if ctx.version_map is None:
        ctx.version_map = ctx.fetch_version_map() if ctx.fetch_version_map else {}
    return ctx.version_map


def release(ctx: FormContext, warehouse, run_id: str, *, force: bool = False):
    """Analytics from the candidate tables, k-anonymity decided over the whole table
    (warehouse/release.py); None when nothing changed since the last release."""
    from suara.privacy import ReleaseDecision
    from warehouse.naming import sql_name

    decision = ReleaseDecision(ctx.form, getattr(ctx.privacy_keys, "version", ""), sql_name)
    with timed("release"):
        return warehouse.release(ctx.form, decision.columns, decision, run_id=run_id, force=force)


def new_run_id() -> str:
    return uuid.uuid4().hex


def open_form(settings: Settings, client, form: Form) -> FormContext:
    """Resolve the asset, versions and keys for one form; configuration errors surface here,
    before any data moves (a missing private key for an encrypted form, a missing pseudonym key)."""
    from suara.privacy import PrivacyKeys

    versions = load_form_versions(form.form_id, settings.forms_dir())
    if form.version not in versions:
        versions[form.version] = form
    keys = PrivacyKeys.from_settings(settings)
    private_key = None
    if form.encrypted:
        from suara.crypto.keys import load_private_key_for

        private_key = load_private_key_for(form, settings)
    uid, how = client.find_asset(form)
    return FormContext(form, versions, uid, how, None, keys, private_key, client.download,
                       fetch_version_map=lambda: client.version_map(uid),
                       server_count=client.submission_count(uid))


def process_batch(ctx: FormContext, warehouse, run_id: str, records: list, *, watermark: int | None,
                  known: dict | None = None) -> FormCounts:
    """Carry one page of submissions through every stage and load it in one transaction.

    ``watermark`` is the new high-water mark this page covers (None for refetches); ``known``
    is the manifest as it stood, to count updates.
    """
    return load_prepared(ctx, warehouse, prepare_batch(ctx, run_id, records, watermark=watermark, known=known))


@dataclass
class Prepared:
    """A page after decrypt → normalise → validate → anonymise: what ``load_prepared`` writes."""

    batch: object      # warehouse.LoadBatch
    counts: FormCounts
    validation: object = None    # the page's validation counts (a ValidationResult without rows)


def prepare_batch(ctx: FormContext, run_id: str, records: list, *, watermark: int | None,
                  known: dict | None = None) -> Prepared:
    """Every stage of a page but the load: CPU only, no warehouse access."""
    return finish_batch(ctx, run_id, screen_batch(ctx, records, watermark=watermark), known=known)


@dataclass
class Screened:
    """A page after decrypt → normalise → validate: the valid rows and what the load needs
    from the raw page (the pull process sends this, not the page, flows/puller.py)."""

    valid: dict                  # table → typed frame of the valid submissions
    validation: object           # the page's validation counts (a ValidationResult without rows)
    quarantine: list             # (id, uuid, version, reasons, payload); QuarantineItem if decrypted
    ids: list                    # every submission id of the page, in order
    uuids: dict
    unknown_keys: dict
    validation_status: dict
    form_versions: dict
    raw_ids: set                 # ids whose raw record normalise kept
    watermark: int | None
    seconds: dict | None = None  # stage seconds, when the pull process screened it


def screen_batch(ctx: FormContext, records: list, *, watermark: int | None) -> Screened:
    """Decrypt, normalise and validate a page. Imports nothing of the warehouse (the pull
    process runs this: sqlalchemy and alembic would cost it ~0.5 s to start and ~25 MB);
    quarantine entries are the tuples the loader also takes."""
    from validation import validate_batch

    quarantine: list = []
    if ctx.form.encrypted:
        with timed("decrypt"):
            records, failed = _decrypt(ctx, records)
        quarantine.extend(failed)
    with timed("normalise"):
        norm = normalise(ctx.versions, ctx.form, records, version_map=versions_of(ctx))
    with timed("validate"):
        result = validate_batch(ctx.versions, norm)
    for q in result.quarantined:
        quarantine.append((q._id, q._uuid, q.form_version, list(q.reasons), norm.raw.get(q._id)))
    return Screened(result.valid, result.without_rows(), quarantine, list(norm.ids), norm.uuids,
                    norm.unknown_keys, _validation_status(norm), _form_versions(norm), set(norm.raw), watermark)


def finish_batch(ctx: FormContext, run_id: str, screened: Screened, *, known: dict | None = None) -> Prepared:
    """Anonymise a screened page into what ``load_prepared`` writes."""
    from flows.counts import FormCounts
    from suara.privacy import anonymise
    from warehouse import LoadBatch, QuarantineItem

    for stage, seconds in (screened.seconds or {}).items():
        STAGE_SECONDS[stage] += seconds
    s = screened
    quarantine = [QuarantineItem(*q) if isinstance(q, tuple) else q for q in s.quarantine]
    known = known or {}
    with timed("anonymise"):
        # k-anonymity is decided after the pages, over the whole table (``release``).
        release = anonymise(ctx.form, s.valid, ctx.privacy_keys, unknown_keys=s.unknown_keys, disclosure=False)
    quarantined_ids = {q._id for q in quarantine}
    withheld = set(release.withheld) - quarantined_ids
    pulled_ids = list(s.ids) + [q._id for q in quarantine if q._id not in s.raw_ids]
    loaded_ids = [i for i in s.ids if i not in quarantined_ids and i not in withheld]
    batch = LoadBatch(
        run_id=run_id,
        analytics=release.analytics,
        restricted=release.restricted,
        loaded={i: s.uuids.get(i) for i in loaded_ids},
        withheld={i: s.uuids.get(i) for i in withheld},
        quarantine=quarantine,
        erase=set(release.erase) | withheld | quarantined_ids,
        validation_status=s.validation_status,
        form_versions=s.form_versions,
        watermark=s.watermark,
        audit=release.audit,
    )
    counts = FormCounts(pages=1, pulled=len(pulled_ids), quarantined=len(quarantined_ids),
                        withheld=len(withheld), loaded=len(loaded_ids),
                        updated=sum(1 for i in loaded_ids if i in known))
    return Prepared(batch, counts, s.validation)


def load_prepared(ctx: FormContext, warehouse, prepared: Prepared) -> FormCounts:
    """Write a prepared page: rows, manifest, watermark and audit in one transaction; then add
    its validation counts to the form's (what the run's Data Docs show)."""
    with timed("load"):
        warehouse.apply_batch(ctx.form, prepared.batch)
    if prepared.validation is not None:
        _remember_validation(ctx, prepared.validation)
    return prepared.counts


def _remember_validation(ctx: FormContext, result) -> None:
    """Add a page's validation counts to the form's running total (what the run's Data Docs
    show): memory grows with the number of expectations and quarantined submissions, not
    with the number of pages (a million submissions are 1,000 pages of ~200 counts each)."""
    from dataclasses import replace

    kept = result.without_rows()
    if not ctx.validation:
        ctx.validation.append(replace(kept, quarantined=list(kept.quarantined), outcomes=list(kept.outcomes)))
        return
    total = ctx.validation[0]
    total.submissions += kept.submissions
    total.quarantined.extend(kept.quarantined)

    def key(o):
        return (o.table, o.form_version, o.field, o.code, o.expectation, o.gx_type)

    where = {key(o): i for i, o in enumerate(total.outcomes)}
    for o in kept.outcomes:
        i = where.get(key(o))
        if i is None:
            where[key(o)] = len(total.outcomes)
            total.outcomes.append(o)
        else:
            t = total.outcomes[i]
            total.outcomes[i] = replace(t, evaluated=t.evaluated + o.evaluated, failed=t.failed + o.failed)


def _validation_status(norm) -> dict[int, str | None]:
    top = norm.frames[norm.form_id]
    return dict(zip(top["_id"].tolist(), top["_validation_status"].tolist(), strict=True))


def _form_versions(norm) -> dict[int, str]:
    top = norm.frames[norm.form_id]
    return dict(zip(top["_id"].tolist(), top["_form_version"].tolist(), strict=True))


def _decrypt(ctx: FormContext, records: list) -> tuple[list, list]:
    """Decrypt each record; one that fails goes to quarantine with its reason, never half-loaded."""
    from suara.crypto.pull import decrypt_record
    from suara.errors import DecryptionError
    from warehouse import QuarantineItem

    plain, failed = [], []
    for record in records:
        try:
            plain.append(decrypt_record(ctx.form, record, ctx.download, ctx.private_key))
        except DecryptionError as exc:
            failed.append(QuarantineItem(
                _id=record.get("_id"), _uuid=record.get("_uuid"), form_version=None,
                reasons=[{"code": exc.code, "table": ctx.form.form_id, "field": None,
                          "expectation": "decrypt_and_verify"}],
                payload=record,
            ))
    return plain, failed


@dataclass
class Changes:
    """What the manifest scan found: ids to refetch and ids to erase."""

    refetch: list[int]   # edited, validation changed, or never seen (ascending as listed)
    deleted: list[int]   # stored but no longer on the server (kobo-api.md §7.2), ascending
    highest: int         # the highest id the server listed (0 for none)


SCAN_BATCH = 10_000  # listing rows compared at once


def changed_ids(server: Iterable[tuple[int, str, str | None]], manifest) -> Changes:
    """Compare the server's (id, uuid, validation) listing with the warehouse manifest
    (``warehouse.ManifestIndex``: sorted ids and digests), a batch of listing rows at a time."""
    from warehouse import digest

    known, digests = manifest.ids, manifest.digests
    seen = np.zeros(len(known), dtype=bool)
    refetch: list[int] = []
    highest = 0
    listing = iter(server)
    while batch := list(itertools.islice(listing, SCAN_BATCH)):
        ids = np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch))
        keys = np.fromiter((digest(r[1], r[2]) for r in batch), dtype=np.int64, count=len(batch))
        highest = max(highest, int(ids.max()))
        at = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
        found = known[at] == ids if len(known) else np.zeros(len(ids), dtype=bool)
        seen[at[found]] = True
        same = found.copy()
        same[found] = digests[at[found]] == keys[found]
        refetch.extend(ids[~same].tolist())
    return Changes(refetch, known[~seen].tolist(), highest)


def watermark_of(page) -> int:
    """The high-water mark a loaded page sets: where the next page starts, or its last id."""
    return page.next_after_id or max(r["_id"] for r in page.results
                                     if isinstance(r, dict) and isinstance(r.get("_id"), int))


def pages(ctx: FormContext, client, after_id: int, page_size: int, *, prefetch: bool,
          handover=None) -> Iterator:
    """Pages after ``after_id`` until the server has no more, or until ``handover.until()``
    says to stop (checked as each page is taken, before the next request: the caller then goes
    on from that page's ``next_after_id``, and no request is wasted).

    With ``prefetch`` the next page is requested on a second thread while the caller loads
    this one, so the server's time and the HTTP wait overlap the CPU work of the stages. The
    order of loading (and so the watermark) is unchanged; a failed request surfaces when its
    page is due, after the pages before it have loaded. Encrypted forms fetch their media
    during the load with the same HTTP session, so they fetch on this thread (the next page
    is requested before this one is handed over, never alongside its load).

    ``handover`` (flows/puller.py ``Handover``) is told of every request (``requested``, with
    its future, None when the walk ends) under its ``lock``, which ``until`` is also called
    under: another thread holding that lock may hand the pages after a fetched page to
    someone else, and this walk then stops after that page without requesting its successor.
    """
    fetch = partial(client.fetch_page, ctx.asset_uid, page_size=page_size)
    pool = ThreadPoolExecutor(1, thread_name_prefix="suara-prefetch") if prefetch else None
    submit = pool.submit if pool else _at_once
    guard = handover.lock if handover is not None else nullcontext()
    try:
        with guard:
            pending = submit(fetch, after_id=after_id)
            if handover is not None:
                handover.requested(pending)
        while True:
            # The time the stages wait for a page: with a pool, only what the prefetch has
            # not hidden; without one, the whole request.
            with timed("pull"):
                page = pending.result()
                with guard:
                    more = page.next_after_id is not None and not (handover is not None and handover.until())
                    pending = submit(fetch, after_id=page.next_after_id) if more else None
                    if handover is not None:
                        handover.requested(pending)
            yield page
            if not more:
                return
    finally:
        if pool:
            pool.shutdown(wait=False, cancel_futures=True)


def _at_once(fn, **kw) -> Future:
    """``fn`` run now, as a finished future (its error raised by ``result()``, as from a pool)."""
    done: Future = Future()
    try:
        done.set_result(fn(**kw))
    except Exception as exc:  # noqa: BLE001 - handed to the caller at result()
        done.set_exception(exc)
    return done
