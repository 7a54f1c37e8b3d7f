"""Bluesky client over the public AppView (no credentials needed for reads).

Endpoints: ``app.bsky.actor.getProfile``, ``app.bsky.feed.getAuthorFeed`` and
``app.bsky.feed.getPostThread`` (https://docs.bsky.app/docs/category/http-reference).
XRPC errors come back as ``{"error": "Name", "message": "..."}``; an unknown actor or post is a
*400* ``InvalidRequest``/``NotFound`` (not a 404), which ``bluesky_error`` maps to
``NotFoundError``. Rate limits answer 429 with ``ratelimit-reset`` (epoch seconds).

Which AppView is the operator's choice (``SOCIALPULSE_BLUESKY_APPVIEW_URL``), never a user's:
an ``appview_url`` credential let any editor point the server at any URL and read the answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import structlog

from socialpulse.providers.base import (
    AccountLike,
    AuthError,
    CallObserver,
    Comment,
    NotFoundError,
    Page,
    PermanentError,
    Platform,
    Post,
    Profile,
    ProviderError,
    TransientError,
)
from socialpulse.providers.bluesky import parse
from socialpulse.providers.http import CircuitBreaker, ProviderHttp, error_detail, parse_retry_after

__all__ = ["PUBLIC_APPVIEW", "BlueskyClient", "bluesky_error", "build", "configured_appview"]

log = structlog.get_logger(__name__)

PUBLIC_APPVIEW = "https://public.api.bsky.app/xrpc/"
DISPLAY_NAME = "Bluesky"
MAX_FEED_LIMIT = 100  # getAuthorFeed: limit 1..100
THREAD_DEPTH = 100  # getPostThread: depth 0..1000, default 6 would cut long conversations

_GONE_ERRORS = {"NotFound", "AccountTakedown", "AccountDeactivated", "BlockedActor"}
_AUTH_ERRORS = {"AuthMissing", "ExpiredToken", "InvalidToken", "AuthenticationRequired"}


def _retry_after(response: httpx.Response) -> float | None:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after
    reset = response.headers.get("ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None


def bluesky_error(response: httpx.Response, endpoint: str) -> ProviderError | None:
    """XRPC error names → typed errors; ``None`` leaves the status-based default."""
    try:
        body = response.json()
    except ValueError:
        body = None
    name = str(body.get("error") or "") if isinstance(body, dict) else ""
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    detail = error_detail(response)
    text = f"Bluesky returned HTTP {response.status_code} for {endpoint}" + (
        f": {detail}" if detail else ""
    )
    kwargs: dict[str, Any] = {
        "platform": Platform.BLUESKY.value,
        "endpoint": endpoint,
        "status_code": response.status_code,
    }
    if name in _GONE_ERRORS or (response.status_code == 400 and "not found" in message.lower()):
        return NotFoundError(text, **kwargs)
    if name in _AUTH_ERRORS:
        return AuthError(text, **kwargs)
    if response.status_code == 429:
        return TransientError(text, retry_after=_retry_after(response), **kwargs)
    return None


class BlueskyClient:
    """``ProfileSource``, ``PostSource`` and ``CommentSource`` for Bluesky."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    @classmethod
    def create(
        cls,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = PUBLIC_APPVIEW,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
    ) -> BlueskyClient:
        return cls(
            ProviderHttp(
                Platform.BLUESKY.value,
                base_url=base_url,
                client=http_client,
                observer=observer,
                display_name=DISPLAY_NAME,
                error_mapper=bluesky_error,
                breaker=breaker,
                sleep=sleep,
            )
        )

    def get_profile(self, handle: str) -> Profile:
        endpoint = "bluesky.actor.getProfile"
        actor = handle.strip().lstrip("@")
        data = self.http.get_json(endpoint, "app.bsky.actor.getProfile", {"actor": actor})
        with self.http.parsing(endpoint):
            return parse.parse_profile(data)

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """The account's own posts and pinned post, newest first (reposts skipped; see parse)."""
        endpoint = "bluesky.feed.getAuthorFeed"
        actor = account.external_id or account.handle
        params = {
            "actor": actor,
            "limit": max(1, min(limit, MAX_FEED_LIMIT)),
            "cursor": cursor,
            "filter": "posts_and_author_threads",
        }
        data = self.http.get_json(endpoint, "app.bsky.feed.getAuthorFeed", params)
        with self.http.parsing(endpoint):
            posts, next_cursor = parse.parse_author_feed(data)
        return Page(items=tuple(posts), next_cursor=next_cursor)

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """Every visible reply in the thread, in one page (the thread API does not paginate)."""
        endpoint = "bluesky.feed.getPostThread"
        if not post_external_id.startswith("at://"):
            raise PermanentError(
                f"Bluesky post ids are at:// URIs, got {post_external_id!r}",
                platform=Platform.BLUESKY.value,
                endpoint=endpoint,
            )
        params = {"uri": post_external_id, "depth": THREAD_DEPTH, "parentHeight": 0}
        data = self.http.get_json(endpoint, "app.bsky.feed.getPostThread", params)
        thread = data.get("thread") if isinstance(data, dict) else None
        if isinstance(thread, dict) and thread.get("$type") in (
            "app.bsky.feed.defs#notFoundPost",
            "app.bsky.feed.defs#blockedPost",
        ):
            raise NotFoundError(
                f"Bluesky post {post_external_id} is not visible ({thread['$type']})",
                platform=Platform.BLUESKY.value,
                endpoint=endpoint,
            )
        with self.http.parsing(endpoint):
            comments = parse.parse_thread(data)
        return Page(items=tuple(comments), next_cursor=None)


def configured_appview(credentials: Mapping[str, Any] | None = None) -> str:
    """The operator's AppView. An ``appview_url`` in ``credentials`` (stored before it stopped
    being accepted) is ignored, and said so in the log."""
    if credentials and credentials.get("appview_url"):
        log.warning("bluesky.credentials.appview_url_ignored")
    from socialpulse.config import get_settings  # providers read settings only here

    return get_settings().bluesky_appview_url or PUBLIC_APPVIEW


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> BlueskyClient:
    """No credentials: reads go to the operator's AppView (``configured_appview``)."""
    return BlueskyClient.create(
        observer=observer, http_client=http_client, base_url=configured_appview(credentials)
    )
