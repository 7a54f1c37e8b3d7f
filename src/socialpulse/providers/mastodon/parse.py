"""Mastodon REST API entities → socialpulse DTOs.

Reference: https://docs.joinmastodon.org/entities/Account/ ,
https://docs.joinmastodon.org/entities/Status/ , https://docs.joinmastodon.org/entities/Context/ ,
https://docs.joinmastodon.org/api/guidelines/#pagination .

Quirks handled here:

* Handles: ``acct`` is ``user`` for accounts local to the instance that answered and
  ``user@host`` for remote ones. We always store ``user@host`` (the instance is part of the
  identity and tells the client where to ask).
* Ids (``id``) are instance-local strings (snowflakes): the same status has another id on
  another instance. We keep the ids of the account's home instance, which is where we ask.
* ``content`` and ``note`` are HTML. ``html_to_text`` keeps line breaks (``<br>`` → newline,
  paragraphs → blank line) and the full text of links: Mastodon splits long URLs into
  ``<span class="invisible">`` / ``<span class="ellipsis">`` parts, which we concatenate.
* Boosts: a boost is a status whose ``reblog`` holds someone else's status. It is not the
  account's content (its counters are the original's), so ``parse_statuses`` skips boosts and
  the client asks the server to leave them out (``exclude_reblogs``) as well.
* ``spoiler_text`` (a content warning) is not part of the caption; it stays in ``raw``.
* Metrics: no view or save counts exist; ``shares`` = reblogs + quotes (``quotes_count`` on
  Mastodon 4.5+). Mastodon has no verification badge: ``verified`` is False (profile fields
  with ``verified_at`` are verified *links*, a different thing).
* Pagination is in the ``Link`` header (``rel="next"`` carries ``max_id``), not in the body.
* Any server can claim to be an instance, so every list is parsed item by item
  (``providers.items.parse_each``: one unreadable status is skipped, not the page) and every
  URL it sends is kept only when it is http(s) (``providers.items.fit``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    "html_to_text",
    "is_direct",
    "parse_conversations",
    "parse_mention_notifications",
    "next_max_id",
    "parse_account",
    "parse_context",
    "parse_profile_url",
    "parse_status",
    "parse_statuses",
    "split_handle",
]

_PLATFORM = Platform.MASTODON.value
_BLOCK_TAGS = {"p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4"}
# Fixed-host platforms whose profile URLs also look like /@name: never a Mastodon instance.
_NOT_MASTODON_HOSTS = {
    "tiktok.com",
    "www.tiktok.com",
    "m.tiktok.com",
    "youtube.com",
    "www.youtube.com",
    "m.youtube.com",
    "medium.com",
    "threads.net",
    "www.threads.net",
}
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?$")


def _is_host(host: str) -> bool:
    return bool(_HOST_RE.match(host)) or host.split(":")[0] == "localhost"  # dev instances


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def _break(self, blank_line: bool) -> None:
        text = "".join(self.parts)
        if not text:
            return
        wanted = "\n\n" if blank_line else "\n"
        trailing = len(text) - len(text.rstrip("\n"))
        if trailing < len(wanted):
            self.parts.append(wanted[trailing:])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self._break(blank_line=tag == "p")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._break(blank_line=tag == "p")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str | None) -> str:
    """Mastodon's HTML content as plain text, keeping line and paragraph breaks."""
    if not html:
        return ""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.parts).strip()


def split_handle(handle: str) -> tuple[str, str | None]:
    """``@alice@mastodon.social`` / ``alice@mastodon.social`` / ``alice`` → (user, host|None)."""
    cleaned = handle.strip().lstrip("@")
    user, _, host = cleaned.partition("@")
    return user, (host.lower() or None)


def parse_profile_url(url: str) -> str | None:
    """``https://mastodon.social/@alice`` (or ``@alice@mastodon.social``) → ``alice@host``.

    Any host qualifies (the fediverse has thousands of instances), so the registry asks this
    parser last. Links to remote accounts as shown by another instance
    (``https://mastodon.social/@bob@other.example``) give ``bob@other.example``.
    """
    text = url.strip()
    if text.startswith("@") and text.count("@") == 2:
        user, host = split_handle(text)
        if host and _USER_RE.match(user) and _is_host(host):
            return f"{user}@{host}"
        return None
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not _is_host(host):
        return None
    if host in _NOT_MASTODON_HOSTS or host.endswith((".tiktok.com", ".youtube.com")):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    if segments[0].startswith("@"):
        user, remote_host = split_handle(segments[0])
    elif segments[0] == "users" and len(segments) >= 2:  # the ActivityPub actor URI form
        user, remote_host = segments[1], None
    else:
        return None
    if not _USER_RE.match(user):
        return None
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{user}@{remote_host or host}"


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return parts.netloc.lower() or None


