"""Deploying a built XLSForm: import, create or replace, deploy or redeploy, verify the version.

The steps follow kobo-api.md §10:

1. ``POST /api/v2/imports/`` with the workbook, ``library=false`` (else KPI makes a library
   block) and, when the form already has an asset, ``destination=<asset url>`` to replace
   its content; then poll the import task with bounded waits;
2. re-read the asset (``version_id`` must be the latest for a redeploy) and
   ``POST deployment/`` the first time, ``PATCH deployment/`` with ``active`` and
   ``version_id`` afterwards (a PATCH with only ``active`` just (un)archives);
3. re-read the asset: the deployed version must be the latest, and its
   ``content.settings.version`` must equal the form's version — else ``DeployError``;
4. record ``form_id → uid`` in the registry so later lookups need no search.

POSTs are not repeated after a timeout (an import might already be running); only answers
that prove the server did nothing (429/503, refused connections) are retried.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from suara.errors import AssetLookupError, DeployError
from suara.kobo.assets import NO_ASSET, AssetRegistry, AssetService, asset_path

log = logging.getLogger(__name__)

IMPORTS_PATH = "/api/v2/imports/"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
POLL_FIRST = 1.0       # seconds; typical forms import in a few seconds
POLL_GROWTH = 1.5
POLL_MAX_WAIT = 10.0
POLL_BUDGET = 180.0    # total seconds of waiting before the import is declared stuck


@dataclass(frozen=True)
class DeployResult:
    form_id: str
    asset_uid: str
    version: str             # the form's version, as verified on the server
    version_id: str          # KPI's version uid now deployed (the submissions' __version__)
    created: bool            # a new asset was made (else the existing one was replaced)
    how: str                 # how the existing asset was found ("" when created)
    url: str                 # the project's page on the server

    def __str__(self) -> str:
        done = "created" if self.created else f"replaced (asset found by {self.how})"
        return f"deployed {self.form_id} version {self.version}: asset {self.asset_uid} {done} — {self.url}"


class Deployer:
    def __init__(self, session, assets: AssetService, registry: AssetRegistry, configured: dict[str, str]):
        self.session = session
        self.assets = assets
        self.registry = registry
        self.configured = configured

    def deploy(self, form, xlsx_path: Path) -> DeployResult:
        xlsx_path = Path(xlsx_path)
        if not xlsx_path.is_file():
            raise DeployError(
                f"{form.form_id}: built workbook {xlsx_path} does not exist.",
                hint="Run `suara forms build` first (deploy builds it for you when run from the CLI).",
            )
        existing, how = self._existing(form.form_id)
        uid = self._import(form, xlsx_path, existing)
        asset = self.assets.detail(uid, fresh=True)
        self._deploy(form.form_id, uid, asset)
        version_id = self._verify(form, uid)
        self.registry.record(form.form_id, uid)
        log.info("kobo: %s deployed as asset %s (version %s)", form.form_id, uid, form.version)
        return DeployResult(
            form_id=form.form_id, asset_uid=uid, version=form.version, version_id=version_id,
            created=existing is None, how=how if existing else "",
            url=f"{self.session.base_url}/#/forms/{uid}/summary",
        )

    def _existing(self, form_id: str) -> tuple[str | None, str]:
        try:
            return self.assets.find(form_id, self.registry, self.configured)
        except AssetLookupError as exc:
            if exc.code == NO_ASSET:
                return None, ""
            raise  # several candidates, or a wrong uid in suara.toml: never guess which to replace

    # -- 1. import ------------------------------------------------------------------------------

    def _import(self, form, xlsx_path: Path, existing: str | None) -> str:
        data = {"library": "false", "name": form.title, "desired_type": "survey"}
        if existing:
            data["destination"] = self.session.url(asset_path(existing))
        files = {"file": (f"{form.form_id}.xlsx", xlsx_path.read_bytes(), XLSX_MIME)}
        task = self.session.request(
            "POST", IMPORTS_PATH, data=data, files=files, permission="change_asset",
            what=f"asset {existing}" if existing else None,
            valid=lambda b: isinstance(b, dict) and bool(b.get("uid")),
        )
        return self._wait_for_import(form.form_id, task["uid"])

    def _wait_for_import(self, form_id: str, task_uid: str) -> str:
        waited, wait = 0.0, POLL_FIRST
        while True:
            task = self.session.get_json(f"{IMPORTS_PATH}{task_uid}/", what=f"import task {task_uid}",
                                         valid=lambda b: isinstance(b, dict) and "status" in b)
            status = task.get("status")
            messages = task.get("messages") or {}
            if status == "complete":
                made = (messages.get("created") or messages.get("updated") or [{}])[0]
                if not made.get("uid"):
                    raise DeployError(f"{form_id}: the import finished but named no asset.",
                                      hint="Check the project list in the Kobo UI, then deploy again.")
                return made["uid"]
            if status == "error":
                kind = messages.get("error_type") or "error"
                text = str(messages.get("error") or "no message")[:300]
                raise DeployError(
                    f"{form_id}: Kobo refused the form at import ({kind}): {text}",
                    hint="Fix the form (run `suara forms check`), rebuild and deploy again.",
                )
            if waited >= POLL_BUDGET:
                raise DeployError(
                    f"{form_id}: import task {task_uid} still '{status}' after {waited:.0f} s.",
                    hint="The server's task queue is slow or stuck; deploy again later.",
                )
            self.session.sleep(wait)
            waited += wait
            wait = min(POLL_MAX_WAIT, wait * POLL_GROWTH)

    # -- 2. deploy / redeploy ---------------------------------------------------------------------

    def _deploy(self, form_id: str, uid: str, asset: dict) -> None:
        path = asset_path(uid, "deployment")
        if asset.get("has_deployment"):
            resp = self._redeploy(uid, asset, path)
        else:
            resp = self.session.request("POST", path, json_body={"active": True}, expect="response",
                                        ok_statuses=(400, 405), what=f"asset {uid}")
            if resp.status_code == 405:  # deployed meanwhile: KPI wants a PATCH
                resp = self._redeploy(uid, self.assets.detail(uid, fresh=True), path)
        if resp.status_code == 400:
            raise DeployError(
                f"{form_id}: Kobo refused to deploy asset {uid}: {_error_text(resp)}",
                hint="The form failed Kobo's XLSForm/ODK validation; run `suara forms check`, fix, deploy again.",
            )

    def _redeploy(self, uid: str, asset: dict, path: str):
        return self.session.request(
            "PATCH", path, json_body={"active": True, "version_id": asset.get("version_id")},
            expect="response", ok_statuses=(400,), what=f"asset {uid}",
        )

    # -- 3. verify ------------------------------------------------------------------------------

    def _verify(self, form, uid: str) -> str:
        asset = self.assets.detail(uid, fresh=True)
        latest, deployed = asset.get("version_id"), asset.get("deployed_version_id")
        if not asset.get("has_deployment") or not deployed or deployed != latest:
            raise DeployError(
                f"{form.form_id}: asset {uid} is not running the imported content "
                f"(deployed version {deployed}, latest {latest}).",
                hint="Deploy again; if it persists, redeploy from the Kobo UI and check for errors there.",
            )
        # KPI keeps the XLSForm's settings.version in the stored content; only the XForm it
        # generates gets its own "<n> (date)" version (kpi/mixins/xls_exportable.py, read in
        # kpi 2e5efb0), so this names exactly what we uploaded.
        settings = (asset.get("content") or {}).get("settings") or {}
        if isinstance(settings, list):
            settings = settings[0] if settings else {}
        on_server = str(settings.get("version", ""))
        if on_server != form.version:
            raise DeployError(
                f"{form.form_id}: asset {uid} reports form version '{on_server}', expected '{form.version}'.",
                hint="The server did not take the new version; check the project in the Kobo UI, then deploy again.",
            )
        return deployed


def _error_text(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        return str(body.get("error") or body.get("detail") or body)[:300]
    return str(body)[:300]



def deploy_forms(settings, forms, built: dict[str, Path], *, sleep=time.sleep) -> list[DeployResult]:
    """Deploy each form's built workbook to KOBO_URL; stops at the first form that fails.

    ``built`` maps form_id → the ``.xlsx`` written by ``suara forms build``. The caller
    (``suara forms deploy``) refuses forms failing ``suara forms check`` before calling this.
    """
    from suara.kobo import KoboClient  # the facade wires session, assets and registry

    client = KoboClient(settings, sleep=sleep)
    results = []
    for form in forms:
        if form.form_id not in built:
            raise DeployError(f"{form.form_id}: no built workbook was given for it.",
                              hint="Run `suara forms build` and pass its output.")
        results.append(client.deploy(form, built[form.form_id]))
    return results
