"""Publishing TikTok videos against the Content Posting API's documented shapes (respx):
creator info first, init with post and source info, chunked upload with Content-Range, status
polling, error mapping, no replies, and what find_post can and cannot tell."""

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
from socialpulse.providers.publishing import (
    CannotConfirm,
    MediaItem,
    PostDraft,
    PostPublisher,
    PublishedPost,
    Publisher,
)
from socialpulse.providers.registry import Capability
from socialpulse.providers.tiktok import PROVIDER
from socialpulse.providers.tiktok.publish import TikTokPublisher, build_publisher

API = "https://open.tiktokapis.com/v2/"
UPLOAD_URL = "https://open-upload.tiktokapis.com/video/"
PUBLISH_ID = "v_pub_file~v2-1.7343287634837293058"
VIDEO = b"0123456789"
Payload = Callable[[str, str], Any]


@dataclass
class Account:
    external_id: str
    handle: str


ACCOUNT = Account("open-id-1", "ourbrand")


def clip(data: bytes = VIDEO, duration: float = 30.0) -> MediaItem:
    return MediaItem("shop.mp4", "video/mp4", len(data), lambda: data, duration_s=duration)


def draft(**changes: Any) -> PostDraft:
    values: dict[str, Any] = {
        "text": "A walk through the shop #tulips",
        "idempotency_key": "k",
        "media": (clip(),),
        "visibility": "public",
    }
    return PostDraft(**{**values, **changes})


def publisher(sleeps: list[float], *, chunk: int = 4, whole_max: int = 4) -> TikTokPublisher:
    made = TikTokPublisher.create("act.token", sleep=sleeps.append)
    made.chunk_bytes, made.whole_upload_max = chunk, whole_max
    return made


def ok(payload: Payload, name: str) -> httpx.Response:
    return httpx.Response(200, json=payload("tiktok", name))


def mock_flow(payload: Payload, *statuses: str) -> dict[str, respx.Route]:
    return {
        "creator": respx.post(API + "post/publish/creator_info/query/").mock(
            return_value=ok(payload, "creator_info.json")
        ),
        "init": respx.post(API + "post/publish/video/init/").mock(
            return_value=ok(payload, "video_init.json")
        ),
        "upload": respx.put(UPLOAD_URL).mock(
            side_effect=[httpx.Response(206), httpx.Response(201)]
        ),
        "status": respx.post(API + "post/publish/status/fetch/").mock(
            side_effect=[ok(payload, name) for name in statuses]
        ),
    }


def test_tiktok_claims_publish_but_not_reply() -> None:
    assert PROVIDER.supports(Capability.PUBLISH)
    assert not PROVIDER.supports(Capability.REPLY)
    rules = PROVIDER.post_rules
    assert rules is not None and rules.requires_video and rules.max_chars == 2200
    assert PROVIDER.publisher is build_publisher
    made = build_publisher({"access_token": "act.token"})
    assert isinstance(made, PostPublisher) and isinstance(made, Publisher)


def test_publishing_without_a_token_is_missing_credentials() -> None:
    with pytest.raises(pb.MissingCredentialsError, match="access_token"):
        build_publisher({})


def test_replies_are_refused_with_the_reason(sleeps: list[float]) -> None:
    @dataclass
    class Comment:
        external_id: str = "c1"
        parent_external_id: str | None = None
        author_handle: str = "fan"

    with pytest.raises(pb.PermanentError, match="no comment replies"):
        publisher(sleeps).reply(ACCOUNT, Comment(), "Thanks!", idempotency_key="k")
    with pytest.raises(pb.PermanentError, match="no comment replies"):
        publisher(sleeps).find_existing(ACCOUNT, Comment(), "Thanks!")


@respx.mock
def test_a_video_is_posted_in_chunks_and_polled_until_complete(
    payload: Payload, sleeps: list[float]
) -> None:
    routes = mock_flow(payload, "status_processing.json", "status_complete.json")
    published = publisher(sleeps).publish_post(ACCOUNT, draft())

    creator = routes["creator"].calls.last.request
    assert creator.headers["Authorization"] == "Bearer act.token"
    assert creator.headers["Content-Type"] == "application/json; charset=UTF-8"
    init = routes["init"].calls.last.request
    assert json.loads(init.content) == {
        "post_info": {
            "title": "A walk through the shop #tulips",
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": False,
            "disable_duet": False,
            "disable_stitch": True,  # the creator turned stitches off
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 10,
            "chunk_size": 4,
            "total_chunk_count": 2,
        },
    }
    uploads = [call.request for call in routes["upload"].calls]
    # Two chunks: 10 // 4 = 2, the last one takes the remaining six bytes.
    assert [(r.headers["Content-Range"], r.content) for r in uploads] == [
        ("bytes 0-3/10", b"0123"),
        ("bytes 4-9/10", b"456789"),
    ]
    assert all(r.headers["Content-Type"] == "video/mp4" for r in uploads)
    assert all("Authorization" not in r.headers for r in uploads)
    assert uploads[0].url.params["upload_token"] == "Xza123"
    statuses = [json.loads(c.request.content) for c in routes["status"].calls]
    assert statuses == [{"publish_id": PUBLISH_ID}] * 2
    assert sleeps == [5.0]
    assert published == PublishedPost(
        "7343287634837293058", "https://www.tiktok.com/@ourbrand/video/7343287634837293058"
    )


