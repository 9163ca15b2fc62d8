"""``suara serve``: scheduled syncs through Prefect deployments.

One deployment per form (``sync-form/<form_id>``) with the cron schedule from ``suara.toml``
(``[schedules] <form_id> = "0 * * * *"``; default hourly) plus a nightly reconcile of every
form. ``suara serve`` runs them in this process with Prefect's runner (each run in its own
subprocess); for a shared Prefect server and a process work pool, use ``prefect.yaml``
(README › Scheduling).
"""

from __future__ import annotations

DEFAULT_CRON = "0 * * * *"
RECONCILE_CRON = "30 2 * * *"


def schedules(settings, form_ids: list[str]) -> dict[str, str]:
    configured = dict(getattr(settings, "schedules", {}) or {})
    return {f: configured.get(f, DEFAULT_CRON) for f in form_ids}


def build_deployments(settings, forms) -> list:
    """The deployments ``suara serve`` runs (also used by the tests)."""
    from flows.sync_form import reconcile_form, sync_form

    deployments = []
    for form_id, cron in schedules(settings, [f.form_id for f in forms]).items():
        deployments.append(sync_form.to_deployment(
            name=form_id, cron=cron, parameters={"form_id": form_id}, tags=["suara", form_id],
            concurrency_limit=1, description=f"Sync {form_id} from KoboToolbox",
        ))
        deployments.append(reconcile_form.to_deployment(
            name=form_id, cron=RECONCILE_CRON, parameters={"form_id": form_id}, tags=["suara", form_id],
            concurrency_limit=1, description=f"Nightly manifest scan of {form_id}",
        ))
    return deployments


def register(sub) -> None:
    p = sub.add_parser("serve", help="run scheduled syncs through Prefect")
    p.add_argument("--dry-run", action="store_true", help="list the deployments and schedules, then exit")
    p.set_defaults(handler=_serve)


def _serve(args) -> int:
    from suara.forms import load_forms
    from suara.settings import load_settings

    settings = load_settings()
    forms = load_forms(settings.forms_dir())
    plan = schedules(settings, [f.form_id for f in forms])
    for form_id, cron in plan.items():
        print(f"sync-form/{form_id}: {cron}   reconcile-form/{form_id}: {RECONCILE_CRON}")
    if args.dry_run:
        return 0
    from prefect import serve

    serve(*build_deployments(settings, forms))
    return 0
