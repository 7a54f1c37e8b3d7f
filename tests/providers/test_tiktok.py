"""TikTok API v2 client against hand-written payloads in TikTok's documented formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AccountRef,
    AuthError,
    CommentSource,
    MediaType,
    PermanentError,
    Platform,
    PostSource,
    ProfileSource,
    ProviderError,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.http import CircuitBreaker
from socialpulse.providers.registry import Capability, MissingCredentialsError, get_provider
from socialpulse.providers.tiktok import PROVIDER, TikTokClient
from socialpulse.providers.tiktok.client import USER_FIELDS, VIDEO_FIELDS, build

BASE = "https://open.tiktokapis.com/v2/"
TOKEN = "act.example-token"
OPEN_ID = "-000Oa7Hk3p2uQwmvRZJq1b9cIf8sKJZxT2y"
Payload = Callable[[str, str], Any]


@pytest.fixture
def tt(payload: Payload) -> Callable[[str], Any]:
    return lambda name: payload("tiktok", name)


def make_client(sleeps: list[float], observer: RecordingObserver | None = None) -> TikTokClient:
    return TikTokClient.create(
        TOKEN, observer=observer, sleep=sleeps.append, breaker=CircuitBreaker("tiktok-test")
    )


def mock_user(tt: Callable[[str], Any], name: str = "user_info.json") -> respx.Route:
    return respx.get(f"{BASE}user/info/", params={"fields": USER_FIELDS}).mock(
        return_value=httpx.Response(200, json=tt(name))
    )


def body_of(call: Any) -> Any:
    return json.loads(call.request.content)


# --------------------------------------------------------------------------- profile


@respx.mock
def test_profile_of_the_connected_account(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    route = mock_user(tt)

    profile = make_client(sleeps).get_profile("@Brewcraft.Coffee")

    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert profile.platform is Platform.TIKTOK
    assert profile.external_id == OPEN_ID
    assert profile.handle == "brewcraft.coffee"
    assert profile.display_name == "Brewcraft Coffee"
    assert profile.bio == "Porto roasters ☕ daily brew tips"
    assert profile.followers_count == 18204
    assert profile.following_count == 87
    assert profile.posts_count == 214
    assert profile.verified is False
    assert profile.profile_url == "https://vm.tiktok.com/ZMeXyz123/"
    assert profile.raw["likes_count"] == 402116


@respx.mock
def test_profile_can_be_asked_for_by_open_id(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    mock_user(tt)
    assert make_client(sleeps).get_profile(OPEN_ID).handle == "brewcraft.coffee"


@respx.mock
def test_other_accounts_cannot_be_looked_up(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    mock_user(tt)
    with pytest.raises(PermanentError, match=r"only reads the connected account \(@brewcraft"):
        make_client(sleeps).get_profile("@someone_else")


@respx.mock
def test_missing_username_scope_is_an_auth_error(
    tt: Callable[[str], Any], sleeps: list[float]
) -> None:
    mock_user(tt, "user_info_without_username.json")
    with pytest.raises(AuthError, match=r"user\.info\.profile"):
        make_client(sleeps).get_profile("brewcraft.coffee")


# --------------------------------------------------------------------------- videos


@respx.mock
def test_videos_paginate_over_two_pages(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    user = mock_user(tt)
    videos = respx.post(f"{BASE}video/list/", params={"fields": VIDEO_FIELDS}).mock(
        side_effect=[
            httpx.Response(200, json=tt("video_list_page1.json")),
            httpx.Response(200, json=tt("video_list_page2.json")),
        ]
    )
    client = make_client(sleeps)
    account = AccountRef(OPEN_ID, "brewcraft.coffee")

    first = client.list_posts(account)
    second = client.list_posts(account, cursor=first.next_cursor)

    assert body_of(videos.calls[0]) == {"max_count": 20}
    assert body_of(videos.calls[1]) == {"max_count": 20, "cursor": 1714324700000}
    assert first.next_cursor == "1714324700000"
    assert second.next_cursor is None
    assert [p.external_id for p in first.items + second.items] == [
        "7364958027461832966",
        "7363101953327828229",
        "7358012467093679366",
    ]
    assert user.call_count == 1  # the account check is remembered


@respx.mock
def test_video_fields_map_into_posts(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    mock_user(tt)
    respx.post(f"{BASE}video/list/").mock(
        return_value=httpx.Response(200, json=tt("video_list_page1.json"))
    )
    v60, fails = make_client(sleeps).list_posts(AccountRef("x", "@BrewCraft.Coffee"), limit=5).items

    assert v60.metrics.views == 96402
    assert v60.metrics.likes == 5120
    assert v60.metrics.comments == 84
    assert v60.metrics.shares == 311
    assert v60.metrics.saves is None
    assert v60.media_type is MediaType.VIDEO
    assert v60.duration_seconds == 58
    assert v60.hashtags == ("pourover", "coffeetok")
    assert v60.mentions == ("baristajoana",)
    assert v60.posted_at == datetime(2024, 5, 3, 17, 21, 44, tzinfo=UTC)
    assert v60.url == "https://www.tiktok.com/@brewcraft.coffee/video/7364958027461832966"
    assert v60.account_external_id == OPEN_ID
    assert fails.caption == "Latte art fails"  # no description: the title stands in


@respx.mock
def test_page_size_is_capped_at_twenty(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    mock_user(tt)
    route = respx.post(f"{BASE}video/list/").mock(
        return_value=httpx.Response(200, json=tt("video_list_page2.json"))
    )
    make_client(sleeps).list_posts(AccountRef(OPEN_ID, "brewcraft.coffee"), limit=50)
    assert body_of(route.calls.last) == {"max_count": 20}


@respx.mock
def test_another_accounts_videos_are_refused_without_asking(
    tt: Callable[[str], Any], sleeps: list[float]
) -> None:
    mock_user(tt)
    videos = respx.post(f"{BASE}video/list/")
    with pytest.raises(PermanentError, match="only lists the connected account's videos"):
        make_client(sleeps).list_posts(AccountRef("other-open-id", "someone_else"))
    assert not videos.called


@respx.mock
def test_malformed_cursor_is_a_permanent_error(
    tt: Callable[[str], Any], sleeps: list[float]
) -> None:
    mock_user(tt)
    with pytest.raises(PermanentError, match="Malformed TikTok cursor"):
        make_client(sleeps).list_posts(AccountRef(OPEN_ID, "x"), cursor="abc")


@respx.mock
def test_video_query_batches_twenty_ids_and_keeps_order(
    tt: Callable[[str], Any], sleeps: list[float]
) -> None:
    mock_user(tt)
    route = respx.post(f"{BASE}video/query/", params={"fields": VIDEO_FIELDS}).mock(
        return_value=httpx.Response(200, json=tt("video_query.json"))
    )
    ids = ["7364958027461832966", "7358012467093679366"] + [
        f"70000000000000000{i:02d}" for i in range(23)
    ]

    posts = make_client(sleeps).get_videos(ids)

    assert route.call_count == 2
    assert body_of(route.calls[0]) == {"filters": {"video_ids": ids[:20]}}
    assert body_of(route.calls[1]) == {"filters": {"video_ids": ids[20:]}}
    assert [p.external_id for p in posts] == ids[:2]  # unknown ids left out
    assert posts[0].metrics.views == 99870


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("fixture", "status", "error_type"),
    [
        ("error_access_token_invalid.json", 401, AuthError),
        ("error_scope_not_authorized.json", 401, AuthError),
        ("error_rate_limit_exceeded.json", 429, TransientError),
        ("error_internal.json", 500, TransientError),
        ("error_invalid_params.json", 400, PermanentError),
        # The envelope decides, whatever the HTTP status says.
        ("error_access_token_invalid.json", 200, AuthError),
        ("error_invalid_params.json", 200, PermanentError),
        ("error_rate_limit_exceeded.json", 200, TransientError),
    ],
)
@respx.mock
def test_error_codes_map_to_typed_errors(
    tt: Callable[[str], Any],
    sleeps: list[float],
    fixture: str,
    status: int,
    error_type: type[ProviderError],
) -> None:
    body = tt(fixture)
    respx.get(f"{BASE}user/info/").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error_type) as excinfo:
        make_client(sleeps).get_profile("brewcraft.coffee")
    assert type(excinfo.value) is error_type
    message = str(excinfo.value)
    assert body["error"]["code"] in message
    assert body["error"]["message"] in message
    assert body["error"]["log_id"] in message
    assert excinfo.value.status_code == status


@respx.mock
def test_rate_limits_are_retried_after_a_minute(
    tt: Callable[[str], Any], sleeps: list[float]
) -> None:
    route = respx.get(f"{BASE}user/info/").mock(
        side_effect=[
            httpx.Response(429, json=tt("error_rate_limit_exceeded.json")),
            httpx.Response(200, json=tt("user_info.json")),
        ]
    )
    assert make_client(sleeps).get_profile("brewcraft.coffee").external_id == OPEN_ID
    assert route.call_count == 2
    assert sleeps == [60.0]


@respx.mock
def test_rate_limit_honours_retry_after(tt: Callable[[str], Any], sleeps: list[float]) -> None:
    respx.get(f"{BASE}user/info/").mock(
        return_value=httpx.Response(
            429, json=tt("error_rate_limit_exceeded.json"), headers={"Retry-After": "7"}
        )
    )
    with pytest.raises(TransientError) as excinfo:
        make_client(sleeps).get_profile("brewcraft.coffee")
    assert excinfo.value.retry_after == 7.0
    assert sleeps == [7.0, 7.0]  # three attempts in all


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"error": {"code": "ok"}},
            "TikTok returned a video list response without a 'data' object",
        ),
        (
            {"data": {"videos": [], "has_more": True}, "error": {"code": "ok"}},
            "has_more without a numeric 'cursor'",
        ),
        ({"data": {"videos": {"id": "1"}}, "error": {"code": "ok"}}, "'videos' is not a list"),
    ],
)
@respx.mock
def test_malformed_responses_are_permanent_errors_with_a_clear_message(
    tt: Callable[[str], Any], sleeps: list[float], body: Any, message: str
) -> None:
    mock_user(tt)
    respx.post(f"{BASE}video/list/").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(PermanentError, match=message):
        make_client(sleeps).list_posts(AccountRef(OPEN_ID, "brewcraft.coffee"))


# --------------------------------------------------------------------------- records, registry


@respx.mock
def test_observer_records_calls_without_the_token(
    tt: Callable[[str], Any], sleeps: list[float], observer: RecordingObserver
) -> None:
    mock_user(tt)
    respx.post(f"{BASE}video/list/").mock(
        return_value=httpx.Response(200, json=tt("video_list_page2.json"))
    )
    client = make_client(sleeps, observer=observer)
    client.list_posts(AccountRef(OPEN_ID, "brewcraft.coffee"))

    assert [c.endpoint for c in observer.calls] == ["tiktok.user.info", "tiktok.video.list"]
    assert all(c.platform == "tiktok" and c.ok and c.status_code == 200 for c in observer.calls)
    assert TOKEN not in repr(observer.calls)


@respx.mock
def test_observer_records_failed_calls(
    tt: Callable[[str], Any], sleeps: list[float], observer: RecordingObserver
) -> None:
    respx.get(f"{BASE}user/info/").mock(
        return_value=httpx.Response(401, json=tt("error_access_token_invalid.json"))
    )
    with pytest.raises(AuthError):
        make_client(sleeps, observer=observer).own_profile()
    (call,) = observer.calls
    assert not call.ok
    assert call.status_code == 401
    assert call.error is not None
    assert "access_token_invalid" in call.error


def test_provider_claims_no_comments() -> None:
    assert get_provider("tiktok") is PROVIDER
    # Creator reports read other accounts through the Research API, not through this client.
    # Videos are published through the Content Posting API; comments are neither read nor
    # answered (no REPLY).
    assert PROVIDER.capabilities == {
        Capability.PROFILE,
        Capability.POSTS,
        Capability.PUBLISH,
        Capability.CREATOR_DISCOVERY,
    }
    client = build({"access_token": TOKEN})
    assert isinstance(client, ProfileSource)
    assert isinstance(client, PostSource)
    assert not isinstance(client, CommentSource)
    with pytest.raises(MissingCredentialsError, match="access_token"):
        build({})


@pytest.mark.parametrize(
    ("url", "handle"),
    [
        ("https://www.tiktok.com/@Brewcraft.Coffee", "brewcraft.coffee"),
        ("https://tiktok.com/@some_user?lang=en", "some_user"),
        ("https://www.tiktok.com/@brewcraft.coffee/video/7364958027461832966", "brewcraft.coffee"),
        ("https://vm.tiktok.com/ZMeXyz123/", None),
        ("https://www.tiktok.com/explore", None),
        ("https://www.instagram.com/someone/", None),
    ],
)
def test_profile_urls(url: str, handle: str | None) -> None:
    assert PROVIDER.parse_profile_url(url) == handle
