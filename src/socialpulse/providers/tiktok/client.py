"""TikTok API v2 client (Login Kit + Display API scopes) for one connected account.

Credentials: a user ``access_token`` with ``user.info.basic``, ``user.info.profile``,
``user.info.stats`` and ``video.list``.

What it reads (https://developers.tiktok.com/doc/overview):

* ``GET user/info/?fields=...``: the *authorised user only*. TikTok's v2 API has no lookup of
  other accounts for regular apps (the Research API is a separate, vetted programme), so
  ``get_profile(handle)`` answers for the connected account's username or ``open_id`` and raises
  ``PermanentError`` for any other handle, naming the connected account.
* ``POST video/list/?fields=...`` with ``{"max_count": 20, "cursor": ...}``: the connected
  account's public videos, newest first; ``data.cursor`` and ``data.has_more`` paginate.
  ``list_posts`` checks that the account asked for is the connected one (one ``user/info`` call
  per client, remembered), since TikTok would silently answer with the token owner's videos.
* ``POST video/query/?fields=...`` with ``{"filters": {"video_ids": [...]}}``: fresh metrics for
  known videos, 20 ids per call (``get_videos`` batches).

No comments: TikTok's public v2 API offers no endpoint that lists a video's comments to regular
apps (comment reads exist only in the Research API, for approved academic researchers, and
``comment_count`` is all the Display API gives). So this client does not implement
``CommentSource`` and the provider does not claim the ``comments`` capability; the inbox shows
TikTok comment *counts* only.

Errors (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling): the envelope's
``error.code`` decides, whatever the HTTP status, and even on HTTP 200 a code other than ``"ok"``
is a failure. ``access_token_invalid``, ``scope_not_authorized`` and ``scope_permission_missed``
→ ``AuthError``; ``rate_limit_exceeded`` → ``TransientError`` with ``retry_after`` (the header, or
60 s): TikTok's limits are per-endpoint requests per one-minute sliding window, so waiting a
minute is enough and the HTTP core retries it; a daily quota does not apply to these endpoints,
hence not ``QuotaExhaustedError``. ``internal_error`` (TikTok's 5xx) → ``TransientError``; every
other code → ``PermanentError`` with TikTok's message and ``log_id`` (support asks for it). An
error carried by an HTTP 200 is raised after the call is recorded as answered, so it is not
retried in-process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from socialpulse.providers.base import (
    AccountLike,
    AuthError,
    CallObserver,
    Page,
    PermanentError,
    Platform,
    Post,
    Profile,
    ProviderError,
    TransientError,
    require_credentials,
)
from socialpulse.providers.http import (
    CircuitBreaker,
    JsonResponse,
    ProviderHttp,
    clean_message,
    parse_retry_after,
)
from socialpulse.providers.tiktok import parse

__all__ = [
    "API_BASE",
    "MAX_QUERY_IDS",
    "MAX_VIDEO_COUNT",
    "USER_FIELDS",
    "VIDEO_FIELDS",
    "TikTokClient",
    "build",
    "envelope_body",
    "tiktok_error",
]

API_BASE = "https://open.tiktokapis.com/v2/"
DISPLAY_NAME = "TikTok"
USER_FIELDS = (
    "open_id,union_id,avatar_url,display_name,bio_description,profile_deep_link,is_verified,"
    "follower_count,following_count,likes_count,video_count,username"
)
VIDEO_FIELDS = (
    "id,title,video_description,duration,cover_image_url,share_url,embed_link,create_time,"
    "like_count,comment_count,share_count,view_count"
)
MAX_VIDEO_COUNT = 20  # video/list: max_count is at most 20
MAX_QUERY_IDS = 20  # video/query: at most 20 video ids
RATE_LIMIT_RETRY_SECONDS = 60.0

_AUTH_CODES = {"access_token_invalid", "scope_not_authorized", "scope_permission_missed"}
_TRANSIENT_CODES = {"internal_error"}


def _error_for(
    error: parse.EnvelopeError,
    *,
    endpoint: str,
    status_code: int,
    headers: httpx.Headers,
) -> ProviderError:
    message = clean_message(error.message or "no message")
    text = f"TikTok returned {clean_message(error.code, 60)} (HTTP {status_code}) for {endpoint}: "
    text += message + (f" [log_id {clean_message(error.log_id, 80)}]" if error.log_id else "")
    kwargs: dict[str, Any] = {
        "platform": Platform.TIKTOK.value,
        "endpoint": endpoint,
        "status_code": status_code,
    }
    if error.code in _AUTH_CODES:
        return AuthError(text, **kwargs)
    if error.code == "rate_limit_exceeded":
        retry_after = parse_retry_after(headers.get("Retry-After")) or RATE_LIMIT_RETRY_SECONDS
        return TransientError(text, retry_after=retry_after, **kwargs)
    if error.code in _TRANSIENT_CODES:
        return TransientError(
            text, retry_after=parse_retry_after(headers.get("Retry-After")), **kwargs
        )
    return PermanentError(text, **kwargs)


def envelope_body(response: JsonResponse, endpoint: str) -> Any:
    """The body of a TikTok answer; its envelope's error raised as a typed error, since TikTok
    may report a failure inside an HTTP 200."""
    error = parse.envelope_error(response.data)
    if error is not None:
        raise _error_for(
            error, endpoint=endpoint, status_code=response.status_code, headers=response.headers
        )
    return response.data


def tiktok_error(response: httpx.Response, endpoint: str) -> ProviderError | None:
    """TikTok error codes → typed errors; ``None`` (status-based default) without an envelope."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = parse.envelope_error(body)
    if error is None:
        return None
    return _error_for(
        error, endpoint=endpoint, status_code=response.status_code, headers=response.headers
    )


