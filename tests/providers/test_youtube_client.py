"""YouTube Data API client against hand-written payloads (respx)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers.base import (
    AccountRef,
    AuthError,
    BudgetDeferredError,
    MediaType,
    NotFoundError,
    PermanentError,
    PostMetrics,
    QuotaExhaustedError,
    RecordingObserver,
    TransientError,
)
from socialpulse.providers.youtube.client import (
    API_BASE,
    YouTubeClient,
    seconds_until_quota_reset,
)
from socialpulse.providers.youtube.parse import parse_duration, parse_profile_url

Payload = Callable[[str, str], Any]
API = API_BASE.rstrip("/")
CHANNEL_ID = "UCabcdefghijklmnopqrstuv"


@pytest.fixture
def client(sleeps: list[float], observer: RecordingObserver) -> YouTubeClient:
    return YouTubeClient.create("test-key", observer=observer, sleep=sleeps.append)


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("youtube", name))


def error(payload: Payload, name: str) -> httpx.Response:
    body = payload("youtube", name)
    return httpx.Response(body["error"]["code"], json=body)


@respx.mock
def test_get_profile_by_handle(
    client: YouTubeClient, payload: Payload, observer: RecordingObserver
) -> None:
    route = respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_for_handle.json"))
    profile = client.get_profile("gardenlab")

    params = route.calls.last.request.url.params
    assert params["forHandle"] == "@gardenlab"
    assert params["part"] == "snippet,statistics,contentDetails"
    assert params["key"] == "test-key"
    assert profile.external_id == CHANNEL_ID
    assert profile.handle == "@gardenlab"
    assert profile.display_name == "Garden Lab"
    assert profile.profile_url == "https://www.youtube.com/@gardenlab"
    assert profile.avatar_url == "https://yt3.ggpht.com/gardenlab=s800"
    assert (profile.followers_count, profile.following_count, profile.posts_count) == (
        45600,
        None,
        212,
    )
    assert [(c.endpoint, c.quota_cost) for c in observer.calls] == [("youtube.channels.list", 1)]


@respx.mock
def test_get_profile_by_channel_id_uses_id(client: YouTubeClient, payload: Payload) -> None:
    route = respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_for_handle.json"))
    client.get_profile(CHANNEL_ID)
    params = route.calls.last.request.url.params
    assert params["id"] == CHANNEL_ID
    assert "forHandle" not in params


@respx.mock
def test_unknown_handle_is_not_found(client: YouTubeClient, payload: Payload) -> None:
    respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_not_found.json"))
    with pytest.raises(NotFoundError, match="^YouTube channel @nobody not found$"):
        client.get_profile("@nobody")


@respx.mock
def test_list_posts_two_pages_with_quota_units(
    client: YouTubeClient, payload: Payload, observer: RecordingObserver
) -> None:
    respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_for_handle.json"))
    playlist = respx.get(f"{API}/playlistItems").mock(
        side_effect=[
            ok(payload, "playlist_items_page1.json"),
            ok(payload, "playlist_items_page2.json"),
        ]
    )
    videos = respx.get(f"{API}/videos").mock(
        side_effect=[ok(payload, "videos_page1.json"), ok(payload, "videos_page2.json")]
    )
    profile = client.get_profile("@gardenlab")
    first = client.list_posts(profile, limit=2)
    second = client.list_posts(profile, cursor=first.next_cursor, limit=2)

    assert playlist.calls[0].request.url.params["playlistId"] == "UUabcdefghijklmnopqrstuv"
    assert playlist.calls[0].request.url.params["maxResults"] == "2"
    assert "pageToken" not in playlist.calls[0].request.url.params
    assert playlist.calls[1].request.url.params["pageToken"] == "EAAaBlBUOkNBSQ"
    assert videos.calls[0].request.url.params["id"] == "vidShort001,vidLong0002"
    assert first.next_cursor == "EAAaBlBUOkNBSQ"
    # Playlist order is kept although videos.list answered in another order.
    assert [p.external_id for p in first.items] == ["vidShort001", "vidLong0002"]
    # The private video on page 2 is not returned by videos.list and is left out.
    assert second.items == ()
    assert second.next_cursor is None
    # Profile (1) + 2 pages x (playlistItems 1 + videos 1); the profile's uploads id saved a call.
    assert [(c.endpoint, c.quota_cost) for c in observer.calls] == [
        ("youtube.channels.list", 1),
        ("youtube.playlistItems.list", 1),
        ("youtube.videos.list", 1),
        ("youtube.playlistItems.list", 1),
        ("youtube.videos.list", 1),
    ]
    assert observer.spent("youtube") == 5


@respx.mock
def test_video_fields(client: YouTubeClient, payload: Payload) -> None:
    respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_for_handle.json"))
    respx.get(f"{API}/playlistItems").mock(return_value=ok(payload, "playlist_items_page1.json"))
    respx.get(f"{API}/videos").mock(return_value=ok(payload, "videos_page1.json"))
    short, long = client.list_posts(AccountRef(external_id=CHANNEL_ID, handle="@gardenlab")).items

    assert short.media_type is MediaType.SHORT
    assert short.duration_seconds == 45
    assert (
        short.caption
        == "Tomato pruning in 45 seconds #shorts\n\nQuick tip! #tomatoes with @seedsavers"
    )
    assert short.hashtags == ("shorts", "tomatoes")
    assert short.mentions == ("seedsavers",)
    assert short.url == "https://www.youtube.com/watch?v=vidShort001"
    assert short.account_external_id == CHANNEL_ID
    assert short.posted_at == datetime(2024, 10, 5, 10, 0, tzinfo=UTC)
    assert short.thumbnail_url == "https://i.ytimg.com/vi/vidShort001/maxres.jpg"
    assert short.metrics == PostMetrics(
        views=98000, likes=5400, comments=210, shares=None, saves=None
    )

    assert long.media_type is MediaType.VIDEO
    assert long.duration_seconds == 3723
    assert long.metrics.likes is None  # likes hidden by the owner: unknown, not zero
    assert long.thumbnail_url == "https://i.ytimg.com/vi/vidLong0002/high.jpg"


@respx.mock
def test_account_ref_costs_one_channels_call_for_the_uploads_playlist(
    client: YouTubeClient, payload: Payload
) -> None:
    channels = respx.get(f"{API}/channels").mock(
        return_value=ok(payload, "channels_for_handle.json")
    )
    respx.get(f"{API}/playlistItems").mock(return_value=ok(payload, "playlist_items_page2.json"))
    respx.get(f"{API}/videos").mock(return_value=ok(payload, "videos_page2.json"))
    client.list_posts(AccountRef(external_id=CHANNEL_ID, handle="@gardenlab"))
    params = channels.calls.last.request.url.params
    assert (params["id"], params["part"]) == (CHANNEL_ID, "contentDetails")


@respx.mock
def test_channel_without_uploads_playlist_has_no_posts(
    client: YouTubeClient, payload: Payload
) -> None:
    respx.get(f"{API}/channels").mock(return_value=ok(payload, "channels_for_handle.json"))
    respx.get(f"{API}/playlistItems").mock(
        return_value=httpx.Response(
            404,
            json={
                "error": {
                    "code": 404,
                    "message": "not found",
                    "errors": [{"reason": "playlistNotFound"}],
                }
            },
        )
    )
    profile = client.get_profile("@gardenlab")
    assert client.list_posts(profile).items == ()


@respx.mock
def test_get_videos_batches_fifty_ids_per_call(client: YouTubeClient) -> None:
    route = respx.get(f"{API}/videos").mock(
        return_value=httpx.Response(200, json={"kind": "youtube#videoListResponse", "items": []})
    )
    client.get_videos([f"v{i:03d}" for i in range(120)])
    batches = [call.request.url.params["id"].split(",") for call in route.calls]
    assert [len(b) for b in batches] == [50, 50, 20]
    assert batches[2][-1] == "v119"


@respx.mock
def test_list_comments_with_replies_and_paging(
    client: YouTubeClient, payload: Payload, observer: RecordingObserver
) -> None:
    route = respx.get(f"{API}/commentThreads").mock(
        side_effect=[
            ok(payload, "comment_threads_page1.json"),
            ok(payload, "comment_threads_page2.json"),
        ]
    )
    first = client.list_comments("vidShort001")
    second = client.list_comments("vidShort001", since_cursor=first.next_cursor)

    params = route.calls[0].request.url.params
    assert (params["videoId"], params["textFormat"], params["part"]) == (
        "vidShort001",
        "plainText",
        "snippet,replies",
    )
    assert route.calls[1].request.url.params["pageToken"] == "QURTSl9pMnNlY29uZA"
    assert [c.external_id for c in first.items] == [
        "UgzTop1",
        "UgzTop1.Rep1",
        "UgzTop1.Rep2",
        "UgzTop2",
    ]
    top, reply, _, _ = first.items
    assert top.parent_external_id is None
    assert (top.reply_count, top.like_count) == (2, 14)
    assert top.author_handle == "@maria"
    assert top.author_external_id == "UCmaria0000000000000000a"
    assert top.url == "https://www.youtube.com/watch?v=vidShort001&lc=UgzTop1"
    assert reply.parent_external_id == "UgzTop1"
    assert reply.post_external_id == "vidShort001"
    assert [c.external_id for c in second.items] == ["UgzTop3"]
    assert second.next_cursor is None
    assert [c.quota_cost for c in observer.calls] == [1, 1]


@respx.mock
def test_comments_disabled_gives_an_empty_page(client: YouTubeClient, payload: Payload) -> None:
    respx.get(f"{API}/commentThreads").mock(
        return_value=error(payload, "error_comments_disabled.json")
    )
    page = client.list_comments("vidShort001")
    assert page.items == ()
    assert page.next_cursor is None


@respx.mock
def test_list_replies_uses_comments_list(client: YouTubeClient, payload: Payload) -> None:
    body = payload("youtube", "comment_threads_page1.json")
    replies = body["items"][0]["replies"]["comments"]
    route = respx.get(f"{API}/comments").mock(
        return_value=httpx.Response(
            200, json={"kind": "youtube#commentListResponse", "items": replies}
        )
    )
    page = client.list_replies("vidShort001", "UgzTop1")
    assert route.calls.last.request.url.params["parentId"] == "UgzTop1"
    assert {c.parent_external_id for c in page.items} == {"UgzTop1"}
    assert {c.post_external_id for c in page.items} == {"vidShort001"}


@respx.mock
def test_quota_exceeded_is_not_retried(
    client: YouTubeClient, payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(f"{API}/videos").mock(
        return_value=error(payload, "error_quota_exceeded.json")
    )
    with pytest.raises(QuotaExhaustedError, match="quotaExceeded") as excinfo:
        client.get_videos(["a"])
    assert route.call_count == 1
    assert sleeps == []
    assert excinfo.value.retry_after is not None
    assert 0 < excinfo.value.retry_after <= 25 * 3600


@respx.mock
def test_rate_limit_exceeded_is_transient_and_retried(
    client: YouTubeClient, payload: Payload
) -> None:
    route = respx.get(f"{API}/videos").mock(
        side_effect=[
            error(payload, "error_rate_limit.json"),
            httpx.Response(200, json={"items": []}),
        ]
    )
    assert client.get_videos(["a"]) == []
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("fixture", "error_type"),
    [
        ("error_key_invalid.json", AuthError),
        ("error_video_not_found.json", NotFoundError),
        ("error_invalid_filters.json", PermanentError),
    ],
)
@respx.mock
def test_error_reasons_map_to_typed_errors(
    client: YouTubeClient, payload: Payload, fixture: str, error_type: type[Exception]
) -> None:
    route = respx.get(f"{API}/commentThreads").mock(return_value=error(payload, fixture))
    with pytest.raises(error_type):
        client.list_comments("vidShort001")
    assert route.call_count == 1


@respx.mock
def test_plain_403_is_auth_error(client: YouTubeClient) -> None:
    respx.get(f"{API}/channels").mock(return_value=httpx.Response(403, text="Forbidden"))
    with pytest.raises(AuthError):
        client.get_profile("@x")


@respx.mock
def test_persistent_500_surfaces_after_three_attempts(
    client: YouTubeClient, observer: RecordingObserver
) -> None:
    route = respx.get(f"{API}/channels").mock(
        return_value=httpx.Response(
            500,
            json={
                "error": {
                    "code": 500,
                    "message": "Backend Error",
                    "errors": [{"reason": "backendError"}],
                }
            },
        )
    )
    with pytest.raises(TransientError, match="Backend Error"):
        client.get_profile("@x")
    assert route.call_count == 3
    assert [c.quota_cost for c in observer.calls] == [1, 1, 1]


@respx.mock
def test_response_without_items_is_permanent(client: YouTubeClient) -> None:
    respx.get(f"{API}/videos").mock(
        return_value=httpx.Response(200, json={"kind": "youtube#videoListResponse"})
    )
    with pytest.raises(
        PermanentError, match="^YouTube returned a videos response without 'items'$"
    ):
        client.get_videos(["a"])


@respx.mock
def test_budget_deferral_prevents_youtube_call(sleeps: list[float]) -> None:
    observer = RecordingObserver(budget=0)
    client = YouTubeClient.create("k", observer=observer, sleep=sleeps.append)
    route = respx.get(f"{API}/channels")
    with pytest.raises(BudgetDeferredError):
        client.get_profile("@x")
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("PT45S", 45),
        ("PT1H2M3S", 3723),
        ("PT10M", 600),
        ("P1DT2S", 86402),
        ("P0D", 0),
        ("PT1.5S", 2),
        ("P1W", 604800),
        ("", None),
        ("bogus", None),
    ],
)
def test_parse_duration(value: str, seconds: int | None) -> None:
    assert parse_duration(value) == seconds


def test_quota_resets_at_pacific_midnight() -> None:
    # 2024-07-01 06:00 UTC is 23:00 the day before in Los Angeles (PDT, UTC-7).
    assert seconds_until_quota_reset(datetime(2024, 7, 1, 6, 0, tzinfo=UTC)) == 3600
    # 2024-01-15 08:00 UTC is midnight PST (UTC-8): a whole day to go.
    assert seconds_until_quota_reset(datetime(2024, 1, 15, 8, 0, tzinfo=UTC)) == 86400


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/@GoogleDevelopers", "@GoogleDevelopers"),
        ("https://m.youtube.com/@handle/shorts", "@handle"),
        ("https://www.youtube.com/channel/UC_x5XG1OV2P6uZZ5FSM9Ttw", "UC_x5XG1OV2P6uZZ5FSM9Ttw"),
        ("https://www.youtube.com/channel/not-an-id", None),
        ("https://www.youtube.com/watch?v=abc", None),
        ("https://youtu.be/abc", None),
    ],
)
def test_parse_profile_url(url: str, expected: str | None) -> None:
    assert parse_profile_url(url) == expected
