"""Publishing new Bluesky posts against recorded XRPC shapes (respx): rich-text facets in UTF-8
byte offsets, images through uploadBlob, error mapping, and finding our post after a crash."""

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
from socialpulse.providers.bluesky import PROVIDER
from socialpulse.providers.bluesky.publish import BlueskyPublisher
from socialpulse.providers.publishing import (
    CannotConfirm,
    MediaItem,
    PostDraft,
    PostPublisher,
    PublishedPost,
)
from socialpulse.providers.registry import Capability

PDS = "https://bsky.social/xrpc/"
APPVIEW = "https://public.api.bsky.app/xrpc/"
OURS = "did:plc:ourbrand123"

Payload = Callable[[str, str], Any]


@dataclass
class Account:
    external_id: str
    handle: str


ACCOUNT = Account(OURS, "ourbrand.bsky.social")


def image(name: str = "tulips.jpg", size: int = 48_213, **extra: Any) -> MediaItem:
    data = b"\xff\xd8\xff" + b"j" * (size - 3)
    return MediaItem(name, "image/jpeg", size, lambda: data, **extra)


def mock_login(payload: Payload) -> respx.Route:
    return respx.post(PDS + "com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_create_session.json"))
    )


def mock_create(payload: Payload) -> respx.Route:
    return respx.post(PDS + "com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "post_create_record.json"))
    )


def sent_record(route: respx.Route) -> dict[str, Any]:
    body = json.loads(route.calls.last.request.content)
    assert body["repo"] == OURS and body["collection"] == "app.bsky.feed.post"
    record: dict[str, Any] = body["record"]
    return record


def publisher() -> BlueskyPublisher:
    return BlueskyPublisher.create("ourbrand.bsky.social", "app-pass-word", sleep=lambda s: None)


def test_bluesky_provider_claims_publish_with_its_documented_limits() -> None:
    assert PROVIDER.supports(Capability.PUBLISH)
    rules = PROVIDER.post_rules
    assert rules is not None and rules.max_chars == 300 and rules.graphemes
    assert rules.max_media == 4 and rules.media["image"].max_bytes == 1_000_000
    assert "video" not in rules.media
    assert isinstance(publisher(), PostPublisher)


@respx.mock
def test_facets_count_utf8_bytes_after_emoji_and_accented_text(payload: Payload) -> None:
    mock_login(payload)
    create = mock_create(payload)
    resolve = respx.get(APPVIEW + "com.atproto.identity.resolveHandle").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "post_resolve_handle.json"))
    )
    text = "Café ☕️ en fête 🌷 see https://example.com/spring, ask @alice.bsky.social #Tulips!"
    publisher().publish_post(ACCOUNT, PostDraft(text, idempotency_key="k1"))

    facets = sent_record(create)["facets"]
    # The link starts at character 22 but byte 31: é, ê (+1 each), ☕️ (+4), 🌷 (+3).
    assert facets == [
        {
            "index": {"byteStart": 31, "byteEnd": 57},
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/spring"}
            ],
        },
        {
            "index": {"byteStart": 63, "byteEnd": 81},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice789"}],
        },
        {
            "index": {"byteStart": 82, "byteEnd": 89},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Tulips"}],
        },
    ]
    encoded = text.encode("utf-8")
    assert encoded[31:57] == b"https://example.com/spring"
    assert encoded[63:81] == b"@alice.bsky.social"
    assert resolve.calls.last.request.url.params["handle"] == "alice.bsky.social"


@respx.mock
def test_a_mention_that_does_not_resolve_stays_plain_text(payload: Payload) -> None:
    mock_login(payload)
    create = mock_create(payload)
    respx.get(APPVIEW + "com.atproto.identity.resolveHandle").mock(
        return_value=httpx.Response(
            400, json=payload("bluesky", "post_resolve_handle_unknown.json")
        )
    )
    published = publisher().publish_post(
        ACCOUNT, PostDraft("Hello @nobody.example.org #1 #spring", idempotency_key="k")
    )
    record = sent_record(create)
    # No mention facet; "#1" is a number, not a tag.
    assert [f["features"][0]["$type"] for f in record["facets"]] == ["app.bsky.richtext.facet#tag"]
    assert published.external_id == f"at://{OURS}/app.bsky.feed.post/3lbrandpost2"


@respx.mock
def test_post_record_carries_language_creation_time_and_links_to_the_handle(
    payload: Payload,
) -> None:
    mock_login(payload)
    create = mock_create(payload)
    before = datetime.now(UTC)
    published = publisher().publish_post(
        ACCOUNT, PostDraft("Plain words", idempotency_key="k", language="fr")
    )
    record = sent_record(create)
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == "Plain words"
    assert record["langs"] == ["fr"] and "facets" not in record and "embed" not in record
    assert pb.parse_timestamp(record["createdAt"]) >= before.replace(microsecond=0)
    assert record["createdAt"].endswith("Z")
    assert create.calls.last.request.headers["Authorization"] == "Bearer eyJ.access.jwt"
    assert published == PublishedPost(
        f"at://{OURS}/app.bsky.feed.post/3lbrandpost2",
        "https://bsky.app/profile/ourbrand.bsky.social/post/3lbrandpost2",
    )


