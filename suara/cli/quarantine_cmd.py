"""``suara quarantine list | show | release | drop``: why submissions are held, and what to do.

* ``list``: held submissions (or ``--status released|dropped|all``) with their reason codes.
* ``show FORM_ID ID``: every reason (table, field, expectation, what it means, what to do)
  and the action history; ``--payload`` also prints the decrypted answers (restricted data:
  needs ``SUARA_RESTRICTED_KEY``; never pipe it anywhere shared).
* ``release FORM_ID ID…``: re-validate the held payload against the *current* forms (after a
  rule or form fix); if it now passes, forget the submission's manifest entry and mark it
  released, so the next ``suara sync`` refetches it by id from the server and loads it through
  the normal pipeline (anonymisation included). If it still fails, nothing changes and the
  reasons are printed (exit 1).
* ``drop FORM_ID ID…``: give up on a submission; its encrypted payload is deleted and it is not
  loaded unless it is edited on the server.

Every action records who (``--actor``, default the login name), when and a note.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from contextlib import contextmanager

from suara.errors import SuaraError
from suara.settings import load_settings

STATUSES = ("held", "released", "dropped", "all")


def register(subparsers: argparse._SubParsersAction) -> None:
    q = subparsers.add_parser("quarantine", help="see, release or drop quarantined submissions")
    sub = q.add_subparsers(dest="quarantine_command", metavar="ACTION")
    q.set_defaults(handler=lambda args: q.print_help() or 2)

    ls = sub.add_parser("list", help="quarantined submissions and their reason codes")
    ls.add_argument("--form", dest="form_id", help="only this form_id")
    ls.add_argument("--status", choices=STATUSES, default="held")
    ls.add_argument("--json", action="store_true", help="one JSON array on stdout")
    ls.set_defaults(handler=run_list)

    show = sub.add_parser("show", help="why one submission is held, and its history")
    show.add_argument("form_id")
    show.add_argument("id", type=int)
    show.add_argument("--payload", action="store_true",
                      help="also print the decrypted answers (restricted; needs SUARA_RESTRICTED_KEY)")
    show.set_defaults(handler=run_show)

    for name, text in (("release", "re-validate and hand back to the sync"),
                       ("drop", "give up on submissions (payload deleted)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("form_id")
        p.add_argument("ids", type=int, nargs="+", metavar="ID")
        p.add_argument("--actor", default=None, help="who decides (default: your login name)")
        p.add_argument("--note", default=None, help="why (kept in the action log)")
        if name == "release":
            p.add_argument("--version", dest="as_version", default=None,
                           help="validate against this form version (for submissions held as "
                                "VAL_UNKNOWN_VERSION once that version is archived in forms/versions/)")
        p.set_defaults(handler=run_release if name == "release" else run_drop)


@contextmanager
def _warehouse(settings):
    """The warehouse at WAREHOUSE_URL; a missing schema becomes one clear error (no SQL,
    no parameters: they could name a submission)."""
    import sqlalchemy.exc

    from warehouse import Warehouse

    with Warehouse.from_settings(settings, existing=True) as wh:
        try:
            yield wh
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError) as exc:
            raise SuaraError(
                f"The warehouse at WAREHOUSE_URL cannot be read ({type(exc.orig).__name__}).",
                code="QUAR_004",
                hint="Create or upgrade it with: suara warehouse upgrade",
            ) from None


def _known_form(form_id: str, settings, wh) -> None:
    """Refuse a form id that neither forms/ nor the quarantine knows: a typo must not read as
    "nothing held"."""
    from suara.forms.model import form_files

    known = {p.stem for p in form_files(settings.forms_dir())}
    if form_id in known:
        return
    known |= {e.form_id for e in wh.quarantine_list(None, None)}
    if form_id not in known:
        raise SuaraError(f"There is no form {form_id}.", code="QUAR_005",
                         hint=f"Known forms: {', '.join(sorted(known)) or 'none'}.")


def _actor(args) -> str:
    if args.actor:
        return args.actor
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _codes(reasons: list[dict]) -> str:
    return ", ".join(sorted({f"{r['code']}:{r['field']}" for r in reasons}))


def run_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    status = None if args.status == "all" else args.status
    with _warehouse(settings) as wh:
        entries = wh.quarantine_list(args.form_id, status)
        if args.form_id and not entries:
            _known_form(args.form_id, settings, wh)
    if args.json:
        print(json.dumps([{"form_id": e.form_id, "_id": e._id, "form_version": e.form_version,
                           "status": e.status, "quarantined_at": e.quarantined_at.isoformat(),
                           "reasons": e.reasons} for e in entries], ensure_ascii=False))
        return 0
    if not entries:
        print(f"no {args.status if status else ''} quarantined submissions".replace("  ", " "))
        return 0
    # Columns as wide as their longest value: an unknown version ("unknown:" and a Kobo
    # version id) is wider than a form's own, and must not push the rest of its line out of line.
    fw = max(22, *(len(e.form_id) for e in entries))
    vw = max(12, *(len(str(e.form_version)) for e in entries))
    print(f"{'form':<{fw}} {'_id':>8}  {'version':<{vw}} {'status':<9} {'held since':<16}  reasons")
    for e in entries:
        print(f"{e.form_id:<{fw}} {e._id:>8}  {str(e.form_version):<{vw}} {e.status:<9} "
              f"{e.quarantined_at:%Y-%m-%d %H:%M}  {_codes(e.reasons)}")
    print(f"{len(entries)} submission(s). Details: suara quarantine show FORM_ID ID")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from validation.reasons import describe, hint

    settings = load_settings()
    with _warehouse(settings) as wh:
        if args.payload:
            entry = wh.quarantine_get(args.form_id, args.id)
        else:
            matches = [e for e in wh.quarantine_list(args.form_id, None) if e._id == args.id]
            if not matches:
                raise SuaraError(f"No quarantined submission {args.id} for form {args.form_id}.",
                                 code="QUAR_003", hint="List them with: suara quarantine list")
            entry = matches[0]
            entry.actions = _actions(wh, args.form_id, args.id)
    print(f"{entry.form_id} _id {entry._id} (form version {entry.form_version}): {entry.status}, "
          f"held since {entry.quarantined_at:%Y-%m-%d %H:%M} UTC")
    for r in sorted(entry.reasons, key=lambda r: (r["code"], r["table"], r["field"])):
        print(f"  {r['code']:<20} {r['table']}.{r['field']}: {r['expectation']}")
        print(f"  {'':<20} {describe(r['code'])}; {hint(r['code'])}")
    for a in entry.actions:
        print(f"  {a['at']:%Y-%m-%d %H:%M}  {a['action']} by {a['actor']}"
              + (f": {a['note']}" if a.get("note") else ""))
    if args.payload:
        print("restricted payload (do not share):", file=sys.stderr)
        print(json.dumps(entry.payload, indent=1, ensure_ascii=False, sort_keys=True))
    return 0


def _actions(wh, form_id: str, _id: int) -> list[dict]:
    import sqlalchemy as sa

    from warehouse import ops

    a = ops.quarantine_actions
    with wh.engine.connect() as conn:
        rows = conn.execute(sa.select(a).where(a.c.form_id == form_id, a.c._id == int(_id))
                            .order_by(a.c.action_id))
        return [dict(action=r.action, actor=r.actor, note=r.note, at=r.at) for r in rows]


def revalidate(form_id: str, entry, forms_dir, as_version: str | None = None):
    """Validate a held payload against the current forms; returns the reasons still failing
    (an empty list means it would load)."""
    from suara.forms import load_form_versions
    from suara.normalise import normalise
    from validation import validate_batch

    versions = load_form_versions(form_id, forms_dir)
    if not versions:
        raise SuaraError(f"forms/ has no form {form_id}.", code="QUAR_001",
                         hint="Check SUARA_FORMS_DIR points at the project's forms folder.")
    current = versions[max(versions)]
    payload = entry.payload
    if not isinstance(payload, dict):
        raise SuaraError(f"{form_id} _id {entry._id} has no stored payload (dropped?).",
                         code="QUAR_002", hint="A dropped submission cannot be released; edit it on the server.")
    from suara.crypto.pull import is_encrypted

    if is_encrypted(payload):
        # Held as Kobo served it (ciphertext, CRYPT_* reasons): the refetch downloads, decrypts,
        # verifies and validates it again, and quarantines it again if anything still fails.
        return []
    stored = as_version or entry.form_version or ""
    raw_uid = payload.get("__version__") or payload.get("_version_") or ""
    version_map = {raw_uid: stored} if raw_uid and stored in versions else {}
    norm = normalise(versions, current, [payload], version_map=version_map)
    result = validate_batch(versions, norm)
    return [r for q in result.quarantined for r in q.reasons]


def run_release(args: argparse.Namespace) -> int:
    from warehouse.session import writer

    settings = load_settings()
    actor = _actor(args)
    released, refused = [], []
    with _warehouse(settings) as wh:
        for _id in sorted(set(args.ids)):
            entry = wh.quarantine_get(args.form_id, _id)
            if entry.status != "held":
                refused.append(_id)
                print(f"{args.form_id} _id {_id} is {entry.status}, not held: unchanged.")
                continue
            still = revalidate(args.form_id, entry, settings.forms_dir(), args.as_version)
            if still:
                refused.append(_id)
                print(f"{args.form_id} _id {_id} still fails validation: unchanged.")
                for r in sorted(set(still)):
                    print(f"  {r.code:<20} {r.table}.{r.field}: {r.expectation}")
                continue
            _forget_manifest(wh, writer, args.form_id, _id)
            wh.quarantine_mark(args.form_id, [_id], "release", actor,
                               args.note or "re-validated against the current forms")
            released.append(_id)
    if released:
        print(f"released {len(released)} submission(s) of {args.form_id}: "
              f"{', '.join(map(str, released))}; the next sync that scans the manifest refetches and "
              f"loads them (now: suara sync {args.form_id} --reconcile yes).")
    return 1 if refused else 0


def _forget_manifest(wh, writer, form_id: str, _id: int) -> None:
    """Remove the manifest entry so the sync's manifest scan sees the id as never loaded and
    refetches it (flows/pipeline.changed_ids). Done before marking: if marking then failed,
    the refetch would still re-validate and load (and the sync releases it)."""
    from warehouse import ops

    m = ops.manifest
    with writer(wh.engine.connect()) as conn, conn.begin():
        conn.execute(m.delete().where(m.c.form_id == form_id, m.c._id == int(_id)))


def run_drop(args: argparse.Namespace) -> int:
    settings = load_settings()
    with _warehouse(settings) as wh:
        n = wh.quarantine_mark(args.form_id, sorted(set(args.ids)), "drop", _actor(args),
                               args.note or "dropped by a data manager")
    print(f"dropped {n} submission(s) of {args.form_id}; their payloads are deleted.")
    return 0
