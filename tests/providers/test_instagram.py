"""Instagram Graph API client against hand-written payloads in Meta's documented formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AccountRef,
    AuthError,
    MediaType,
    NotFoundError,
    PermanentError,
    Platform,
    ProviderError,
    QuotaExhaustedError,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.http import CircuitBreaker
from socialpulse.providers.instagram import PROVIDER, InstagramClient
from socialpulse.providers.instagram.client import (
    COMMENT_FIELDS,
    DEFAULT_THROTTLE_RETRY_SECONDS,
    MEDIA_FIELDS,
    PROFILE_FIELDS,
    build,
)
from socialpulse.providers.instagram.usage import parse_usage
from socialpulse.providers.registry import Capability, MissingCredentialsError, get_provider

BASE = "https://graph.facebook.com/v21.0/"
IG_ID = "17841405822304914"
TOKEN = "EAAB-test-token"
Payload = Callable[[str, str], Any]


class FakeClock(Protocol):
    """The ``clock`` fixture of ``tests/providers/conftest.py``."""

    def __call__(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


@pytest.fixture
def ig(payload: Payload) -> Callable[[str], Any]:
    return lambda name: payload("instagram", name)


@pytest.fixture
def waits() -> list[float]:
    """Every sleep of the client (which also moves the fake clock)."""
    return []


def make_client(
    clock: FakeClock,
    waits: list[float],
    observer: RecordingObserver | None = None,
    **kwargs: Any,
) -> InstagramClient:
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    return InstagramClient.create(
        TOKEN,
        IG_ID,
        observer=observer,
        sleep=sleep,
        clock=clock,
        breaker=CircuitBreaker("instagram-test", clock=clock),
        **kwargs,
    )


def usage_headers(
    app: dict[str, Any] | None = None, buc: dict[str, Any] | None = None
) -> dict[str, str]:
    headers = {}
    if app is not None:
        headers["X-App-Usage"] = json.dumps(app)
    if buc is not None:
        headers["X-Business-Use-Case-Usage"] = json.dumps({IG_ID: [{"type": "instagram", **buc}]})
    return headers


# --------------------------------------------------------------------------- profiles


@respx.mock
def test_own_profile_maps_fields_and_is_recognised_by_username(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(
        f"{BASE}{IG_ID}", params={"fields": PROFILE_FIELDS, "access_token": TOKEN}
    ).mock(return_value=httpx.Response(200, json=ig("user.json")))
    client = make_client(clock, waits)

    profile = client.own_profile()

    assert profile.platform is Platform.INSTAGRAM
    assert profile.external_id == IG_ID
    assert profile.handle == "brewcraft.coffee"
    assert profile.display_name == "Brewcraft Coffee Roasters"
    assert profile.followers_count == 48213
    assert profile.following_count == 612
    assert profile.posts_count == 1204
    assert profile.profile_url == "https://www.instagram.com/brewcraft.coffee/"
    assert profile.avatar_url is not None
    assert profile.raw["website"] == "https://brewcraft.example/"
    assert client.get_profile("@Brewcraft.Coffee") == profile
    assert client.get_profile(IG_ID) == profile
    assert route.call_count == 3


@respx.mock
def test_other_accounts_come_through_business_discovery(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    expected = f"business_discovery.username(bluebottle){{{PROFILE_FIELDS}}}"
    route = respx.get(f"{BASE}{IG_ID}", params={"fields": expected}).mock(
        return_value=httpx.Response(200, json=ig("business_discovery_profile.json"))
    )

    profile = make_client(clock, waits).get_profile("@BlueBottle")

    assert route.called
    assert profile.external_id == "17841401441775531"
    assert profile.handle == "bluebottle"
    assert profile.followers_count == 267793
    assert profile.posts_count == 1205


@respx.mock
def test_unknown_username_is_not_found(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(400, json=ig("error_user_not_found.json"))
    )
    with pytest.raises(NotFoundError, match="nobody_here_42 cannot be found"):
        make_client(clock, waits).get_profile("nobody_here_42")


# --------------------------------------------------------------------------- media


def mock_own_media(ig: Callable[[str], Any]) -> tuple[respx.Route, respx.Route]:
    cursor = ig("media_page1.json")["paging"]["cursors"]["after"]
    # Registered first: respx tries routes in order, and page 1's params are a subset of these.
    page2 = respx.get(f"{BASE}{IG_ID}/media", params={"after": cursor}).mock(
        return_value=httpx.Response(200, json=ig("media_page2.json"))
    )
    page1 = respx.get(f"{BASE}{IG_ID}/media", params={"fields": MEDIA_FIELDS, "limit": "2"}).mock(
        return_value=httpx.Response(200, json=ig("media_page1.json"))
    )
    return page1, page2


def mock_insights(ig: Callable[[str], Any]) -> None:
    metric = {"metric": "views,reach,saved,shares"}
    respx.get(f"{BASE}18027939643537248/insights", params=metric).mock(
        return_value=httpx.Response(200, json=ig("insights_reel.json"))
    )
    respx.get(f"{BASE}17993221740610427/insights", params=metric).mock(
        return_value=httpx.Response(200, json=ig("insights_carousel_total_value.json"))
    )
    respx.get(f"{BASE}17889455560051444/insights", params=metric).mock(
        return_value=httpx.Response(400, json=ig("error_insights_before_conversion.json"))
    )


@respx.mock
def test_own_media_paginate_over_two_pages(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    page1_route, page2_route = mock_own_media(ig)
    mock_insights(ig)
    client = make_client(clock, waits)
    account = AccountRef(IG_ID, "brewcraft.coffee")

    first = client.list_posts(account, limit=2)
    second = client.list_posts(account, cursor=first.next_cursor, limit=2)

    assert first.next_cursor == ig("media_page1.json")["paging"]["cursors"]["after"]
    assert second.next_cursor is None  # no paging.next on the last page
    assert page1_route.call_count == 1
    assert page2_route.call_count == 1
    ids = [p.external_id for p in first.items + second.items]
    assert ids == ["18027939643537248", "17993221740610427", "17889455560051444"]
    reel, carousel, image = first.items + second.items
    assert reel.media_type is MediaType.REEL
    assert carousel.media_type is MediaType.CAROUSEL
    assert image.media_type is MediaType.IMAGE
    assert reel.hashtags == ("espresso", "latteart")
    assert reel.mentions == ("baristajoana",)
    assert reel.url == "https://www.instagram.com/reel/C6mPq2lLx1a/"
    assert reel.thumbnail_url == "https://scontent.xx.fbcdn.net/v/t51.29350-15/440001.jpg"
    assert reel.posted_at.isoformat() == "2024-05-03T17:21:44+00:00"
    assert reel.account_external_id == IG_ID


@respx.mock
def test_insights_map_into_post_metrics(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    mock_own_media(ig)
    mock_insights(ig)
    client = make_client(clock, waits)
    reel, carousel = client.list_posts(AccountRef(IG_ID, "brewcraft.coffee"), limit=2).items

    assert reel.metrics.views == 40211
    assert reel.metrics.likes == 1834
    assert reel.metrics.comments == 57
    assert reel.metrics.shares == 233
    assert reel.metrics.saves == 412
    assert reel.raw["insights"]["reach"] == 28870
    # The newer total_value shape reads the same.
    assert carousel.metrics.views == 15320
    assert carousel.metrics.saves == 120
    assert carousel.metrics.shares == 57


@respx.mock
def test_insight_failures_of_old_media_are_tolerated(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    mock_own_media(ig)
    mock_insights(ig)
    client = make_client(clock, waits)
    cursor = ig("media_page1.json")["paging"]["cursors"]["after"]

    (image,) = client.list_posts(AccountRef(IG_ID, "x"), cursor=cursor, limit=2).items

    assert image.metrics.views is None
    assert image.metrics.likes is None  # like counts hidden by the owner
    assert image.metrics.comments == 4
    assert "posted before" in image.raw["insights_error"]


@respx.mock
def test_insight_auth_failures_are_not_tolerated(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    mock_own_media(ig)
    respx.get(url__regex=rf"{BASE}\d+/insights").mock(
        return_value=httpx.Response(400, json=ig("error_token_expired.json"))
    )
    with pytest.raises(AuthError):
        make_client(clock, waits).list_posts(AccountRef(IG_ID, "x"), limit=2)


@respx.mock
def test_insights_can_be_skipped(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    mock_own_media(ig)
    insights = respx.get(url__regex=rf"{BASE}\d+/insights")
    page = make_client(clock, waits, with_insights=False).list_posts(
        AccountRef(IG_ID, "x"), limit=2
    )
    assert not insights.called
    assert page.items[0].metrics.views is None
    assert page.items[0].metrics.likes == 1834


@respx.mock
def test_other_accounts_media_come_through_business_discovery(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(200, json=ig("business_discovery_media.json"))
    )
    client = make_client(clock, waits)
    account = AccountRef("17841401441775531", "bluebottle")

    full = client.list_posts(account, limit=2)
    client.list_posts(account, cursor=full.next_cursor, limit=2)
    short = client.list_posts(account, limit=5)

    fields = [call.request.url.params["fields"] for call in route.calls]
    assert fields[0].startswith("business_discovery.username(bluebottle){id,media.limit(2){")
    assert f"media.after({full.next_cursor}).limit(2)" in fields[1]
    assert full.next_cursor == "QVFIUmZA4ZAHpGZA0JRbEJqZA0xk"
    assert short.next_cursor is None  # fewer than asked for: the last page
    assert [p.account_external_id for p in full.items] == ["17841401441775531"] * 2
    assert full.items[1].media_type is MediaType.VIDEO
    assert full.items[0].metrics.likes == 2311
    assert full.items[0].metrics.views is None
    assert not any("insights" in str(call.request.url) for call in respx.calls)


# --------------------------------------------------------------------------- comments


@respx.mock
def test_comments_flatten_replies_and_paginate(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    media = "18027939643537248"
    cursor = ig("comments_page1.json")["paging"]["cursors"]["after"]
    respx.get(f"{BASE}{media}/comments", params={"after": cursor}).mock(
        return_value=httpx.Response(200, json=ig("comments_page2.json"))
    )
    first_route = respx.get(f"{BASE}{media}/comments", params={"fields": COMMENT_FIELDS}).mock(
        return_value=httpx.Response(200, json=ig("comments_page1.json"))
    )
    client = make_client(clock, waits)

    first = client.list_comments(media)
    second = client.list_comments(media, first.next_cursor)

    assert first_route.called
    question, reply, complaint = first.items
    assert question.parent_external_id is None
    assert question.author_handle == "marta.brews"
    assert question.author_external_id == "17841400008460056"
    assert question.reply_count == 1
    assert question.like_count == 3
    assert reply.parent_external_id == question.external_id
    assert reply.author_handle == "brewcraft.coffee"
    assert complaint.text == "My order from two weeks ago still hasn't shipped"
    assert first.next_cursor == cursor
    (praise,) = second.items
    assert praise.author_external_id == "ana.lisboa"  # no ``from``: the username stands in
    assert second.next_cursor is None
    assert all(c.post_external_id == media for c in first.items + second.items)


# --------------------------------------------------------------------------- usage headers


def test_usage_headers_are_parsed() -> None:
    usage = parse_usage(
        usage_headers(
            app={"call_count": 28, "total_time": 25, "total_cputime": 25},
            buc={
                "call_count": 91,
                "total_cputime": 20,
                "total_time": 30,
                "estimated_time_to_regain_access": 3,
            },
        )
    )
    assert usage is not None
    assert usage.percent == 91
    assert usage.regain_seconds == 180
    assert parse_usage({}) is None
    assert parse_usage({"X-App-Usage": "not json"}) is None


@respx.mock
def test_usage_above_ninety_percent_pauses_later_calls(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(
            200,
            json=ig("user.json"),
            headers=usage_headers(app={"call_count": 95, "total_time": 40, "total_cputime": 12}),
        )
    )
    client = make_client(clock, waits)

    assert client.own_profile().handle == "brewcraft.coffee"  # the crossing response is kept
    with pytest.raises(QuotaExhaustedError) as excinfo:
        client.own_profile()

    assert excinfo.value.retry_after == pytest.approx(60.0)
    assert route.call_count == 1  # nothing was sent
    clock.advance(61)
    client.own_profile()
    assert route.call_count == 2


@respx.mock
def test_business_use_case_estimate_sets_the_pause(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(
            200,
            json=ig("user.json"),
            headers=usage_headers(
                buc={
                    "call_count": 97,
                    "total_cputime": 10,
                    "total_time": 10,
                    "estimated_time_to_regain_access": 4,
                }
            ),
        )
    )
    client = make_client(clock, waits)
    client.own_profile()
    with pytest.raises(QuotaExhaustedError) as excinfo:
        client.own_profile()
    assert excinfo.value.retry_after == pytest.approx(240.0)


@respx.mock
def test_short_pauses_are_slept_through(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    responses = iter(
        [
            httpx.Response(
                200, json=ig("user.json"), headers=usage_headers(app={"call_count": 92})
            ),
            httpx.Response(
                200, json=ig("user.json"), headers=usage_headers(app={"call_count": 40})
            ),
            httpx.Response(
                200, json=ig("user.json"), headers=usage_headers(app={"call_count": 41})
            ),
        ]
    )
    route = respx.get(f"{BASE}{IG_ID}").mock(side_effect=lambda request: next(responses))
    client = make_client(clock, waits, usage_cooldown_seconds=10.0)

    client.own_profile()
    client.own_profile()
    client.own_profile()

    assert waits == [10.0]  # one pause, slept in place; usage back under 90 % lifts it
    assert route.call_count == 3


@respx.mock
def test_usage_at_or_below_ninety_percent_does_not_pause(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(
            200, json=ig("user.json"), headers=usage_headers(app={"call_count": 90})
        )
    )
    client = make_client(clock, waits)
    client.own_profile()
    client.own_profile()
    assert waits == []
    assert route.call_count == 2


@respx.mock
def test_throttling_error_uses_the_estimate_and_pauses_later_calls(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(f"{BASE}{IG_ID}").mock(
        return_value=httpx.Response(
            400,
            json=ig("error_buc_throttled.json"),
            headers=usage_headers(buc={"call_count": 100, "estimated_time_to_regain_access": 5}),
        )
    )
    client = make_client(clock, waits)
    with pytest.raises(QuotaExhaustedError) as first:
        client.own_profile()
    with pytest.raises(QuotaExhaustedError) as second:
        client.own_profile()
    assert first.value.retry_after == pytest.approx(300.0)
    assert second.value.retry_after == pytest.approx(300.0)
    assert route.call_count == 1  # not retried, and the second call was never sent


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("fixture", "status", "error_type"),
    [
        ("error_token_expired.json", 400, AuthError),
        ("error_app_rate_limit.json", 403, QuotaExhaustedError),
        ("error_user_rate_limit.json", 400, QuotaExhaustedError),
        ("error_page_rate_limit.json", 400, QuotaExhaustedError),
        ("error_custom_rate_limit.json", 400, QuotaExhaustedError),
        ("error_buc_throttled.json", 400, QuotaExhaustedError),
        ("error_object_not_found.json", 400, NotFoundError),
        ("error_user_not_found.json", 400, NotFoundError),
        ("error_nonexisting_field.json", 400, PermanentError),
        ("error_service_unavailable.json", 500, TransientError),
    ],
)
@respx.mock
def test_graph_error_codes_map_to_typed_errors(
    ig: Callable[[str], Any],
    clock: FakeClock,
    waits: list[float],
    fixture: str,
    status: int,
    error_type: type[ProviderError],
) -> None:
    body = ig(fixture)
    respx.get(f"{BASE}{IG_ID}").mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error_type) as excinfo:
        make_client(clock, waits).own_profile()
    assert type(excinfo.value) is error_type
    assert body["error"]["message"] in str(excinfo.value)
    assert f"code {body['error']['code']}" in str(excinfo.value)
    assert excinfo.value.endpoint == "instagram.user"
    if error_type is QuotaExhaustedError:
        assert isinstance(excinfo.value, QuotaExhaustedError)
        assert excinfo.value.retry_after == DEFAULT_THROTTLE_RETRY_SECONDS


@respx.mock
def test_transient_graph_errors_are_retried(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float]
) -> None:
    route = respx.get(f"{BASE}{IG_ID}").mock(
        side_effect=[
            httpx.Response(500, json=ig("error_service_unavailable.json")),
            httpx.Response(200, json=ig("user.json")),
        ]
    )
    assert make_client(clock, waits).own_profile().handle == "brewcraft.coffee"
    assert route.call_count == 2


def _own_profile(client: InstagramClient) -> object:
    return client.own_profile()


def _own_media(client: InstagramClient) -> object:
    return client.list_posts(AccountRef(IG_ID, "x"))


@pytest.mark.parametrize(
    ("path", "body", "call", "message"),
    [
        (IG_ID, {"id": IG_ID}, _own_profile, "Instagram returned a user without 'username'"),
        (
            f"{IG_ID}/media",
            {"paging": {}},
            _own_media,
            "Instagram returned a media list without a 'data' list",
        ),
        (IG_ID, ["not", "an", "object"], _own_profile, "not a JSON object"),
    ],
)
@respx.mock
def test_malformed_responses_are_permanent_errors_with_a_clear_message(
    clock: FakeClock,
    waits: list[float],
    path: str,
    body: Any,
    call: Callable[[InstagramClient], object],
    message: str,
) -> None:
    respx.get(f"{BASE}{path}").mock(return_value=httpx.Response(200, json=body))
    client = make_client(clock, waits, with_insights=False)
    with pytest.raises(PermanentError, match=message):
        call(client)


@respx.mock
def test_a_body_that_is_not_json_is_a_permanent_error(clock: FakeClock, waits: list[float]) -> None:
    respx.get(f"{BASE}{IG_ID}").mock(return_value=httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(PermanentError, match="not JSON"):
        make_client(clock, waits).own_profile()


# --------------------------------------------------------------------------- records, registry


@respx.mock
def test_observer_records_every_call_without_the_token(
    ig: Callable[[str], Any], clock: FakeClock, waits: list[float], observer: RecordingObserver
) -> None:
    mock_own_media(ig)
    mock_insights(ig)
    client = make_client(clock, waits, observer=observer)
    client.list_posts(AccountRef(IG_ID, "x"), limit=2)

    assert [c.endpoint for c in observer.calls] == [
        "instagram.media",
        "instagram.media.insights",
        "instagram.media.insights",
    ]
    assert all(c.platform == "instagram" and c.ok for c in observer.calls)
    assert all(c.status_code == 200 for c in observer.calls)
    assert TOKEN not in repr(observer.calls)


def test_provider_is_registered_with_its_credentials() -> None:
    assert get_provider("instagram") is PROVIDER
    assert PROVIDER.needs_credentials
    assert PROVIDER.credential_fields == ("access_token", "ig_user_id")
    assert PROVIDER.supports(Capability.COMMENTS)
    with pytest.raises(MissingCredentialsError, match="ig_user_id"):
        build({"access_token": "x"})
    assert isinstance(build({"access_token": "x", "ig_user_id": IG_ID}), InstagramClient)


@pytest.mark.parametrize(
    ("url", "handle"),
    [
        ("https://www.instagram.com/brewcraft.coffee/", "brewcraft.coffee"),
        ("https://instagram.com/Some_User?igsh=abc", "some_user"),
        ("https://www.instagram.com/p/C6eXz9yo0b2/", None),
        ("https://www.instagram.com/reel/C6mPq2lLx1a/", None),
        ("https://www.tiktok.com/@someone", None),
    ],
)
def test_profile_urls(url: str, handle: str | None) -> None:
    assert PROVIDER.parse_profile_url(url) == handle
