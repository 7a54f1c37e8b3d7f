"""Replies our budget deferred go out when the budget is raised, without waiting for the
platform's next quota day; replies held by the account's pace or another workspace's budget
keep waiting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.accounts.budget import quota_day
from socialpulse.accounts.models import ApiUsage
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Interaction, ReplyQueueItem, ReplyStatus
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.providers.http import reset_breakers
from socialpulse.providers.youtube.publish import YouTubePublisher

COMMENTS = "https://www.googleapis.com/youtube/v3/comments"


@pytest.fixture(autouse=True)
def _breakers() -> Any:
    reset_breakers()
    yield
    reset_breakers()


def _deferred_reply(db: Database, ws: WorkspaceFixture) -> int:
    """A YouTube reply the budget deferred: 7,990 of the 8,000 usable units are used and a
    reply costs 50."""
    account = add_account(db, ws.workspace_id, "youtube", handle="ourbrand", external_id="yt-own")
    interaction_id = add_interaction(
        db,
        account,
        external_id=f"comment-{ws.slug}",
        author_external_id="fan-1",
        author_handle="fan1",
        text="Love this video! When is part two?",
        posted_at=utcnow() - dt.timedelta(hours=1),
    )
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        item_id = replies.enqueue_reply(
            session, interaction, "Thanks! Soon.", created_by="user:1", now=utcnow()
        ).id
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="youtube",
                day=quota_day("youtube"),
                quota_units=7_990,
            )
        )
    return item_id


def _tick(db: Database) -> sender.TickResult:
    return sender.tick(
        db,
        now=utcnow() + dt.timedelta(minutes=1),
        publisher_factory=lambda acc, obs: YouTubePublisher.create("token", observer=obs),
    )


def _item(db: Database, item_id: int) -> ReplyQueueItem:
    with db.session() as session:
        row = session.get(ReplyQueueItem, item_id)
        assert row is not None
        return row


@respx.mock
def test_raising_the_budget_sends_the_replies_it_deferred(client: TestClient, db: Database) -> None:
    route = respx.post(COMMENTS).mock(return_value=httpx.Response(200, json={"id": "Ugx1"}))
    ws, other = make_workspace(db, "reply-co"), make_workspace(db, "rival")
    item_id, other_item_id = _deferred_reply(db, ws), _deferred_reply(db, other)
    assert _tick(db).deferred == 2 and not route.called
    parked_until = _item(db, other_item_id).scheduled_for
    assert parked_until > utcnow() + dt.timedelta(minutes=5)

    raised = client.put(
        "/api/v1/usage/budgets/youtube", json={"daily_units": 20_000}, headers=ws.headers()
    )
    assert raised.json()["released_jobs"] == 1
    assert _tick(db).sent == 1
    assert route.call_count == 1
    assert _item(db, item_id).status == ReplyStatus.sent
    # The other workspace's budget was not raised: its reply waits for the next quota day.
    other_item = _item(db, other_item_id)
    assert (other_item.status, other_item.scheduled_for) == (ReplyStatus.pending, parked_until)
