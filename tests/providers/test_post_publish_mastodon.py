"""Publishing new Mastodon statuses against recorded API shapes (respx): media upload v2 with
the processing poll, the status with visibility, content warning, language and idempotency key,
the instance's own limits, error mapping, and finding our status after a crash."""

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
from socialpulse.providers.mastodon import PROVIDER
from socialpulse.providers.mastodon.publish import MastodonPublisher, live_post_rules
from socialpulse.providers.publishing import CannotConfirm, MediaItem, PostDraft, PublishedPost
from socialpulse.providers.registry import Capability

BASE = "https://mastodon.social"
Payload = Callable[[str, str], Any]


@dataclass
class Account:
    external_id: str
    handle: str


ACCOUNT = Account("7", "ourbrand@mastodon.social")


def publisher(sleeps: list[float]) -> MastodonPublisher:
    return MastodonPublisher.create("mastodon.social", "tok", sleep=sleeps.append)


def media(name: str, mime: str, data: bytes, alt: str = "") -> MediaItem:
    return MediaItem(name, mime, len(data), lambda: data, alt_text=alt)


def multipart_field(request: httpx.Request, name: str) -> bytes:
    """The value of form field ``name`` in a multipart body (enough for our small bodies)."""
    marker = f'name="{name}"'.encode()
    part = request.content.split(marker, 1)[1]
    return part.split(b"\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]


@respx.mock
def test_status_carries_visibility_content_warning_language_and_idempotency_key(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "post_status.json"))
    )
    draft = PostDraft(
        "Episode 3 is out! #podcast",
        idempotency_key="post-41-target-9",
        visibility="unlisted",
        content_warning="Spoilers for episode 3",
        language="en",
    )
    published = publisher(sleeps).publish_post(ACCOUNT, draft)
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "post-41-target-9"
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == {
        "status": "Episode 3 is out! #podcast",
        "visibility": "unlisted",
        "spoiler_text": "Spoilers for episode 3",
        "language": "en",
    }
    assert published == PublishedPost(
        "113000000000000500", "https://mastodon.social/@ourbrand/113000000000000500"
    )


@respx.mock
def test_media_is_uploaded_with_its_alt_text_and_attached_by_id(
    payload: Payload, sleeps: list[float]
) -> None:
    upload = respx.post(f"{BASE}/api/v2/media").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "media_ready.json"))
    )
    status = respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "post_status.json"))
    )
    photo = media("tulips.jpg", "image/jpeg", b"\xff\xd8jpeg-bytes", "A tulip field at sunrise")
    publisher(sleeps).publish_post(
        ACCOUNT, PostDraft("Tulips", idempotency_key="k", media=(photo,))
    )
    request = upload.calls.last.request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    assert multipart_field(request, "description") == b"A tulip field at sunrise"
    assert b'filename="tulips.jpg"' in request.content
    assert b"Content-Type: image/jpeg\r\n\r\n\xff\xd8jpeg-bytes" in request.content
    assert json.loads(status.calls.last.request.content)["media_ids"] == ["22348641"]
    assert sleeps == []  # ready at once: no polling


@respx.mock
def test_media_still_processing_is_polled_until_it_has_a_url(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(f"{BASE}/api/v2/media").mock(
        return_value=httpx.Response(202, json=payload("mastodon", "media_processing.json"))
    )
    poll = respx.get(f"{BASE}/api/v1/media/22348642").mock(
        side_effect=[
            httpx.Response(206, json=payload("mastodon", "media_processing.json")),
            httpx.Response(200, json=payload("mastodon", "media_processed.json")),
        ]
    )
    status = respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "post_status.json"))
    )
    clip = media("shop.mp4", "video/mp4", b"mp4-bytes")
    publisher(sleeps).publish_post(ACCOUNT, PostDraft("Shop", idempotency_key="k", media=(clip,)))
    assert poll.call_count == 2
    assert sleeps == [2.0, 2.0]
    assert json.loads(status.calls.last.request.content)["media_ids"] == ["22348642"]


@respx.mock
def test_media_that_never_finishes_processing_is_transient_and_no_status_is_sent(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(f"{BASE}/api/v2/media").mock(
        return_value=httpx.Response(202, json=payload("mastodon", "media_processing.json"))
    )
    respx.get(f"{BASE}/api/v1/media/22348642").mock(
        return_value=httpx.Response(206, json=payload("mastodon", "media_processing.json"))
    )
    status = respx.post(f"{BASE}/api/v1/statuses")
    slow = MastodonPublisher.create("mastodon.social", "tok", sleep=sleeps.append)
    slow.media_polls = 3
    clip = media("shop.mp4", "video/mp4", b"mp4-bytes")
    with pytest.raises(pb.TransientError, match="still processing shop.mp4"):
        slow.publish_post(ACCOUNT, PostDraft("Shop", idempotency_key="k", media=(clip,)))
    assert len(sleeps) == 3 and status.call_count == 0


@respx.mock
def test_rate_limit_is_transient_with_the_retry_after_date(
    payload: Payload, sleeps: list[float]
) -> None:
    later = datetime.now(UTC).timestamp() + 300
    http_date = datetime.fromtimestamp(later, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(
            429,
            headers={"Retry-After": http_date},
            json=payload("mastodon", "reply_error_rate_limit.json"),
        )
    )
    with pytest.raises(pb.TransientError) as raised:
        publisher(sleeps).publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))
    assert raised.value.retry_after is not None and 290 <= raised.value.retry_after <= 300


