"""Bluesky client against hand-written AppView payloads (respx)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AccountRef,
    MediaType,
    NotFoundError,
    PermanentError,
    Platform,
    PostMetrics,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.bluesky.client import PUBLIC_APPVIEW, BlueskyClient
from socialpulse.providers.bluesky.parse import parse_post_record, parse_profile_url

Payload = Callable[[str, str], Any]
XRPC = PUBLIC_APPVIEW.rstrip("/")
ALICE = AccountRef(external_id="did:plc:alice123", handle="alice.bsky.social")
ROOT_URI = "at://did:plc:alice123/app.bsky.feed.post/3kpost1aaa"


@pytest.fixture
def client(sleeps: list[float], observer: RecordingObserver) -> BlueskyClient:
    return BlueskyClient.create(observer=observer, sleep=sleeps.append)


@respx.mock
def test_get_profile_parses_profile_view(client: BlueskyClient, payload: Payload) -> None:
    route = respx.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "get_profile.json"))
    )
    profile = client.get_profile("@alice.bsky.social")

    assert route.calls.last.request.url.params["actor"] == "alice.bsky.social"
    assert profile.platform is Platform.BLUESKY
    assert profile.external_id == "did:plc:alice123"
    assert profile.handle == "alice.bsky.social"
    assert profile.display_name == "Alice"
    assert profile.bio == "Sourdough and synths.\nBerlin."
    assert profile.profile_url == "https://bsky.app/profile/alice.bsky.social"
    assert (profile.followers_count, profile.following_count, profile.posts_count) == (
        1520,
        310,
        842,
    )
    assert profile.verified is True
    assert profile.avatar_url is not None
    assert profile.raw["did"] == "did:plc:alice123"


@respx.mock
def test_unknown_actor_400_is_not_found(
    client: BlueskyClient, payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
        return_value=httpx.Response(400, json=payload("bluesky", "error_profile_not_found.json"))
    )
    with pytest.raises(NotFoundError, match="Profile not found") as excinfo:
        client.get_profile("nobody.bsky.social")
    assert excinfo.value.status_code == 400
    assert route.call_count == 1
    assert sleeps == []


@respx.mock
def test_list_posts_paginates_and_skips_reposts(client: BlueskyClient, payload: Payload) -> None:
    route = respx.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
        side_effect=[
            httpx.Response(200, json=payload("bluesky", "author_feed_page1.json")),
            httpx.Response(200, json=payload("bluesky", "author_feed_page2.json")),
        ]
    )
    first = client.list_posts(ALICE, limit=3)
    second = client.list_posts(ALICE, cursor=first.next_cursor, limit=3)

    params = [call.request.url.params for call in route.calls]
    assert params[0]["actor"] == "did:plc:alice123"
    assert params[0]["limit"] == "3"
    assert "cursor" not in params[0]
    assert params[1]["cursor"] == "2024-10-03T18:00:01.000Z"
    assert first.next_cursor == "2024-10-03T18:00:01.000Z"
    assert second.next_cursor is None
    assert [p.external_id for p in first.items] == [
        ROOT_URI,
        "at://did:plc:alice123/app.bsky.feed.post/3kpost3ccc",
    ]
    assert [p.external_id for p in second.items] == [
        "at://did:plc:alice123/app.bsky.feed.post/3kpost4ddd"
    ]


@respx.mock
def test_post_fields_from_facets_embeds_and_counts(client: BlueskyClient, payload: Payload) -> None:
    respx.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "author_feed_page1.json"))
    )
    photo, video = client.list_posts(ALICE).items

    assert photo.url == "https://bsky.app/profile/alice.bsky.social/post/3kpost1aaa"
    assert photo.account_external_id == "did:plc:alice123"
    # Facet offsets are UTF-8 bytes; the emoji and "é" before them would shift char offsets.
    assert photo.mentions == ("bob.example.com",)
    assert photo.hashtags == ("sourdough", "Berlin")
    assert photo.media_type is MediaType.CAROUSEL
    assert photo.thumbnail_url is not None
    assert photo.thumbnail_url.endswith("bafkreiimg1@jpeg")
    assert photo.posted_at == datetime(2024, 10, 5, 9, 30, tzinfo=UTC)
    assert photo.metrics == PostMetrics(views=None, likes=58, comments=4, shares=9, saves=None)

    assert video.media_type is MediaType.VIDEO
    assert video.hashtags == ("synthwave",)  # from record.tags, not in the text
    assert video.metrics.saves == 3
    assert video.thumbnail_url is not None
    assert video.thumbnail_url.endswith("thumbnail.jpg")


@respx.mock
def test_post_without_facets_falls_back_to_text(client: BlueskyClient, payload: Payload) -> None:
    respx.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "author_feed_page2.json"))
    )
    (post,) = client.list_posts(ALICE).items
    assert post.hashtags == ("books",)
    assert post.mentions == ("carol.example",)
    assert post.media_type is MediaType.LINK


@respx.mock
def test_list_comments_flattens_thread_with_parents(
    client: BlueskyClient, payload: Payload
) -> None:
    route = respx.get(f"{XRPC}/app.bsky.feed.getPostThread").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "get_post_thread.json"))
    )
    page = client.list_comments(ROOT_URI)

    assert route.calls.last.request.url.params["uri"] == ROOT_URI
    assert page.next_cursor is None
    by_text = {c.text: c for c in page.items}
    assert list(by_text) == ["Looks delicious!", "Thanks Bob 🙏", "Where is this?"]
    bob, alice, carol = page.items
    assert bob.parent_external_id is None
    assert bob.post_external_id == ROOT_URI
    assert (bob.author_handle, bob.author_display_name) == ("bob.example.com", "Bob")
    assert (bob.like_count, bob.reply_count) == (2, 1)
    assert bob.url == "https://bsky.app/profile/bob.example.com/post/3kreply1"
    assert alice.parent_external_id == bob.external_id
    # An unverifiable handle reads "handle.invalid": we show the DID instead.
    assert carol.author_handle == "did:plc:carol789"
    assert carol.author_display_name is None


def test_list_comments_rejects_non_at_uris_without_a_request(client: BlueskyClient) -> None:
    with respx.mock:
        with pytest.raises(PermanentError, match="at:// URIs"):
            client.list_comments("https://bsky.app/profile/a/post/1")
        assert len(respx.calls) == 0


@respx.mock
def test_blocked_thread_root_is_not_found(client: BlueskyClient) -> None:
    respx.get(f"{XRPC}/app.bsky.feed.getPostThread").mock(
        return_value=httpx.Response(
            200,
            json={"thread": {"$type": "app.bsky.feed.defs#blockedPost", "uri": ROOT_URI}},
        )
    )
    with pytest.raises(NotFoundError, match="not visible"):
        client.list_comments(ROOT_URI)


@respx.mock
def test_rate_limit_reset_header_sets_retry_wait(
    client: BlueskyClient, payload: Payload, sleeps: list[float]
) -> None:
    reset = str(int(time.time()) + 30)
    route = respx.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
        side_effect=[
            httpx.Response(
                429, headers={"ratelimit-reset": reset}, json={"error": "RateLimitExceeded"}
            ),
            httpx.Response(200, json=payload("bluesky", "get_profile.json")),
        ]
    )
    assert client.get_profile("alice.bsky.social").handle == "alice.bsky.social"
    assert route.call_count == 2
    assert 25 <= sleeps[0] <= 30


@respx.mock
def test_persistent_5xx_surfaces_after_three_attempts(client: BlueskyClient) -> None:
    route = respx.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
        return_value=httpx.Response(502, text="bad gateway")
    )
    with pytest.raises(TransientError):
        client.get_profile("alice.bsky.social")
    assert route.call_count == 3


@respx.mock
def test_feed_without_feed_key_is_permanent(client: BlueskyClient) -> None:
    respx.get(f"{XRPC}/app.bsky.feed.getAuthorFeed").mock(
        return_value=httpx.Response(200, json={"cursor": "x"})
    )
    with pytest.raises(PermanentError, match="^Bluesky returned an author feed without 'feed'$"):
        client.list_posts(ALICE)


@respx.mock
def test_calls_are_recorded_with_endpoint_names(
    client: BlueskyClient, payload: Payload, observer: RecordingObserver
) -> None:
    respx.get(f"{XRPC}/app.bsky.actor.getProfile").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "get_profile.json"))
    )
    client.get_profile("alice.bsky.social")
    (call,) = observer.calls
    assert (call.platform, call.endpoint, call.status_code, call.ok) == (
        "bluesky",
        "bluesky.actor.getProfile",
        200,
        True,
    )


def test_record_without_facets_or_text() -> None:
    assert parse_post_record({"createdAt": "2024-01-01T00:00:00Z"}) == ("", (), ())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bsky.app/profile/alice.bsky.social", "alice.bsky.social"),
        ("https://bsky.app/profile/@Alice.bsky.social/", "alice.bsky.social"),
        ("https://bsky.app/profile/did:plc:abc/post/3k", "did:plc:abc"),
        ("https://bsky.app/search?q=x", None),
        ("https://example.com/profile/alice", None),
        ("alice.bsky.social", None),
    ],
)
def test_parse_profile_url(url: str, expected: str | None) -> None:
    assert parse_profile_url(url) == expected
