"""Bluesky (AT Protocol AppView) responses → socialpulse DTOs.

Reference: https://docs.bsky.app/docs/api/app-bsky-actor-get-profile ,
https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed ,
https://docs.bsky.app/docs/api/app-bsky-feed-get-post-thread , and the lexicons in
https://github.com/bluesky-social/atproto/tree/main/lexicons/app/bsky .

Quirks handled here:

* Identity: an account's stable id is its DID (``did:plc:...``); handles can change. A post's
  id is its ``at://`` URI; its web URL is ``https://bsky.app/profile/{handle}/post/{rkey}`` where
  ``rkey`` is the URI's last segment. A handle that failed verification reads
  ``handle.invalid``; the URL then uses the DID.
* Rich text: hashtags and mentions live in ``record.facets`` with UTF-8 *byte* offsets into the
  text (not character offsets). Mention facets carry a DID; we slice the text to get the handle
  as written. Posts written without facets (some clients) fall back to parsing the text.
  ``record.tags`` holds extra hashtags that are not in the text.
* Timestamps: ``createdAt`` is client-written; some SDKs write it without a zone. We read those
  as UTC.
* Metrics: there is no public view count (``views`` is None). ``shares`` = reposts + quotes.
  ``saves`` is ``bookmarkCount`` where the AppView reports it, else None.
* Author feeds contain reposts (``reason.$type == app.bsky.feed.defs#reasonRepost``) of other
  people's posts; they are not the account's content and their metrics are not its metrics, so
  ``parse_author_feed`` skips them. A repost of the account's own post is also skipped (the
  original is listed on its own). Pinned posts (``#reasonPin``) are kept.
* Threads: replies nest (``thread.replies[].replies[]``). Entries may be ``#notFoundPost`` or
  ``#blockedPost`` placeholders, which are skipped with their subtrees (we cannot see them).
* One unreadable feed item or reply is skipped (``providers.items.parse_each``), never the
  whole page; a reply's own replies are kept when its URI is readable. Text is scrubbed of
  lone surrogates, which JSON allows and no database stores.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from socialpulse.providers import items
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

__all__ = [
    "BSKY_WEB",
    "parse_author_feed",
    "parse_profile",
    "parse_profile_url",
    "parse_post_record",
    "parse_post_view",
    "parse_thread",
    "post_url",
    "profile_url",
    "rkey_of",
]

BSKY_WEB = "https://bsky.app"
_WEB_HOSTS = {"bsky.app", "www.bsky.app", "staging.bsky.app"}

REASON_REPOST = "app.bsky.feed.defs#reasonRepost"
THREAD_VIEW_POST = "app.bsky.feed.defs#threadViewPost"


def _require(data: dict[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise MalformedPayloadError(f"Bluesky returned a {what} without '{key}'")
    return value


def _display_handle(handle: str | None, did: str) -> str:
    return did if not handle or handle == "handle.invalid" else handle


def rkey_of(uri: str) -> str:
    """The record key: the last segment of an ``at://did/collection/rkey`` URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def profile_url(handle: str) -> str:
    return f"{BSKY_WEB}/profile/{handle}"


def post_url(handle: str, uri: str) -> str:
    return f"{BSKY_WEB}/profile/{handle}/post/{rkey_of(uri)}"


def parse_profile_url(url: str) -> str | None:
    """``https://bsky.app/profile/alice.bsky.social`` → ``alice.bsky.social`` (or a DID)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or parts.hostname not in _WEB_HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0] != "profile":
        return None
    actor = segments[1].lstrip("@").lower() if not segments[1].startswith("did:") else segments[1]
    return actor or None


def parse_profile(data: dict[str, Any]) -> Profile:
    """``app.bsky.actor.defs#profileViewDetailed`` (or the basic/plain profile views)."""
    data = items.scrub(data)
    did = str(_require(data, "did", "profile"))
    handle = _display_handle(data.get("handle"), did)
    verification = data.get("verification") or {}
    profile = Profile(
        platform=Platform.BLUESKY,
        external_id=did,
        handle=handle,
        display_name=str(data.get("displayName") or handle),
        bio=str(data.get("description") or ""),
        avatar_url=data.get("avatar"),
        profile_url=profile_url(handle),
        followers_count=_int_or_none(data.get("followersCount")),
        following_count=_int_or_none(data.get("followsCount")),
        posts_count=_int_or_none(data.get("postsCount")),
        verified=verification.get("verifiedStatus") == "valid",
        raw=data,
    )
    return items.fit(profile)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _facet_text(text_bytes: bytes, facet: dict[str, Any]) -> str:
    index = facet.get("index") or {}
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not isinstance(start, int) or not isinstance(end, int):
        return ""
    return text_bytes[start:end].decode("utf-8", errors="replace")


