"""``suara forms check | build | deploy``: the forms in ``forms/`` (or ``SUARA_FORMS_DIR``).

* ``check``: pyxform + ODK Validate + project rules; prints every finding and a summary line
  ("3 forms, 0 errors, 0 warnings"); exit 1 on any error.
* ``build [--out DIR]``: check, then write ``<form_id>.xlsx`` and ``<form_id>.xml`` per form
  (default ``./build/forms``); nothing is written when a form fails the check.
* ``deploy [FORM_ID ...]``: check and build into a temporary folder, then hand the forms to
  ``suara.kobo.deploy.deploy_forms`` (create or replace, deploy, verify the version).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

from suara.errors import NotBuiltYetError
from suara.forms.build import FormCheck, build, check_sources, form_sources, summary
from suara.settings import Settings, load_settings

DEFAULT_OUT = Path("build/forms")


def register(subparsers: argparse._SubParsersAction) -> None:
    forms = subparsers.add_parser("forms", help="check, build and deploy the XLSForms")
    sub = forms.add_subparsers(dest="forms_command", metavar="ACTION")
    forms.set_defaults(handler=lambda args: forms.print_help() or 2)

    select = "FORM", "form_id in the forms folder or a path to a .md/.xlsx file (default: all)"
    check = sub.add_parser("check", help="pyxform + ODK Validate + project rules; exit 1 on any error")
    check.add_argument("forms", nargs="*", metavar=select[0], help=select[1])
    check.set_defaults(handler=run_check)

    build_p = sub.add_parser("build", help="write <form_id>.xlsx and <form_id>.xml for each form")
    build_p.add_argument("forms", nargs="*", metavar=select[0], help=select[1])
    build_p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                         help=f"output folder (default: {DEFAULT_OUT})")
    build_p.set_defaults(handler=run_build)

    deploy = sub.add_parser("deploy", help="check, build and deploy to KOBO_URL, verifying the version")
    deploy.add_argument("forms", nargs="*", metavar="FORM_ID", help="form ids to deploy (default: all)")
    deploy.add_argument("--allow-demo-key", action="store_true",
                        help="deploy a form encrypted with the committed DEMO key to a remote server")
    deploy.set_defaults(handler=run_deploy)


def _checked(args: argparse.Namespace, settings: Settings) -> tuple[list[FormCheck], bool]:
    """Check the selected forms, print every finding and the summary; (checks, passed)."""
    checks = check_sources(form_sources(settings.forms_dir(), args.forms))
    for check in checks:
        for finding in check.findings:
            print(finding)
    print(summary(checks))
    passed = bool(checks) and all(c.ok for c in checks)
    if not checks:
        print(f"no forms found in {settings.forms_dir()}", file=sys.stderr)
    return checks, passed


def _local(url: str | None) -> bool:
    """True for a server on this machine (the sandbox), where the demo key is fine."""
    from urllib.parse import urlsplit

    host = urlsplit(url or "").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def run_check(args: argparse.Namespace) -> int:
    _, passed = _checked(args, load_settings())
    return 0 if passed else 1


def run_build(args: argparse.Namespace) -> int:
    checks, passed = _checked(args, load_settings())
    if not passed:
        print("nothing built: fix the errors above first.", file=sys.stderr)
        return 1
    for built in build(checks, args.out):
        print(f"built {built.form_id} {built.version}: {built.xlsx} {built.xml}")
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        deploy_forms = importlib.import_module("suara.kobo.deploy").deploy_forms
    except ModuleNotFoundError as exc:
        if not (exc.name and "suara.kobo.deploy".startswith(exc.name)):
            raise
        raise NotBuiltYetError(
            "form deployment (suara.kobo.deploy) is not part of this installation.",
            hint="Build the forms with `suara forms build` and upload the .xlsx files in KoboToolbox.",
        ) from None
    checks, passed = _checked(args, settings)
    if not passed:
        print("nothing deployed: fix the errors above first.", file=sys.stderr)
        return 1
    demo = [c.form.form_id for c in checks if c.form and any(n.code == "FORM_KEY_DEMO" for n in c.notices)]
    if demo and not _local(settings.kobo_url) and not getattr(args, "allow_demo_key", False):
        print(f"nothing deployed: {', '.join(demo)} would be encrypted with the committed DEMO key, which "
              "anyone with the repository can use to decrypt. Run `suara keys new`, put the printed "
              "public_key in the form and bump its version (or pass --allow-demo-key for a test server).",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="suara-forms-") as tmp:
        built = {b.form_id: b.xlsx for b in build(checks, Path(tmp))}
        forms = [c.form for c in checks if c.form is not None]
        results = deploy_forms(settings, forms, built)
    failed = 0
    for result in results:
        print(result)
        failed += getattr(result, "ok", True) is False
    return 1 if failed else 0
