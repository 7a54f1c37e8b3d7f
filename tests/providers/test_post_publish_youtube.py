"""Publishing YouTube videos against the documented resumable upload protocol (respx): the
session with its metadata, chunks with Content-Range, resuming from a 308's Range header, quota
units, error mapping, and finding our upload after a crash."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers import base as pb
from socialpulse.providers.publishing import CannotConfirm, MediaItem, PostDraft, PublishedPost
from socialpulse.providers.registry import Capability
from socialpulse.providers.youtube import PROVIDER
from socialpulse.providers.youtube.publish import YouTubePublisher

UPLOAD = "https://www.googleapis.com/upload/youtube/v3/videos"
SESSION = UPLOAD + "?uploadType=resumable&upload_id=xa298sd_f&part=snippet,status"
API = "https://www.googleapis.com/youtube/v3/"
VIDEO = b"0123456789"  # ten bytes, sent in chunks of four
Payload = Callable[[str, str], Any]


@dataclass
class Account:
    external_id: str
    handle: str


ACCOUNT = Account("UCown", "@ourbrand")


def clip(data: bytes = VIDEO) -> MediaItem:
    return MediaItem("shop.mp4", "video/mp4", len(data), lambda: data, duration_s=12.0)


def draft(**changes: Any) -> PostDraft:
    values: dict[str, Any] = {
        "text": "A walk through the shop #tulips #spring",
        "idempotency_key": "k",
        "media": (clip(),),
        "title": "Spring in the shop",
        "visibility": "unlisted",
    }
    return PostDraft(**{**values, **changes})


def publisher(
    sleeps: list[float], observer: pb.RecordingObserver | None = None
) -> YouTubePublisher:
    made = YouTubePublisher.create("ya29.token", observer=observer, sleep=sleeps.append)
    made.chunk_bytes = 4
    return made


def mock_session() -> respx.Route:
    return respx.post(UPLOAD).mock(return_value=httpx.Response(200, headers={"Location": SESSION}))


def puts() -> respx.Route:
    return respx.route(method="PUT", host="www.googleapis.com", path="/upload/youtube/v3/videos")


def incomplete(last_byte: int | None) -> httpx.Response:
    headers = {} if last_byte is None else {"Range": f"bytes=0-{last_byte}"}
    return httpx.Response(308, headers=headers)


def test_youtube_claims_publish_of_one_titled_video() -> None:
    rules = PROVIDER.post_rules
    assert PROVIDER.supports(Capability.PUBLISH) and rules is not None
    assert rules.requires_video and rules.max_media == 1
    assert rules.requires_title and rules.max_title_chars == 100
    assert rules.visibilities == ("public", "unlisted", "private")


@respx.mock
def test_a_video_is_uploaded_in_chunks_through_a_resumable_session(
    payload: Payload, sleeps: list[float]
) -> None:
    start = mock_session()
    chunks = puts().mock(
        side_effect=[
            incomplete(3),
            incomplete(7),
            httpx.Response(200, json=payload("youtube", "video_inserted.json")),
        ]
    )
    observer = pb.RecordingObserver()
    published = publisher(sleeps, observer).publish_post(ACCOUNT, draft())

    init = start.calls.last.request
    assert init.url.params["uploadType"] == "resumable"
    assert init.url.params["part"] == "snippet,status"
    assert init.headers["Authorization"] == "Bearer ya29.token"
    assert init.headers["X-Upload-Content-Length"] == "10"
    assert init.headers["X-Upload-Content-Type"] == "video/mp4"
    assert json.loads(init.content) == {
        "snippet": {
            "title": "Spring in the shop",
            "description": "A walk through the shop #tulips #spring",
            "categoryId": "22",
            "tags": ["tulips", "spring"],
        },
        "status": {"privacyStatus": "unlisted"},
    }
    sent = [(c.request.headers["Content-Range"], c.request.content) for c in chunks.calls]
    assert sent == [("bytes 0-3/10", b"0123"), ("bytes 4-7/10", b"4567"), ("bytes 8-9/10", b"89")]
    assert all(c.request.url.params["upload_id"] == "xa298sd_f" for c in chunks.calls)
    assert published == PublishedPost(
        "Ks-_Mh1QhMc", "https://www.youtube.com/watch?v=Ks-_Mh1QhMc", quota_units=1600
    )
    # The 1,600 units are reported once, in the result; the requests themselves cost nothing.
    assert [c.quota_cost for c in observer.calls] == [0, 0, 0, 0]


@respx.mock
def test_a_308_resumes_from_the_byte_after_its_range(payload: Payload, sleeps: list[float]) -> None:
    mock_session()
    chunks = puts().mock(
        side_effect=[
            incomplete(1),  # of "0123", YouTube kept only "01"
            incomplete(5),
            httpx.Response(201, json=payload("youtube", "video_inserted.json")),
        ]
    )
    publisher(sleeps).publish_post(ACCOUNT, draft())
    sent = [(c.request.headers["Content-Range"], c.request.content) for c in chunks.calls]
    assert sent == [("bytes 0-3/10", b"0123"), ("bytes 2-5/10", b"2345"), ("bytes 6-9/10", b"6789")]


@respx.mock
def test_a_308_saying_everything_arrived_asks_for_the_video_instead_of_an_empty_chunk(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_session()
    chunks = puts().mock(
        side_effect=[
            incomplete(3),
            incomplete(7),
            incomplete(9),  # all ten bytes arrived, the answer got lost in processing
            httpx.Response(200, json=payload("youtube", "video_inserted.json")),
        ]
    )
    published = publisher(sleeps).publish_post(ACCOUNT, draft())
    ranges = [c.request.headers["Content-Range"] for c in chunks.calls]
    assert ranges == ["bytes 0-3/10", "bytes 4-7/10", "bytes 8-9/10", "bytes */10"]
    assert published.external_id == "Ks-_Mh1QhMc"


@respx.mock
def test_an_interrupted_chunk_asks_for_the_upload_status_and_resumes(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_session()
    chunks = puts().mock(
        side_effect=[
            incomplete(3),
            httpx.Response(503, headers={"Retry-After": "7"}),
            incomplete(5),  # the status query: bytes 0-5 arrived
            httpx.Response(201, json=payload("youtube", "video_inserted.json")),
        ]
    )
    published = publisher(sleeps).publish_post(ACCOUNT, draft())
    sent = [(c.request.headers["Content-Range"], c.request.content) for c in chunks.calls]
    assert sent == [
        ("bytes 0-3/10", b"0123"),
        ("bytes 4-7/10", b"4567"),
        ("bytes */10", b""),
        ("bytes 6-9/10", b"6789"),
    ]
    assert sleeps == [7.0]
    assert published.external_id == "Ks-_Mh1QhMc"


@respx.mock
def test_an_upload_that_keeps_failing_gives_up_after_the_bounded_resumes(
    sleeps: list[float],
) -> None:
    mock_session()
    chunks = puts().mock(return_value=httpx.Response(503))
    with pytest.raises(pb.TransientError):
        publisher(sleeps).publish_post(ACCOUNT, draft())
    assert chunks.call_count == 4  # the chunk, then three status queries
    assert sleeps == [2.0, 4.0, 8.0]


@respx.mock
def test_an_upload_session_off_google_s_host_is_refused_before_sending_the_token(
    sleeps: list[float],
) -> None:
    respx.post(UPLOAD).mock(
        return_value=httpx.Response(200, headers={"Location": "https://evil.example/upload"})
    )
    elsewhere = respx.put("https://evil.example/upload")
    with pytest.raises(pb.PermanentError, match="upload session URL"):
        publisher(sleeps).publish_post(ACCOUNT, draft())
    assert elsewhere.call_count == 0


def test_a_video_without_a_title_is_refused_before_any_request(sleeps: list[float]) -> None:
    with respx.mock:
        with pytest.raises(pb.PermanentError, match="need a title"):
            publisher(sleeps).publish_post(ACCOUNT, draft(title=None))
        with pytest.raises(pb.PermanentError, match="exactly one video"):
            publisher(sleeps).publish_post(ACCOUNT, draft(media=()))
        with pytest.raises(pb.PermanentError, match="may not contain < or >"):
            publisher(sleeps).publish_post(ACCOUNT, draft(text="1 < 2"))
        assert not respx.calls


@respx.mock
def test_invalid_metadata_is_permanent_with_youtube_s_message(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(UPLOAD).mock(
        return_value=httpx.Response(400, json=payload("youtube", "upload_error_invalid_title.json"))
    )
    with pytest.raises(pb.PermanentError, match="invalid video title"):
        publisher(sleeps).publish_post(ACCOUNT, draft())


@respx.mock
def test_rate_limit_is_transient_with_the_retry_after_seconds(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.post(UPLOAD).mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "45"},
            json=payload("youtube", "reply_error_rate_limit.json"),
        )
    )
    with pytest.raises(pb.TransientError) as raised:
        publisher(sleeps).publish_post(ACCOUNT, draft())
    assert raised.value.retry_after == 45.0 and route.call_count == 1


# --- find_post ---------------------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def mock_uploads(payload: Payload) -> tuple[respx.Route, respx.Route]:
    channel = respx.get(API + "channels").mock(
        return_value=httpx.Response(200, json=payload("youtube", "own_channel.json"))
    )
    items = respx.get(API + "playlistItems").mock(
        return_value=httpx.Response(200, json=payload("youtube", "own_uploads.json"))
    )
    return channel, items


@respx.mock
def test_find_post_finds_our_upload_by_title_and_description(
    payload: Payload, sleeps: list[float]
) -> None:
    channel, items = mock_uploads(payload)
    observer = pb.RecordingObserver()
    found = publisher(sleeps, observer).find_post(
        ACCOUNT, draft(text="A walk through the shop #tulips"), since=SINCE
    )
    assert found == PublishedPost("Ks-_Mh1QhMc", "https://www.youtube.com/watch?v=Ks-_Mh1QhMc")
    assert channel.calls.last.request.url.params["id"] == "UCown"
    assert items.calls.last.request.url.params["playlistId"] == "UUown"
    assert [c.quota_cost for c in observer.calls] == [1, 1]


@respx.mock
def test_find_post_answers_none_when_only_an_older_upload_matches(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_uploads(payload)
    found = publisher(sleeps).find_post(
        ACCOUNT, draft(title="Something new", text="Other"), since=SINCE
    )
    assert found is None


@respx.mock
def test_find_post_cannot_confirm_without_quota(payload: Payload, sleeps: list[float]) -> None:
    respx.get(API + "channels").mock(
        return_value=httpx.Response(403, json=payload("youtube", "error_quota_exceeded.json"))
    )
    with pytest.raises(CannotConfirm, match="cannot be read now"):
        publisher(sleeps).find_post(ACCOUNT, draft(), since=SINCE)


class _NoBudgetLeft(pb.NullObserver):
    """A budget with fewer than the upload's 1,600 units left today."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, int]] = []

    def before_call(self, platform: str, endpoint: str, quota_cost: int) -> None:
        self.asked.append((endpoint, quota_cost))
        if quota_cost > 1_000:
            raise pb.BudgetDeferredError(
                "youtube budget: 9,200 of 10,000 units used today",
                platform=platform,
                endpoint=endpoint,
                retry_after=3600.0,
            )


def test_an_upload_the_day_s_budget_cannot_pay_is_deferred_before_any_request(
    sleeps: list[float],
) -> None:
    observer = _NoBudgetLeft()
    made = YouTubePublisher.create("ya29.token", observer=observer, sleep=sleeps.append)
    with respx.mock:
        with pytest.raises(pb.BudgetDeferredError, match="units used today"):
            made.publish_post(ACCOUNT, draft())
        assert not respx.calls
    assert observer.asked == [("videos.insert", 1600)]
