"""Mastodon creator source against recorded instance payloads (httpx.MockTransport)."""

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
    Platform,
    Post,
    PostMetrics,
    RecordingObserver,
    utcnow,
)
from socialpulse.providers.creators import CreatorSource, RelatedHandle, creator_source
from socialpulse.providers.http import EgressDenied
from socialpulse.providers.registry import Capability, get_provider

Payload = Callable[[str, str], Any]
ACCOUNT = "110000000000000042"
NEXT = (
    f"<https://mastodon.social/api/v1/accounts/{ACCOUNT}/statuses?max_id=113300000000000003>; "
    f'rel="next", <https://mastodon.social/api/v1/accounts/{ACCOUNT}/statuses?min_id=1>; rel="prev"'
)


def ok(payload: Payload, name: str, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=payload("mastodon", name), headers=headers)


@pytest.fixture
def source(routes: Routes, observer: RecordingObserver) -> CreatorSource:
    assert get_provider("mastodon").supports(Capability.CREATOR_DISCOVERY)
    return creator_source("mastodon", {}, observer, routes.client())


@pytest.fixture
def statuses(routes: Routes, payload: Payload) -> None:
    routes.add("/api/v1/accounts/lookup", ok(payload, "creator_account.json"))
    routes.add(
        "/statuses",
        ok(payload, "creator_statuses_page1.json", link=NEXT),
        ok(payload, "creator_statuses_page2.json"),
    )


@pytest.mark.usefixtures("statuses")
def test_posts_are_the_creators_own_newest_first(source: CreatorSource, routes: Routes) -> None:
    profile = source.creator_profile("@GardenLab@mastodon.social")
    assert (profile.handle, profile.followers_count) == ("gardenlab@mastodon.social", 2400)
    lookup = routes.to("/api/v1/accounts/lookup")[0]
    assert (lookup.url.host, lookup.url.params["acct"]) == ("mastodon.social", "GardenLab")
    posts = source.creator_posts(profile, 10)
    assert [p.external_id[-1] for p in posts] == ["5", "3", "2", "1"]  # no reply to someone else
    assert posts[0].metrics == PostMetrics(likes=55, comments=3, shares=8)
    assert posts[0].media_type is MediaType.IMAGE
    assert routes.to("/statuses")[1].url.params["max_id"] == "113300000000000003"


@pytest.mark.usefixtures("statuses")
def test_the_post_limit_holds(source: CreatorSource, routes: Routes) -> None:
    posts = source.creator_posts(source.creator_profile("gardenlab@mastodon.social"), 1)
    assert [p.external_id for p in posts] == ["113300000000000005"]
    assert routes.to("/statuses")[0].url.params["limit"] == "1"
    assert len(routes.to("/statuses")) == 1


@pytest.mark.usefixtures("statuses")
def test_comments_are_read_on_the_posts_instance_by_a_fresh_source(
    routes: Routes, payload: Payload, source: CreatorSource
) -> None:
    post = source.creator_posts(source.creator_profile("gardenlab@mastodon.social"), 1)[0]
    routes.add("/context", ok(payload, "creator_status_context.json"))
    fresh = creator_source("mastodon", {}, None, routes.client())
    comments = fresh.creator_comments(post, 50)
    assert [(c.author_handle, c.parent_external_id) for c in comments] == [
        ("tomatofan@fosstodon.org", None),
        ("gardenlab@mastodon.social", "113300000000000101"),
        ("newbie@mastodon.social", None),
    ]
    assert routes.to("/context")[0].url.host == "mastodon.social"
    assert len(fresh.creator_comments(post, 2)) == 2


def test_comments_of_a_post_on_a_private_address_are_refused(source: CreatorSource) -> None:
    post = Post(
        platform=Platform.MASTODON,
        external_id="1",
        account_external_id="2",
        url="https://127.0.0.1/@x/1",
        caption="",
        posted_at=utcnow(),
    )
    with pytest.raises(EgressDenied):
        source.creator_comments(post, 5)


@pytest.mark.usefixtures("statuses")
def test_related_are_mentions_with_their_instance(source: CreatorSource) -> None:
    profile = source.creator_profile("gardenlab@mastodon.social")
    related = source.related_handles(profile, source.creator_posts(profile, 10))
    assert related == [
        RelatedHandle("mastodon", "compost@fosstodon.org", "mention"),
        RelatedHandle("mastodon", "neighbour@mastodon.social", "mention"),
        RelatedHandle("mastodon", "seeds@fosstodon.org", "mention"),
    ]
    assert source.related_handles(replace(profile, bio="hi @gardenlab"), []) == []


def test_a_locked_account_is_private(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    routes.add("/api/v1/accounts/lookup", ok(payload, "creator_account_locked.json"))
    with pytest.raises(PermanentError, match="locked.*private"):
        source.creator_profile("gardenlab@mastodon.social")


def test_unknown_account_is_not_found(
    source: CreatorSource, routes: Routes, payload: Payload
) -> None:
    body = payload("mastodon", "error_not_found.json")
    routes.add("/api/v1/accounts/lookup", httpx.Response(404, json=body))
    with pytest.raises(NotFoundError):
        source.creator_profile("nobody@mastodon.social")


@pytest.mark.usefixtures("statuses")
def test_malformed_statuses_are_a_permanent_error(source: CreatorSource, routes: Routes) -> None:
    routes.add("/statuses", httpx.Response(200, json={"statuses": []}))
    profile = source.creator_profile("gardenlab@mastodon.social")
    with pytest.raises(PermanentError, match="not a JSON array"):
        source.creator_posts(profile, 5)
