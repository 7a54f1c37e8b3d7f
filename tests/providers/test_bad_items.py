"""Every provider's list parsers skip one unreadable item (with a warning naming the platform
and the item) and keep the rest; text is made storable; non-http(s) URLs are dropped."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from socialpulse.providers.base import Comment, Post
from socialpulse.providers.bluesky import parse as bsky
from socialpulse.providers.instagram import parse as ig
from socialpulse.providers.items import MAX_URL, clean_text, http_url, scrub
from socialpulse.providers.mastodon import parse as masto
from socialpulse.providers.tiktok import parse as tt
from socialpulse.providers.youtube import parse as yt

PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "payloads"


def load(platform: str, name: str) -> Any:
    return json.loads((PAYLOADS / platform / name).read_text(encoding="utf-8"))


def _break_first(items: list[dict[str, Any]], *path: str) -> None:
    """Delete ``path`` (e.g. "created_at") from the first item."""
    target = items[0]
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


def _ids(parsed: list[Any]) -> list[str]:
    return [item.external_id for item in parsed]


# Each case: (platform, a payload, how to reach its list, what to break in the first item,
# how to parse it). The same payload parsed intact gives the full list.
CASES: list[tuple[str, str, str, Callable[[Any], list[Any]], Callable[[Any], list[Any]], tuple]] = [
    (
        "bluesky",
        "author_feed_page1.json",
        "feed item",
        lambda d: d["feed"],
        lambda d: bsky.parse_author_feed(d)[0],
        ("post", "author"),
    ),
    (
        "mastodon",
        "account_statuses_page1.json",
        "status",
        lambda d: d,
        lambda d: masto.parse_statuses(d, "mastodon.social"),
        ("created_at",),
    ),
    (
        "mastodon",
        "status_context.json",
        "reply",
        lambda d: d["descendants"],
        lambda d: masto.parse_context(d, "1", "mastodon.social"),
        ("account",),
    ),
    (
        "mastodon",
        "notifications_mentions.json",
        "mention",
        lambda d: [n for n in d if n.get("type") == "mention"],
        lambda d: masto.parse_mention_notifications(d, "mastodon.social"),
        ("status", "created_at"),
    ),
    (
        "mastodon",
        "conversations.json",
        "conversation",
        lambda d: d,
        lambda d: masto.parse_conversations(d, "mastodon.social"),
        ("last_status", "account"),
    ),
    (
        "youtube",
        "videos_page1.json",
        "video",
        lambda d: d["items"],
        yt.parse_videos,
        ("snippet",),
    ),
    (
        "youtube",
        "comment_threads_page1.json",
        "comment thread",
        lambda d: d["items"],
        lambda d: yt.parse_comment_threads(d)[0],
        ("snippet", "topLevelComment"),
    ),
    (
        "instagram",
        "media_page1.json",
        "media",
        lambda d: d["data"],
        lambda d: ig.parse_media_page(d, "1784")[0],
        ("timestamp",),
    ),
    (
        "instagram",
        "comments_page1.json",
        "comment",
        lambda d: d["data"],
        lambda d: ig.parse_comments(d, "1790")[0],
        ("timestamp",),
    ),
    (
        "tiktok",
        "video_list_page1.json",
        "video",
        lambda d: d["data"]["videos"],
        lambda d: tt.parse_video_list(d, "open-id")[0],
        ("create_time",),
    ),
]


@pytest.mark.parametrize(
    ("platform", "name", "what", "items_of", "parse", "broken"),
    CASES,
    ids=[f"{c[0]}-{c[1].removesuffix('.json')}" for c in CASES],
)
def test_one_unreadable_item_is_skipped_and_the_rest_kept(
    platform: str,
    name: str,
    what: str,
    items_of: Callable[[Any], list[Any]],
    parse: Callable[[Any], list[Any]],
    broken: tuple[str, ...],
) -> None:
    intact = load(platform, name)
    everything = _ids(parse(copy.deepcopy(intact)))
    assert len(everything) >= 2, "the payload needs several items for this test"

    damaged = copy.deepcopy(intact)
    _break_first(items_of(damaged), *broken)
    with capture_logs() as logs:
        kept = _ids(parse(damaged))

    assert kept, "the other items must survive"
    assert set(kept) < set(everything)
    skipped = [e for e in logs if e["event"] == "provider.item.skipped"]
    assert len(skipped) == 1
    assert skipped[0]["platform"] == platform
    assert skipped[0]["item"] == what
    assert skipped[0]["log_level"] == "warning"
    assert isinstance(skipped[0]["item_id"], str) and skipped[0]["item_id"]


def test_lone_surrogates_and_nul_become_replacement_characters() -> None:
    assert clean_text("ok") == "ok"
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("\udfff") == "\ufffd"
    assert clean_text("nul\x00here") == "nul\ufffdhere"
    # A pair written as two escapes is one character, not two replacements.
    assert clean_text("\ud83d\ude00") == "😀"
    assert scrub({"k\ud800": ["x\ud800", 1, None]}) == {"k\ufffd": ["x\ufffd", 1, None]}
    for text in ("a\ud800b", "\x00", "\udc00\ud800"):
        clean_text(text).encode("utf-8")  # storable


def test_mastodon_status_with_a_javascript_url_keeps_the_post_without_the_link() -> None:
    statuses = load("mastodon", "account_statuses_page1.json")
    statuses[0]["url"] = "javascript:alert(document.cookie)"
    statuses[0]["uri"] = "javascript:alert(2)"
    statuses[0]["account"]["url"] = "data:text/html,<script>alert(1)</script>"
    with capture_logs() as logs:
        posts = masto.parse_statuses(statuses, "mastodon.social")
    first = posts[0]
    assert isinstance(first, Post)
    assert first.url is None
    refused = [e for e in logs if e["event"] == "provider.url.refused"]
    assert refused and refused[0]["scheme"] == "javascript"


def test_mastodon_profile_from_a_hostile_instance_is_made_storable() -> None:
    account = load("mastodon", "account_lookup.json")
    account["url"] = "javascript:alert(1)"
    account["avatar"] = "file:///etc/passwd"
    account["display_name"] = "x" * 1000 + "\ud800"
    profile = masto.parse_account(account, "mastodon.social")
    assert profile.profile_url is None
    assert profile.avatar_url is None
    assert len(profile.display_name) == 255
    profile.display_name.encode("utf-8")


def test_bluesky_reply_with_an_unsafe_avatar_keeps_the_reply() -> None:
    thread = load("bluesky", "get_post_thread.json")
    thread["thread"]["replies"][0]["post"]["author"]["avatar"] = "javascript:alert(1)"
    comments = bsky.parse_thread(thread)
    bob = next(c for c in comments if c.author_handle == "bob.example.com")
    assert isinstance(bob, Comment)
    assert bob.author_avatar_url is None


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://cdn.example/a.jpg", True),
        ("http://cdn.example/a.jpg", True),
        ("HTTPS://cdn.example/a.jpg", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("file:///etc/passwd", False),
        ("//cdn.example/a.jpg", False),
        ("https://cdn.example/" + "a" * MAX_URL, False),
        ("", None),
        (None, None),
    ],
)
def test_http_url_keeps_only_http_urls_that_fit(value: str | None, kept: bool | None) -> None:
    result = http_url(value, platform="test", what="url")
    if kept:
        assert result == str(value).strip()
    else:
        assert result is None
