"""YouTube Data API v3 resources → socialpulse DTOs.

Reference: https://developers.google.com/youtube/v3/docs/channels ,
https://developers.google.com/youtube/v3/docs/playlistItems ,
https://developers.google.com/youtube/v3/docs/videos ,
https://developers.google.com/youtube/v3/docs/commentThreads ,
https://developers.google.com/youtube/v3/docs/comments ,
https://developers.google.com/youtube/v3/docs/errors .

Quirks handled here:

* A ``channels.list`` that matches nothing omits ``items`` entirely (only ``kind``, ``etag``,
  ``pageInfo``): that is "not found", not a malformed response. Every other list response we
  read must carry ``items``.
* Numbers in ``statistics`` are strings ("1234"). ``likeCount`` is absent when the owner hides
  likes, ``commentCount`` when comments are disabled: both become ``None``, not 0.
  ``subscriberCount`` is meaningless when ``hiddenSubscriberCount`` is true (→ ``None``).
  ``favoriteCount`` is deprecated (always 0) and not used.
* ``contentDetails.duration`` is ISO-8601 (``PT1H2M3S``, ``P1DT2S``; ``P0D`` for upcoming
  live streams).
* The Data API has no Shorts flag: a video is a ``SHORT`` when it lasts at most 3 minutes (the
  Shorts limit since October 2024) *and* carries ``#shorts``; otherwise it is a ``VIDEO``.
* A video's caption is its title and description; hashtags are the ``#tags`` written in them
  (``snippet.tags`` are hidden SEO keywords, not hashtags).
* Comments: ``textOriginal`` is the text as written; ``textDisplay`` is HTML unless the request
  asked ``textFormat=plainText``. A thread embeds at most a few replies
  (``replies.comments``); ``comments.list?parentId=`` returns all of them.
  ``authorDisplayName`` is the commenter's ``@handle`` for most channels since 2023.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from socialpulse.providers.base import (
    Comment,
    MalformedPayloadError,
    MediaType,
    Platform,
    Post,
    PostMetrics,
    Profile,
    extract_hashtags,
    extract_mentions,
    parse_timestamp,
)
from socialpulse.providers.items import MAX_ID, fit, parse_each, scrub

__all__ = [
    "SHORTS_MAX_SECONDS",
    "channel_items",
    "is_channel_id",
    "is_handle",
    "parse_channel",
    "parse_comment",
    "parse_comment_list",
    "parse_comment_threads",
    "parse_duration",
    "parse_playlist_items",
    "parse_profile_url",
    "parse_video",
    "parse_videos",
    "uploads_playlist_id",
    "video_url",
]

_PLATFORM = Platform.YOUTUBE.value
SHORTS_MAX_SECONDS = 180
_WEB_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com"}
_CHANNEL_ID_RE = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
_HANDLE_RE = re.compile(r"^@[\w.\-·]{3,30}$")
_DURATION_RE = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_THUMBNAIL_ORDER = ("maxres", "standard", "high", "medium", "default")
_AVATAR_ORDER = ("high", "medium", "default")


def is_channel_id(value: str) -> bool:
    return bool(_CHANNEL_ID_RE.match(value))


def is_handle(value: str) -> bool:
    """``@name`` as YouTube allows handles (3-30 characters)."""
    return bool(_HANDLE_RE.match(value))


def video_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def parse_profile_url(url: str) -> str | None:
    """``https://www.youtube.com/@handle`` → ``@handle``; ``/channel/UC…`` → ``UC…``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _WEB_HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    if segments[0].startswith("@") and _HANDLE_RE.match(segments[0]):
        return segments[0]
    if segments[0] == "channel" and len(segments) >= 2 and is_channel_id(segments[1]):
        return segments[1]
    return None


def parse_duration(value: str | None) -> int | None:
    """ISO-8601 duration → whole seconds (``PT1M30S`` → 90); ``None`` if absent or unreadable."""
    if not value:
        return None
    match = _DURATION_RE.match(value.strip())
    if not match:
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    total = (
        parts["weeks"] * 604800
        + parts["days"] * 86400
        + parts["hours"] * 3600
        + parts["minutes"] * 60
        + parts["seconds"]
    )
    return round(total)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _best_thumbnail(thumbnails: dict[str, Any] | None, order: tuple[str, ...]) -> str | None:
    for size in order:
        url = ((thumbnails or {}).get(size) or {}).get("url")
        if url:
            return str(url)
    return None


