"""YouTube creator source against recorded Data API payloads (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
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
from socialpulse.providers.creators import (
    CreatorSource,
    CreatorSourceUnavailable,
    RelatedHandle,
    creator_source,
)
from socialpulse.providers.registry import Capability, get_provider

Payload = Callable[[str, str], Any]
CHANNEL = "UCgardenlabAAAAAAAAAAAAA"


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("youtube", name))


@pytest.fixture
def source(routes: Routes, observer: RecordingObserver) -> CreatorSource:
    return creator_source("youtube", {"api_key": "k"}, observer, routes.client())


@pytest.fixture
def channel(routes: Routes, payload: Payload) -> None:
    routes.add("/channels", ok(payload, "creator_channel.json"))


def test_youtube_claims_creator_discovery_and_needs_a_key() -> None:
    assert get_provider("youtube").supports(Capability.CREATOR_DISCOVERY)
    with pytest.raises(CreatorSourceUnavailable, match="YouTube Data API key"):
        creator_source("youtube", {})


@pytest.mark.usefixtures("channel")
def test_profile_reads_status_and_branding_for_one_unit(
    source: CreatorSource, routes: Routes, observer: RecordingObserver
) -> None:
    profile = source.creator_profile("GardenLab")
    assert (profile.external_id, profile.handle, profile.followers_count) == (
        CHANNEL,
        "@gardenlab",
        45600,
    )
    params = routes.to("/channels")[0].url.params
    assert params["forHandle"] == "@GardenLab"
    assert set(params["part"].split(",")) >= {"status", "brandingSettings", "contentDetails"}
    assert [(c.endpoint, c.quota_cost) for c in observer.calls] == [("youtube.channels.list", 1)]


def test_private_channel_is_refused_clearly(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add("/channels", ok(payload, "creator_channel_private.json"))
    with pytest.raises(PermanentError, match="@gardenlab is private"):
        source.creator_profile("@gardenlab")


def test_unknown_channel_is_not_found(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add("/channels", ok(payload, "channels_not_found.json"))
    with pytest.raises(NotFoundError):
        source.creator_profile("@nobody")


@pytest.mark.usefixtures("channel")
def test_posts_are_newest_first_with_metrics_and_the_limit_holds(
    source: CreatorSource, routes: Routes, payload: Payload, observer: RecordingObserver
) -> None:
    routes.add(
        "/playlistItems",
        ok(payload, "creator_uploads_page1.json"),
        ok(payload, "creator_uploads_page2.json"),
    )
    routes.add(
        "/videos",
        ok(payload, "creator_videos_page1.json"),
        ok(payload, "creator_videos_page2.json"),
    )
    profile = source.creator_profile("@gardenlab")
    posts = source.creator_posts(profile, 5)
    assert [p.external_id for p in posts] == [
        "vidA0000001",
        "vidC0000003",  # a premiere listed after a newer short: put in its place
        "vidB0000002",
        "vidD0000004",
        "vidE0000005",
    ]
    assert posts[0].metrics == PostMetrics(views=9100, likes=410, comments=37)
    assert posts[3].metrics.comments is None  # comments turned off: unknown, not 0
    assert posts[2].media_type is MediaType.SHORT
    assert posts[0].thumbnail_url == "https://i.ytimg.com/vi/vidA0000001/maxres.jpg"
    assert routes.to("/playlistItems")[1].url.params["pageToken"] == "CAMQAA"
    assert sum(c.quota_cost for c in observer.calls) == 5  # channel + 2 × (playlist + videos)


@pytest.mark.usefixtures("channel")
def test_post_limit_stops_paging(source: CreatorSource, routes: Routes, payload: Payload) -> None:
    routes.add("/playlistItems", ok(payload, "creator_uploads_page1.json"))
    routes.add("/videos", ok(payload, "creator_videos_page1.json"))
    posts = source.creator_posts(source.creator_profile("@gardenlab"), 2)
    assert len(posts) == 2
    assert posts[0].posted_at > posts[1].posted_at
    assert routes.to("/playlistItems")[0].url.params["maxResults"] == "2"
    assert len(routes.to("/playlistItems")) == 1


@pytest.mark.usefixtures("channel")
def test_comments_include_visible_creator_replies_and_respect_the_limit(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add(
        "/commentThreads",
        ok(payload, "creator_comment_threads_page1.json"),
        ok(payload, "creator_comment_threads_page2.json"),
    )
    routes.add("/playlistItems", ok(payload, "creator_uploads_page1.json"))
    routes.add("/videos", ok(payload, "creator_videos_page1.json"))
    post = source.creator_posts(source.creator_profile("@gardenlab"), 1)[0]
    comments = source.creator_comments(post, 50)
    assert [c.external_id for c in comments] == [
        "UgxThread1",
        "UgxThread1.r1",
        "UgxThread2",
        "UgxThread3",
        "UgxThread4",
    ]
    reply = comments[1]
    assert (reply.parent_external_id, reply.author_external_id) == ("UgxThread1", CHANNEL)
    routes.add("/commentThreads", ok(payload, "creator_comment_threads_page1.json"))
    assert len(source.creator_comments(post, 3)) == 3


@pytest.mark.usefixtures("channel")
def test_comments_turned_off_give_none(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    body = payload("youtube", "error_comments_disabled.json")
    routes.add("/commentThreads", httpx.Response(403, json=body))
    routes.add("/playlistItems", ok(payload, "creator_uploads_page1.json"))
    routes.add("/videos", ok(payload, "creator_videos_page1.json"))
    post = source.creator_posts(source.creator_profile("@gardenlab"), 1)[0]
    assert source.creator_comments(post, 10) == []


@pytest.mark.usefixtures("channel")
def test_related_are_featured_channels_then_mentions(
    source: CreatorSource, routes: Routes, payload: Payload, observer: RecordingObserver
) -> None:
    routes.add("/playlistItems", ok(payload, "creator_uploads_page1.json"))
    routes.add("/videos", ok(payload, "creator_videos_page1.json"))
    profile = source.creator_profile("@gardenlab")
    posts = source.creator_posts(profile, 3)
    routes.add("/channels", ok(payload, "creator_featured_channels.json"))
    routes.add("/channelSections", ok(payload, "creator_channel_sections.json"))
    before = len(observer.calls)
    related = source.related_handles(profile, posts)
    assert related == [
        RelatedHandle("youtube", "@seedsavers", "featured", 120000),
        RelatedHandle("youtube", "@compost.club", "featured", 800),
        RelatedHandle("youtube", "@balconybeds", "featured", 5100),
    ]  # the mentions (@SeedSavers, @compost.club) are featured already; the own one is left out
    ids = routes.to("/channels")[-1].url.params["id"].split(",")
    assert ids == [
        "UCseedsaversCCCCCCCCCCCC",
        "UCcompostclubDDDDDDDDDDD",
        "UCbalconyBBBBBBBBBBBBBBB",
    ]
    assert [c.endpoint for c in observer.calls[before:]] == [
        "youtube.channelSections.list",
        "youtube.channels.list",
    ]
    # Without featured channels, the description's @handles are what the page shows.
    routes.add("/channelSections", httpx.Response(200, json={"items": []}))
    bare = replace(profile, bio="with @Friend_one and me@mail.example", raw={})
    assert source.related_handles(bare, []) == [RelatedHandle("youtube", "@friend_one", "mention")]


@pytest.mark.usefixtures("channel")
def test_malformed_sections_are_a_permanent_error(source: CreatorSource, routes: Routes) -> None:
    routes.add("/channelSections", httpx.Response(200, json={"items": "nope"}))
    profile = source.creator_profile("@gardenlab")
    with pytest.raises(PermanentError, match="channelSections"):
        source.related_handles(profile, [])
