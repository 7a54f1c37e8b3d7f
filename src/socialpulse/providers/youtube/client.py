"""YouTube Data API v3 client (API key; https://developers.google.com/youtube/v3/docs).

Calls and their quota units (https://developers.google.com/youtube/v3/determine_quota_cost):
``channels.list``, ``playlistItems.list``, ``videos.list``, ``commentThreads.list`` and
``comments.list`` cost 1 unit each; ``search.list`` 100; ``comments.insert`` 50. The default
project quota is 10,000 units a day, reset at midnight Pacific time.

Posts are the channel's uploads playlist (``playlistItems.list``, 1 unit per 50 videos), then
``videos.list`` for statistics and durations (1 unit per 50 ids): listing 50 videos costs 2 units,
where ``search.list`` would cost 100.

Errors (https://developers.google.com/youtube/v3/docs/errors) carry
``error.errors[].reason``; ``youtube_error`` maps the reasons (a 403 can be a quota, a key or a
disabled-comments problem) before the status-based defaults apply.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

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
    utcnow,
)
from socialpulse.providers.http import (
    CircuitBreaker,
    ProviderHttp,
    clean_message,
    parse_retry_after,
)
from socialpulse.providers.youtube import parse

__all__ = [
    "API_BASE",
    "QUOTA_COST",
    "CommentsDisabledError",
    "YouTubeClient",
    "build",
    "seconds_until_quota_reset",
    "youtube_error",
]

API_BASE = "https://www.googleapis.com/youtube/v3/"
DISPLAY_NAME = "YouTube"
QUOTA_COST: dict[str, int] = {
    "channels.list": 1,
    "playlistItems.list": 1,
    "videos.list": 1,
    "commentThreads.list": 1,
    "comments.list": 1,
    "channelSections.list": 1,
    "search.list": 100,
    "comments.insert": 50,
}
MAX_RESULTS = 50  # channels/playlistItems/videos: maxResults and id batches are capped at 50
MAX_COMMENT_RESULTS = 100  # commentThreads/comments: maxResults up to 100
_PACIFIC = ZoneInfo("America/Los_Angeles")

_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"}
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
_AUTH_REASONS = {
    "keyInvalid",
    "keyExpired",
    "authError",
    "unauthorized",
    "forbidden",
    "insufficientPermissions",
    "accessNotConfigured",
    "ipRefererBlocked",
    "API_KEY_INVALID",
}
_NOT_FOUND_REASONS = {
    "videoNotFound",
    "channelNotFound",
    "playlistNotFound",
    "commentNotFound",
    "commentThreadNotFound",
    "notFound",
}


class CommentsDisabledError(PermanentError):
    """The video's owner turned comments off (reason ``commentsDisabled``)."""


def seconds_until_quota_reset(now: datetime | None = None) -> float:
    """YouTube quotas reset at midnight Pacific time."""
    local = (now or utcnow()).astimezone(_PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), _PACIFIC)
    return (midnight - local).total_seconds()


