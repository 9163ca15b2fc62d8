"""``suara check``: a step-by-step diagnosis of the connection to Kobo and the warehouse.

Each step prints ✔ or ✘ with what was found and, on ✘, the fix. Later steps that depend on
a failed one are skipped (reported as such), so the first ✘ is the one to fix.
Exit status: 0 when every step passed, 2 when the configuration is wrong (missing or
malformed KOBO_URL, KOBO_TOKEN, WAREHOUSE_URL), 1 for anything else (server unreachable,
token rejected, asset missing or not deployed, permission missing, warehouse down).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from suara.errors import (
    ConfigurationError,
    KoboAuthError,
    KoboError,
    KoboPermissionError,
    KoboTransientError,
    SuaraError,
)
from suara.settings import Settings, load_settings

OK, FAIL = "✔", "✘"


@dataclass
class Report:
    config_error: bool = False
    failed: bool = False
    lines: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self._print(f"{OK} {text}")

    def fail(self, text: str, fix: str, *, config: bool = False) -> None:
        self.failed = True
        self.config_error |= config
        self._print(f"{FAIL} {text}\n    fix: {fix}")

    def skip(self, text: str) -> None:
        self._print(f"- {text} (skipped)")

    def _print(self, line: str) -> None:
        self.lines.append(line)
        print(line, flush=True)

    @property
    def exit_status(self) -> int:
        return 2 if self.config_error else (1 if self.failed else 0)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="diagnose Kobo URL, token, assets, permissions and the warehouse, step by step"
    )
    p.add_argument("form_ids", nargs="*", metavar="FORM_ID", help="forms to check (default: all)")
    p.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    report = Report()
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        report.fail(f"configuration: {exc.message}", exc.hint or "fix the environment or suara.toml", config=True)
        return report.exit_status
    check_kobo(settings, report, list(getattr(args, "form_ids", None) or []))
    check_warehouse(settings, report)
    print("all checks passed" if not report.failed else "some checks failed: fix the first ✘ above")
    return report.exit_status


# -- Kobo -------------------------------------------------------------------------------------


def _session(settings: Settings, token: str | None):
    from suara.kobo.session import KoboSession

    # A diagnosis should answer quickly: two tries, a short timeout.
    return KoboSession(settings.kobo_url, token, timeout=min(settings.suara_http_timeout, 20.0), retries=1)


def check_kobo(settings: Settings, report: Report, form_ids: list[str]) -> None:
    if not settings.kobo_url:
        report.fail("KOBO_URL is not set", "set KOBO_URL, e.g. https://kf.kobotoolbox.org, "
                    "https://eu.kobotoolbox.org or your own server (see docs/kobo.md)", config=True)
        report.skip("Kobo server, token, assets, permissions")
        return
    try:
        anon = _session(settings, None)
    except ConfigurationError as exc:
        report.fail(f"KOBO_URL: {exc.message}", exc.hint or "", config=True)
        return
    reachable = f"KOBO_URL {anon.base_url} is reachable and answers the KPI v2 API"
    try:
        anon.get_json("/api/v2/assets/", {"limit": 1})
        report.ok(reachable)
    except (KoboAuthError, KoboPermissionError):
        report.ok(reachable)  # it answered, it just wants credentials
    except KoboTransientError as exc:
        report.fail(f"cannot reach {anon.base_url}: {exc.message}",
                    "check the address, your network/proxy, and that the server is up")
        report.skip("token, assets, permissions")
        return
    except KoboError as exc:
        report.fail(f"{anon.base_url} does not answer like a KPI server: {exc.message}", exc.hint or
                    "KOBO_URL must be the KPI address (kf.…), not KoboCAT (kc.…) or Enketo (ee.…)")
        report.skip("token, assets, permissions")
        return
    try:
        token = settings.secret("kobo_token")
    except ConfigurationError as exc:
        report.fail(f"token: {exc.message}", "copy your API key from Account Settings → Security into "
                    "KOBO_TOKEN", config=True)
        report.skip("assets, permissions")
        return
    session = _session(settings, token)
    try:
        session.get_json("/api/v2/assets/", {"limit": 1})
        report.ok("KOBO_TOKEN is accepted")
    except SuaraError as exc:
        report.fail(f"token: {exc.message}", exc.hint or "check KOBO_TOKEN")
        report.skip("assets, permissions")
        return
    _check_forms(settings, session, report, form_ids)


def _check_forms(settings: Settings, session, report: Report, form_ids: list[str]) -> None:
    from suara.forms import load_forms
    from suara.kobo import HOW_TEXT, KoboClient
    from suara.kobo.assets import asset_path

    try:
        forms = load_forms(settings.forms_dir())
    except SuaraError as exc:
        report.fail(f"forms in {settings.forms_dir()}: {exc.message}", exc.hint or "run `suara forms check`")
        return
    if form_ids:
        unknown = sorted(set(form_ids) - {f.form_id for f in forms})
        if unknown:
            report.fail(f"unknown form(s): {', '.join(unknown)}",
                        f"known: {', '.join(f.form_id for f in forms) or 'none'}", config=True)
        forms = [f for f in forms if f.form_id in form_ids]
    if not forms:
        report.fail(f"no forms found in {settings.forms_dir()}", "set SUARA_FORMS_DIR to the folder of <form_id>.md files",
                    config=True)
        return
    client = KoboClient(settings, session=session)
    for form in forms:
        name = form.form_id
        try:
            uid, how = client.find_asset(form)
            asset = client.asset(uid)
        except SuaraError as exc:
            report.fail(f"{name}: {exc.message}", exc.hint or "")
            continue
        report.ok(f"{name}: asset {uid} ({HOW_TEXT.get(how, how)})")
        if not asset.get("has_deployment"):
            report.fail(f"{name}: asset {uid} is not deployed", "run `suara forms deploy " + name + "`")
            continue
        if asset.get("deployment__active") is False:
            report.fail(f"{name}: asset {uid} is archived (deployed but not accepting submissions)",
                        "unarchive it in the Kobo UI (or redeploy with `suara forms deploy`)")
        else:
            report.ok(f"{name}: deployed and active")
        try:
            session.get_json(asset_path(uid, "data"), {"limit": 1, "fields": '["_id"]'})
            report.ok(f"{name}: token may view submissions")
        except KoboPermissionError as exc:
            report.fail(f"{name}: {exc.message}", exc.hint or "")
        except KoboError as exc:
            report.fail(f"{name}: reading submissions failed: {exc.message}", exc.hint or "")


# -- warehouse --------------------------------------------------------------------------------


def check_warehouse(settings: Settings, report: Report) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        url = make_url(settings.warehouse_url)
    except ArgumentError:
        report.fail("WAREHOUSE_URL is not a SQLAlchemy URL",
                    "use e.g. sqlite:///data/suara.db or postgresql+psycopg://user@host/db", config=True)
        return
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists():
            if path.parent.exists() and not path.parent.is_dir():
                report.fail(f"warehouse {shown}: {path.parent} is a file, not a folder",
                            "point WAREHOUSE_URL at a file inside a folder", config=True)
            else:
                report.ok(f"warehouse {shown}: not created yet; the first sync or `suara warehouse upgrade` creates it")
            return
        # Open read-only: a diagnosis must not create or change anything.
        url = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
    try:
        engine = sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError) as exc:
        report.fail(f"WAREHOUSE_URL {shown}: {type(exc).__name__}",
                    "check the dialect/driver part of the URL (e.g. postgresql+psycopg://)", config=True)
        return
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        report.ok(f"warehouse {shown} is reachable")
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        report.fail(f"warehouse {shown} is not reachable ({reason})",
                    "check that the database server runs, the database exists and the user may connect")
    finally:
        engine.dispose()
