"""The KoboToolbox KPI v2 client: one facade over the session, assets, submissions and deploy.

    client = KoboClient(load_settings())
    uid, how = client.find_asset(form)
    for page in client.iter_pages(uid, after_id=watermark):
        ...  # page.results: submissions in Kobo JSON shape (kobo-api.md §6)

Attachments are never downloaded unless a caller asks (``download``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from suara.kobo.assets import HOW_TEXT, AssetRegistry, AssetService
from suara.kobo.deploy import Deployer, DeployResult, deploy_forms
from suara.kobo.session import KoboSession, sanitise_url
from suara.kobo.submissions import Page, SubmissionService


class KoboClient:
    """Everything Suara asks of a KPI server. Reads ``KOBO_URL``/``KOBO_TOKEN`` from settings."""

    def __init__(self, settings, *, sleep: Callable[[float], None] = time.sleep, session: KoboSession | None = None):
        self.settings = settings
        self.session = session or KoboSession.from_settings(settings, sleep=sleep)
        self._assets = AssetService(self.session)
        self._submissions = SubmissionService(self.session, self._assets, settings.suara_page_size)
        self.registry = AssetRegistry(settings.suara_data_dir)

    def __repr__(self) -> str:
        return f"KoboClient({self.session.base_url!r})"

    @property
    def base_url(self) -> str:
        return self.session.base_url

    @property
    def requests_made(self) -> int:
        """HTTP requests sent so far, retries included (for run records and tests)."""
        return self.session.requests_made

    # -- assets -------------------------------------------------------------------------------

    def assets(self) -> list[dict]:
        """Survey assets visible to the token (list items: no ``content``)."""
        return self._assets.surveys()

    def asset(self, uid: str) -> dict:
        return self._assets.detail(uid, fresh=True)

    def find_asset(self, form) -> tuple[str, str]:
        """``(uid, how)``: how ∈ {"registry", "suara.toml", "content.settings"} (see HOW_TEXT)."""
        return self._assets.find(form.form_id, self.registry, self.settings.assets)

    def submission_count(self, uid: str) -> int | None:
        """The server's counter of the asset's submissions (``deployment__submission_count``,
        kobo-api.md §4.2) as the asset look-up read it, without a request: a hint (it can lag
        deletions), not a count to balance against. None when the server withholds it (a token
        without view_submissions) or the asset was not looked up."""
        count = (self._assets.looked_up(uid) or {}).get("deployment__submission_count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    # -- submissions ----------------------------------------------------------------------------

    def fetch_page(self, uid: str, after_id: int | None = None, page_size: int | None = None) -> Page:
        """One page after ``after_id``; ``page.next_after_id`` is None when nothing follows."""
        return self._submissions.fetch_page(uid, after_id, page_size)

    def iter_pages(self, uid: str, after_id: int | None = None, page_size: int | None = None) -> Iterator[Page]:
        """Every page after ``after_id`` (keyset by ``_id``), streamed."""
        return self._submissions.iter_pages(uid, after_id, page_size)

    def iter_late(self, uid: str, watermark: int, window_seconds: int | None = None, *,
                  now: datetime | None = None) -> Iterator[Page]:
        """Re-read of rows ≤ watermark received within the late window (default from settings)."""
        window = self.settings.suara_late_window_seconds if window_seconds is None else window_seconds
        return self._submissions.iter_late(uid, watermark, window, now=now)

    def manifest(self, uid: str) -> Iterator[tuple[int, str, str | None]]:
        return self._submissions.manifest(uid)

    def fetch_ids(self, uid: str, ids: Iterable[int]) -> Iterator[list[dict]]:
        return self._submissions.fetch_ids(uid, ids)

    def version_map(self, uid: str) -> dict[str, str]:
        return self._submissions.version_map(uid)

    def download(self, url: str) -> bytes:
        """An attachment or encrypted file; the token goes only to KOBO_URL's own host."""
        return self.session.request("GET", url, expect="bytes", what=f"file {sanitise_url(url)}")

    # -- deployment -----------------------------------------------------------------------------

    def deploy(self, form, xlsx_path: Path) -> DeployResult:
        return Deployer(self.session, self._assets, self.registry, self.settings.assets).deploy(form, xlsx_path)


__all__ = ["HOW_TEXT", "DeployResult", "KoboClient", "KoboSession", "Page", "deploy_forms"]
