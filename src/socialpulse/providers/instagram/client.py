"""Instagram Graph API client (Instagram API with Facebook Login, v21.0).

Credentials: a user access token with ``instagram_basic``, ``instagram_manage_insights`` and
``instagram_manage_comments`` (plus ``pages_show_list``/``pages_read_engagement``), and the
``ig_user_id`` of the connected professional (business or creator) account.

What it reads:

* The connected account: ``GET /{ig-user-id}?fields=id,username,...`` and its media edge
  (``/{ig-user-id}/media``, cursor ``paging.cursors.after``, last page has no ``paging.next``).
* Other professional accounts, by username, through ``business_discovery`` on the connected
  account (``/{ig-user-id}?fields=business_discovery.username(NAME){...}``). Personal accounts
  cannot be looked up (Meta answers code 110 / subcode 2207013: ``NotFoundError``). Their media
  carry likes and comments only: insights and comments are for your own media.
* Insights per own media: ``GET /{media-id}/insights?metric=views,reach,saved,shares``. One call
  per media, on purpose: asking for ``insights`` inside the media edge fails the whole page when
  one media has none. Insights failing for a media is tolerated: media posted before the account
  became professional, stories past 24 h, or metrics a media type does not support answer a 400
  (codes 10/100, subcodes such as 2108006). The post is then returned with likes and comments
  only and the reason in ``raw["insights_error"]``. Auth, quota and transient errors are not
  tolerated: they say something about every later call too.
* Comments of own media: ``/{media-id}/comments`` with nested ``replies``, flattened.

Errors (https://developers.facebook.com/docs/graph-api/guides/error-handling): the body is
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", "is_transient"}}``.
``instagram_error`` maps codes 4, 17, 32, 613 and the 800xx business-use-case throttles to
``QuotaExhaustedError``, 190 (and 102) to ``AuthError``, 100/33, 803 and subcode 2207013 to
``NotFoundError``, 1, 2 and ``is_transient`` to ``TransientError`` (Meta: "temporary issue,
retry"), and everything else to ``PermanentError`` with Meta's message.

Usage headers are read after every response; see ``usage`` for the 90 % back-off.
"""

from __future__ import annotations

import dataclasses
import functools
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
    QuotaExhaustedError,
    TransientError,
    require_credentials,
)
from socialpulse.providers.http import (
    CircuitBreaker,
    ProviderHttp,
    clean_message,
    parse_retry_after,
)
from socialpulse.providers.instagram import parse
from socialpulse.providers.instagram.usage import UsageGuard, parse_usage

__all__ = [
    "API_BASE",
    "COMMENT_FIELDS",
    "DEFAULT_THROTTLE_RETRY_SECONDS",
    "MEDIA_FIELDS",
    "PROFILE_FIELDS",
    "InstagramClient",
    "build",
    "instagram_error",
]

log = structlog.get_logger(__name__)

API_BASE = "https://graph.facebook.com/v21.0/"
DISPLAY_NAME = "Instagram"
PROFILE_FIELDS = (
    "id,username,name,biography,profile_picture_url,followers_count,follows_count,"
    "media_count,website"
)
MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,permalink,thumbnail_url,media_url,timestamp,"
    "like_count,comments_count"
)
# Business discovery's media node does not offer thumbnail_url.
DISCOVERY_MEDIA_FIELDS = (
    "id,caption,media_type,media_product_type,permalink,media_url,timestamp,like_count,"
    "comments_count"
)
_COMMENT_NODE = "id,text,timestamp,username,like_count,from"
COMMENT_FIELDS = f"{_COMMENT_NODE},replies{{{_COMMENT_NODE},parent_id}}"
MAX_MEDIA_LIMIT = 50
COMMENTS_LIMIT = 50
# When Meta throttles without saying for how long: its windows are an hour long, rolling.
DEFAULT_THROTTLE_RETRY_SECONDS = 600.0

_THROTTLE_CODES = {4, 17, 32, 613} | {80001, 80002, 80003, 80004, 80005, 80006, 80008, 80009}
_THROTTLE_CODES |= {80014}
_AUTH_CODES = {102, 190}
_TRANSIENT_CODES = {1, 2}
_NOT_FOUND_CODES = {803}
_NOT_FOUND_SUBCODES = {33, 2207013}


