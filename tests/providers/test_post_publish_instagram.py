"""Publishing on Instagram against recorded Graph API shapes (respx): the publishing limit
checked first, container → status poll → media_publish, carousels, refusals before any call,
error mapping, and finding our post after a crash."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from socialpulse.providers import base as pb
from socialpulse.providers.instagram import PROVIDER
from socialpulse.providers.instagram.publish import InstagramPublisher
from socialpulse.providers.publishing import CannotConfirm, MediaItem, PostDraft, PublishedPost
from socialpulse.providers.registry import Capability

IG = "https://graph.facebook.com/v21.0"
USER = "17841400008460056"
CONTAINER = "17889615691921648"
MEDIA = "17920238422030506"
Payload = Callable[[str, str], Any]


@dataclass
class Account:
    external_id: str
    handle: str


ACCOUNT = Account(USER, "ourbrand")


def photo(
    name: str = "tulips.jpg", url: str | None = "https://media.example.com/tulips.jpg"
) -> MediaItem:
    return MediaItem(name, "image/jpeg", 1000, lambda: b"never read", public_url=url)


def reel() -> MediaItem:
    return MediaItem(
        "shop.mp4",
        "video/mp4",
        5000,
        lambda: b"never read",
        public_url="https://media.example.com/shop.mp4",
    )


def publisher(sleeps: list[float]) -> InstagramPublisher:
    return InstagramPublisher.create("EAAtoken", USER, sleep=sleeps.append)


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def mock_limit(payload: Payload, name: str = "publishing_limit.json") -> respx.Route:
    return respx.get(f"{IG}/{USER}/content_publishing_limit").mock(
        return_value=httpx.Response(200, json=payload("instagram", name))
    )


def mock_publish(payload: Payload) -> tuple[respx.Route, respx.Route]:
    publish = respx.post(f"{IG}/{USER}/media_publish").mock(
        return_value=httpx.Response(200, json=payload("instagram", "media_publish.json"))
    )
    permalink = respx.get(f"{IG}/{MEDIA}").mock(
        return_value=httpx.Response(200, json=payload("instagram", "media_permalink.json"))
    )
    return publish, permalink


def test_instagram_claims_publish_with_its_documented_limits() -> None:
    rules = PROVIDER.post_rules
    assert PROVIDER.supports(Capability.PUBLISH) and rules is not None
    assert rules.requires_media and rules.max_chars == 2200 and rules.max_media == 10
    assert rules.media["image"].mime_types == frozenset({"image/jpeg"})
    assert rules.media["image"].max_bytes == 8 * 1024 * 1024
    assert rules.media["video"].max_duration_s == 15 * 60


@respx.mock
def test_a_photo_is_published_through_a_container_after_the_limit_check(
    payload: Payload, sleeps: list[float]
) -> None:
    limit = mock_limit(payload)
    create = respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_created.json"))
    )
    status = respx.get(f"{IG}/{CONTAINER}").mock(
        side_effect=[
            httpx.Response(200, json=payload("instagram", "container_in_progress.json")),
            httpx.Response(200, json=payload("instagram", "container_finished.json")),
        ]
    )
    publish, permalink = mock_publish(payload)

    published = publisher(sleeps).publish_post(
        ACCOUNT, PostDraft("Spring is here 🌷 #tulips", idempotency_key="k", media=(photo(),))
    )

    assert limit.calls.last.request.url.params["fields"] == "config,quota_usage"
    assert limit.calls.last.request.url.params["access_token"] == "EAAtoken"
    assert form(create.calls.last.request) == {
        "image_url": "https://media.example.com/tulips.jpg",
        "caption": "Spring is here 🌷 #tulips",
    }
    assert status.call_count == 2 and sleeps == [5.0]
    assert status.calls.last.request.url.params["fields"] == "status_code,status"
    assert publish.calls.last.request.url.params["creation_id"] == CONTAINER
    assert permalink.calls.last.request.url.params["fields"] == "permalink"
    assert published == PublishedPost(MEDIA, "https://www.instagram.com/p/C4xYzAbCdEf/")


@respx.mock
def test_a_single_video_is_published_as_a_reel(payload: Payload, sleeps: list[float]) -> None:
    mock_limit(payload)
    create = respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_created.json"))
    )
    respx.get(f"{IG}/{CONTAINER}").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_finished.json"))
    )
    mock_publish(payload)
    publisher(sleeps).publish_post(ACCOUNT, PostDraft("Shop", idempotency_key="k", media=(reel(),)))
    assert form(create.calls.last.request) == {
        "video_url": "https://media.example.com/shop.mp4",
        "media_type": "REELS",
        "caption": "Shop",
    }


@respx.mock
def test_several_items_become_a_carousel_of_child_containers(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload)
    create = respx.post(f"{IG}/{USER}/media").mock(
        side_effect=[
            httpx.Response(200, json={"id": "child1"}),
            httpx.Response(200, json={"id": "child2"}),
            httpx.Response(200, json=payload("instagram", "container_created.json")),
        ]
    )
    finished = httpx.Response(200, json=payload("instagram", "container_finished.json"))
    polled = [
        respx.get(f"{IG}/{cid}").mock(return_value=finished)
        for cid in ("child1", "child2", CONTAINER)
    ]
    mock_publish(payload)
    publisher(sleeps).publish_post(
        ACCOUNT, PostDraft("Two things", idempotency_key="k", media=(photo(), reel()))
    )
    first, second, carousel = (form(call.request) for call in create.calls)
    assert first == {
        "image_url": "https://media.example.com/tulips.jpg",
        "is_carousel_item": "true",
    }
    assert second == {
        "video_url": "https://media.example.com/shop.mp4",
        "media_type": "VIDEO",
        "is_carousel_item": "true",
    }
    assert carousel == {
        "media_type": "CAROUSEL",
        "children": "child1,child2",
        "caption": "Two things",
    }
    assert [route.call_count for route in polled] == [1, 1, 1]


@respx.mock
def test_an_exhausted_publishing_limit_refuses_before_any_container(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload, "publishing_limit_reached.json")
    create = respx.post(f"{IG}/{USER}/media")
    with pytest.raises(pb.QuotaExhaustedError, match="100 posts through the API per 24 h"):
        publisher(sleeps).publish_post(
            ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(),))
        )
    assert create.call_count == 0


@respx.mock
def test_a_container_in_error_is_permanent_with_instagram_s_status(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload)
    respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_created.json"))
    )
    respx.get(f"{IG}/{CONTAINER}").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_error.json"))
    )
    publish = respx.post(f"{IG}/{USER}/media_publish")
    with pytest.raises(pb.PermanentError, match="ERROR .*error code 2207026"):
        publisher(sleeps).publish_post(
            ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(),))
        )
    assert publish.call_count == 0


@respx.mock
def test_a_container_still_in_progress_after_the_bound_is_transient(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload)
    respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_created.json"))
    )
    respx.get(f"{IG}/{CONTAINER}").mock(
        return_value=httpx.Response(200, json=payload("instagram", "container_in_progress.json"))
    )
    slow = publisher(sleeps)
    slow.container_polls = 4
    with pytest.raises(pb.TransientError, match="still processing"):
        slow.publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(),)))
    assert len(sleeps) == 3


def test_media_without_a_public_url_is_refused_with_what_to_do(sleeps: list[float]) -> None:
    with respx.mock:
        with pytest.raises(pb.PermanentError, match="public URL.*S3 or set a public base URL"):
            publisher(sleeps).publish_post(
                ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(url=None),))
            )
        assert not respx.calls


def test_more_than_30_hashtags_are_refused_before_any_call(sleeps: list[float]) -> None:
    caption = " ".join(f"#tag{i}" for i in range(31))
    with respx.mock:
        with pytest.raises(pb.PermanentError, match="at most 30 hashtags; this one has 31"):
            publisher(sleeps).publish_post(
                ACCOUNT, PostDraft(caption, idempotency_key="k", media=(photo(),))
            )
        assert not respx.calls


def test_a_text_only_post_is_refused(sleeps: list[float]) -> None:
    with pytest.raises(pb.PermanentError, match="at least one image or video"):
        publisher(sleeps).publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))


@respx.mock
def test_a_media_fetch_failure_is_permanent_with_meta_s_message(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload)
    respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(400, json=payload("instagram", "post_error_invalid_image.json"))
    )
    with pytest.raises(pb.PermanentError, match="media could not be fetched"):
        publisher(sleeps).publish_post(
            ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(),))
        )


@respx.mock
def test_a_transient_graph_error_is_transient_with_the_retry_after_seconds(
    payload: Payload, sleeps: list[float]
) -> None:
    mock_limit(payload)
    route = respx.post(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(
            503,
            headers={"Retry-After": "30"},
            json=payload("instagram", "error_service_unavailable.json"),
        )
    )
    with pytest.raises(pb.TransientError) as raised:
        publisher(sleeps).publish_post(
            ACCOUNT, PostDraft("Hi", idempotency_key="k", media=(photo(),))
        )
    assert raised.value.retry_after == 30.0
    assert route.call_count == 1


# --- find_post ---------------------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@respx.mock
def test_find_post_finds_our_media_by_caption_since_the_attempt(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "own_media.json"))
    )
    found = publisher(sleeps).find_post(
        ACCOUNT, PostDraft("Spring is here 🌷 #tulips #spring", idempotency_key="k"), since=SINCE
    )
    assert found == PublishedPost(MEDIA, "https://www.instagram.com/p/C4xYzAbCdEf/")
    assert route.calls.last.request.url.params["fields"] == "id,caption,permalink,timestamp"


@respx.mock
def test_find_post_answers_none_when_only_an_older_post_matches(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(200, json=payload("instagram", "own_media.json"))
    )
    found = publisher(sleeps).find_post(
        ACCOUNT, PostDraft("Something new", idempotency_key="k"), since=SINCE
    )
    assert found is None and route.call_count == 1


@respx.mock
def test_find_post_cannot_confirm_beyond_the_pages_it_reads(sleeps: list[float]) -> None:
    newer = {"id": "1", "caption": "Other", "timestamp": "2026-03-03T10:00:00+0000"}
    respx.get(f"{IG}/{USER}/media").mock(
        return_value=httpx.Response(
            200,
            json={"data": [newer] * 25, "paging": {"cursors": {"after": "x"}, "next": "https://n"}},
        )
    )
    with pytest.raises(CannotConfirm, match="more than 125 Instagram posts"):
        publisher(sleeps).find_post(ACCOUNT, PostDraft("Mine", idempotency_key="k"), since=SINCE)
