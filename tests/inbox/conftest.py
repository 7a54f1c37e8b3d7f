"""Inbox fixtures: accounts and posts built directly, and a scripted comment source for
polls. The API is the real app's (`client` from tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from factories import WorkspaceFixture, add_account, add_post, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.providers import base as pb
from socialpulse.providers import registry


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "inbox-co")


def comment(
    external_id: str,
    author: str,
    text: str,
    *,
    post: str = "p1",
    parent: str | None = None,
    at: dt.datetime | None = None,
    platform: pb.Platform = pb.Platform.SIMULATED,
    display_name: str | None = None,
    followers: int | None = None,
    likes: int | None = None,
    author_id: str | None = None,
) -> pb.Comment:
    return pb.Comment(
        platform=platform,
        external_id=external_id,
        post_external_id=post,
        parent_external_id=parent,
        author_external_id=author_id or f"id-{author}",
        author_handle=author,
        author_display_name=display_name,
        author_followers_count=followers,
        text=text,
        posted_at=at or utcnow() - dt.timedelta(minutes=30),
        like_count=likes,
    )


@dataclass
class ScriptedSource:
    """A CommentSource answering from a script: page lists per cursor, or errors to raise."""

    pages: dict[str | None, pb.Page[pb.Comment]] = field(default_factory=dict)
    error: pb.ProviderError | None = None
    calls: list[str | None] = field(default_factory=list)
    observer: pb.CallObserver | None = None

    def list_comments(
        self, post_external_id: str, since_cursor: str | None = None
    ) -> pb.Page[pb.Comment]:
        if self.observer is not None:
            self.observer.before_call("simulated", "scripted.comments", 1)
        self.calls.append(since_cursor)
        if self.error is not None:
            raise self.error
        if self.observer is not None:
            self.observer.after_call(
                pb.ApiCall(
                    platform="simulated",
                    endpoint="scripted.comments",
                    status_code=200,
                    ok=True,
                    latency_ms=1.0,
                    quota_cost=1,
                )
            )
        return self.pages.get(since_cursor, pb.Page(items=()))

    def set_pages(self, *pages: Sequence[pb.Comment]) -> None:
        """Pages in order: page i is served for cursor None (i = 0) or str(i)."""
        self.pages = {}
        for index, items in enumerate(pages):
            cursor = None if index == 0 else str(index)
            following = str(index + 1) if index + 1 < len(pages) else None
            self.pages[cursor] = pb.Page(items=tuple(items), next_cursor=following)

    def factory(self) -> Callable[[registry.ProviderInfo, dict[str, Any], pb.CallObserver], Any]:
        def build(
            info: registry.ProviderInfo, credentials: dict[str, Any], observer: pb.CallObserver
        ) -> ScriptedSource:
            self.observer = observer
            return self

        return build


# Test modules cannot import this conftest by name (importlib mode), so helpers are fixtures.


@pytest.fixture
def make_account() -> Callable[..., int]:
    return add_account


@pytest.fixture
def make_post() -> Callable[..., int]:
    return add_post


@pytest.fixture
def make_comment() -> Callable[..., pb.Comment]:
    return comment


@pytest.fixture
def scripted() -> ScriptedSource:
    return ScriptedSource()
