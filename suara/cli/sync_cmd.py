"""``suara sync`` and ``suara demo``."""

from __future__ import annotations

import json
import sys
import time

from suara.errors import ConfigurationError


def register(sub) -> None:
    p = sub.add_parser("sync", help="pull, validate, anonymise and load submissions")
    p.add_argument("form_ids", nargs="*", metavar="FORM_ID", help="forms to sync (default: all)")
    p.add_argument("--json", action="store_true", help="print the run record as JSON on stdout")
    p.add_argument("--reconcile", choices=("auto", "yes", "no"), default="auto",
                   help="run the manifest scan for edits/deletions (default: when due)")
    p.set_defaults(handler=_sync)

    d = sub.add_parser("demo", help="sandbox + sync + report on the embedded default")
    d.add_argument("--submissions", type=int, default=1000, help="synthetic submissions per form")
    d.add_argument("--data-dir", default="data", help="where the warehouse and report go")
    d.add_argument("--seed", type=int, default=7)
    d.set_defaults(handler=_demo)


class _Progress:
    """Rich bars per form on a terminal, plain lines otherwise; always on stderr."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.started: dict[str, float] = {}
        self.bars = None
        self.tasks: dict[str, int] = {}
        if self.tty:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.bars = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                                 console=Console(stderr=True))

    def __enter__(self):
        if self.bars:
            self.bars.start()
        return self

    def __exit__(self, *exc):
        if self.bars:
            self.bars.stop()

    def __call__(self, form_id: str, event: str, data: dict) -> None:
        now = time.monotonic()
        if event == "start":
            self.started[form_id] = now
            if self.bars:
                self.tasks[form_id] = self.bars.add_task(form_id, total=None, info="starting")
            else:
                print(f"{form_id}: started", file=sys.stderr, flush=True)
            return
        elapsed = max(now - self.started.get(form_id, now), 1e-6)
        rate = data.get("pulled", 0) / elapsed
        if event == "page":
            info = f"pages {data.get('pages', 0)} · pulled {data.get('pulled', 0)} · {rate:,.0f} submissions/s"
        else:
            info = (f"{data.get('status')} · pulled {data.get('pulled', 0)} loaded {data.get('loaded', 0)} "
                    f"quarantined {data.get('quarantined', 0)} withheld {data.get('withheld', 0)} "
                    f"deleted {data.get('deleted', 0)}")
        if self.bars:
            self.bars.update(self.tasks[form_id], info=info)
        else:
            print(f"{form_id}: {info}", file=sys.stderr, flush=True)


def run_sync(form_ids: list[str] | None, reconcile: bool | None) -> dict:
    """Run the sync flow with progress on stderr; returns the run record."""
    from flows import progress
    from flows.sync_form import sync_all_forms

    with _Progress() as bars:
        progress.set_reporter(bars)
        try:
            state = sync_all_forms(form_ids or None, reconcile=reconcile, return_state=True)
        finally:
            progress.set_reporter(None)
    if not state.is_completed():
        try:
            state.result()
        except ConfigurationError:
            raise
        except Exception as exc:  # the flow itself crashed; say so without internals
            from suara.errors import SuaraError

            if isinstance(exc, SuaraError):
                raise
            raise SystemExit(f"error: the sync flow failed ({type(exc).__name__}); see the Prefect run logs") from None
    return state.result()


def exit_status(record: dict) -> int:
    statuses = record.get("status", {}).values()
    if any(s == "config_error" for s in statuses):
        return 2
    return 0 if all(s == "completed" for s in statuses) else 1


def _sync(args) -> int:
    from suara.settings import load_settings

    settings = load_settings()
    if not settings.kobo_url:
        raise ConfigurationError(
            "KOBO_URL is not set.",
            hint="Set KOBO_URL and KOBO_TOKEN (see README › Configure), or try `suara demo`.",
        )
    reconcile = {"auto": None, "yes": True, "no": False}[args.reconcile]
    record = run_sync(args.form_ids, reconcile)
    if args.json:
        print(json.dumps({"run_id": record["run_id"], "forms": record["forms"]}))
    else:
        for form_id, counts in record["forms"].items():
            status = record["status"][form_id]
            err = record.get("errors", {}).get(form_id)
            print(f"{form_id}: {status} " + " ".join(f"{k}={v}" for k, v in counts.items())
                  + (f"  ({err})" if err else ""))
    return exit_status(record)


def _demo(args) -> int:
    from suara.cli.demo import run_demo

    return run_demo(args)