class TikTokClient:
    """``ProfileSource`` and ``PostSource`` for the connected TikTok account (no comments)."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http
        self._own: Profile | None = None

    @classmethod
    def create(
        cls,
        access_token: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
    ) -> TikTokClient:
        return cls(
            ProviderHttp(
                Platform.TIKTOK.value,
                base_url=base_url,
                client=http_client,
                observer=observer,
                display_name=DISPLAY_NAME,
                error_mapper=tiktok_error,
                breaker=breaker,
                headers={"Authorization": f"Bearer {access_token}"},
                sleep=sleep,
            )
        )

    def _call(
        self, method: str, endpoint: str, path: str, json_body: Any = None, fields: str = ""
    ) -> Any:
        response = self.http.request_json(
            method, endpoint, path, params={"fields": fields}, json_body=json_body
        )
        return envelope_body(response, endpoint)

    # -- profile --------------------------------------------------------------------------

    def own_profile(self) -> Profile:
        """The connected account, fresh (and remembered for the account checks)."""
        endpoint = "tiktok.user.info"
        body = self._call("GET", endpoint, "user/info/", fields=USER_FIELDS)
        with self.http.parsing(endpoint):
            profile = parse.parse_user(body)
        if not profile.handle:
            raise AuthError(
                "TikTok did not return the username: reconnect the account granting the "
                "user.info.profile scope",
                platform=Platform.TIKTOK.value,
                endpoint=endpoint,
            )
        self._own = profile
        return profile

    def _connected(self) -> Profile:
        return self._own if self._own is not None else self.own_profile()

    def get_profile(self, handle: str) -> Profile:
        """The connected account, by its username or ``open_id``; any other handle raises
        ``PermanentError`` (TikTok's API cannot read other accounts)."""
        profile = self.own_profile()
        wanted = parse.normalize_username(handle)
        if wanted not in (profile.handle, profile.external_id.lower()):
            raise PermanentError(
                f"TikTok's API only reads the connected account (@{profile.handle}); "
                f"@{wanted} cannot be looked up with this connection",
                platform=Platform.TIKTOK.value,
                endpoint="tiktok.user.info",
            )
        return profile

    # -- videos ---------------------------------------------------------------------------

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """The connected account's videos, newest first, at most 20 per page."""
        endpoint = "tiktok.video.list"
        own = self._connected()
        if account.external_id != own.external_id and (
            parse.normalize_username(account.handle) != own.handle
        ):
            raise PermanentError(
                f"TikTok's API only lists the connected account's videos (@{own.handle}), "
                f"not @{account.handle}'s",
                platform=Platform.TIKTOK.value,
                endpoint=endpoint,
            )
        body: dict[str, Any] = {"max_count": max(1, min(limit, MAX_VIDEO_COUNT))}
        if cursor is not None:
            if not cursor.isdigit():
                raise PermanentError(
                    f"Malformed TikTok cursor {cursor!r} (expected Unix milliseconds)",
                    platform=Platform.TIKTOK.value,
                    endpoint=endpoint,
                )
            body["cursor"] = int(cursor)
        data = self._call("POST", endpoint, "video/list/", body, fields=VIDEO_FIELDS)
        with self.http.parsing(endpoint):
            posts, next_cursor = parse.parse_video_list(data, own.external_id)
        return Page(items=tuple(posts), next_cursor=next_cursor)

    def get_videos(self, video_ids: list[str]) -> list[Post]:
        """The connected account's videos by id, in the order given (20 ids per call).

        Ids TikTok does not return (deleted, private, not this account's) are left out.
        """
        endpoint = "tiktok.video.query"
        own = self._connected()
        by_id: dict[str, Post] = {}
        for start in range(0, len(video_ids), MAX_QUERY_IDS):
            batch = video_ids[start : start + MAX_QUERY_IDS]
            body = {"filters": {"video_ids": batch}}
            data = self._call("POST", endpoint, "video/query/", body, fields=VIDEO_FIELDS)
            with self.http.parsing(endpoint):
                posts = parse.parse_video_query(data, own.external_id)
            by_id.update((post.external_id, post) for post in posts)
        return [by_id[video_id] for video_id in video_ids if video_id in by_id]


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> TikTokClient:
    """Credentials: ``{"access_token": "act.…"}`` (a user access token)."""
    (token,) = require_credentials(Platform.TIKTOK, credentials, "access_token")
    return TikTokClient.create(token, observer=observer, http_client=http_client)
