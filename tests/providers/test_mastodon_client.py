"""Mastodon client against hand-written REST payloads (respx)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from socialpulse.kit import egress
from socialpulse.providers.base import (
    AccountRef,
    AuthError,
    MediaType,
    NotFoundError,
    PermanentError,
    PostMetrics,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.mastodon.client import MastodonClient, normalise_instance
from socialpulse.providers.mastodon.parse import html_to_text, next_max_id, parse_profile_url

Payload = Callable[[str, str], Any]
API = "https://mastodon.social/api/v1"
ALICE = AccountRef(external_id="109000000000000001", handle="alice@mastodon.social")
ROOT_ID = "113200000000000003"


def make_client(
    sleeps: list[float], observer: RecordingObserver | None = None, **kwargs: Any
) -> MastodonClient:
    return MastodonClient.create(observer=observer, sleep=sleeps.append, **kwargs)


@respx.mock
def test_get_profile_asks_the_handles_instance(sleeps: list[float], payload: Payload) -> None:
    route = respx.get(f"{API}/accounts/lookup").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "account_lookup.json"))
    )
    profile = make_client(sleeps).get_profile("@alice@mastodon.social")

    assert route.calls.last.request.url.params["acct"] == "alice"
    assert profile.external_id == "109000000000000001"
    assert profile.handle == "alice@mastodon.social"  # local acct "alice" gets its instance
    assert profile.display_name == "Alice 🌻"
    assert profile.bio == "Gardener & coder.\n\nBerlin\nshe/her"
    assert profile.profile_url == "https://mastodon.social/@alice"
    assert (profile.followers_count, profile.following_count, profile.posts_count) == (
        1520,
        5,
        42,
    )
    assert profile.verified is False


@respx.mock
def test_bare_username_uses_the_configured_instance(sleeps: list[float], payload: Payload) -> None:
    route = respx.get("https://fosstodon.org/api/v1/accounts/lookup").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "account_lookup.json"))
    )
    profile = make_client(sleeps, instance="https://Fosstodon.org/").get_profile("alice")
    assert route.call_count == 1
    assert profile.handle == "alice@fosstodon.org"


def test_bare_username_without_instance_is_rejected_before_any_request(
    sleeps: list[float],
) -> None:
    with respx.mock:
        with pytest.raises(PermanentError, match="has no instance"):
            make_client(sleeps).get_profile("alice")
        assert len(respx.calls) == 0


@respx.mock
def test_unknown_account_is_not_found(sleeps: list[float], payload: Payload) -> None:
    respx.get(f"{API}/accounts/lookup").mock(
        return_value=httpx.Response(404, json=payload("mastodon", "error_not_found.json"))
    )
    with pytest.raises(NotFoundError, match="Record not found"):
        make_client(sleeps).get_profile("ghost@mastodon.social")


@respx.mock
def test_suspended_account_410_is_not_found(sleeps: list[float]) -> None:
    respx.get(f"{API}/accounts/lookup").mock(
        return_value=httpx.Response(410, json={"error": "Account suspended"})
    )
    with pytest.raises(NotFoundError, match="410"):
        make_client(sleeps).get_profile("gone@mastodon.social")


@respx.mock
def test_access_token_is_sent_and_401_is_auth_error(sleeps: list[float]) -> None:
    route = respx.get(f"{API}/accounts/lookup").mock(
        return_value=httpx.Response(401, json={"error": "The access token is invalid"})
    )
    with pytest.raises(AuthError, match="access token is invalid"):
        make_client(sleeps, access_token="tok").get_profile("alice@mastodon.social")
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


@respx.mock
def test_list_posts_follows_link_header_and_skips_boosts(
    sleeps: list[float], payload: Payload
) -> None:
    link = (
        f'<{API}/accounts/{ALICE.external_id}/statuses?max_id=113200000000000001>; rel="next", '
        f'<{API}/accounts/{ALICE.external_id}/statuses?min_id=113200000000000003>; rel="prev"'
    )
    route = respx.get(f"{API}/accounts/{ALICE.external_id}/statuses").mock(
        side_effect=[
            httpx.Response(
                200, json=payload("mastodon", "account_statuses_page1.json"), headers={"Link": link}
            ),
            httpx.Response(200, json=payload("mastodon", "account_statuses_page2.json")),
        ]
    )
    client = make_client(sleeps)
    first = client.list_posts(ALICE, limit=100)
    second = client.list_posts(ALICE, cursor=first.next_cursor)

    params = [call.request.url.params for call in route.calls]
    assert params[0]["limit"] == "40"  # Mastodon's maximum
    assert params[0]["exclude_reblogs"] == "true"
    assert "max_id" not in params[0]
    assert params[1]["max_id"] == "113200000000000001"
    assert first.next_cursor == "113200000000000001"
    assert second.next_cursor is None
    assert [p.external_id for p in first.items] == ["113200000000000003", "113200000000000001"]
    assert [p.external_id for p in second.items] == ["113100000000000001"]


@respx.mock
def test_status_fields(sleeps: list[float], payload: Payload) -> None:
    respx.get(f"{API}/accounts/{ALICE.external_id}/statuses").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "account_statuses_page1.json"))
    )
    photo, video = make_client(sleeps).list_posts(ALICE).items

    assert photo.caption == "Tomatoes are in! #gardening with @bob\n\nLine one\nLine two & more"
    assert photo.hashtags == ("gardening",)
    assert photo.mentions == ("bob@fosstodon.org",)
    assert photo.media_type is MediaType.IMAGE
    assert photo.thumbnail_url is not None
    assert photo.thumbnail_url.endswith("/small/t.jpg")
    assert photo.url == "https://mastodon.social/@alice/113200000000000003"
    assert photo.posted_at == datetime(2024, 10, 5, 9, 30, tzinfo=UTC)
    assert photo.metrics == PostMetrics(views=None, likes=25, comments=3, shares=5, saves=None)
    assert video.media_type is MediaType.VIDEO
    assert video.duration_seconds == 15
    assert video.metrics.shares == 2


@respx.mock
def test_link_card_post_keeps_full_url_text(sleeps: list[float], payload: Payload) -> None:
    respx.get(f"{API}/accounts/{ALICE.external_id}/statuses").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "account_statuses_page2.json"))
    )
    (post,) = make_client(sleeps).list_posts(ALICE).items
    assert post.caption == "Read this: https://example.org/compost-guide"
    assert post.media_type is MediaType.LINK
    assert post.thumbnail_url is not None


@respx.mock
def test_empty_page_ends_pagination_even_with_a_next_link(sleeps: list[float]) -> None:
    respx.get(f"{API}/accounts/{ALICE.external_id}/statuses").mock(
        return_value=httpx.Response(
            200, json=[], headers={"Link": f'<{API}/x?max_id=1>; rel="next"'}
        )
    )
    page = make_client(sleeps).list_posts(ALICE)
    assert page.items == ()
    assert page.next_cursor is None


@respx.mock
def test_list_comments_threads_descendants(sleeps: list[float], payload: Payload) -> None:
    route = respx.get(f"{API}/statuses/{ROOT_ID}/context").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "status_context.json"))
    )
    page = make_client(sleeps, instance="mastodon.social").list_comments(ROOT_ID)

    assert route.call_count == 1
    assert page.next_cursor is None
    bob, alice, carol = page.items
    assert bob.parent_external_id is None
    assert bob.post_external_id == ROOT_ID
    assert bob.author_handle == "bob@fosstodon.org"
    assert bob.author_followers_count == 77
    assert bob.text == "@alice Looks great!"
    assert (bob.like_count, bob.reply_count) == (2, 1)
    assert bob.url == "https://fosstodon.org/@bob/113200000000000999"
    assert alice.parent_external_id == bob.external_id
    assert alice.author_handle == "alice@mastodon.social"
    assert carol.parent_external_id is None
    assert carol.author_display_name is None


def test_list_comments_without_instance_fails_without_a_request(sleeps: list[float]) -> None:
    with respx.mock:
        with pytest.raises(PermanentError, match="need the account's instance"):
            make_client(sleeps).list_comments(ROOT_ID)
        assert len(respx.calls) == 0


@respx.mock
def test_context_without_descendants_is_permanent(sleeps: list[float]) -> None:
    respx.get(f"{API}/statuses/{ROOT_ID}/context").mock(
        return_value=httpx.Response(200, json={"ancestors": []})
    )
    with pytest.raises(PermanentError, match="without 'descendants'"):
        make_client(sleeps, instance="mastodon.social").list_comments(ROOT_ID)


@respx.mock
def test_rate_limit_reset_header_sets_retry_wait(sleeps: list[float], payload: Payload) -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=20)).isoformat()
    respx.get(f"{API}/accounts/lookup").mock(
        side_effect=[
            httpx.Response(
                429, headers={"X-RateLimit-Reset": reset}, json={"error": "Too many requests"}
            ),
            httpx.Response(200, json=payload("mastodon", "account_lookup.json")),
        ]
    )
    make_client(sleeps).get_profile("alice@mastodon.social")
    assert 15 <= sleeps[0] <= 20


@respx.mock
def test_persistent_503_surfaces_transient_error(sleeps: list[float]) -> None:
    route = respx.get(f"{API}/accounts/lookup").mock(return_value=httpx.Response(503))
    with pytest.raises(TransientError):
        make_client(sleeps).get_profile("alice@mastodon.social")
    assert route.call_count == 3


def test_html_to_text_keeps_breaks_and_entities() -> None:
    html = "<p>One &lt;b&gt;<br>two</p><p>three</p><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(html) == "One <b>\ntwo\n\nthree\n\na\nb"
    assert html_to_text(None) == ""


def test_next_max_id_reads_only_the_next_link() -> None:
    header = '<https://m.test/a?min_id=9>; rel="prev", <https://m.test/a?max_id=5&x=1>; rel="next"'
    assert next_max_id(header) == "5"
    assert next_max_id('<https://m.test/a?min_id=9>; rel="prev"') is None
    assert next_max_id(None) is None


def test_normalise_instance() -> None:
    assert normalise_instance("Mastodon.Social") == "https://mastodon.social"
    assert normalise_instance("https://mastodon.social:443/") == "https://mastodon.social:443"
    with egress.using_policy("localhost"):  # a dev instance, allowed by the operator
        assert normalise_instance("http://localhost:3000/") == "http://localhost:3000"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://mastodon.social/@alice", "alice@mastodon.social"),
        ("https://mastodon.social/@alice/113200000000000003", "alice@mastodon.social"),
        ("https://mastodon.social/users/alice", "alice@mastodon.social"),
        ("http://localhost:3000/@alice", "alice@localhost:3000"),
        ("@alice@mastodon.social", "alice@mastodon.social"),
        ("https://www.tiktok.com/@someone", None),
        ("https://www.youtube.com/@someone", None),
        ("https://mastodon.social/about", None),
        ("@alice", None),
    ],
)
def test_parse_profile_url(url: str, expected: str | None) -> None:
    assert parse_profile_url(url) == expected
