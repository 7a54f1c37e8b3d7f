"""Payload hygiene shared by the parsers: one bad item never costs the whole list.

A list from a platform (an author feed, a thread, a page of comments, mentions) is parsed item
by item with ``parse_each``: an item that does not parse is skipped with a structured warning
(``provider.item.skipped``, naming the platform, what it was and its id) and the rest is kept.
Before that, the whole list used to fail with it: a Bluesky reply whose text held a lone
surrogate (``"\\ud800"`` is valid JSON) failed its thread's inbox poll at every poll.

Every item, and every single object (a profile), also goes through two checks:

* ``scrub``: text is made storable. A lone UTF-16 surrogate cannot be encoded as UTF-8 (SQLite
  and PostgreSQL drivers both refuse it) and PostgreSQL text cannot hold NUL; both become
  U+FFFD, the replacement character. A surrogate *pair* sent as two escapes is joined into its
  character.
* ``fit``: a DTO fits what the product stores. Ids longer than the id columns (255) make the
  item unreadable (``MalformedPayloadError``, so the item is skipped); names are shortened; a
  URL that is not http(s) (``javascript:``, ``data:``...) or longer than 1024 is dropped with a
  warning, since it would end up as a link or an image in the dashboard.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import structlog

from socialpulse.providers.base import Comment, MalformedPayloadError, Post, Profile

__all__ = [
    "ITEM_ERRORS",
    "MAX_ID",
    "MAX_NAME",
    "MAX_URL",
    "clean_text",
    "fit",
    "http_url",
    "parse_each",
    "scrub",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")
D = TypeVar("D", Post, Comment, Profile)

# The column sizes of the tables the DTOs end up in (accounts, posts, interactions, fans).
MAX_ID = 255
MAX_NAME = 255
MAX_URL = 1024

# What a parser raises on an unexpected shape: a missing key, a wrong type, a bad number or
# timestamp (UnicodeError is a ValueError).
ITEM_ERRORS: tuple[type[Exception], ...] = (
    MalformedPayloadError,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    IndexError,
)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ID_KEYS = ("id", "uri", "cid", "open_id", "did")


def clean_text(value: str) -> str:
    """``value`` with lone surrogates and NUL replaced by U+FFFD (unchanged when clean)."""
    if not _UNSTORABLE.search(value):
        return value
    # surrogatepass writes each surrogate as is; decoding joins valid pairs and replaces the
    # lone ones.
    joined = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", "\ufffd")


def scrub(value: Any) -> Any:
    """A JSON value with every string (keys included) passed through ``clean_text``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub(v) for v in value)
    return value


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        for key in _ID_KEYS:
            value = item.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return clean_text(str(value))[:MAX_ID]
    return None


def parse_each(
    items: Iterable[Any],
    parse: Callable[[Any], T | None],
    *,
    platform: str,
    what: str,
    item_id: Callable[[Any], str | None] = _item_id,
) -> list[T]:
    """``parse`` applied to every scrubbed item; unreadable items are logged and skipped,
    ``None`` results are left out (boosts, placeholders)."""
    parsed: list[T] = []
    for index, item in enumerate(items):
        try:
            result = parse(scrub(item))
        except ITEM_ERRORS as exc:
            log.warning(
                "provider.item.skipped",
                platform=platform,
                item=what,
                item_id=item_id(item),
                index=index,
                error=clean_text(f"{type(exc).__name__}: {exc}")[:300],
            )
            continue
        if result is not None:
            parsed.append(result)
    return parsed


def http_url(value: Any, *, platform: str, what: str) -> str | None:
    """``value`` when it is an http(s) URL that fits ``MAX_URL``; else ``None`` (logged)."""
    if value is None or value == "":
        return None
    text = clean_text(str(value)).strip()
    try:
        scheme = urlsplit(text).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme in ("http", "https") and len(text) <= MAX_URL:
        return text
    log.warning(
        "provider.url.refused",
        platform=platform,
        field=what,
        scheme=scheme or None,
        length=len(text),
        reason="not http(s)" if scheme not in ("http", "https") else "too long",
    )
    return None


def _id(value: str, platform: str, what: str) -> str:
    if len(value) > MAX_ID:
        raise MalformedPayloadError(
            f"{platform} returned a {what} of {len(value)} characters (at most {MAX_ID})"
        )
    return value


def _name(value: str) -> str:
    return value if len(value) <= MAX_NAME else value[: MAX_NAME - 1] + "…"


def fit(dto: D) -> D:
    """``dto`` made storable: ids checked, names shortened, unsafe or oversized URLs dropped."""
    platform = str(dto.platform)
    if isinstance(dto, Post):
        return dataclasses.replace(
            dto,
            external_id=_id(dto.external_id, platform, "post id"),
            account_external_id=_id(dto.account_external_id, platform, "post's account id"),
            url=http_url(dto.url, platform=platform, what="post url"),
            thumbnail_url=http_url(dto.thumbnail_url, platform=platform, what="thumbnail url"),
        )
    if isinstance(dto, Comment):
        parent = dto.parent_external_id
        display = dto.author_display_name
        return dataclasses.replace(
            dto,
            external_id=_id(dto.external_id, platform, "comment id"),
            post_external_id=_id(dto.post_external_id, platform, "comment's post id"),
            parent_external_id=None if parent is None else _id(parent, platform, "parent id"),
            author_external_id=_id(dto.author_external_id, platform, "comment's author id"),
            author_handle=_name(dto.author_handle),
            author_display_name=None if display is None else _name(display),
            author_avatar_url=http_url(dto.author_avatar_url, platform=platform, what="avatar"),
            url=http_url(dto.url, platform=platform, what="comment url"),
        )
    return dataclasses.replace(
        dto,
        external_id=_id(dto.external_id, platform, "account id"),
        handle=_id(dto.handle, platform, "handle"),
        display_name=_name(dto.display_name),
        avatar_url=http_url(dto.avatar_url, platform=platform, what="avatar"),
        profile_url=http_url(dto.profile_url, platform=platform, what="profile url"),
    )
