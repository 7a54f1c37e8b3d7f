"""Bluesky as a creator source: any public account, through the operator's AppView, no
credentials.

* Profile: ``app.bsky.actor.getProfile``. An account labelled ``!no-unauthenticated`` asked
  not to be shown to logged-out viewers; a report is a logged-out view, so it is refused.
* Posts: ``app.bsky.feed.getAuthorFeed`` (own posts and threads, reposts left out), newest
  first; a pinned post listed on top is put in its place.
* Comments: ``app.bsky.feed.getPostThread``: every visible reply, the creator's own included.
* Related: the accounts the creator follows (``app.bsky.graph.getFollows``, first page of up to
  100), then handles mentioned in the bio and the posts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from socialpulse.providers.base import (
    CallObserver,
    Comment,
    MalformedPayloadError,
    PermanentError,
    Platform,
    Post,
    Profile,
)
from socialpulse.providers.bluesky.client import BlueskyClient, configured_appview
from socialpulse.providers.creators import (
    RelatedHandle,
    mentioned,
    merge_related,
    recent_posts,
)
from socialpulse.providers.items import parse_each, scrub

__all__ = ["BlueskyCreatorSource", "build_creator_source", "parse_follows"]

_PLATFORM = Platform.BLUESKY.value
NO_UNAUTHENTICATED = "!no-unauthenticated"
FOLLOWS_LIMIT = 100  # getFollows: limit 1..100


def parse_follows(data: Any) -> list[RelatedHandle]:
    """``app.bsky.graph.getFollows`` output → the followed accounts (``follows``)."""
    if not isinstance(data, dict) or not isinstance(data.get("follows"), list):
        raise MalformedPayloadError("Bluesky returned a follows response without 'follows'")

    def follow(view: dict[str, Any]) -> RelatedHandle:
        did = str(view["did"])
        handle = str(view.get("handle") or "")
        return RelatedHandle(
            _PLATFORM, did if handle in ("", "handle.invalid") else handle.lower(), "follows"
        )

    return parse_each(data["follows"], follow, platform=_PLATFORM, what="follow")


def mention_handle(text: str) -> str | None:
    """A mention as written (``alice.bsky.social`` or a DID) → a handle we can look up."""
    value = text.strip().lower()
    return value if value.startswith("did:") or ("." in value and "@" not in value) else None


class BlueskyCreatorSource:
    def __init__(self, client: BlueskyClient) -> None:
        self.client = client

    def creator_profile(self, handle: str) -> Profile:
        profile = self.client.get_profile(handle)
        labels = profile.raw.get("labels") or []
        if any(
            isinstance(label, dict) and label.get("val") == NO_UNAUTHENTICATED for label in labels
        ):
            raise PermanentError(
                f"Bluesky account {profile.handle} asks not to be shown to logged-out viewers; "
                "its posts are not analysed",
                platform=_PLATFORM,
                endpoint="bluesky.actor.getProfile",
            )
        return profile

    def creator_posts(self, profile: Profile, limit: int) -> list[Post]:
        return recent_posts(self.client, profile, limit)

    def creator_comments(self, post: Post, limit: int) -> list[Comment]:
        return list(self.client.list_comments(post.external_id).items[: max(0, limit)])

    def related_handles(self, profile: Profile, posts: Sequence[Post]) -> list[RelatedHandle]:
        endpoint = "bluesky.graph.getFollows"
        data = self.client.http.get_json(
            endpoint,
            "app.bsky.graph.getFollows",
            {"actor": profile.external_id, "limit": FOLLOWS_LIMIT},
        )
        with self.client.http.parsing(endpoint):
            follows = parse_follows(scrub(data))
        own = profile.external_id.lower()
        mentions = [
            r for r in mentioned(_PLATFORM, profile, posts, mention_handle) if r.handle != own
        ]
        return merge_related(profile.handle, follows, mentions)


def build_creator_source(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> BlueskyCreatorSource:
    """No credentials: reads go to the operator's AppView, as for tracked accounts."""
    return BlueskyCreatorSource(
        BlueskyClient.create(
            observer=observer, http_client=http_client, base_url=configured_appview(credentials)
        )
    )
