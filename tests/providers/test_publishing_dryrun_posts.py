"""The dry-run publisher's new posts: what the demo and the load benchmark publish through."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from socialpulse.providers.publishing import DryRunPublisher, PostDraft, PostPublisher


@dataclass
class Account:
    external_id: str = "acc-1"
    handle: str = "demo"


def test_a_published_post_is_found_again_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "dry.jsonl"
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    first = DryRunPublisher(path)
    assert isinstance(first, PostPublisher)
    published = first.publish_post(Account(), PostDraft(text="Launch  day!", idempotency_key="t1"))

    # A restarted worker has a fresh publisher reading the same file.
    again = DryRunPublisher(path)
    found = again.find_post(Account(), PostDraft("Launch day!", "t1"), since=started)
    assert found == published
    assert again.posts[0]["text"] == "Launch  day!"
    assert again.sent == []  # replies and posts are told apart


def test_find_post_ignores_other_accounts_older_posts_and_other_text(tmp_path: Path) -> None:
    publisher = DryRunPublisher(tmp_path / "dry.jsonl")
    publisher.publish_post(Account(), PostDraft(text="hello", idempotency_key="a"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    assert publisher.find_post(Account(), PostDraft("hello", "a"), since=later) is None
    since = later - dt.timedelta(minutes=1)
    assert publisher.find_post(Account("other"), PostDraft("hello", "a"), since=since) is None
    assert publisher.find_post(Account(), PostDraft("goodbye", "a"), since=since) is None
