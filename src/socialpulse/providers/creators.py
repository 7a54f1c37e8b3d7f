"""What a platform offers for creator reports: any public account, not only a tracked one.

A platform with ``Capability.CREATOR_DISCOVERY`` sets ``ProviderInfo.extra["creator_source"]``
to a ``CreatorSourceFactory``; ``creator_source()`` builds one from the credentials the caller
found (an instance key, the requesting workspace's connected account, or none), or raises
``CreatorSourceUnavailable`` with a message a user can act on (TikTok without Research API
access, Instagram without a connected professional account).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

from socialpulse.providers.base import (
    CallObserver,
    Comment,
    Page,
    Post,
    PostSource,
    Profile,
    extract_mentions,
)
from socialpulse.providers.registry import Capability, get_provider

CREATOR_SOURCE = "creator_source"


@dataclass(frozen=True, slots=True)
class RelatedHandle:
    """A profile a creator's page points at. ``relation``: mention, collaborator, featured,
    follows or neighbour; ``followers_hint`` when the platform showed a count with it."""

    platform: str
    handle: str
    relation: str
    followers_hint: int | None = None


class CreatorSource(Protocol):
    def creator_profile(self, handle: str) -> Profile:
        """The public profile; ``NotFoundError`` for no such account, ``PermanentError`` with
        a clear message for a private one."""
        ...

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        """Up to ``limit`` most recent posts with their metrics, newest first."""
        ...

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        """Up to ``limit`` public comments (and visible replies) of one post."""
        ...

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        """Profiles this creator's page shows (mentions, collaborators, featured, follows)."""
        ...


class CreatorSourceFactory(Protocol):
    def __call__(
        self,
        credentials: Mapping[str, Any],
        observer: CallObserver | None = None,
        http_client: httpx.Client | None = None,
    ) -> CreatorSource: ...


class CreatorSourceUnavailable(Exception):
    """This platform cannot build creator reports with what this instance has; the message
    says what would make it possible."""

    def __init__(self, platform: str, message: str) -> None:
        super().__init__(message)
        self.platform = platform


def creator_source(
    platform: str,
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> CreatorSource:
    """The platform's creator source; ``UnknownPlatformError`` for an unknown platform."""
    info = get_provider(platform)
    factory: CreatorSourceFactory | None = info.extra.get(CREATOR_SOURCE)
    if not info.supports(Capability.CREATOR_DISCOVERY) or factory is None:
        raise CreatorSourceUnavailable(
            info.name, f"creator reports are not available for {info.display_name}"
        )
    return factory(credentials, observer, http_client)


# --------------------------------------------------------------------------- helpers for sources

T = TypeVar("T")

# A page may be empty and still lead on (YouTube leaves private videos out of a page), so only
# a missing cursor ends a walk; this bounds a platform that keeps sending cursors.
MAX_PAGES = 50


def collect_pages(fetch: Callable[[str | None, int], Page[T]], limit: int) -> list[T]:
    """Items from ``fetch(cursor, still_wanted)`` page after page, until ``limit`` items, the
    last page or ``MAX_PAGES`` pages; at most ``limit`` items."""
    found: list[T] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        if len(found) >= limit:
            break
        page = fetch(cursor, limit - len(found))
        found.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[: max(0, limit)]


def newest_posts(posts: Iterable[Post], limit: int) -> list[Post]:
    """``limit`` posts newest first, each once: feeds put a pinned post first and can list it
    twice, and an uploads playlist is not strictly in publishing order."""
    unique = {post.external_id: post for post in reversed(list(posts))}
    ordered = sorted(unique.values(), key=lambda post: post.posted_at, reverse=True)
    return ordered[: max(0, limit)]


def merge_related(own_handle: str, *groups: Iterable[RelatedHandle]) -> list[RelatedHandle]:
    """The handles of ``groups`` in order, each once (the first relation found wins, so pass
    the strongest first), never the creator's own."""
    seen = {own_handle.lower()}
    merged: list[RelatedHandle] = []
    for group in groups:
        for related in group:
            key = related.handle.lower()
            if key and key not in seen:
                seen.add(key)
                merged.append(related)
    return merged


def recent_posts(client: PostSource, profile: Profile, limit: int) -> list[Post]:
    """``limit`` posts of ``profile`` from a ``PostSource``, newest first."""
    posts = collect_pages(
        lambda cursor, wanted: client.list_posts(profile, cursor, limit=wanted), limit
    )
    return newest_posts(posts, limit)


def mentioned(
    platform: str,
    profile: Profile,
    posts: Sequence[Post],
    normalise: Callable[[str], str | None],
) -> list[RelatedHandle]:
    """Relation ``mention``: the handles mentioned in the posts, then in the bio, that
    ``normalise`` turns into a handle of the platform (mentions come without ``@``)."""
    texts = [*(m for post in posts for m in post.mentions), *extract_mentions(profile.bio)]
    handles = (normalise(text) for text in texts)
    return [RelatedHandle(platform, handle, "mention") for handle in handles if handle]
