"""TikTok creator source (Research API) against documented payload shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from mock_routes import Routes
from socialpulse.providers.base import (
    AuthError,
    NotFoundError,
    PermanentError,
    PostMetrics,
    RecordingObserver,
)
from socialpulse.providers.creators import (
    CreatorSourceUnavailable,
    RelatedHandle,
    creator_source,
)
from socialpulse.providers.registry import Capability, get_provider
from socialpulse.providers.tiktok.creators import TikTokResearchSource, build_creator_source

Payload = Callable[[str, str], Any]
CREDENTIALS = {"research_client_key": "awkey", "research_client_secret": "s3cret"}


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("tiktok", name))


@pytest.fixture
def source(
    routes: Routes, payload: Payload, observer: RecordingObserver, sleeps: list[float]
) -> TikTokResearchSource:
    routes.add("/oauth/token/", ok(payload, "creator_research_token.json"))
    routes.add("/research/user/info/", ok(payload, "creator_research_user_info.json"))
    built = build_creator_source(CREDENTIALS, observer, routes.client(), sleep=sleeps.append)
    built.today = lambda: date(2024, 10, 10)
    return built


@pytest.fixture
def videos(routes: Routes, payload: Payload) -> None:
    routes.add(
        "/research/video/query/",
        ok(payload, "creator_research_videos_window1_page1.json"),
        ok(payload, "creator_research_videos_window1_page2.json"),
        ok(payload, "creator_research_videos_window2.json"),
    )


@pytest.mark.parametrize(
    "credentials", [{}, {"access_token": "act.display-api"}, {"research_client_key": "k"}]
)
def test_without_research_access_reports_are_not_available(credentials: dict[str, str]) -> None:
    assert get_provider("tiktok").supports(Capability.CREATOR_DISCOVERY)
    with pytest.raises(CreatorSourceUnavailable) as caught:
        creator_source("tiktok", credentials)
    assert str(caught.value) == (
        "creator reports are not available for TikTok without Research API access"
    )


def test_profile_with_a_client_token_fetched_once(
    source: TikTokResearchSource, routes: Routes, observer: RecordingObserver
) -> None:
    profile = source.creator_profile("@GardenLab")
    source.creator_profile("gardenlab")
    assert (profile.external_id, profile.handle, profile.followers_count) == (
        "gardenlab",
        "gardenlab",
        91000,
    )
    assert profile.profile_url == "https://www.tiktok.com/@gardenlab"
    token = routes.to("/oauth/token/")
    assert len(token) == 1
    assert token[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"grant_type=client_credentials" in token[0].content
    info = routes.to("/research/user/info/")[0]
    assert info.headers["authorization"] == "Bearer clt.research-token-1"
    assert json.loads(info.content) == {"username": "gardenlab"}
    assert "follower_count" in info.url.params["fields"]
    assert [(c.endpoint, c.quota_cost) for c in observer.calls] == [
        ("tiktok.oauth.token", 0),
        ("tiktok.research.user.info", 1),
        ("tiktok.research.user.info", 1),
    ]


def test_an_expired_token_is_fetched_again(source: TikTokResearchSource, routes: Routes) -> None:
    now = [0.0]
    source.clock = lambda: now[0]
    source.creator_profile("gardenlab")
    now[0] = 7200.0
    source.creator_profile("gardenlab")
    assert len(routes.to("/oauth/token/")) == 2


@pytest.mark.usefixtures("videos")
def test_posts_walk_30_day_windows_back_and_come_newest_first(
    source: TikTokResearchSource, routes: Routes
) -> None:
    posts = source.creator_posts(source.creator_profile("gardenlab"), 10)
    assert [p.external_id[-1] for p in posts] == ["3", "2", "1", "0"]
    assert posts[0].metrics == PostMetrics(views=120000, likes=9800, comments=310, shares=800)
    assert posts[0].hashtags == ("tomatoes", "fyp")
    assert posts[0].duration_seconds == 58
    assert posts[0].url == "https://www.tiktok.com/@gardenlab/video/7423000000000000003"
    assert posts[0].thumbnail_url is None  # the Research API has no cover image
    bodies = [json.loads(r.content) for r in routes.to("/research/video/query/")]
    assert [(b["start_date"], b["end_date"], b["cursor"]) for b in bodies] == [
        ("20240911", "20241010", 0),
        ("20240911", "20241010", 1),
        ("20240812", "20240910", 0),
    ]
    assert bodies[1]["search_id"] == "7423000000000000999"
    assert bodies[0]["query"]["and"][0] == {
        "operation": "EQ",
        "field_name": "username",
        "field_values": ["gardenlab"],
    }
    assert len(bodies) == 3  # four videos found, as many as the profile has: no older window


@pytest.mark.usefixtures("videos")
def test_the_post_limit_holds(source: TikTokResearchSource, routes: Routes) -> None:
    posts = source.creator_posts(source.creator_profile("gardenlab"), 1)
    assert [p.external_id for p in posts] == ["7423000000000000003"]
    assert len(routes.to("/research/video/query/")) == 2  # the first window, read whole


def test_comments_page_and_respect_the_limit(
    source: TikTokResearchSource, routes: Routes, payload: Payload
) -> None:
    routes.add(
        "/research/video/comment/list/",
        ok(payload, "creator_research_comments_page1.json"),
        ok(payload, "creator_research_comments_page2.json"),
    )
    routes.add("/research/video/query/", ok(payload, "creator_research_videos_window1_page2.json"))
    post = source.creator_posts(source.creator_profile("gardenlab"), 1)[0]
    comments = source.creator_comments(post, 10)
    assert [c.text for c in comments] == [
        "Which variety is that?",
        "Black Krim!",
        "🔥🔥🔥",
        "First time here",
    ]
    assert comments[1].parent_external_id == "7423100000000000001"
    assert comments[0].parent_external_id is None and comments[0].author_handle == ""
    bodies = [json.loads(r.content) for r in routes.to("/comment/list/")]
    assert bodies == [
        {"video_id": 7423000000000000003, "max_count": 10, "cursor": 0},
        {"video_id": 7423000000000000003, "max_count": 7, "cursor": 3},
    ]
    routes.add("/research/video/comment/list/", ok(payload, "creator_research_comments_page1.json"))
    assert len(source.creator_comments(post, 2)) == 2


@pytest.mark.usefixtures("videos")
def test_related_are_mentions(source: TikTokResearchSource) -> None:
    profile = source.creator_profile("gardenlab")
    assert source.related_handles(profile, source.creator_posts(profile, 10)) == [
        RelatedHandle("tiktok", "compost.club", "mention"),
        RelatedHandle("tiktok", "seed.savers", "mention"),
    ]


def test_private_and_unknown_accounts(
    source: TikTokResearchSource, routes: Routes, payload: Payload
) -> None:
    routes.add("/research/user/info/", ok(payload, "creator_research_user_private.json"))
    with pytest.raises(PermanentError, match="@hidden is private"):
        source.creator_profile("hidden")
    routes.add("/research/user/info/", ok(payload, "creator_research_user_not_found.json"))
    with pytest.raises(NotFoundError, match="@nobody was not found"):
        source.creator_profile("nobody")


def test_refused_client_credentials_are_an_auth_error(
    routes: Routes, payload: Payload, sleeps: list[float]
) -> None:
    routes.add("/oauth/token/", ok(payload, "creator_research_token_error.json"))
    built = build_creator_source(CREDENTIALS, None, routes.client(), sleep=sleeps.append)
    with pytest.raises(AuthError, match="Client key or secret is incorrect"):
        built.creator_profile("gardenlab")


def test_malformed_video_query_is_a_permanent_error(
    source: TikTokResearchSource, routes: Routes
) -> None:
    routes.add(
        "/research/video/query/",
        httpx.Response(200, json={"data": {"videos": {}}, "error": {"code": "ok"}}),
    )
    with pytest.raises(PermanentError, match="research video query"):
        source.creator_posts(source.creator_profile("gardenlab"), 5)