@respx.mock
def test_images_are_uploaded_as_blobs_and_embedded_with_alt_text_and_aspect_ratio(
    payload: Payload,
) -> None:
    mock_login(payload)
    create = mock_create(payload)
    upload = respx.post(PDS + "com.atproto.repo.uploadBlob").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "post_upload_blob.json"))
    )
    first = image("a.jpg", alt_text="A tulip field at sunrise", width=1200, height=800)
    second = MediaItem("b.png", "image/png", 10, lambda: b"\x89PNG-bytes")
    publisher().publish_post(
        ACCOUNT, PostDraft("Two pictures", idempotency_key="k", media=(first, second))
    )

    assert upload.call_count == 2
    jpeg, png = (call.request for call in upload.calls)
    assert jpeg.headers["Content-Type"] == "image/jpeg" and jpeg.content == first.read()
    assert png.headers["Content-Type"] == "image/png" and png.content == b"\x89PNG-bytes"
    assert jpeg.headers["Authorization"] == "Bearer eyJ.access.jwt"
    blob = payload("bluesky", "post_upload_blob.json")["blob"]
    assert sent_record(create)["embed"] == {
        "$type": "app.bsky.embed.images",
        "images": [
            {
                "alt": "A tulip field at sunrise",
                "image": blob,
                "aspectRatio": {"width": 1200, "height": 800},
            },
            {"alt": "", "image": blob},  # dimensions unknown: no aspect ratio
        ],
    }


@respx.mock
def test_an_image_over_the_blob_limit_is_refused_before_any_request() -> None:
    big = image("huge.jpg", size=1_000_001)
    with pytest.raises(pb.PermanentError, match="1,000,000 bytes"):
        publisher().publish_post(ACCOUNT, PostDraft("Big", idempotency_key="k", media=(big,)))
    assert not respx.calls


@respx.mock
def test_rate_limit_is_transient_with_the_retry_after_seconds(payload: Payload) -> None:
    mock_login(payload)
    route = respx.post(PDS + "com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": "120"},
            json=payload("bluesky", "reply_error_rate_limit.json"),
        )
    )
    with pytest.raises(pb.TransientError) as raised:
        publisher().publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))
    assert raised.value.retry_after == 120.0
    assert route.call_count == 1  # never retried in-process: it might have been created


@respx.mock
def test_an_invalid_record_is_permanent_with_bluesky_s_message(payload: Payload) -> None:
    mock_login(payload)
    respx.post(PDS + "com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(400, json=payload("bluesky", "post_error_validation.json"))
    )
    with pytest.raises(pb.PermanentError, match="must not be longer than 300 graphemes"):
        publisher().publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))


SINCE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@respx.mock
def test_find_post_finds_our_top_level_post_since_the_attempt(payload: Payload) -> None:
    route = respx.get(PDS + "com.atproto.repo.listRecords").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "post_list_records.json"))
    )
    found = publisher().find_post(
        ACCOUNT, PostDraft("Spring  sale starts today 🌷", idempotency_key="k"), since=SINCE
    )
    # The reply with the same text is not it; the post is.
    assert found == PublishedPost(
        f"at://{OURS}/app.bsky.feed.post/3lbrandpost2",
        "https://bsky.app/profile/ourbrand.bsky.social/post/3lbrandpost2",
    )
    assert route.calls.last.request.url.params["repo"] == OURS


@respx.mock
def test_find_post_answers_none_once_the_records_are_older_than_the_attempt(
    payload: Payload,
) -> None:
    route = respx.get(PDS + "com.atproto.repo.listRecords").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "post_list_records.json"))
    )
    found = publisher().find_post(
        ACCOUNT, PostDraft("Something else", idempotency_key="k"), since=SINCE
    )
    assert found is None
    assert route.call_count == 1  # the older record ended the walk: no second page


@respx.mock
def test_find_post_cannot_confirm_beyond_the_pages_it_reads(payload: Payload) -> None:
    newer = {
        "uri": f"at://{OURS}/app.bsky.feed.post/3lnewer",
        "cid": "bafy",
        "value": {
            "$type": "app.bsky.feed.post",
            "text": "Other",
            "createdAt": "2026-03-03T10:00:00Z",
        },
    }
    respx.get(PDS + "com.atproto.repo.listRecords").mock(
        return_value=httpx.Response(200, json={"cursor": "next", "records": [newer] * 100})
    )
    with pytest.raises(CannotConfirm, match="more than 300 Bluesky posts"):
        publisher().find_post(ACCOUNT, PostDraft("Mine", idempotency_key="k"), since=SINCE)
