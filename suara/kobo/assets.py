"""Projects ("assets") on the server, and how a form finds its own (design.md, kobo-api.md §4).

KPI replaces a deployed form's XForm id with the asset uid, so a form cannot be found by its
``form_id`` alone. The order of lookup, and the label reported for each:

1. ``registry`` — the uid Suara recorded when it deployed the form (``<data dir>/kobo_assets.json``);
   skipped when that asset no longer exists on this server (e.g. KOBO_URL changed);
2. ``suara.toml`` — an explicit uid under ``[assets]``;
3. ``content.settings`` — the one survey asset whose ``content.settings.form_id`` (or
   ``id_string``) equals the form_id.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from suara.errors import AssetLookupError, ConfigurationError, KoboNotFoundError
from suara.kobo.session import KoboSession

log = logging.getLogger(__name__)

REGISTRY_FILE = "kobo_assets.json"
ASSETS_PATH = "/api/v2/assets/"
LIST_PAGE = 100
HOW_REGISTRY = "registry"
HOW_CONFIG = "suara.toml"
HOW_CONTENT = "content.settings"
# AssetLookupError codes: deploy creates a new asset only when there is none.
NO_ASSET = "KOBO_011"
SEVERAL_ASSETS = "KOBO_012"
BAD_CONFIGURED_ASSET = "KOBO_013"
HOW_TEXT = {
    HOW_REGISTRY: "uid recorded when Suara deployed it",
    HOW_CONFIG: "uid set under [assets] in suara.toml",
    HOW_CONTENT: "found by form_id in the asset's content.settings",
}


def asset_path(uid: str, *rest: str) -> str:
    return "/".join([ASSETS_PATH.rstrip("/"), uid, *rest]) + "/"


def _is_envelope(body) -> bool:
    return isinstance(body, dict) and isinstance(body.get("results"), list)


# -- the registry file ------------------------------------------------------------------------


class AssetRegistry:
    """``form_id → asset uid`` as recorded at deploy, in a small JSON file."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / REGISTRY_FILE

    def read(self) -> dict[str, str]:
        if not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ConfigurationError(
                f"{self.path} is not readable JSON.",
                hint="Delete it; the next `suara forms deploy` writes it again (lookups fall back to "
                "suara.toml and the form_id meanwhile).",
            ) from None
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items() if isinstance(v, str)}

    def get(self, form_id: str) -> str | None:
        return self.read().get(form_id)

    def record(self, form_id: str, uid: str) -> None:
        data = self.read()
        data[form_id] = uid
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a file


# -- reading assets ---------------------------------------------------------------------------


class AssetService:
    def __init__(self, session: KoboSession):
        self.session = session
        self._details: dict[str, dict] = {}
        self._listed: list[dict] | None = None  # survey listing for find(), once per client

    def iter_assets(self) -> Iterator[dict]:
        """Every asset the token can see (all types), following ``next`` links."""
        link: str | None = ASSETS_PATH
        params: dict | None = {"limit": LIST_PAGE}
        while link:
            page = self.session.get_json(link, params, valid=_is_envelope)
            yield from page["results"]
            nxt = page.get("next")
            link = self.session.rebase(nxt) if nxt else None
            params = None  # the next link carries them

    def surveys(self) -> list[dict]:
        return [a for a in self.iter_assets() if a.get("asset_type", "survey") == "survey"]

    def detail(self, uid: str, *, fresh: bool = False) -> dict:
        if fresh or uid not in self._details:
            body = self.session.get_json(asset_path(uid), what=f"asset {uid}",
                                         valid=lambda b: isinstance(b, dict) and "uid" in b)
            self._details[uid] = body
        return self._details[uid]

    def looked_up(self, uid: str) -> dict | None:
        """The asset's detail as ``find`` (or ``detail``) read it, without a request; None if
        it was not read."""
        return self._details.get(uid)

    def find(self, form_id: str, registry: AssetRegistry, configured: dict[str, str]) -> tuple[str, str]:
        """``(uid, how)`` for a form; ``how`` is one of the HOW_* labels above."""
        uid = registry.get(form_id)
        if uid:
            try:
                self.detail(uid)
                return uid, HOW_REGISTRY
            except KoboNotFoundError:
                log.warning("kobo: asset recorded for %s at deploy is gone from this server; "
                            "looking further", form_id)
        uid = configured.get(form_id)
        if uid:
            try:
                self.detail(uid)
            except KoboNotFoundError as exc:
                raise AssetLookupError(
                    code=BAD_CONFIGURED_ASSET, message=f"{form_id}: the asset {uid} set in suara.toml [assets] does not exist on "
                    f"{self.session.base_url} (or this token cannot see it).",
                    hint="Fix the uid in suara.toml (22 characters after #/forms/ in the project URL), "
                    "or remove it to let Suara find the asset by form_id.",
                ) from exc
            return uid, HOW_CONFIG
        # One listing per client serves every form's lookup (a sync finds several forms); a
        # form it does not hold is looked up again in a fresh listing (deployed since).
        cached = self._listed is not None
        if not cached:
            self._listed = self.surveys()
        matches = [a["uid"] for a in self._listed if self._matches(a["uid"], form_id)]
        if not matches and cached:
            self._listed = self.surveys()
            matches = [a["uid"] for a in self._listed if self._matches(a["uid"], form_id)]
        if len(matches) == 1:
            return matches[0], HOW_CONTENT
        if not matches:
            raise AssetLookupError(
                code=NO_ASSET, message=f"{form_id}: no project on {self.session.base_url} has form_id '{form_id}'.",
                hint="Deploy it with `suara forms deploy`, or set its uid in suara.toml: "
                f'[assets] {form_id} = "a…"',
            )
        raise AssetLookupError(
            code=SEVERAL_ASSETS, message=f"{form_id}: {len(matches)} projects carry form_id '{form_id}': {', '.join(matches)}.",
            hint=f'Pick one in suara.toml: [assets] {form_id} = "<uid>" (archive the others in Kobo).',
        )

    def _matches(self, uid: str, form_id: str) -> bool:
        settings = (self.detail(uid).get("content") or {}).get("settings") or {}
        if isinstance(settings, list):  # legacy content keeps settings as a one-row list
            settings = settings[0] if settings else {}
        return form_id in (settings.get("form_id"), settings.get("id_string"))