def _items(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"YouTube returned a {what} response that is not an object")
    if "items" not in data:
        raise MalformedPayloadError(f"YouTube returned a {what} response without 'items'")
    items = data["items"]
    if not isinstance(items, list):
        raise MalformedPayloadError(f"YouTube returned a {what} response whose 'items' is no list")
    return items


def _require(data: dict[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise MalformedPayloadError(f"YouTube returned a {what} without '{key}'")
    return value


def channel_items(data: Any) -> list[dict[str, Any]]:
    """The ``items`` of a ``channels.list`` response; absent ``items`` means no match."""
    if not isinstance(data, dict):
        raise MalformedPayloadError("YouTube returned a channels response that is not an object")
    if "items" not in data:
        if data.get("kind") == "youtube#channelListResponse":
            return []
        raise MalformedPayloadError("YouTube returned a channels response without 'items'")
    return _items(data, "channels")


def parse_channel(item: dict[str, Any]) -> Profile:
    """A ``youtube#channel`` resource (any of the parts snippet, statistics, contentDetails)."""
    item = scrub(item)
    channel_id = str(_require(item, "id", "channel"))
    snippet = item.get("snippet") or {}
    stats = item.get("statistics") or {}
    custom_url = snippet.get("customUrl")
    handle = str(custom_url) if custom_url else channel_id
    if handle != channel_id and not handle.startswith("@"):
        handle = f"@{handle}"  # old channels' customUrl may lack the "@"
    hidden = bool(stats.get("hiddenSubscriberCount"))
    profile = Profile(
        platform=Platform.YOUTUBE,
        external_id=channel_id,
        handle=handle,
        display_name=str(snippet.get("title") or handle),
        bio=str(snippet.get("description") or ""),
        avatar_url=_best_thumbnail(snippet.get("thumbnails"), _AVATAR_ORDER),
        profile_url=(
            f"https://www.youtube.com/{handle}"
            if handle.startswith("@")
            else f"https://www.youtube.com/channel/{channel_id}"
        ),
        followers_count=None if hidden else _int_or_none(stats.get("subscriberCount")),
        following_count=None,
        posts_count=_int_or_none(stats.get("videoCount")),
        verified=False,  # not exposed by the Data API
        raw=item,
    )
    return fit(profile)


def uploads_playlist_id(item: dict[str, Any]) -> str:
    """The channel's uploads playlist, from ``contentDetails.relatedPlaylists.uploads``."""
    related = (item.get("contentDetails") or {}).get("relatedPlaylists") or {}
    uploads = related.get("uploads")
    if not uploads:
        raise MalformedPayloadError(
            "YouTube returned a channel without 'contentDetails.relatedPlaylists.uploads'"
        )
    return str(uploads)


def parse_playlist_items(data: Any) -> tuple[list[str], str | None]:
    """``playlistItems.list`` → (video ids in playlist order, next page token)."""

    def video_id_of(item: dict[str, Any]) -> str:
        video_id = (item.get("contentDetails") or {}).get("videoId") or (
            ((item.get("snippet") or {}).get("resourceId") or {}).get("videoId")
        )
        if not video_id:
            raise MalformedPayloadError("YouTube returned a playlist item without a video id")
        if not isinstance(video_id, str | int) or len(str(video_id)) > MAX_ID:
            raise MalformedPayloadError("YouTube returned a playlist item with an odd video id")
        return str(video_id)

    ids = parse_each(
        _items(data, "playlistItems"), video_id_of, platform=_PLATFORM, what="playlist item"
    )
    token = data.get("nextPageToken")
    return ids, (str(token) if token else None)


def parse_video(item: dict[str, Any]) -> Post:
    """A ``youtube#video`` resource (parts snippet, statistics, contentDetails)."""
    video_id = str(_require(item, "id", "video"))
    snippet = _require(item, "snippet", "video")
    stats = item.get("statistics") or {}
    title = str(snippet.get("title") or "")
    description = str(snippet.get("description") or "")
    caption = f"{title}\n\n{description}".strip() if description else title
    duration = parse_duration((item.get("contentDetails") or {}).get("duration"))
    hashtags = extract_hashtags(caption)
    is_short = (
        duration is not None
        and 0 < duration <= SHORTS_MAX_SECONDS
        and any(tag.lower() == "shorts" for tag in hashtags)
    )
    return Post(
        platform=Platform.YOUTUBE,
        external_id=video_id,
        account_external_id=str(_require(snippet, "channelId", "video snippet")),
        url=video_url(video_id),
        caption=caption,
        hashtags=hashtags,
        mentions=extract_mentions(description),
        media_type=MediaType.SHORT if is_short else MediaType.VIDEO,
        duration_seconds=duration,
        posted_at=parse_timestamp(str(_require(snippet, "publishedAt", "video snippet"))),
        thumbnail_url=_best_thumbnail(snippet.get("thumbnails"), _THUMBNAIL_ORDER),
        metrics=PostMetrics(
            views=_int_or_none(stats.get("viewCount")),
            likes=_int_or_none(stats.get("likeCount")),
            comments=_int_or_none(stats.get("commentCount")),
            shares=None,
            saves=None,
        ),
        raw=item,
    )


def parse_videos(data: Any) -> list[Post]:
    return parse_each(
        _items(data, "videos"),
        lambda item: fit(parse_video(item)),
        platform=_PLATFORM,
        what="video",
    )


def parse_comment(
    item: dict[str, Any],
    post_external_id: str | None = None,
    parent_external_id: str | None = None,
    reply_count: int | None = None,
) -> Comment:
    """A ``youtube#comment`` resource. Replies carry ``snippet.parentId``."""
    comment_id = str(_require(item, "id", "comment"))
    snippet = _require(item, "snippet", "comment")
    video_id = post_external_id or snippet.get("videoId")
    if not video_id:
        raise MalformedPayloadError(f"YouTube returned comment {comment_id} without 'videoId'")
    author = snippet.get("authorDisplayName") or ""
    author_id = (snippet.get("authorChannelId") or {}).get("value") or author
    text = snippet.get("textOriginal")
    if text is None:
        text = snippet.get("textDisplay") or ""
    parent = parent_external_id or snippet.get("parentId")
    return Comment(
        platform=Platform.YOUTUBE,
        external_id=comment_id,
        post_external_id=str(video_id),
        parent_external_id=str(parent) if parent else None,
        author_external_id=str(author_id),
        author_handle=str(author),
        author_display_name=str(author) or None,
        author_avatar_url=snippet.get("authorProfileImageUrl"),
        author_followers_count=None,
        text=str(text),
        posted_at=parse_timestamp(str(_require(snippet, "publishedAt", "comment"))),
        like_count=_int_or_none(snippet.get("likeCount")),
        reply_count=reply_count,
        url=f"{video_url(str(video_id))}&lc={comment_id}",
        raw=item,
    )


def parse_comment_threads(
    data: Any, video_id: str | None = None
) -> tuple[list[Comment], str | None]:
    """``commentThreads.list`` → (top-level comments each followed by its embedded replies,
    next page token). ``video_id`` fills in threads that lack ``snippet.videoId``."""

    def parse_thread(thread: dict[str, Any]) -> list[Comment]:
        snippet = _require(thread, "snippet", "comment thread")
        top = _require(snippet, "topLevelComment", "comment thread")
        thread_video = snippet.get("videoId") or video_id
        top_comment = fit(
            parse_comment(
                top,
                post_external_id=thread_video,
                reply_count=_int_or_none(snippet.get("totalReplyCount")),
            )
        )
        replies = parse_each(
            (thread.get("replies") or {}).get("comments") or [],
            lambda reply: fit(
                parse_comment(
                    reply,
                    post_external_id=top_comment.post_external_id,
                    parent_external_id=top_comment.external_id,
                )
            ),
            platform=_PLATFORM,
            what="reply",
        )
        return [top_comment, *replies]

    threads = parse_each(
        _items(data, "commentThreads"), parse_thread, platform=_PLATFORM, what="comment thread"
    )
    comments = [comment for thread in threads for comment in thread]
    token = data.get("nextPageToken")
    return comments, (str(token) if token else None)


def parse_comment_list(data: Any, video_id: str) -> tuple[list[Comment], str | None]:
    """``comments.list`` (e.g. ``parentId=``) → (comments, next page token)."""
    comments = parse_each(
        _items(data, "comments"),
        lambda item: fit(parse_comment(item, post_external_id=video_id)),
        platform=_PLATFORM,
        what="comment",
    )
    token = data.get("nextPageToken")
    return comments, (str(token) if token else None)
