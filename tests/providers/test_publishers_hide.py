"""Hiding a comment on the platform and showing it again: Instagram, YouTube and the dry-run
publisher, against recorded payloads (respx)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from socialpulse.providers import base as pb
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.instagram.publish import InstagramPublisher
from socialpulse.providers.publishing import CommentHider, DryRunPublisher
from socialpulse.providers.youtube.publish import YouTubePublisher

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"
IG = "https://graph.facebook.com/v21.0"
YT_MODERATE = "https://www.googleapis.com/youtube/v3/comments/setModerationStatus"


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
    author_handle: str = "troll"


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


def test_publishers_of_hide_platforms_offer_hide() -> None:
    publishers = [
        InstagramPublisher.create("IGQ.token", "17841400000000001"),
        YouTubePublisher.create("ya29.token"),
        DryRunPublisher(),
    ]
    for publisher in publishers:
        assert publisher.can_hide is True
        assert isinstance(publisher, CommentHider)


# --- Instagram --------------------------------------------------------------------------------


@respx.mock
def test_instagram_hide_posts_hide_true_on_the_comment_itself() -> None:
    route = respx.post(f"{IG}/18011122233344455").mock(
        return_value=httpx.Response(200, json=payload("instagram", "hide_success"))
    )
    observer = pb.RecordingObserver()
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001", observer=observer)
    # A reply is hidden by its own id, not its parent's (unlike replying).
    publisher.hide(Account("17841400000000001", "ourbrand"), Target("18011122233344455", "1799"))
    request = route.calls.last.request
    assert request.url.params["hide"] == "true"
    assert request.url.params["access_token"] == "IGQ.token"
    assert [(c.endpoint, c.ok) for c in observer.calls] == [("instagram.comment.hide", True)]


@respx.mock
def test_instagram_hide_without_success_is_a_permanent_error() -> None:
    respx.post(f"{IG}/1801").mock(return_value=httpx.Response(200, json={"success": False}))
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001")
    with pytest.raises(pb.PermanentError, match="did not confirm hiding comment 1801"):
        publisher.hide(Account("17841400000000001", "ourbrand"), Target("1801"))


@respx.mock
def test_instagram_hide_with_an_expired_token_is_an_auth_error() -> None:
    respx.post(f"{IG}/1801").mock(
        return_value=httpx.Response(400, json=payload("instagram", "hide_error_auth"))
    )
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001")
    with pytest.raises(pb.AuthError, match="code 190"):
        publisher.hide(Account("17841400000000001", "ourbrand"), Target("1801"))


@respx.mock
def test_instagram_unhide_posts_hide_false_on_the_comment_itself() -> None:
    route = respx.post(f"{IG}/18011122233344455").mock(
        return_value=httpx.Response(200, json=payload("instagram", "hide_success"))
    )
    observer = pb.RecordingObserver()
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001", observer=observer)
    publisher.unhide(Account("17841400000000001", "ourbrand"), Target("18011122233344455", "1799"))
    request = route.calls.last.request
    assert request.url.params["hide"] == "false"
    assert request.url.params["access_token"] == "IGQ.token"
    assert [(c.endpoint, c.ok) for c in observer.calls] == [("instagram.comment.unhide", True)]


@respx.mock
def test_instagram_unhide_without_success_is_a_permanent_error() -> None:
    respx.post(f"{IG}/1801").mock(return_value=httpx.Response(200, json={"success": False}))
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001")
    with pytest.raises(pb.PermanentError, match="did not confirm unhiding comment 1801"):
        publisher.unhide(Account("17841400000000001", "ourbrand"), Target("1801"))


@respx.mock
def test_instagram_unhide_with_an_expired_token_is_an_auth_error() -> None:
    respx.post(f"{IG}/1801").mock(
        return_value=httpx.Response(400, json=payload("instagram", "hide_error_auth"))
    )
    publisher = InstagramPublisher.create("IGQ.token", "17841400000000001")
    with pytest.raises(pb.AuthError, match="code 190"):
        publisher.unhide(Account("17841400000000001", "ourbrand"), Target("1801"))


# --- YouTube ----------------------------------------------------------------------------------


@respx.mock
def test_youtube_hide_holds_the_comment_for_review_and_costs_50_units() -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    observer = pb.RecordingObserver()
    publisher = YouTubePublisher.create("ya29.token", observer=observer)
    publisher.hide(Account("UCown", "@own"), Target("UgzAbc123.9xTroll", "UgzAbc123"))
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer ya29.token"
    assert request.url.params["id"] == "UgzAbc123.9xTroll"
    assert request.url.params["moderationStatus"] == "heldForReview"
    # The 204 is a success, charged as such.
    assert [(c.quota_cost, c.ok) for c in observer.calls] == [(50, True)]


@respx.mock
def test_youtube_empty_answer_is_still_an_error_for_replies() -> None:
    respx.post("https://www.googleapis.com/youtube/v3/comments").mock(
        return_value=httpx.Response(204)
    )
    publisher = YouTubePublisher.create("ya29.token")
    with pytest.raises(pb.PermanentError, match="empty body"):
        publisher.reply(Account("UCown", "@own"), Target("UgzAbc123"), "Hi", idempotency_key="k")


@respx.mock
def test_youtube_hide_of_a_deleted_comment_is_not_found() -> None:
    respx.post(YT_MODERATE).mock(
        return_value=httpx.Response(404, json=payload("youtube", "hide_error_not_found"))
    )
    publisher = YouTubePublisher.create("ya29.token")
    with pytest.raises(pb.NotFoundError):
        publisher.hide(Account("UCown", "@own"), Target("UgzGone"))


@respx.mock
def test_youtube_hide_backend_error_is_transient_and_not_retried_in_process() -> None:
    route = respx.post(YT_MODERATE).mock(
        return_value=httpx.Response(503, json=payload("youtube", "hide_error_backend"))
    )
    publisher = YouTubePublisher.create("ya29.token")
    with pytest.raises(pb.TransientError):
        publisher.hide(Account("UCown", "@own"), Target("UgzAbc123"))
    assert route.call_count == 1


@respx.mock
def test_youtube_unhide_publishes_the_held_comment_and_costs_50_units() -> None:
    route = respx.post(YT_MODERATE).mock(return_value=httpx.Response(204))
    observer = pb.RecordingObserver()
    publisher = YouTubePublisher.create("ya29.token", observer=observer)
    publisher.unhide(Account("UCown", "@own"), Target("UgzAbc123.9xTroll", "UgzAbc123"))
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer ya29.token"
    assert request.url.params["id"] == "UgzAbc123.9xTroll"
    assert request.url.params["moderationStatus"] == "published"
    assert [(c.quota_cost, c.ok) for c in observer.calls] == [(50, True)]


@respx.mock
def test_youtube_unhide_of_a_deleted_comment_is_not_found() -> None:
    respx.post(YT_MODERATE).mock(
        return_value=httpx.Response(404, json=payload("youtube", "hide_error_not_found"))
    )
    publisher = YouTubePublisher.create("ya29.token")
    with pytest.raises(pb.NotFoundError):
        publisher.unhide(Account("UCown", "@own"), Target("UgzGone"))


# --- dry run ----------------------------------------------------------------------------------


def test_dry_run_hide_records_each_comment_once_and_survives_a_new_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dry_run_replies.jsonl"
    publisher = DryRunPublisher(path)
    publisher.hide(Account("sim-own", "own"), Target("sim-c1"))
    publisher.hide(Account("sim-own", "own"), Target("sim-c1"))
    publisher.reply(Account("sim-own", "own"), Target("sim-c2"), "Thanks!", idempotency_key="k")
    again = DryRunPublisher(path)
    assert again.hidden == [{"account": "sim-own", "comment": "sim-c1"}]
    # Hides do not show up as replies, nor break finding our replies.
    assert [r["parent"] for r in again.sent] == ["sim-c2"]
    assert again.find_existing(Account("sim-own", "own"), Target("sim-c2"), "Thanks!")


def test_dry_run_unhide_shows_the_comment_again_and_survives_a_new_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dry_run_replies.jsonl"
    publisher = DryRunPublisher(path)
    publisher.unhide(Account("sim-own", "own"), Target("sim-c1"))  # never hidden: nothing
    publisher.hide(Account("sim-own", "own"), Target("sim-c1"))
    publisher.hide(Account("sim-own", "own"), Target("sim-c2"))
    publisher.unhide(Account("sim-own", "own"), Target("sim-c1"))
    publisher.unhide(Account("sim-own", "own"), Target("sim-c1"))
    again = DryRunPublisher(path)
    assert again.hidden == [{"account": "sim-own", "comment": "sim-c2"}]
    assert again.unhidden == [{"account": "sim-own", "comment": "sim-c1"}]
    # Hidden again after an unhide: recorded once more.
    again.hide(Account("sim-own", "own"), Target("sim-c1"))
    assert DryRunPublisher(path).hidden == [
        {"account": "sim-own", "comment": "sim-c2"},
        {"account": "sim-own", "comment": "sim-c1"},
    ]