def parse_post_record(record: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``(text, hashtags, mentions)`` of an ``app.bsky.feed.post`` record."""
    text = str(record.get("text") or "")
    facets = record.get("facets") or []
    hashtags: list[str] = []
    mentions: list[str] = []
    if facets:
        text_bytes = text.encode("utf-8")
        for facet in facets:
            for feature in facet.get("features") or []:
                kind = feature.get("$type", "")
                if kind == "app.bsky.richtext.facet#tag" and feature.get("tag"):
                    hashtags.append(str(feature["tag"]).lstrip("#"))
                elif kind == "app.bsky.richtext.facet#mention":
                    written = _facet_text(text_bytes, facet).lstrip("@")
                    mentions.append(written or str(feature.get("did") or ""))
    else:
        hashtags.extend(extract_hashtags(text))
        mentions.extend(extract_mentions(text))
    hashtags.extend(str(tag).lstrip("#") for tag in record.get("tags") or [])
    return (
        text,
        tuple(dict.fromkeys(t for t in hashtags if t)),
        tuple(dict.fromkeys(m for m in mentions if m)),
    )


def _media(embed: dict[str, Any] | None) -> tuple[MediaType, str | None]:
    """Media type and thumbnail from a post view's ``embed`` (the ``#view`` variants)."""
    if not embed:
        return MediaType.TEXT, None
    kind = str(embed.get("$type", "")).removesuffix("#view")
    if kind == "app.bsky.embed.recordWithMedia":
        return _media(embed.get("media"))
    if kind == "app.bsky.embed.images":
        images = embed.get("images") or []
        thumb = images[0].get("thumb") if images else None
        return (MediaType.CAROUSEL if len(images) > 1 else MediaType.IMAGE), thumb
    if kind == "app.bsky.embed.video":
        return MediaType.VIDEO, embed.get("thumbnail")
    if kind == "app.bsky.embed.external":
        return MediaType.LINK, (embed.get("external") or {}).get("thumb")
    if kind == "app.bsky.embed.record":
        return MediaType.TEXT, None  # a quote post: text plus an embedded post
    return MediaType.OTHER, None


def parse_post_view(view: dict[str, Any]) -> Post:
    """``app.bsky.feed.defs#postView`` → ``Post``."""
    uri = str(_require(view, "uri", "post"))
    author = view.get("author") or {}
    did = str(_require(author, "did", "post author"))
    record = view.get("record") or {}
    created = record.get("createdAt") or view.get("indexedAt")
    if not created:
        raise MalformedPayloadError("Bluesky returned a post without 'record.createdAt'")
    text, hashtags, mentions = parse_post_record(record)
    media_type, thumbnail = _media(view.get("embed"))
    handle = _display_handle(author.get("handle"), did)
    reposts = view.get("repostCount")
    quotes = view.get("quoteCount")
    shares = None if reposts is None and quotes is None else int(reposts or 0) + int(quotes or 0)
    return Post(
        platform=Platform.BLUESKY,
        external_id=uri,
        account_external_id=did,
        url=post_url(handle, uri),
        caption=text,
        hashtags=hashtags,
        mentions=mentions,
        media_type=media_type,
        posted_at=parse_timestamp(str(created)),
        thumbnail_url=thumbnail,
        metrics=PostMetrics(
            views=None,
            likes=_int_or_none(view.get("likeCount")),
            comments=_int_or_none(view.get("replyCount")),
            shares=shares,
            saves=_int_or_none(view.get("bookmarkCount")),
        ),
        raw=view,
    )


def parse_author_feed(data: dict[str, Any]) -> tuple[list[Post], str | None]:
    """``app.bsky.feed.getAuthorFeed`` output → (the account's own posts, next cursor)."""
    if "feed" not in data:
        raise MalformedPayloadError("Bluesky returned an author feed without 'feed'")
    feed = data["feed"]
    if not isinstance(feed, list):
        raise MalformedPayloadError("Bluesky returned an author feed whose 'feed' is not a list")

    def parse_item(item: dict[str, Any]) -> Post | None:
        reason = item.get("reason") or {}
        if reason.get("$type") == REASON_REPOST:
            return None
        return items.fit(parse_post_view(_require(item, "post", "feed item")))

    posts = items.parse_each(
        feed, parse_item, platform=Platform.BLUESKY.value, what="feed item", item_id=_feed_id
    )
    cursor = data.get("cursor")
    return posts, (str(cursor) if cursor else None)


def _feed_id(item: Any) -> str | None:
    post = item.get("post") if isinstance(item, dict) else None
    uri = post.get("uri") if isinstance(post, dict) else None
    return items.clean_text(uri) if isinstance(uri, str) else None


def _reply_to_comment(view: dict[str, Any], root_uri: str, parent_uri: str) -> Comment:
    post = parse_post_view(view)
    author = view.get("author") or {}
    reply_ref = (view.get("record") or {}).get("reply") or {}
    parent = (reply_ref.get("parent") or {}).get("uri") or parent_uri
    return Comment(
        platform=Platform.BLUESKY,
        external_id=post.external_id,
        post_external_id=root_uri,
        parent_external_id=None if parent == root_uri else str(parent),
        author_external_id=post.account_external_id,
        author_handle=_display_handle(author.get("handle"), post.account_external_id),
        author_display_name=author.get("displayName") or None,
        author_avatar_url=author.get("avatar"),
        author_followers_count=_int_or_none(author.get("followersCount")),
        text=post.caption,
        posted_at=post.posted_at,
        like_count=post.metrics.likes,
        reply_count=post.metrics.comments,
        url=post.url,
        raw=view,
    )


def parse_thread(data: dict[str, Any]) -> list[Comment]:
    """``app.bsky.feed.getPostThread`` output → every visible reply, depth-first, flattened.

    Direct replies to the root post have ``parent_external_id=None``; deeper ones point at the
    reply they answer.
    """
    thread = data.get("thread")
    if not isinstance(thread, dict):
        raise MalformedPayloadError("Bluesky returned a thread response without 'thread'")
    if thread.get("$type", THREAD_VIEW_POST) != THREAD_VIEW_POST:
        raise MalformedPayloadError(
            f"Bluesky returned an unreadable thread root ({thread['$type']})"
        )
    root_uri = items.clean_text(
        str(_require(_require(thread, "post", "thread"), "uri", "thread root"))
    )
    comments: list[Comment] = []
    stack = [(reply, root_uri) for reply in reversed(_replies(thread))]
    while stack:
        node, parent_uri = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("$type", THREAD_VIEW_POST) != THREAD_VIEW_POST or "post" not in node:
            continue  # notFoundPost / blockedPost: nothing we may show
        parsed = items.parse_each(
            [node["post"]],
            functools.partial(_fit_reply, root_uri=root_uri, parent_uri=parent_uri),
            platform=Platform.BLUESKY.value,
            what="reply",
        )
        comments.extend(parsed)
        uri = parsed[0].external_id if parsed else _feed_id(node)
        if uri:  # an unreadable reply's own replies still answer a known post
            stack.extend((child, uri) for child in reversed(_replies(node)))
    return comments


def _fit_reply(view: dict[str, Any], *, root_uri: str, parent_uri: str) -> Comment:
    return items.fit(_reply_to_comment(view, root_uri, parent_uri))


def _replies(node: dict[str, Any]) -> list[Any]:
    replies = node.get("replies")
    return replies if isinstance(replies, list) else []