def _graph_error(body: Any) -> dict[str, Any] | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error: dict[str, Any] = body["error"]
        return error
    return None


def instagram_error(
    response: httpx.Response, endpoint: str, usage: UsageGuard | None = None
) -> ProviderError | None:
    """Graph API error codes → typed errors; ``None`` leaves the status-based default.

    With a ``usage`` guard, the usage headers of the error response are read too, and a
    throttling error pauses later calls for its ``retry_after``.
    """
    if usage is not None:
        usage.observe(response.headers, endpoint)
    try:
        body = response.json()
    except ValueError:
        return None
    error = _graph_error(body)
    if error is None:
        return None
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = clean_message(error.get("message") or "unknown error")
    user_message = clean_message(error.get("error_user_msg") or "")
    if user_message and user_message not in message:
        message = f"{message} ({user_message})"
    label = f"code {code}" + (f"/{subcode}" if subcode is not None else "")
    text = f"Instagram returned HTTP {response.status_code} for {endpoint} ({label}): {message}"
    kwargs: dict[str, Any] = {
        "platform": Platform.INSTAGRAM.value,
        "endpoint": endpoint,
        "status_code": response.status_code,
    }
    if code in _THROTTLE_CODES:
        reported = parse_usage(response.headers)
        retry_after = (reported.regain_seconds if reported else None) or (
            DEFAULT_THROTTLE_RETRY_SECONDS
        )
        if usage is not None:
            usage.pause_for(retry_after)
        return QuotaExhaustedError(text, retry_after=retry_after, **kwargs)
    if code in _AUTH_CODES:
        return AuthError(text, **kwargs)
    if code in _TRANSIENT_CODES or error.get("is_transient") is True:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        return TransientError(text, retry_after=wait, **kwargs)
    if (
        code in _NOT_FOUND_CODES
        or subcode in _NOT_FOUND_SUBCODES
        or (code == 100 and "does not exist" in message)
    ):
        return NotFoundError(text, **kwargs)
    return PermanentError(text, **kwargs)


