"""Instagram creator source (Business Discovery) against recorded Graph API payloads."""

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
from socialpulse.providers.creators import (
    CreatorSource,
    CreatorSourceUnavailable,
    RelatedHandle,
    creator_source,
)
from socialpulse.providers.registry import Capability, get_provider

Payload = Callable[[str, str], Any]
ME = "17841405822304914"
CREDENTIALS = {"access_token": "EAAG-token", "ig_user_id": ME}


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("instagram", name))


@pytest.fixture
def source(routes: Routes, observer: RecordingObserver) -> CreatorSource:
    return creator_source("instagram", CREDENTIALS, observer, routes.client())


@pytest.fixture
def discovery(routes: Routes, payload: Payload) -> None:
    routes.add(
        f"/{ME}",
        ok(payload, "creator_business_discovery_profile.json"),
        ok(payload, "creator_business_discovery_media.json"),
    )


@pytest.mark.parametrize("credentials", [{}, {"access_token": "t"}, {"ig_user_id": ME}])
def test_without_a_connected_professional_account_it_says_to_connect_one(
    credentials: dict[str, str],
) -> None:
    assert get_provider("instagram").supports(Capability.CREATOR_DISCOVERY)
    with pytest.raises(CreatorSourceUnavailable, match="connect an Instagram professional"):
        creator_source("instagram", credentials)


@pytest.mark.usefixtures("discovery")
def test_profile_and_posts_through_business_discovery(
    source: CreatorSource, routes: Routes, observer: RecordingObserver
) -> None:
    profile = source.creator_profile("@GardenLab")
    assert (profile.external_id, profile.handle, profile.followers_count) == (
        "17841400000000042",
        "gardenlab",
        56000,
    )
    first = routes.requests[0].url.params
    assert first["fields"].startswith("business_discovery.username(gardenlab){")
    assert first["access_token"] == "EAAG-token"
    posts = source.creator_posts(profile, 10)
    assert [p.external_id[-1] for p in posts] == ["3", "2", "1"]
    assert posts[0].metrics == PostMetrics(likes=3200, comments=88)
    assert posts[1].media_type is MediaType.REEL
    assert posts[2].metrics.likes is None  # likes hidden by the owner
    # Three of ten asked for: a short page is the last one, whatever its cursor says.
    assert [r.url.params["fields"].count(".limit(10)") for r in routes.requests[1:]] == [1]
    assert not any("insights" in r.url.path for r in routes.requests)
    assert [c.endpoint for c in observer.calls] == [
        "instagram.business_discovery",
        "instagram.business_discovery.media",
    ]


@pytest.mark.usefixtures("discovery")
def test_the_post_limit_holds(source: CreatorSource, routes: Routes) -> None:
    posts = source.creator_posts(source.creator_profile("gardenlab"), 2)
    assert [p.external_id[-1] for p in posts] == ["3", "2"]
    assert ".limit(2)" in routes.requests[1].url.params["fields"]
    assert len(routes.requests) == 2


@pytest.mark.usefixtures("discovery")
def test_no_comment_text_for_others_media_and_mentions_as_related(
    source: CreatorSource, routes: Routes
) -> None:
    profile = source.creator_profile("gardenlab")
    posts = source.creator_posts(profile, 10)
    calls = len(routes.requests)
    assert source.creator_comments(posts[0], 50) == []
    assert len(routes.requests) == calls  # no request: the API has no such read
    assert source.related_handles(profile, posts) == [
        RelatedHandle("instagram", "compost.club", "mention"),
        RelatedHandle("instagram", "seed.savers", "mention"),
    ]


def test_unknown_personal_or_private_account_is_not_found_and_says_why(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add(
        f"/{ME}", httpx.Response(400, json=payload("instagram", "error_user_not_found.json"))
    )
    with pytest.raises(NotFoundError, match="personal or private account"):
        source.creator_profile("nobody_here_42")


def test_malformed_discovery_is_a_permanent_error(source: CreatorSource, routes: Routes) -> None:
    routes.add(f"/{ME}", httpx.Response(200, json={"id": ME}))
    with pytest.raises(PermanentError, match="business_discovery"):
        source.creator_profile("gardenlab")
