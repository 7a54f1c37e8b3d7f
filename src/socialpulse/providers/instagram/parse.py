"""Instagram Graph API responses → socialpulse DTOs.

References (Instagram API with Facebook Login, Graph API v21.0):

* IG User: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user
* Business discovery:
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/business_discovery
* IG Media: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media
* Media insights:
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/insights
* Comments: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment
* Usage headers: https://developers.facebook.com/docs/graph-api/overview/rate-limiting

Quirks handled here:

* Timestamps are ISO 8601 with a basic offset (``2024-05-03T17:21:44+0000``).
* ``media_type`` is ``IMAGE``, ``VIDEO`` or ``CAROUSEL_ALBUM``; ``media_product_type`` (``FEED``,
  ``REELS``, ``STORY``, ``AD``) tells reels apart from feed videos.
* ``like_count`` is absent when the owner hid like counts: ``likes`` is then ``None``, not 0.
* Insight values come as ``values[0].value`` (lifetime metrics) or, for metrics Meta moved to the
  "total value" shape, ``total_value.value``; both are read. ``reach`` (unique accounts that
  saw the media) and ``saved`` are kept as ``PostMetrics.reach`` and ``saves``.
* Impressions: Meta deprecated the ``impressions`` media metric (v21 for media posted after
  2024-07-02, every version from 2025-04-21) in favour of ``views``, "the number of times the
  media was played or displayed". Asking for ``impressions`` now fails the whole insights call,
  so it is not requested; a response that still carries it (older media and API versions) is
  read, else ``views`` is the impressions count.
  https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
* Clicks: media insights have no link-click metric for organic posts (captions carry no
  clickable links), so ``clicks`` stays ``None``.
* Business discovery wraps another account's fields in ``business_discovery``; its media edge
  has no ``thumbnail_url``/insights, so those posts carry only likes and comments.
* Comment authors: ``from.id`` (the commenter's IG-scoped id) when present, else the username.
  Replies are nested under ``replies.data``; they are flattened after their parent.
"""

from __future__ import annotations

import dataclasses
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
from socialpulse.providers.items import fit, parse_each, scrub

__all__ = [
    "INSIGHT_METRICS",
    "apply_insights",
    "normalize_username",
    "page_cursor",
    "parse_business_discovery",
    "parse_comments",
    "parse_insights",
    "parse_media",
    "parse_media_page",
    "parse_profile",
    "parse_profile_url",
    "profile_url",
]

_PLATFORM = Platform.INSTAGRAM.value
INSTAGRAM_WEB = "https://www.instagram.com"
INSIGHT_METRICS: tuple[str, ...] = ("views", "reach", "saved", "shares")
_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"}
# First path segments that are Instagram pages, not usernames.
_RESERVED_PATHS = {
    "p",
    "reel",
    "reels",
    "tv",
    "explore",
    "stories",
    "accounts",
    "direct",
    "about",
    "developer",
    "legal",
    "web",
}
_MEDIA_TYPES = {"IMAGE": MediaType.IMAGE, "CAROUSEL_ALBUM": MediaType.CAROUSEL}


def normalize_username(value: str) -> str:
    return value.strip().lstrip("@").lower()


def profile_url(username: str) -> str:
    return f"{INSTAGRAM_WEB}/{username}/"


