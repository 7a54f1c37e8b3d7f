"""Bluesky creator source against recorded AppView payloads (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_routes import Routes
from socialpulse.providers.base import (
    MediaType,
    NotFoundError,
    PermanentError,
    PostMetrics,
    RecordingObserver,
)
from socialpulse.providers.creators import CreatorSource, RelatedHandle, creator_source
from socialpulse.providers.registry import Capability, get_provider

Payload = Callable[[str, str], Any]
DID = "did:plc:gardenlab7q2"


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("bluesky", name))


@pytest.fixture
def source(routes: Routes, observer: RecordingObserver) -> CreatorSource:
    assert get_provider("bluesky").supports(Capability.CREATOR_DISCOVERY)
    return creator_source("bluesky", {}, observer, routes.client())


@pytest.fixture
def feed(routes: Routes, payload: Payload) -> None:
    routes.add("app.bsky.actor.getProfile", ok(payload, "creator_profile.json"))
    routes.add(
        "app.bsky.feed.getAuthorFeed",
        ok(payload, "creator_author_feed_page1.json"),
        ok(payload, "creator_author_feed_page2.json"),
    )


@pytest.mark.usefixtures("feed")
def test_profile_and_posts_newest_first_without_reposts_or_a_doubled_pin(
    source: CreatorSource, routes: Routes
) -> None:
    profile = source.creator_profile("@GardenLab.bsky.social")
    assert (profile.external_id, profile.followers_count, profile.posts_count) == (DID, 8400, 530)
    assert routes.to("getProfile")[0].url.params["actor"] == "GardenLab.bsky.social"
    posts = source.creator_posts(profile, 10)
    assert [p.external_id.rsplit("/", 1)[1] for p in posts] == [
        "3kpost0000003",
        "3kpost0000002",
        "3kpost0000001",
        "3kpinned0001",  # pinned on top of the feed, listed again further down: once, in place
    ]
    assert posts[0].metrics == PostMetrics(views=None, likes=120, comments=4, shares=6, saves=None)
    assert posts[0].media_type is MediaType.IMAGE and posts[0].thumbnail_url
    assert routes.to("getAuthorFeed")[1].url.params["cursor"] == "2024-10-07T10:00:00.000Z"


@pytest.mark.usefixtures("feed")
def test_the_post_limit_holds(source: CreatorSource, routes: Routes) -> None:
    posts = source.creator_posts(source.creator_profile("gardenlab.bsky.social"), 2)
    assert len(posts) == 2
    assert routes.to("getAuthorFeed")[0].url.params["limit"] == "2"
    assert len(routes.to("getAuthorFeed")) == 1


@pytest.mark.usefixtures("feed")
def test_comments_are_the_visible_replies_creator_ones_included(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add("app.bsky.feed.getPostThread", ok(payload, "creator_post_thread.json"))
    post = source.creator_posts(source.creator_profile("gardenlab.bsky.social"), 1)[0]
    comments = source.creator_comments(post, 50)
    assert [(c.author_handle, c.parent_external_id is None) for c in comments] == [
        ("tomatofan.bsky.social", True),
        ("gardenlab.bsky.social", False),
        ("newbie.bsky.social", True),
    ]  # the blocked reply is left out
    assert len(source.creator_comments(post, 2)) == 2


@pytest.mark.usefixtures("feed")
def test_related_are_follows_then_mentions(
    source: CreatorSource, routes: Routes, payload: Payload, observer: RecordingObserver
) -> None:
    routes.add("app.bsky.graph.getFollows", ok(payload, "creator_follows.json"))
    profile = source.creator_profile("gardenlab.bsky.social")
    posts = source.creator_posts(profile, 10)
    related = source.related_handles(profile, posts)
    assert related == [
        RelatedHandle("bluesky", "compost.club", "follows"),
        RelatedHandle("bluesky", "seedsavers.bsky.social", "follows"),
        RelatedHandle("bluesky", "did:plc:broken1", "follows"),  # unverified handle: its DID
    ]  # the bio's and the posts' mentions are followed accounts already
    params = routes.to("getFollows")[0].url.params
    assert (params["actor"], params["limit"]) == (DID, "100")
    assert observer.calls[-1].endpoint == "bluesky.graph.getFollows"


def test_an_account_hidden_from_logged_out_viewers_is_refused(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add("getProfile", ok(payload, "creator_profile_logged_out_hidden.json"))
    with pytest.raises(PermanentError, match="logged-out viewers"):
        source.creator_profile("gardenlab.bsky.social")


def test_unknown_account_is_not_found(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add(
        "getProfile", httpx.Response(400, json=payload("bluesky", "error_profile_not_found.json"))
    )
    with pytest.raises(NotFoundError):
        source.creator_profile("nobody.bsky.social")


@pytest.mark.usefixtures("feed")
def test_malformed_follows_are_a_permanent_error(source: CreatorSource, routes: Routes) -> None:
    routes.add("app.bsky.graph.getFollows", httpx.Response(200, json={"subject": {}}))
    profile = source.creator_profile("gardenlab.bsky.social")
    with pytest.raises(PermanentError, match="follows"):
        source.related_handles(profile, [])
