"""Reply publishers against recorded payloads (respx): success, auth, rate limit, validation,
and finding our own reply again after a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers import base as pb
from socialpulse.providers.bluesky.publish import BlueskyPublisher
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.instagram.publish import InstagramPublisher
from socialpulse.providers.mastodon.publish import MastodonPublisher
from socialpulse.providers.publishing import DryRunPublisher, PublishedReply, grapheme_count
from socialpulse.providers.youtube.publish import YouTubePublisher

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def payload(platform: str, name: str) -> Any:
    return json.loads((PAYLOADS / platform / f"{name}.json").read_text())


@dataclass
class Account:
    external_id: str
    handle: str


@dataclass
class Target:
    external_id: str
    parent_external_id: str | None = None
    author_handle: str = "fan"


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


# --- YouTube ---------------------------------------------------------------------------------

YT = "https://www.googleapis.com/youtube/v3/comments"


@respx.mock
def test_youtube_reply_posts_under_the_top_level_comment_with_the_oauth_token() -> None:
    route = respx.post(YT).mock(
        return_value=httpx.Response(200, json=payload("youtube", "reply_insert"))
    )
    observer = pb.RecordingObserver()
    publisher = YouTubePublisher.create("ya29.token", observer=observer)
    reply = publisher.reply(
        Account("UCown", "@own"),
        Target("UgzAbc123.9xFanReply", "UgzAbc123"),
        "Thanks for watching!",
        idempotency_key="k",
    )
    assert reply == PublishedReply(
        "UgzAbc123.9xYzReply01",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzAbc123.9xYzReply01",
    )
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer ya29.token"
    assert request.url.params["part"] == "snippet" and "key" not in request.url.params
    assert json.loads(request.content) == {
        "snippet": {"parentId": "UgzAbc123", "textOriginal": "Thanks for watching!"}
    }
    assert [c.quota_cost for c in observer.calls] == [50]


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("reply_error_auth", 401, pb.AuthError),
        ("reply_error_rate_limit", 429, pb.TransientError),
        ("reply_error_validation", 400, pb.PermanentError),
    ],
)
@respx.mock
def test_youtube_reply_errors_are_typed_and_never_retried_in_process(
    name: str, status: int, error: type[Exception]
) -> None:
    route = respx.post(YT).mock(return_value=httpx.Response(status, json=payload("youtube", name)))
    publisher = YouTubePublisher.create("t", sleep=lambda s: None)
    with pytest.raises(error) as raised:
        publisher.reply(Account("UCown", "own"), Target("UgzAbc123"), "hi", idempotency_key="k")
    assert route.call_count == 1
    assert payload("youtube", name)["error"]["message"][:40] in str(raised.value)


@respx.mock
def test_youtube_finds_our_reply_by_author_and_text_not_someone_elses() -> None:
    respx.get(YT).mock(return_value=httpx.Response(200, json=payload("youtube", "reply_list")))
    publisher = YouTubePublisher.create("t")
    found = publisher.find_existing(
        Account("UCown", "own"), Target("UgzAbc123"), "Thanks for watching!"
    )
    assert found is not None and found.external_id == "UgzAbc123.9xYzReply01"
    assert (
        publisher.find_existing(Account("UCown", "own"), Target("UgzAbc123"), "Other text") is None
    )


# --- Bluesky ---------------------------------------------------------------------------------

PDS = "https://bsky.social/xrpc/"
APPVIEW = "https://public.api.bsky.app/xrpc/"
FAN = "at://did:plc:fan456/app.bsky.feed.post/3kfancomment"


@respx.mock
def test_bluesky_reply_logs_in_and_writes_a_record_with_root_and_parent_refs() -> None:
    respx.get(APPVIEW + "app.bsky.feed.getPosts").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_get_posts"))
    )
    session = respx.post(PDS + "com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_create_session"))
    )
    create = respx.post(PDS + "com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_create_record"))
    )
    publisher = BlueskyPublisher.create("ourbrand.bsky.social", "app-pass-word")
    reply = publisher.reply(
        Account("did:plc:ourbrand123", "ourbrand.bsky.social"),
        Target(FAN),
        "Thank you!",
        idempotency_key="k",
    )
    assert reply.external_id == "at://did:plc:ourbrand123/app.bsky.feed.post/3kourreply"
    assert reply.url == "https://bsky.app/profile/did:plc:ourbrand123/post/3kourreply"
    assert json.loads(session.calls.last.request.content) == {
        "identifier": "ourbrand.bsky.social",
        "password": "app-pass-word",
    }
    body = json.loads(create.calls.last.request.content)
    assert create.calls.last.request.headers["Authorization"] == "Bearer eyJ.access.jwt"
    assert body["repo"] == "did:plc:ourbrand123" and body["collection"] == "app.bsky.feed.post"
    assert body["record"]["text"] == "Thank you!"
    assert body["record"]["reply"] == {
        "root": {
            "uri": "at://did:plc:ourbrand123/app.bsky.feed.post/3kourpost",
            "cid": "bafyreiourpost",
        },
        "parent": {"uri": FAN, "cid": "bafyreifancomment"},
    }


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("reply_error_auth", 401, pb.AuthError),
        ("reply_error_rate_limit", 429, pb.TransientError),
        ("reply_error_validation", 400, pb.PermanentError),
    ],
)
@respx.mock
def test_bluesky_reply_errors_are_typed(name: str, status: int, error: type[Exception]) -> None:
    respx.get(APPVIEW + "app.bsky.feed.getPosts").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_get_posts"))
    )
    respx.post(PDS + "com.atproto.server.createSession").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_create_session"))
        if name != "reply_error_auth"
        else httpx.Response(status, json=payload("bluesky", name))
    )
    respx.post(PDS + "com.atproto.repo.createRecord").mock(
        return_value=httpx.Response(status, json=payload("bluesky", name))
    )
    publisher = BlueskyPublisher.create("ourbrand.bsky.social", "x", sleep=lambda s: None)
    with pytest.raises(error, match=payload("bluesky", name)["message"][:20]):
        publisher.reply(Account("did:plc:ourbrand123", "o"), Target(FAN), "hi", idempotency_key="k")


@respx.mock
def test_bluesky_finds_our_reply_under_that_comment_only() -> None:
    respx.get(PDS + "com.atproto.repo.listRecords").mock(
        return_value=httpx.Response(200, json=payload("bluesky", "reply_list_records"))
    )
    publisher = BlueskyPublisher.create("ourbrand.bsky.social", "x")
    account = Account("did:plc:ourbrand123", "ourbrand.bsky.social")
    found = publisher.find_existing(account, Target(FAN), "Thank you!")
    assert found is not None and found.external_id.endswith("/3kourreply")
    other = "at://did:plc:fan456/app.bsky.feed.post/3kother"
    assert publisher.find_existing(account, Target(other), "Thank you!") is None


# --- Mastodon --------------------------------------------------------------------------------

MASTO = "https://mastodon.social/api/v1/statuses"


@respx.mock
def test_mastodon_reply_sends_our_idempotency_key() -> None:
    route = respx.post(MASTO).mock(
        return_value=httpx.Response(200, json=payload("mastodon", "reply_status"))
    )
    publisher = MastodonPublisher.create("mastodon.social", "tok")
    reply = publisher.reply(
        Account("7", "ourbrand@mastodon.social"),
        Target("113000000000000001"),
        "Thanks & welcome!",
        idempotency_key="abc123",
    )
    assert reply == PublishedReply(
        "113000000000000099", "https://mastodon.social/@ourbrand/113000000000000099"
    )
    request = route.calls.last.request
    assert request.headers["Idempotency-Key"] == "abc123"
    assert request.headers["Authorization"] == "Bearer tok"
    assert json.loads(request.content) == {
        "status": "Thanks & welcome!",
        "in_reply_to_id": "113000000000000001",
    }


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("reply_error_auth", 401, pb.AuthError),
        ("reply_error_rate_limit", 429, pb.TransientError),
        ("reply_error_validation", 422, pb.PermanentError),
    ],
)
@respx.mock
def test_mastodon_reply_errors_are_typed(name: str, status: int, error: type[Exception]) -> None:
    respx.post(MASTO).mock(return_value=httpx.Response(status, json=payload("mastodon", name)))
    publisher = MastodonPublisher.create("mastodon.social", "tok", sleep=lambda s: None)
    with pytest.raises(error, match=payload("mastodon", name)["error"][:20]):
        publisher.reply(Account("7", "o@mastodon.social"), Target("1"), "hi", idempotency_key="k")


@respx.mock
def test_mastodon_finds_our_reply_in_the_context_by_account_and_text() -> None:
    respx.get(f"{MASTO}/113000000000000001/context").mock(
        return_value=httpx.Response(200, json=payload("mastodon", "reply_context"))
    )
    publisher = MastodonPublisher.create("mastodon.social", "tok")
    found = publisher.find_existing(
        Account("7", "ourbrand@mastodon.social"), Target("113000000000000001"), "Thanks & welcome!"
    )
    assert found is not None and found.external_id == "113000000000000099"
    assert (
        publisher.find_existing(
            Account("8", "nobody@mastodon.social"),
            Target("113000000000000001"),
            "Thanks & welcome!",
        )
        is None
    )


# --- Instagram -------------------------------------------------------------------------------

IG = "https://graph.facebook.com/v21.0/"


@respx.mock
def test_instagram_reply_posts_the_message_to_the_comment_replies_edge() -> None:
    route = respx.post(IG + "17900000000000001/replies").mock(
        return_value=httpx.Response(200, json=payload("instagram", "reply_create"))
    )
    publisher = InstagramPublisher.create("IGtoken", "17841400000000001")
    reply = publisher.reply(
        Account("17841400000000001", "ourbrand"),
        Target("17900000000000001"),
        "Thank you!",
        idempotency_key="k",
    )
    assert reply.external_id == "17858893269000001"
    params = route.calls.last.request.url.params
    assert params["message"] == "Thank you!" and params["access_token"] == "IGtoken"


@pytest.mark.parametrize(
    ("name", "status", "error"),
    [
        ("reply_error_auth", 400, pb.AuthError),
        ("reply_error_rate_limit", 403, pb.QuotaExhaustedError),
        ("reply_error_validation", 400, pb.PermanentError),
    ],
)
@respx.mock
def test_instagram_reply_errors_are_typed(name: str, status: int, error: type[Exception]) -> None:
    respx.post(IG + "1/replies").mock(
        return_value=httpx.Response(status, json=payload("instagram", name))
    )
    publisher = InstagramPublisher.create("t", "17841400000000001", sleep=lambda s: None)
    with pytest.raises(error):
        publisher.reply(Account("17841400000000001", "o"), Target("1"), "hi", idempotency_key="k")


@respx.mock
def test_instagram_finds_our_reply_by_author_and_text() -> None:
    respx.get(IG + "17900000000000001/replies").mock(
        return_value=httpx.Response(200, json=payload("instagram", "reply_list"))
    )
    publisher = InstagramPublisher.create("t", "17841400000000001")
    found = publisher.find_existing(
        Account("17841400000000001", "ourbrand"), Target("17900000000000001"), "Thank you!"
    )
    assert found is not None and found.external_id == "17858893269000001"


# --- dry run and text ------------------------------------------------------------------------


def test_dry_run_publisher_finds_its_replies_from_another_instance(tmp_path: Path) -> None:
    path = tmp_path / "replies.jsonl"
    DryRunPublisher(path).reply(
        Account("a", "a"), Target("c1"), "Hello  there", idempotency_key="k1"
    )
    again = DryRunPublisher(path)
    assert again.find_existing(Account("a", "a"), Target("c1"), "Hello there") == PublishedReply(
        "dryrun-k1"
    )
    assert again.find_existing(Account("a", "a"), Target("c2"), "Hello there") is None


def test_grapheme_count_treats_flags_and_joined_emoji_as_one() -> None:
    assert grapheme_count("e\u0301") == 1
    assert grapheme_count("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea") == 2
    assert grapheme_count("\U0001f44d\U0001f3fd ok") == 4