def parse_profile_url(url: str) -> str | None:
    """``https://www.instagram.com/name/`` → ``name``; ``None`` for any other URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in _HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments or segments[0].lower() in _RESERVED_PATHS:
        return None
    username = normalize_username(segments[0])
    valid = username and all(c.isalnum() or c in "._" for c in username)
    return username if valid else None


def _require(data: Any, key: str, what: str) -> Any:
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"Instagram returned a {what} that is not a JSON object")
    value = data.get(key)
    if value is None or value == "":
        raise MalformedPayloadError(f"Instagram returned a {what} without '{key}'")
    return value


def _items(data: Any, what: str) -> list[Any]:
    """The ``data`` list of an edge (may be empty, must be there)."""
    if not isinstance(data, dict):
        raise MalformedPayloadError(f"Instagram returned a {what} that is not a JSON object")
    items = data.get("data")
    if not isinstance(items, list):
        raise MalformedPayloadError(f"Instagram returned a {what} without a 'data' list")
    return items


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_profile(data: Any) -> Profile:
    """An IG User node (own account, or the inside of ``business_discovery``)."""
    data = scrub(data)
    user_id = str(_require(data, "id", "user"))
    username = str(_require(data, "username", "user"))
    profile = Profile(
        platform=Platform.INSTAGRAM,
        external_id=user_id,
        handle=normalize_username(username),
        display_name=str(data.get("name") or username),
        bio=str(data.get("biography") or ""),
        avatar_url=data.get("profile_picture_url") or None,
        profile_url=profile_url(username),
        followers_count=_int_or_none(data.get("followers_count")),
        following_count=_int_or_none(data.get("follows_count")),
        posts_count=_int_or_none(data.get("media_count")),
        verified=False,  # the Graph API does not expose the verified badge
        raw=dict(data),
    )
    return fit(profile)


def parse_business_discovery(data: Any) -> dict[str, Any]:
    """The ``business_discovery`` node of a response (another professional account)."""
    node = _require(data, "business_discovery", "business discovery response")
    if not isinstance(node, dict):
        raise MalformedPayloadError("Instagram returned a business_discovery that is not an object")
    return node


def _media_type(data: dict[str, Any]) -> MediaType:
    kind = str(data.get("media_type") or "")
    product = str(data.get("media_product_type") or "")
    if product == "REELS":
        return MediaType.REEL
    if kind == "VIDEO":
        return MediaType.VIDEO
    return _MEDIA_TYPES.get(kind, MediaType.OTHER)


def parse_media(data: Any, account_external_id: str) -> Post:
    """One IG Media node. Metrics hold likes and comments; insights are applied separately."""
    media_id = str(_require(data, "id", "media"))
    timestamp = str(_require(data, "timestamp", "media"))
    caption = str(data.get("caption") or "")
    media_type = _media_type(data)
    video = media_type in (MediaType.VIDEO, MediaType.REEL)
    thumbnail = data.get("thumbnail_url") if video else data.get("media_url")
    return Post(
        platform=Platform.INSTAGRAM,
        external_id=media_id,
        account_external_id=account_external_id,
        url=data.get("permalink") or None,
        caption=caption,
        posted_at=parse_timestamp(timestamp),
        media_type=media_type,
        hashtags=extract_hashtags(caption),
        mentions=extract_mentions(caption),
        thumbnail_url=thumbnail or None,
        metrics=PostMetrics(
            likes=_int_or_none(data.get("like_count")),
            comments=_int_or_none(data.get("comments_count")),
        ),
        raw=dict(data),
    )


def page_cursor(data: dict[str, Any], *, require_next: bool = True) -> str | None:
    """The ``after`` cursor, only when Graph says there is a next page (``paging.next``)."""
    paging = data.get("paging")
    if not isinstance(paging, dict) or (require_next and not paging.get("next")):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if after else None


def parse_media_page(
    data: Any, account_external_id: str, *, require_next: bool = True
) -> tuple[list[Post], str | None]:
    """A media edge (``{"data": [...], "paging": {...}}``) → posts and the next cursor.

    Business discovery's media edge has the same shape but may carry no ``paging.next`` URL (the
    cursor goes back into the ``fields`` expression): pass ``require_next=False`` there and the
    ``after`` cursor alone counts (the client also stops on a short page).
    """
    posts = parse_each(
        _items(data, "media list"),
        lambda item: fit(parse_media(item, account_external_id)),
        platform=_PLATFORM,
        what="media",
    )
    return posts, page_cursor(data, require_next=require_next)


def parse_insights(data: Any) -> dict[str, int]:
    """``{"data": [{"name": "reach", "values": [{"value": 12}]}, ...]}`` → ``{"reach": 12}``."""
    entries = _items(data, "insights response")
    result: dict[str, int] = {}
    for entry in entries:
        name = str(_require(entry, "name", "insight"))
        value: Any = None
        values = entry.get("values")
        if isinstance(values, list) and values and isinstance(values[0], dict):
            value = values[0].get("value")
        total = entry.get("total_value")
        if value is None and isinstance(total, dict):
            value = total.get("value")
        number = _int_or_none(value)
        if number is not None:
            result[name] = number
    return result


def apply_insights(post: Post, insights: dict[str, int]) -> Post:
    """The post with views, shares, saves, impressions and reach from insights
    (``raw["insights"]`` keeps all)."""
    impressions = insights.get("impressions")
    metrics = PostMetrics(
        views=insights.get("views"),
        likes=post.metrics.likes,
        comments=post.metrics.comments,
        shares=insights.get("shares"),
        saves=insights.get("saved"),
        impressions=impressions if impressions is not None else insights.get("views"),
        reach=insights.get("reach"),
    )
    return dataclasses.replace(post, metrics=metrics, raw={**post.raw, "insights": dict(insights)})


def _comment(data: Any, post_id: str, parent_id: str | None) -> Comment:
    comment_id = str(_require(data, "id", "comment"))
    timestamp = str(_require(data, "timestamp", "comment"))
    author = data.get("from") if isinstance(data.get("from"), dict) else {}
    username = str(data.get("username") or author.get("username") or "")
    if not username:
        raise MalformedPayloadError(f"Instagram returned comment {comment_id} without a username")
    replies = data.get("replies")
    reply_count = None
    if isinstance(replies, dict) and isinstance(replies.get("data"), list):
        reply_count = len(replies["data"])
    return Comment(
        platform=Platform.INSTAGRAM,
        external_id=comment_id,
        post_external_id=post_id,
        parent_external_id=parent_id,
        author_external_id=str(author.get("id") or username),
        author_handle=normalize_username(username),
        text=str(data.get("text") or ""),
        posted_at=parse_timestamp(timestamp),
        like_count=_int_or_none(data.get("like_count")),
        reply_count=reply_count if parent_id is None else None,
        raw={k: v for k, v in data.items() if k != "replies"},
    )


def parse_comments(data: Any, post_id: str) -> tuple[list[Comment], str | None]:
    """A comments edge → top-level comments, each followed by its replies, and the cursor."""

    def parse_one(item: Any) -> list[Comment]:
        top = fit(_comment(item, post_id, None))
        replies = item.get("replies")
        answers = replies.get("data") if isinstance(replies, dict) else None
        return [
            top,
            *parse_each(
                answers if isinstance(answers, list) else [],
                lambda reply: fit(_comment(reply, post_id, top.external_id)),
                platform=_PLATFORM,
                what="reply",
            ),
        ]

    threads = parse_each(
        _items(data, "comments list"), parse_one, platform=_PLATFORM, what="comment"
    )
    return [comment for thread in threads for comment in thread], page_cursor(data)
