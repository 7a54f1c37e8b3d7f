"""The simulated platform as a creator source: any handle is a creator (except ``missing*`` and
``unknown*``), with posts, comments and a deterministic network of neighbours in its topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx

from socialpulse.providers.base import AccountRef, CallObserver, Comment, Post, Profile
from socialpulse.providers.creators import RelatedHandle
from socialpulse.providers.simulated.client import SIMULATED_HOST, SimulatedPlatform
from socialpulse.providers.simulated.model import _py_rng
from socialpulse.providers.simulated.settings import read_settings


def image_url(kind: str, key: str) -> str:
    """Where the simulated platform "hosts" an image: on a host that never resolves (RFC 2606);
    ``simulated.images`` draws it locally for the media store."""
    return f"https://{SIMULATED_HOST}/media/{kind}/{key}.png"


# How many neighbours each simulated creator has: enough for a crawl to fan out.
NEIGHBOURS = 8
_SUFFIXES = ("studio", "daily", "lab", "club", "diaries", "hq", "world", "notes", "crew", "life")


class SimulatedCreatorSource:
    def __init__(self, platform: SimulatedPlatform) -> None:
        self.platform = platform

    def creator_profile(self, handle: str) -> Profile:
        profile = self.platform.get_profile(handle)
        return replace(profile, avatar_url=image_url("avatar", profile.handle))

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        account = AccountRef(external_id=profile.external_id, handle=profile.handle)
        posts: list[Post] = []
        cursor: str | None = None
        while len(posts) < limit:
            page = self.platform.list_posts(account, cursor, limit=min(100, limit - len(posts)))
            posts.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return [replace(p, thumbnail_url=image_url("thumb", p.external_id)) for p in posts[:limit]]

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        comments: list[Comment] = []
        cursor: str | None = None
        while len(comments) < limit:
            page = self.platform.list_comments(post.external_id, cursor)
            comments.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return comments[:limit]

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        """Neighbours in the creator's topic, the same for the same seed and handle; a few
        neighbours are shared between creators of one topic, so the network has hubs."""
        topic = str(profile.raw.get("topic", "general"))
        rng = _py_rng(self.platform.seed, profile.handle, "neighbours")
        found: dict[str, RelatedHandle] = {}
        while len(found) < NEIGHBOURS:
            number = rng.randint(1, 40) if rng.random() < 0.5 else rng.randint(41, 100_000)
            handle = f"{topic}_{rng.choice(_SUFFIXES)}{number}".lower()
            if handle != profile.handle:
                found[handle] = RelatedHandle("simulated", handle, "neighbour")
        for mention in sorted({m.lower() for post in posts for m in post.mentions}):
            if mention != profile.handle and mention not in found:
                found[mention] = RelatedHandle("simulated", mention, "mention")
        return list(found.values())


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> SimulatedCreatorSource:
    settings = read_settings(credentials)
    return SimulatedCreatorSource(
        SimulatedPlatform(
            seed=settings.seed,
            latency_ms=settings.latency_ms,
            error_rate=settings.error_rate,
            observer=observer,
        )
    )