@respx.mock
def test_a_small_video_goes_up_whole(payload: Payload, sleeps: list[float]) -> None:
    routes = mock_flow(payload, "status_complete.json")
    routes["upload"].mock(return_value=httpx.Response(201))
    publisher(sleeps, chunk=4, whole_max=64).publish_post(ACCOUNT, draft())
    source = json.loads(routes["init"].calls.last.request.content)["source_info"]
    assert (source["chunk_size"], source["total_chunk_count"]) == (10, 1)
    assert routes["upload"].calls.last.request.headers["Content-Range"] == "bytes 0-9/10"


@respx.mock
def test_a_visibility_the_creator_is_not_offered_is_refused_before_upload(
    payload: Payload, sleeps: list[float]
) -> None:
    routes = mock_flow(payload)
    with pytest.raises(pb.PermanentError, match="'followers'; it offers: public, friends, private"):
        publisher(sleeps).publish_post(ACCOUNT, draft(visibility="followers"))
    assert routes["init"].call_count == 0 and routes["upload"].call_count == 0


@respx.mock
def test_a_video_longer_than_the_creator_may_post_is_refused_before_upload(
    payload: Payload, sleeps: list[float]
) -> None:
    routes = mock_flow(payload)
    with pytest.raises(pb.PermanentError, match="at most 300 s"):
        publisher(sleeps).publish_post(ACCOUNT, draft(media=(clip(duration=301.0),)))
    assert routes["init"].call_count == 0


@respx.mock
def test_a_failed_publish_is_permanent_with_tiktok_s_reason(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_flow(payload, "status_failed.json")
    with pytest.raises(pb.PermanentError, match="duration_check_failed"):
        publisher(sleeps).publish_post(ACCOUNT, draft())


@respx.mock
def test_a_publish_still_processing_after_the_bound_is_returned_under_its_publish_id(
    payload: Payload, sleeps: list[float]
) -> None:
    routes = mock_flow(payload)
    routes["status"].mock(return_value=ok(payload, "status_processing.json"))
    slow = publisher(sleeps)
    slow.status_polls = 3
    published = slow.publish_post(ACCOUNT, draft())
    # TikTok has the video and goes on with it: sending it again would post it twice.
    assert published == PublishedPost(PUBLISH_ID, None)
    assert routes["status"].call_count == 3 and len(sleeps) == 2


@respx.mock
def test_the_daily_post_cap_is_a_quota_error(payload: Payload, sleeps: list[float]) -> None:
    routes = mock_flow(payload)
    routes["init"].mock(
        return_value=httpx.Response(403, json=payload("tiktok", "error_too_many_posts.json"))
    )
    with pytest.raises(pb.QuotaExhaustedError, match="daily post cap"):
        publisher(sleeps).publish_post(ACCOUNT, draft())


@respx.mock
def test_an_unaudited_app_posting_publicly_is_permanent_with_tiktok_s_message(
    payload: Payload, sleeps: list[float]
) -> None:
    routes = mock_flow(payload)
    routes["init"].mock(
        return_value=httpx.Response(
            403, json=payload("tiktok", "error_unaudited_private_only.json")
        )
    )
    with pytest.raises(pb.PermanentError) as raised:
        publisher(sleeps).publish_post(ACCOUNT, draft())
    assert type(raised.value) is pb.PermanentError
    assert "unaudited_client_can_only_post_to_private_accounts" in str(raised.value)


@respx.mock
def test_rate_limit_is_transient_with_the_retry_after_seconds(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.post(API + "post/publish/creator_info/query/").mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "20"},
            json=payload("tiktok", "error_rate_limit_exceeded.json"),
        )
    )
    with pytest.raises(pb.TransientError) as raised:
        publisher(sleeps).publish_post(ACCOUNT, draft())
    assert raised.value.retry_after == 20.0 and route.call_count == 1


@respx.mock
def test_an_invalid_token_is_an_auth_error(payload: Payload, sleeps: list[float]) -> None:
    respx.post(API + "post/publish/creator_info/query/").mock(
        return_value=httpx.Response(401, json=payload("tiktok", "error_access_token_invalid.json"))
    )
    with pytest.raises(pb.AuthError):
        publisher(sleeps).publish_post(ACCOUNT, draft())


# --- find_post ---------------------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_find_post_cannot_confirm_without_a_publish_id(sleeps: list[float]) -> None:
    with respx.mock:
        with pytest.raises(CannotConfirm, match="cannot look up a creator's posts by text"):
            publisher(sleeps).find_post(ACCOUNT, draft(), since=SINCE)
        assert not respx.calls


@respx.mock
def test_find_post_by_publish_id_reports_the_published_video(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(API + "post/publish/status/fetch/").mock(
        return_value=ok(payload, "status_complete.json")
    )
    found = publisher(sleeps).find_post(
        ACCOUNT, draft(options={"publish_id": PUBLISH_ID}), since=SINCE
    )
    assert found == PublishedPost("7343287634837293058", None)


@respx.mock
def test_find_post_by_publish_id_of_a_failed_attempt_is_none(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(API + "post/publish/status/fetch/").mock(
        return_value=ok(payload, "status_failed.json")
    )
    assert (
        publisher(sleeps).find_post(ACCOUNT, draft(options={"publish_id": PUBLISH_ID}), since=SINCE)
        is None
    )


@respx.mock
def test_find_post_by_publish_id_still_processing_cannot_confirm(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(API + "post/publish/status/fetch/").mock(
        return_value=ok(payload, "status_processing.json")
    )
    with pytest.raises(CannotConfirm, match="still processing"):
        publisher(sleeps).find_post(ACCOUNT, draft(options={"publish_id": PUBLISH_ID}), since=SINCE)
