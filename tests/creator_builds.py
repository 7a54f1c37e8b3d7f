"""Helpers of the creator tests: requests, reads and a creator source that counts or fails."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from factories import WorkspaceFixture
from socialpulse.billing.gate import CreditGate
from socialpulse.creators import service as creators_service
from socialpulse.creators import unlocks
from socialpulse.creators.models import Creator
from socialpulse.db import Database, utcnow
from socialpulse.worker import jobs
from socialpulse.worker.models import Job, JobStatus


def run_due(db: Database, *, now_due: bool = True) -> int:
    """Run every queued job (``now_due``: jobs waiting for a retry time are made due first)."""
    if now_due:
        with db.session() as session:
            session.query(Job).filter(Job.status == JobStatus.pending).update(
                {Job.run_after: utcnow()}
            )
    return jobs.drain(db)


def request(db: Database, ws: WorkspaceFixture, handle: str, platform: str = "simulated") -> int:
    with db.session() as session:
        return creators_service.request_report(
            session,
            platform=platform,
            handle=handle,
            workspace_id=ws.workspace_id,
            user_id=ws.owner_id,
        ).id


def unlock(db: Database, ws: WorkspaceFixture, creator_id: int) -> None:
    """The workspace's owner unlocks the creator (the API's unlock, through the credit gate):
    since #14 requesting a report grants no access to it."""
    gate = CreditGate(db, ws.subject, None)
    read = unlocks.unlock_via_gate(
        db, gate, workspace_id=ws.workspace_id, creator_id=creator_id, actor_user_id=ws.owner_id
    )
    assert read.access.state == "unlocked"


def creator(db: Database, creator_id: int) -> Creator:
    with db.session(readonly=True) as session:
        row = session.get(Creator, creator_id)
        assert row is not None
        session.expunge(row)
        return row


class CountingSource:
    """A creator source that records each call ("profile", "posts", "comments", "related"),
    raises ``crash`` once a call kind was made ``crash_after[kind]`` times, and raises
    ``fail[kind]`` on every call of that kind."""

    def __init__(
        self,
        inner: Any,
        calls: list[str],
        crash_after: dict[str, int],
        crash: type[BaseException] | None,
        *,
        fail: dict[str, BaseException] | None = None,
    ) -> None:
        self.inner = inner
        self.calls = calls
        self.crash_after = crash_after
        self.crash = crash
        self.fail = fail or {}

    def _call(self, kind: str) -> None:
        limit = self.crash_after.get(kind)
        if limit is not None and self.crash is not None and self.calls.count(kind) >= limit:
            raise self.crash(kind)
        if kind in self.fail:
            raise self.fail[kind]
        self.calls.append(kind)

    def creator_profile(self, handle: str) -> Any:
        self._call("profile")
        return self.inner.creator_profile(handle)

    def creator_posts(self, profile: Any, limit: int) -> Any:
        self._call("posts")
        return self.inner.creator_posts(profile, limit)

    def creator_comments(self, post: Any, limit: int) -> Any:
        self._call("comments")
        return self.inner.creator_comments(post, limit)

    def related_handles(self, profile: Any, posts: Sequence[Any]) -> Any:
        self._call("related")
        return self.inner.related_handles(profile, posts)