@respx.mock
def test_a_refused_status_is_permanent_with_mastodon_s_message(
    payload: Payload, sleeps: list[float]
) -> None:
    respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(422, json=payload("mastodon", "post_error_unprocessed.json"))
    )
    with pytest.raises(pb.PermanentError, match="have not finished processing"):
        publisher(sleeps).publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))


@respx.mock
def test_an_expired_token_is_an_auth_error(payload: Payload, sleeps: list[float]) -> None:
    respx.post(f"{BASE}/api/v1/statuses").mock(
        return_value=httpx.Response(401, json=payload("mastodon", "reply_error_auth.json"))
    )
    with pytest.raises(pb.AuthError):
        publisher(sleeps).publish_post(ACCOUNT, PostDraft("Hi", idempotency_key="k"))


def test_an_unknown_visibility_is_refused_before_any_request(sleeps: list[float]) -> None:
    with respx.mock:
        with pytest.raises(pb.PermanentError, match="public, unlisted, private, direct"):
            publisher(sleeps).publish_post(
                ACCOUNT, PostDraft("Hi", idempotency_key="k", visibility="friends")
            )
        assert not respx.calls


# --- the instance's limits -------------------------------------------------------------------


@respx.mock
def test_live_post_rules_read_the_instance_configuration(payload: Payload) -> None:
    route = respx.get("https://fosstodon.org/api/v2/instance").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "instance_v2.json"))
    )
    rules = live_post_rules({"instance": "fosstodon.org", "access_token": "tok"})
    assert rules.max_chars == 500 and rules.max_media == 4 and not rules.mixed_media
    assert rules.media["image"].max_bytes == 16_777_216
    assert rules.media["video"].max_bytes == 103_809_024
    assert "image/avif" in rules.media["image"].mime_types
    assert "video/x-ms-asf" in rules.media["video"].mime_types
    assert not any(t.startswith("audio/") for r in rules.media.values() for t in r.mime_types)
    assert rules.visibilities == ("public", "unlisted", "private", "direct")
    assert route.call_count == 1


@respx.mock
def test_a_larger_instance_limit_is_what_the_rules_say(payload: Payload) -> None:
    body = payload("mastodon", "instance_v2.json")
    body["configuration"]["statuses"]["max_characters"] = 5000
    respx.get("https://fosstodon.org/api/v2/instance").mock(
        return_value=httpx.Response(200, json=body)
    )
    assert live_post_rules({"instance": "fosstodon.org"}).max_chars == 5000


def test_live_post_rules_without_an_instance_raise_so_the_caller_falls_back() -> None:
    with pytest.raises(pb.PermanentError, match="instance"):
        live_post_rules({"access_token": "tok"})
    assert PROVIDER.post_rules is not None and PROVIDER.post_rules.max_chars == 500
    assert PROVIDER.live_post_rules is live_post_rules
    assert PROVIDER.supports(Capability.PUBLISH)


# --- find_post ---------------------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
STATUSES = f"{BASE}/api/v1/accounts/7/statuses"


@respx.mock
def test_find_post_matches_the_html_content_as_plain_text(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(STATUSES).mock(
        return_value=httpx.Response(200, json=payload("mastodon", "own_statuses.json"))
    )
    text = "Thanks @bob@fosstodon.org for the tulips!\n\nFull story: https://example.com/blog/tulips-2026"
    found = publisher(sleeps).find_post(ACCOUNT, PostDraft(text, idempotency_key="k"), since=SINCE)
    assert found == PublishedPost(
        "113000000000000500", "https://mastodon.social/@ourbrand/113000000000000500"
    )
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


@respx.mock
def test_find_post_answers_none_when_only_older_statuses_match(
    payload: Payload, sleeps: list[float]
) -> None:
    route = respx.get(STATUSES).mock(
        return_value=httpx.Response(
            200,
            json=payload("mastodon", "own_statuses.json"),
            headers={"Link": f'<{STATUSES}?max_id=1>; rel="next"'},
        )
    )
    found = publisher(sleeps).find_post(
        ACCOUNT, PostDraft("Old news", idempotency_key="k"), since=SINCE
    )
    assert found is None and route.call_count == 1


@respx.mock
def test_find_post_cannot_confirm_beyond_the_pages_it_reads(sleeps: list[float]) -> None:
    newer = {"id": "1", "created_at": "2026-03-03T10:00:00.000Z", "content": "<p>Other</p>"}
    respx.get(STATUSES).mock(
        return_value=httpx.Response(
            200, json=[newer] * 40, headers={"Link": f'<{STATUSES}?max_id=1>; rel="next"'}
        )
    )
    with pytest.raises(CannotConfirm, match="more than 120 Mastodon statuses"):
        publisher(sleeps).find_post(ACCOUNT, PostDraft("Mine", idempotency_key="k"), since=SINCE)
