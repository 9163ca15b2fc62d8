"""``suara warehouse upgrade | plan``: the warehouse schema at ``WAREHOUSE_URL``.

* ``plan``: print what ``upgrade`` would change (fixed-table migrations, form tables and
  columns to create, catalogues to refresh, roles to grant) and change nothing.
* ``upgrade``: print the same plan and apply it in one transaction. Safe to run again: on an
  up-to-date warehouse the plan says so and nothing but the catalogues is rewritten.

Both derive the form tables from every version of every form in the forms folder
(``forms/<form_id>.md`` and ``forms/versions/<form_id>/*.md``). A change the warehouse
refuses (a question's type changed) exits 1 with the reason and the way through.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.engine import make_url

from suara.forms import Form, load_form_versions, load_forms
from suara.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    wh = subparsers.add_parser("warehouse", help="create or upgrade the warehouse schema")
    sub = wh.add_subparsers(dest="warehouse_command", metavar="ACTION")
    wh.set_defaults(handler=lambda args: wh.print_help() or 2)
    up = sub.add_parser("upgrade", help="migrations to head, form tables, catalogues and roles")
    up.set_defaults(handler=run_upgrade)
    plan = sub.add_parser("plan", help="print what upgrade would change; change nothing")
    plan.set_defaults(handler=run_plan)


def form_versions(settings: Settings) -> dict[str, dict[str, Form]]:
    """Every known version of every form in the forms folder, by form_id."""
    forms_dir = settings.forms_dir()
    return {f.form_id: load_form_versions(f.form_id, forms_dir) for f in load_forms(forms_dir)}


def _where(settings: Settings) -> str:
    return make_url(settings.warehouse_url).render_as_string(hide_password=True)


def run_plan(args: argparse.Namespace) -> int:
    import tempfile

    from warehouse import Warehouse
    from warehouse.session import missing_file

    settings = load_settings()
    versions = form_versions(settings)
    missing = missing_file(settings.warehouse_url)
    # A SQLite warehouse not created yet is planned as an empty one in a scratch folder:
    # opening the real path would create its files, and plan changes nothing.
    with tempfile.TemporaryDirectory(prefix="suara-plan-") as scratch:
        url = f"sqlite:///{Path(scratch) / missing.name}" if missing else settings.warehouse_url
        with Warehouse(url) as wh:
            plan = wh.plan(versions)
    print(f"warehouse: {_where(settings)}" + (" (not created yet: upgrade creates it)" if missing else ""))
    print(plan)
    return 0


def run_upgrade(args: argparse.Namespace) -> int:
    from warehouse import Warehouse

    settings = load_settings()
    versions = form_versions(settings)
    with Warehouse.from_settings(settings) as wh:
        plan = wh.upgrade(versions)
    print(f"warehouse: {_where(settings)}")
    print(plan)
    print("upgraded" if not plan.is_empty else "already up to date")
    return 0
