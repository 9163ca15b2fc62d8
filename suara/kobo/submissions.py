"""Reading submissions: keyset pages, the late-visibility window, the manifest scan, refetches.

Everything streams one page at a time, so memory follows the page size, not the form's
history (design.md invariant 7). Pagination is keyset by ``_id`` (kobo-api.md §8.2):
``query={"_id": {"$gt": last}}``, ``sort={"_id": 1}``, an explicit ``limit`` ≤ 1000. It is
immune to rows inserted or deleted during the walk. ``count`` is never used and a short page
alone never ends the walk: a server may cap pages below what we asked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from suara.errors import KoboError, KoboNotFoundError
from suara.kobo.assets import AssetService, asset_path
from suara.kobo.session import KoboSession

MAX_PAGE = 1000
# Ids per refetch request: keeps the URL (the query rides in it) well under proxy limits.
REFETCH_CHUNK = 200
MANIFEST_FIELDS = ["_id", "_uuid", "_validation_status"]
SORT_BY_ID = json.dumps({"_id": 1})


@dataclass
class Page:
    """One page of submissions, with where it started and where the next one starts."""

    results: list[dict]
    after_id: int | None        # the cursor this page was read after (None: from the start)
    next_after_id: int | None   # the cursor for the next page (None: this was the last page)
    requests: int               # HTTP requests this page cost, retries included
    limit: int                  # page size actually asked for (shrinks when big pages fail)
    count: int | None = None    # rows the server says match (this page's and those after), if it says


def _is_page(body) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("results"), list)
        and all(isinstance(r, dict) and isinstance(r.get("_id"), int) for r in body["results"])
    )


def kobo_time(moment: datetime) -> str:
    """``_submission_time``'s shape: UTC, whole seconds, no zone (kobo-api.md §5.3)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class SubmissionService:
    def __init__(self, session: KoboSession, assets: AssetService, page_size: int = MAX_PAGE):
        self.session = session
        self.assets = assets
        self.page_size = max(1, min(MAX_PAGE, page_size))

    def _limit(self, page_size: int | None) -> int:
        want = min(MAX_PAGE, page_size or self.page_size)
        # Once big pages have failed, keep the smaller size for the rest of the session.
        return min(want, self.session.page_limit) if self.session.page_limit else want

    def fetch_page(
        self,
        uid: str,
        after_id: int | None = None,
        page_size: int | None = None,
        *,
        where: dict | None = None,
        fields: list[str] | None = None,
    ) -> Page:
        """One page of submissions with ``_id`` > ``after_id``, ascending.

        ``page.next_after_id`` is None when the server has nothing after this page: an empty
        page, or a short page with no ``next`` link. ``where`` adds MongoDB conditions; an
        ``_id`` condition there is combined with the cursor.
        """
        query = dict(where or {})
        if after_id is not None:
            own = query.get("_id")
            query["_id"] = {**own, "$gt": after_id} if isinstance(own, dict) else {"$gt": after_id}
        limit = self._limit(page_size)
        params = {"limit": limit, "sort": SORT_BY_ID}
        if query:
            params["query"] = json.dumps(query)
        if fields:
            params["fields"] = json.dumps(fields)
        before = self.session.requests_in_thread
        body = self.session.get_json(asset_path(uid, "data"), params, valid=_is_page,
                                     what=f"submissions of asset {uid}")
        results = body["results"]
        cost = self.session.requests_in_thread - before
        limit = self.session.page_limit if self.session.page_limit and self.session.page_limit < limit else limit
        if not results:
            return Page([], after_id, None, cost, limit)
        last = results[-1]["_id"]
        if after_id is not None and last <= after_id:
            raise KoboError(
                f"The server ignored the _id cursor for asset {uid} (page ended at {last}, "
                f"asked for ids after {after_id}).",
                code="KOBO_030",
                hint="This server does not support query/sort on the data endpoint as KPI does; "
                "report it to its administrator.",
            )
        # KPI's ``count`` is the number of rows matching the query (those after the cursor):
        # when this page holds them all, asking again would only fetch an empty page.
        count = body.get("count")
        done = body.get("next") is None and (
            len(results) < limit or (isinstance(count, int) and not isinstance(count, bool) and count <= len(results)))
        return Page(results, after_id, None if done else last, cost, limit,
                    count if isinstance(count, int) and not isinstance(count, bool) else None)

    def iter_pages(
        self,
        uid: str,
        after_id: int | None = None,
        page_size: int | None = None,
        *,
        where: dict | None = None,
        fields: list[str] | None = None,
    ) -> Iterator[Page]:
        """Pages after ``after_id`` until the server has none (the last page may be empty)."""
        cursor = after_id
        while True:
            page = self.fetch_page(uid, cursor, page_size, where=where, fields=fields)
            yield page
            if page.next_after_id is None:
                return
            cursor = page.next_after_id

    def iter_submissions(self, uid: str, after_id: int | None = None, **kw) -> Iterator[dict]:
        for page in self.iter_pages(uid, after_id, **kw):
            yield from page.results

    def iter_late(
        self, uid: str, watermark: int, window_seconds: int, *, now: datetime | None = None
    ) -> Iterator[Page]:
        """Pages of rows at or below ``watermark`` received in the last ``window_seconds``.

        A slow submission (large media) can become visible after a quicker one with a higher
        ``_id`` was read (kobo-api.md §8.3), so each run re-reads this window and upserts.
        Rows above the watermark are left to the normal walk.
        """
        since = (now or datetime.now(UTC)) - timedelta(seconds=window_seconds)
        where = {"_submission_time": {"$gte": kobo_time(since)}}
        for page in self.iter_pages(uid, None, where=where):
            kept = [r for r in page.results if r["_id"] <= watermark]
            beyond = len(kept) < len(page.results)
            yield Page(kept, page.after_id, None if beyond else page.next_after_id, page.requests, page.limit)
            if beyond:
                return

    def manifest(self, uid: str) -> Iterator[tuple[int, str, str | None]]:
        """``(_id, _uuid, validation status uid or None)`` for every submission, ascending.

        About one request per 1000 submissions; the caller compares with what it stored to find
        edits (``_uuid`` changed), validation changes and deletions (ids no longer listed).
        Deletions may only be concluded after this generator ran to its end without error.
        """
        for page in self.iter_pages(uid, None, MAX_PAGE, fields=MANIFEST_FIELDS):
            for row in page.results:
                status = row.get("_validation_status") or {}
                uid_ = status.get("uid") if isinstance(status, dict) else None
                yield row["_id"], str(row.get("_uuid") or ""), (None if uid_ is None else str(uid_))

    def fetch_ids(self, uid: str, ids: Iterable[int]) -> Iterator[list[dict]]:
        """The current full submissions for ``ids``, one list per request chunk.

        Ids that no longer exist are simply absent from the results.
        """
        chunk: list[int] = []
        for i in ids:
            chunk.append(int(i))
            if len(chunk) >= self._chunk_size():
                yield self._fetch_chunk(uid, chunk)
                chunk = []
        if chunk:
            yield self._fetch_chunk(uid, chunk)

    def _chunk_size(self) -> int:
        return min(REFETCH_CHUNK, self._limit(None))

    def _fetch_chunk(self, uid: str, ids: list[int]) -> list[dict]:
        # Ask again for the ids not yet seen, in case the server caps pages below the chunk
        # size; only ``$in`` is used, the most widely supported operator.
        out: list[dict] = []
        remaining = sorted(set(ids))
        wanted = set(remaining)
        data = asset_path(uid, "data")
        while remaining:
            params = {"limit": len(remaining), "sort": SORT_BY_ID,
                      "query": json.dumps({"_id": {"$in": remaining}})}
            body = self.session.get_json(data, params, valid=_is_page, what=f"submissions of asset {uid}")
            if not body["results"]:
                break
            out.extend(r for r in body["results"] if r["_id"] in wanted)
            last = body["results"][-1]["_id"]
            left = [i for i in remaining if i > last]
            if len(left) == len(remaining):  # no progress: the server ignored the query
                break
            remaining = left
        return out

    # -- versions ---------------------------------------------------------------------------

    def version_map(self, uid: str) -> dict[str, str]:
        """``{__version__ uid: form version}`` for every deployed version of the asset.

        Submissions carry the KPI version uid in ``__version__``; the form version (the XLSForm
        ``settings.version``) is read from each deployed version's content (kobo-api.md §10.2).
        """
        asset = self.assets.detail(uid, fresh=True)
        out: dict[str, str] = {}
        for vid in self._deployed_version_ids(asset):
            version = self._version_of(uid, vid, asset)
            if version:
                out[vid] = version
        return out

    def _deployed_version_ids(self, asset: dict) -> list[str]:
        ids: list[str] = []
        block = asset.get("deployed_versions") or {}
        while True:
            ids += [v["uid"] for v in block.get("results", []) if v.get("uid")]
            nxt = block.get("next")
            if not nxt:
                break
            block = self.session.get_json(self.session.rebase(nxt), valid=lambda b: isinstance(b, dict))
        current = asset.get("deployed_version_id")
        if current and current not in ids:
            ids.append(current)
        return ids

    def _version_of(self, uid: str, vid: str, asset: dict) -> str | None:
        try:
            body = self.session.get_json(asset_path(uid, "versions", vid), what=f"version {vid} of asset {uid}")
            content = body.get("content") if isinstance(body, dict) else None
        except KoboNotFoundError:
            content = None
        if content is None and vid == asset.get("deployed_version_id") == asset.get("version_id"):
            content = asset.get("content")
        settings = (content or {}).get("settings") or {}
        if isinstance(settings, list):
            settings = settings[0] if settings else {}
        value = settings.get("version")
        return str(value) if value not in (None, "") else None