def _full_handle(account: dict[str, Any], instance_host: str | None) -> str:
    acct = str(account.get("acct") or account.get("username") or "")
    if not acct:
        raise MalformedPayloadError("Mastodon returned an account without 'acct'")
    if "@" in acct:
        return acct
    host = instance_host or _host_of(account.get("url"))
    return f"{acct}@{host}" if host else acct


def _require(data: dict[str, Any], key: str, what: str) -> Any:
    value = data.get(key)
    if value is None or value == "":
        raise MalformedPayloadError(f"Mastodon returned a {what} without '{key}'")
    return value


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def parse_account(data: dict[str, Any], instance_host: str | None = None) -> Profile:
    """An ``Account`` entity. ``instance_host`` is the instance that answered."""
    if not isinstance(data, dict):
        raise MalformedPayloadError("Mastodon returned an account that is not an object")
    data = items.scrub(data)
    handle = _full_handle(data, instance_host)
    profile = Profile(
        platform=Platform.MASTODON,
        external_id=str(_require(data, "id", "account")),
        handle=handle,
        display_name=str(data.get("display_name") or data.get("username") or handle),
        bio=html_to_text(data.get("note")),
        avatar_url=data.get("avatar"),
        profile_url=data.get("url"),
        followers_count=_int_or_none(data.get("followers_count")),
        following_count=_int_or_none(data.get("following_count")),
        posts_count=_int_or_none(data.get("statuses_count")),
        verified=False,
        raw=data,
    )
    return items.fit(profile)


def _media(status: dict[str, Any]) -> tuple[MediaType, str | None, int | None]:
    attachments = status.get("media_attachments") or []
    if attachments:
        first = attachments[0]
        kind = first.get("type")
        thumb = first.get("preview_url") or first.get("url")
        duration = ((first.get("meta") or {}).get("original") or {}).get("duration")
        seconds = round(float(duration)) if isinstance(duration, int | float) else None
        if len(attachments) > 1:
            return MediaType.CAROUSEL, thumb, None
        if kind == "image":
            return MediaType.IMAGE, thumb, None
        if kind in ("video", "gifv"):
            return MediaType.VIDEO, thumb, seconds
        return MediaType.OTHER, thumb, seconds
    card = status.get("card")
    if card:
        return MediaType.LINK, card.get("image"), None
    return MediaType.TEXT, None, None


def parse_status(data: dict[str, Any], instance_host: str | None = None) -> Post:
    """A ``Status`` entity → ``Post`` (a boost is parsed as itself; see ``parse_statuses``)."""
    if not isinstance(data, dict):
        raise MalformedPayloadError("Mastodon returned a status that is not an object")
    status_id = str(_require(data, "id", "status"))
    account = _require(data, "account", "status")
    text = html_to_text(data.get("content"))
    media_type, thumbnail, duration = _media(data)
    tags = data.get("tags")
    mentions = data.get("mentions")
    reblogs, quotes = data.get("reblogs_count"), data.get("quotes_count")
    shares = None if reblogs is None and quotes is None else int(reblogs or 0) + int(quotes or 0)
    return Post(
        platform=Platform.MASTODON,
        external_id=status_id,
        account_external_id=str(_require(account, "id", "status account")),
        url=data.get("url") or data.get("uri"),
        caption=text,
        hashtags=(
            tuple(dict.fromkeys(str(t["name"]) for t in tags if t.get("name")))
            if tags is not None
            else extract_hashtags(text)
        ),
        mentions=(
            tuple(dict.fromkeys(_full_handle(m, instance_host) for m in mentions))
            if mentions is not None
            else extract_mentions(text)
        ),
        media_type=media_type,
        duration_seconds=duration,
        posted_at=parse_timestamp(str(_require(data, "created_at", "status"))),
        thumbnail_url=thumbnail,
        metrics=PostMetrics(
            views=None,
            likes=_int_or_none(data.get("favourites_count")),
            comments=_int_or_none(data.get("replies_count")),
            shares=shares,
            saves=None,
        ),
        raw=data,
    )


def parse_statuses(data: Any, instance_host: str | None = None) -> list[Post]:
    """A list of statuses (account statuses, timelines) minus boosts."""
    if not isinstance(data, list):
        raise MalformedPayloadError("Mastodon returned a status list that is not a JSON array")

    def parse_one(status: dict[str, Any]) -> Post | None:
        return None if status.get("reblog") else items.fit(parse_status(status, instance_host))

    return items.parse_each(data, parse_one, platform=_PLATFORM, what="status")