class InstagramClient:
    """``ProfileSource``, ``PostSource`` and ``CommentSource`` for one connected IG account."""

    def __init__(
        self,
        http: ProviderHttp,
        ig_user_id: str,
        usage: UsageGuard,
        *,
        with_insights: bool = True,
    ) -> None:
        self.http = http
        self.ig_user_id = ig_user_id
        self.usage = usage
        self.with_insights = with_insights
        self._own_username: str | None = None

    @classmethod
    def create(
        cls,
        access_token: str,
        ig_user_id: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        breaker: CircuitBreaker | None = None,
        with_insights: bool = True,
        usage_threshold: float = 90.0,
        max_inline_wait_seconds: float = 30.0,
        usage_cooldown_seconds: float = 60.0,
    ) -> InstagramClient:
        usage = UsageGuard(
            threshold=usage_threshold,
            cooldown_seconds=usage_cooldown_seconds,
            max_inline_wait_seconds=max_inline_wait_seconds,
            sleep=sleep,
            clock=clock,
        )
        http = ProviderHttp(
            Platform.INSTAGRAM.value,
            base_url=base_url,
            client=http_client,
            observer=observer,
            display_name=DISPLAY_NAME,
            error_mapper=functools.partial(instagram_error, usage=usage),
            breaker=breaker,
            params={"access_token": access_token},
            sleep=sleep,
        )
        return cls(http, ig_user_id, usage, with_insights=with_insights)

    def _get(self, endpoint: str, path: str, params: Mapping[str, Any]) -> Any:
        self.usage.before_request(endpoint)
        response = self.http.request_json("GET", endpoint, path, params=params)
        self.usage.observe(response.headers, endpoint)
        return response.data

    # -- profiles -------------------------------------------------------------------------

    def own_profile(self) -> Profile:
        """The connected account (remembers its username so ``get_profile`` recognises it)."""
        endpoint = "instagram.user"
        data = self._get(endpoint, self.ig_user_id, {"fields": PROFILE_FIELDS})
        with self.http.parsing(endpoint):
            profile = parse.parse_profile(data)
        self._own_username = profile.handle
        return profile

    def get_profile(self, handle: str) -> Profile:
        """The connected account (by its id, or by username once ``own_profile`` has run) or
        another professional account by username, through business discovery (which also
        answers for the connected account's own username)."""
        username = parse.normalize_username(handle)
        if username in (self.ig_user_id, self._own_username):
            return self.own_profile()
        endpoint = "instagram.business_discovery"
        fields = f"business_discovery.username({username}){{{PROFILE_FIELDS}}}"
        data = self._get(endpoint, self.ig_user_id, {"fields": fields})
        with self.http.parsing(endpoint):
            return parse.parse_profile(parse.parse_business_discovery(data))

    # -- posts ----------------------------------------------------------------------------

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """Media, newest first. Own media get insights (views, shares, saves); other accounts'
        media come through business discovery with likes and comments only."""
        count = max(1, min(limit, MAX_MEDIA_LIMIT))
        if account.external_id == self.ig_user_id:
            return self._own_media(cursor, count)
        return self._discovered_media(account, cursor, count)

    def _own_media(self, cursor: str | None, count: int) -> Page[Post]:
        endpoint = "instagram.media"
        params = {"fields": MEDIA_FIELDS, "limit": count, "after": cursor}
        data = self._get(endpoint, f"{self.ig_user_id}/media", params)
        with self.http.parsing(endpoint):
            posts, next_cursor = parse.parse_media_page(data, self.ig_user_id)
        if self.with_insights:
            posts = [self.with_post_insights(post) for post in posts]
        return Page(items=tuple(posts), next_cursor=next_cursor)

    def _discovered_media(self, account: AccountLike, cursor: str | None, count: int) -> Page[Post]:
        endpoint = "instagram.business_discovery.media"
        username = parse.normalize_username(account.handle)
        after = f".after({cursor})" if cursor else ""
        fields = (
            f"business_discovery.username({username})"
            f"{{id,media{after}.limit({count}){{{DISCOVERY_MEDIA_FIELDS}}}}}"
        )
        data = self._get(endpoint, self.ig_user_id, {"fields": fields})
        with self.http.parsing(endpoint):
            node = parse.parse_business_discovery(data)
            owner = str(node.get("id") or account.external_id)
            media = node.get("media") or {"data": []}
            posts, next_cursor = parse.parse_media_page(media, owner, require_next=False)
        if len(posts) < count:
            next_cursor = None  # a short page is the last one
        return Page(items=tuple(posts), next_cursor=next_cursor)

    def media_insights(self, media_id: str) -> dict[str, int]:
        """Lifetime insights of one own media: ``{"views": ..., "reach": ..., ...}``."""
        endpoint = "instagram.media.insights"
        params = {"metric": ",".join(parse.INSIGHT_METRICS)}
        data = self._get(endpoint, f"{media_id}/insights", params)
        with self.http.parsing(endpoint):
            return parse.parse_insights(data)

    def with_post_insights(self, post: Post) -> Post:
        """The post with its insights applied; unchanged (reason in raw) if it has none."""
        try:
            insights = self.media_insights(post.external_id)
        except (PermanentError, NotFoundError) as exc:
            log.info(
                "instagram.insights.unavailable",
                media_id=post.external_id,
                posted_at=post.posted_at.isoformat(),
                error=str(exc),
            )
            return dataclasses.replace(post, raw={**post.raw, "insights_error": str(exc)})
        return parse.apply_insights(post, insights)

    # -- comments -------------------------------------------------------------------------

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """Comments on an own media, oldest first as Meta lists them, replies after parents."""
        endpoint = "instagram.media.comments"
        params = {"fields": COMMENT_FIELDS, "limit": COMMENTS_LIMIT, "after": since_cursor}
        data = self._get(endpoint, f"{post_external_id}/comments", params)
        with self.http.parsing(endpoint):
            comments, next_cursor = parse.parse_comments(data, post_external_id)
        return Page(items=tuple(comments), next_cursor=next_cursor)


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> InstagramClient:
    """Credentials: ``{"access_token": "...", "ig_user_id": "1784..."}``."""
    access_token, ig_user_id = require_credentials(
        Platform.INSTAGRAM, credentials, "access_token", "ig_user_id"
    )
    return InstagramClient.create(
        access_token,
        ig_user_id,
        observer=observer,
        http_client=http_client,
    )
