"""Creator report fixtures: a workspace, jobs run by hand (no inline nudges), small builds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from factories import WorkspaceFixture, make_workspace
from socialpulse.config import Settings, get_settings
from socialpulse.creators import pipeline
from socialpulse.db import Database
from socialpulse.worker import jobs


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "creator-co")


@pytest.fixture
def other_ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "other-co")


@pytest.fixture
def manual_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued jobs wait for `run_due` instead of running inline after the commit."""
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)


@pytest.fixture
def small_builds(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Builds read 15 posts and 6 comments per post: the same steps, a fraction of the work."""
    settings = get_settings().model_copy(
        update={"creator_posts": 15, "creator_comments_per_post": 6}
    )
    monkeypatch.setattr(pipeline, "get_settings", lambda: settings)
    return settings


SourceWrapper = Callable[[Any], Any]


@pytest.fixture
def wrap_source(monkeypatch: pytest.MonkeyPatch) -> Callable[[SourceWrapper], None]:
    """Wrap the creator source the pipeline opens (to count calls or make them fail)."""

    def install(wrapper: SourceWrapper) -> None:
        original = pipeline.open_source

        def opened(*args: Any, **kwargs: Any) -> Any:
            return wrapper(original(*args, **kwargs))

        monkeypatch.setattr(pipeline, "open_source", opened)

    return install
