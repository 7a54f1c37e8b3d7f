"""TikTok API v2 responses → socialpulse DTOs.

References: https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info ,
https://developers.tiktok.com/doc/tiktok-api-v2-video-list ,
https://developers.tiktok.com/doc/tiktok-api-v2-video-query ,
https://developers.tiktok.com/doc/tiktok-api-v2-error-handling .

Quirks handled here:

* Every response is ``{"data": {...}, "error": {"code", "message", "log_id"}}``; ``code`` is
  ``"ok"`` on success, *even on HTTP 200 a different code is a failure* (``envelope_error``).
* Identity: ``open_id`` is per app and per user; it is the account's external id. ``username``
  needs the ``user.info.profile`` scope and the counters need ``user.info.stats``; a missing
  counter is ``None``, not 0.
* ``create_time`` is Unix seconds (UTC). The list cursor is Unix *milliseconds* of the oldest
  video returned; ``has_more`` says whether to send it back.
* A video's text is ``video_description`` (the caption); ``title`` is often empty. There is no
  public save/bookmark counter: ``saves`` is ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from socialpulse.providers.base import (
    MalformedPayloadError,
    MediaType,
    Platform,
    Post,
    PostMetrics,
    Profile,
    extract_hashtags,
    extract_mentions,
)
from socialpulse.providers.items import fit, parse_each, scrub

__all__ = [
    "EnvelopeError",
    "envelope_data",
    "envelope_error",
    "normalize_username",
    "parse_profile_url",
    "parse_user",
    "parse_video",
    "parse_video_list",
    "parse_video_query",
    "profile_url",
]

TIKTOK_WEB = "https://www.tiktok.com"
_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com"}


def normalize_username(value: str) -> str:
    return value.strip().lstrip("@").lower()


def profile_url(username: str) -> str:
    return f"{TIKTOK_WEB}/@{username}"


def parse_profile_url(url: str) -> str | None:
    """``https://www.tiktok.com/@name`` → ``name``; ``None`` for any other URL.

    Short links (``vm.tiktok.com/...``) need a redirect to resolve and are not accepted.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or not segments[0].startswith("@"):
        return None
    username = normalize_username(segments[0])
    valid = username and all(c.isalnum() or c in "._" for c in username)
    return username if valid else None


@dataclass(frozen=True, slots=True)
class EnvelopeError:
    """The ``error`` object of a response whose ``code`` is not ``"ok"``."""

    code: str
    message: str
    log_id: str


def envelope_error(body: Any) -> EnvelopeError | None:
    """The error of a TikTok envelope, or ``None`` when ``error.code`` is ``"ok"`` or absent."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    code = str(error.get("code") or "ok")
    if code == "ok":
        return None
    return EnvelopeError(code, str(error.get("message") or ""), str(error.get("log_id") or ""))


def envelope_data(body: Any, what: str) -> dict[str, Any]:
    """The ``data`` object of a successful envelope."""
    if not isinstance(body, dict):
        raise MalformedPayloadError(f"TikTok returned a {what} response that is not a JSON object")
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"TikTok returned a {what} response without a 'data' object")
    return data


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _require(data: Any, key: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"TikTok returned a {what} that is not a JSON object")
    value = data.get(key)
    if value is None or value == "":
        raise MalformedPayloadError(f"TikTok returned a {what} without '{key}'")
    return value


def parse_user(body: Any) -> Profile:
    """``user/info/`` → the connected account. ``handle`` is ``""`` without the profile scope."""
    user = scrub(_require(envelope_data(body, "user info"), "user", "user info response"))
    open_id = str(_require(user, "open_id", "user"))
    username = normalize_username(str(user.get("username") or ""))
    profile = Profile(
        platform=Platform.TIKTOK,
        external_id=open_id,
        handle=username,
        display_name=str(user.get("display_name") or username or open_id),
        bio=str(user.get("bio_description") or ""),
        avatar_url=user.get("avatar_url") or None,
        profile_url=user.get("profile_deep_link") or (profile_url(username) if username else None),
        followers_count=_int_or_none(user.get("follower_count")),
        following_count=_int_or_none(user.get("following_count")),
        posts_count=_int_or_none(user.get("video_count")),
        verified=bool(user.get("is_verified")),
        raw=dict(user),
    )
    return fit(profile)


def parse_video(data: Any, account_external_id: str) -> Post:
    video_id = str(_require(data, "id", "video"))
    created = _require(data, "create_time", "video")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise MalformedPayloadError(
            f"TikTok returned video {video_id} with a non-numeric create_time"
        )
    caption = str(data.get("video_description") or data.get("title") or "")
    return Post(
        platform=Platform.TIKTOK,
        external_id=video_id,
        account_external_id=account_external_id,
        url=data.get("share_url") or None,
        caption=caption,
        posted_at=datetime.fromtimestamp(created, tz=UTC),
        media_type=MediaType.VIDEO,
        hashtags=extract_hashtags(caption),
        mentions=extract_mentions(caption),
        duration_seconds=_int_or_none(data.get("duration")),
        thumbnail_url=data.get("cover_image_url") or None,
        metrics=PostMetrics(
            views=_int_or_none(data.get("view_count")),
            likes=_int_or_none(data.get("like_count")),
            comments=_int_or_none(data.get("comment_count")),
            shares=_int_or_none(data.get("share_count")),
            saves=None,
        ),
        raw=dict(data),
    )


def _videos(data: dict[str, Any], what: str) -> list[Any]:
    videos = data.get("videos", [])
    if not isinstance(videos, list):
        raise MalformedPayloadError(
            f"TikTok returned a {what} response whose 'videos' is not a list"
        )
    return videos


def parse_video_list(body: Any, account_external_id: str) -> tuple[list[Post], str | None]:
    """``video/list/`` → posts (newest first) and the next cursor (``None`` on the last page)."""
    data = envelope_data(body, "video list")
    posts = _parse_videos(data, "video list", account_external_id)
    if not data.get("has_more"):
        return posts, None
    cursor = data.get("cursor")
    if not isinstance(cursor, int) or isinstance(cursor, bool):
        raise MalformedPayloadError("TikTok returned has_more without a numeric 'cursor'")
    return posts, str(cursor)


def parse_video_query(body: Any, account_external_id: str) -> list[Post]:
    """``video/query/`` → the videos TikTok returned (unknown or private ids are left out)."""
    data = envelope_data(body, "video query")
    return _parse_videos(data, "video query", account_external_id)


def _parse_videos(data: dict[str, Any], what: str, account_external_id: str) -> list[Post]:
    return parse_each(
        _videos(data, what),
        lambda video: fit(parse_video(video, account_external_id)),
        platform=Platform.TIKTOK.value,
        what="video",
    )