def parse_context(
    data: Any, post_external_id: str, instance_host: str | None = None
) -> list[Comment]:
    """A ``Context`` entity → the status's descendants as comments, in thread order."""
    if not isinstance(data, dict) or not isinstance(data.get("descendants"), list):
        raise MalformedPayloadError("Mastodon returned a status context without 'descendants'")

    def parse_one(status: dict[str, Any]) -> Comment:
        post = parse_status(status, instance_host)
        account = status["account"]
        parent = status.get("in_reply_to_id")
        return items.fit(
            Comment(
                platform=Platform.MASTODON,
                external_id=post.external_id,
                post_external_id=post_external_id,
                parent_external_id=(
                    None if parent is None or str(parent) == post_external_id else str(parent)
                ),
                author_external_id=post.account_external_id,
                author_handle=_full_handle(account, instance_host),
                author_display_name=account.get("display_name") or None,
                author_avatar_url=account.get("avatar"),
                author_followers_count=_int_or_none(account.get("followers_count")),
                text=post.caption,
                posted_at=post.posted_at,
                like_count=post.metrics.likes,
                reply_count=post.metrics.comments,
                url=post.url,
                raw=status,
            )
        )

    return items.parse_each(data["descendants"], parse_one, platform=_PLATFORM, what="reply")


def _status_comment(status: dict[str, Any], instance_host: str | None) -> Comment:
    """A status addressed to the account (a mention or a direct message) as a ``Comment``.

    ``post_external_id`` and ``parent_external_id`` are both the status it replies to
    (``in_reply_to_id``), or empty / ``None`` when it starts a thread: only the inbox knows
    whether that id is one of the account's posts or another interaction."""
    post = parse_status(status, instance_host)
    account = status["account"]
    parent = status.get("in_reply_to_id")
    comment = Comment(
        platform=Platform.MASTODON,
        external_id=post.external_id,
        post_external_id="" if parent is None else str(parent),
        parent_external_id=None if parent is None else str(parent),
        author_external_id=post.account_external_id,
        author_handle=_full_handle(account, instance_host),
        author_display_name=account.get("display_name") or None,
        author_avatar_url=account.get("avatar"),
        author_followers_count=_int_or_none(account.get("followers_count")),
        text=post.caption,
        posted_at=post.posted_at,
        like_count=post.metrics.likes,
        reply_count=post.metrics.comments,
        url=post.url,
        raw=status,
    )
    return items.fit(comment)


def is_direct(comment: Comment) -> bool:
    """A status with ``visibility: direct`` is a private message (Mastodon's DMs are statuses
    visible only to the mentioned accounts)."""
    return comment.raw.get("visibility") == "direct"


def parse_mention_notifications(data: Any, instance_host: str | None = None) -> list[Comment]:
    """``GET /api/v1/notifications?types[]=mention`` → the mentioning statuses, newest first.

    https://docs.joinmastodon.org/entities/Notification/ : a ``mention`` carries the status;
    other types (asked for or not: old servers ignore ``types[]``) and mentions whose status
    was deleted meanwhile (``status`` null) are skipped."""
    if not isinstance(data, list):
        raise MalformedPayloadError("Mastodon returned notifications that are not a JSON array")

    def parse_one(notification: Any) -> Comment | None:
        if not isinstance(notification, dict) or notification.get("type") != "mention":
            return None
        status = notification.get("status")
        return _status_comment(status, instance_host) if isinstance(status, dict) else None

    return items.parse_each(
        data, parse_one, platform=_PLATFORM, what="mention", item_id=_status_id("status")
    )


def parse_conversations(data: Any, instance_host: str | None = None) -> list[Comment]:
    """``GET /api/v1/conversations`` → each conversation's ``last_status``, newest first.

    https://docs.joinmastodon.org/entities/Conversation/ : ``last_status`` may be null (all
    its statuses deleted); such conversations are skipped. The conversation's own ``id`` is
    not a status id and is only used for paging (in the ``Link`` header)."""
    if not isinstance(data, list):
        raise MalformedPayloadError("Mastodon returned conversations that are not a JSON array")

    def parse_one(conversation: Any) -> Comment | None:
        if not isinstance(conversation, dict):
            raise MalformedPayloadError("Mastodon returned a conversation that is not an object")
        status = conversation.get("last_status")
        return _status_comment(status, instance_host) if isinstance(status, dict) else None

    return items.parse_each(
        data, parse_one, platform=_PLATFORM, what="conversation", item_id=_status_id("last_status")
    )


def _status_id(key: str) -> Callable[[Any], str | None]:
    """The id of the status inside a notification or conversation, for the skip warning."""

    def item_id(item: Any) -> str | None:
        status = item.get(key) if isinstance(item, dict) else None
        value = status.get("id") if isinstance(status, dict) else None
        return items.clean_text(str(value)) if isinstance(value, str | int) else None

    return item_id


_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


def next_max_id(link_header: str | None) -> str | None:
    """The ``max_id`` of the ``rel="next"`` link, our cursor for the next (older) page."""
    if not link_header:
        return None
    for url, rels in _LINK_RE.findall(link_header):
        if "next" in rels.split():
            values = parse_qs(urlsplit(url).query).get("max_id")
            if values:
                return values[0]
    return None