def _reasons(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return []
    error = body["error"]
    reasons = [str(e.get("reason")) for e in error.get("errors") or [] if e.get("reason")]
    reasons += [
        str(d.get("reason"))
        for d in error.get("details") or []
        if isinstance(d, dict) and d.get("reason")
    ]
    return reasons


def youtube_error(response: httpx.Response, endpoint: str) -> ProviderError | None:
    """Google error reasons → typed errors; ``None`` leaves the status-based default."""
    try:
        body = response.json()
    except ValueError:
        return None
    reasons = _reasons(body)
    if not reasons:
        return None
    error = body["error"]
    message = clean_message(error.get("message") or ", ".join(reasons))
    text = f"YouTube returned HTTP {response.status_code} for {endpoint} ({reasons[0]}): {message}"
    kwargs: dict[str, Any] = {
        "platform": Platform.YOUTUBE.value,
        "endpoint": endpoint,
        "status_code": response.status_code,
    }
    reason_set = set(reasons)
    if reason_set & _QUOTA_REASONS:
        return QuotaExhaustedError(text, retry_after=seconds_until_quota_reset(), **kwargs)
    if reason_set & _RATE_REASONS:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return TransientError(text, retry_after=retry_after, **kwargs)
    if "commentsDisabled" in reason_set:
        return CommentsDisabledError(text, **kwargs)
    if reason_set & _NOT_FOUND_REASONS:
        return NotFoundError(text, **kwargs)
    if reason_set & _AUTH_REASONS:
        return AuthError(text, **kwargs)
    return None


class YouTubeClient:
    """``ProfileSource``, ``PostSource``, ``CommentSource`` and ``ReplySource`` for YouTube
    channels."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    @classmethod
    def create(
        cls,
        api_key: str,
        *,
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
        base_url: str = API_BASE,
        sleep: Callable[[float], None] = time.sleep,
        breaker: CircuitBreaker | None = None,
    ) -> YouTubeClient:
        return cls(
            ProviderHttp(
                Platform.YOUTUBE.value,
                base_url=base_url,
                client=http_client,
                observer=observer,
                display_name=DISPLAY_NAME,
                error_mapper=youtube_error,
                breaker=breaker,
                params={"key": api_key},
                sleep=sleep,
            )
        )

    def _get(self, method: str, path: str, params: Mapping[str, Any]) -> Any:
        return self.http.get_json(f"youtube.{method}", path, params, quota_cost=QUOTA_COST[method])

    def get_profile(self, handle: str, parts: str = "snippet,statistics,contentDetails") -> Profile:
        """``@handle``, ``handle`` or a ``UC…`` channel id. ``parts`` adds resource parts
        (``status``, ``brandingSettings``) to ``Profile.raw`` at no extra quota cost."""
        endpoint = "youtube.channels.list"
        value = handle.strip()
        params: dict[str, Any] = {"part": parts}
        if parse.is_channel_id(value):
            params["id"] = value
            label = value
        else:
            value = value if value.startswith("@") else f"@{value}"
            params["forHandle"] = value
            label = value
        data = self._get("channels.list", "channels", params)
        with self.http.parsing(endpoint):
            items = parse.channel_items(data)
            if not items:
                raise NotFoundError(
                    f"YouTube channel {label} not found",
                    platform=Platform.YOUTUBE.value,
                    endpoint=endpoint,
                )
            return parse.parse_channel(items[0])

    def _uploads_playlist(self, account: AccountLike) -> str:
        if isinstance(account, Profile) and account.raw.get("contentDetails"):
            with self.http.parsing("youtube.channels.list"):
                return parse.uploads_playlist_id(account.raw)
        data = self._get(
            "channels.list", "channels", {"part": "contentDetails", "id": account.external_id}
        )
        with self.http.parsing("youtube.channels.list"):
            items = parse.channel_items(data)
            if not items:
                raise NotFoundError(
                    f"YouTube channel {account.external_id} not found",
                    platform=Platform.YOUTUBE.value,
                    endpoint="youtube.channels.list",
                )
            return parse.uploads_playlist_id(items[0])

    def list_posts(
        self, account: AccountLike, cursor: str | None = None, limit: int = 50
    ) -> Page[Post]:
        """Uploads, newest first. Pass a ``Profile`` from ``get_profile`` to save a unit."""
        playlist_id = self._uploads_playlist(account)
        try:
            data = self._get(
                "playlistItems.list",
                "playlistItems",
                {
                    "part": "contentDetails",
                    "playlistId": playlist_id,
                    "maxResults": max(1, min(limit, MAX_RESULTS)),
                    "pageToken": cursor,
                },
            )
        except NotFoundError:
            # A channel that never uploaded has no uploads playlist yet: no posts, no error.
            if cursor is None:
                return Page(items=(), next_cursor=None)
            raise
        with self.http.parsing("youtube.playlistItems.list"):
            video_ids, next_token = parse.parse_playlist_items(data)
        return Page(items=tuple(self.get_videos(video_ids)), next_cursor=next_token)

    def get_videos(self, video_ids: list[str]) -> list[Post]:
        """Videos by id, in the order given, 50 ids per ``videos.list`` call.

        Ids YouTube does not return (private, deleted) are left out.
        """
        by_id: dict[str, Post] = {}
        for start in range(0, len(video_ids), MAX_RESULTS):
            batch = video_ids[start : start + MAX_RESULTS]
            data = self._get(
                "videos.list",
                "videos",
                {
                    "part": "snippet,statistics,contentDetails",
                    "id": ",".join(batch),
                    "maxResults": MAX_RESULTS,
                },
            )
            with self.http.parsing("youtube.videos.list"):
                by_id.update((post.external_id, post) for post in parse.parse_videos(data))
        return [by_id[video_id] for video_id in video_ids if video_id in by_id]

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> Page[Comment]:
        """Comment threads, newest first; each top-level comment is followed by the replies
        YouTube embeds in the thread (up to 5; ``list_replies`` fetches the rest).

        A video with comments turned off gives an empty page.
        """
        try:
            data = self._get(
                "commentThreads.list",
                "commentThreads",
                {
                    "part": "snippet,replies",
                    "videoId": post_external_id,
                    "maxResults": MAX_COMMENT_RESULTS,
                    "textFormat": "plainText",
                    "order": "time",
                    "pageToken": since_cursor,
                },
            )
        except CommentsDisabledError:
            return Page(items=(), next_cursor=None)
        with self.http.parsing("youtube.commentThreads.list"):
            comments, next_token = parse.parse_comment_threads(data, post_external_id)
        return Page(items=tuple(comments), next_cursor=next_token)

    def list_replies(
        self, post_external_id: str, parent_external_id: str, cursor: str | None = None
    ) -> Page[Comment]:
        """One page (up to 100) of the replies to one top-level comment
        (``comments.list?parentId=``); the inbox polls it for threads with more replies than
        ``list_comments`` embeds."""
        data = self._get(
            "comments.list",
            "comments",
            {
                "part": "snippet",
                "parentId": parent_external_id,
                "maxResults": MAX_COMMENT_RESULTS,
                "textFormat": "plainText",
                "pageToken": cursor,
            },
        )
        with self.http.parsing("youtube.comments.list"):
            comments, next_token = parse.parse_comment_list(data, post_external_id)
        return Page(items=tuple(comments), next_cursor=next_token)


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> YouTubeClient:
    """Credentials: ``{"api_key": "..."}`` (a YouTube Data API v3 key)."""
    (api_key,) = require_credentials(Platform.YOUTUBE, credentials, "api_key")
    return YouTubeClient.create(api_key, observer=observer, http_client=http_client)
