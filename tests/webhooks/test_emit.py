"""Who gets an event: the workspace's subscriptions to its type, in the emitter's transaction;
and the events the inbox and the creator reports emit where they happen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from creator_builds import request, run_due
from factories import WorkspaceFixture, add_account, add_interaction, add_post, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import get_settings
from socialpulse.creators import pipeline
from socialpulse.db import Database, utcnow
from socialpulse.inbox import ingest
from socialpulse.inbox.models import Interaction, ReplyQueueItem
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.providers import base as pb
from socialpulse.providers.publishing import DryRunPublisher
from socialpulse.providers.simulated import publish as simulated_publish
from socialpulse.webhooks import service
from socialpulse.worker import jobs
from webhooks.conftest import Receiver
from webhooks.helpers import deliveries, emit, subscribe


def test_an_event_goes_only_to_this_workspaces_subscriptions_to_its_type(
    db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver, "/wanted", ["interaction.received", "reply.sent"])
    subscribe(db, ws, receiver, "/replies-only", ["reply.sent"])
    subscribe(db, other_ws, receiver, "/other-workspace", ["interaction.received"])

    emit(db, ws.workspace_id, "interaction.received", {"id": 1})

    assert [r.path for r in receiver.received] == ["/wanted"]
    assert [(d.workspace_id, d.event_type) for d in deliveries(db)] == [
        (ws.workspace_id, "interaction.received")
    ]


def test_a_rolled_back_change_emits_nothing(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)

    def failing_change() -> None:
        with db.session() as session:
            service.emit_event(session, ws.workspace_id, "interaction.received", {"id": 1})
            raise RuntimeError("the emitter's own change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    assert deliveries(db) == []
    assert receiver.received == []


def test_an_unknown_event_type_is_a_bug_at_the_call_site(
    db: Database, ws: WorkspaceFixture
) -> None:
    with db.session() as session, pytest.raises(ValueError, match="post.exploded"):
        service.emit_event(session, ws.workspace_id, "post.exploded", {})


# --- interaction.received (inbox ingest) ----------------------------------------------------


def _comment(external_id: str, author_id: str, text: str) -> pb.Comment:
    return pb.Comment(
        platform=pb.Platform.SIMULATED,
        external_id=external_id,
        post_external_id="p1",
        parent_external_id=None,
        author_external_id=author_id,
        author_handle=author_id.removeprefix("id-"),
        author_display_name="A Fan",
        author_followers_count=None,
        text=text,
        posted_at=utcnow() - dt.timedelta(minutes=5),
        like_count=None,
    )


def _ingest(db: Database, account_id: int, post_id: int, *comments: pb.Comment) -> list[int]:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        return ingest.ingest_interactions(session, account, comments, post_id=post_id).new_ids


def test_a_new_comment_is_emitted_once_as_interaction_received(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)
    account_id = add_account(db, ws.workspace_id, external_id="own-account")
    post_id = add_post(db, account_id, "p1")
    comment = _comment("c1", "id-fan", "Where can I buy this? " + "x" * 400)

    [interaction_id] = _ingest(db, account_id, post_id, comment)
    assert _ingest(db, account_id, post_id, comment) == []  # polled again: nothing new

    [got] = receiver.received
    assert got.signature_ok
    data = got.event["data"]
    assert (data["id"], data["account_id"], data["post_id"]) == (
        interaction_id,
        account_id,
        post_id,
    )
    assert (data["platform"], data["kind"], data["external_id"]) == ("simulated", "comment", "c1")
    assert data["author"] == {"handle": "fan", "display_name": "A Fan", "external_id": "id-fan"}
    assert data["text_excerpt"] == comment.text[: ingest.EXCERPT_CHARS]
    assert data["text_truncated"] is True
    with db.session(readonly=True) as session:
        stored = session.get(Interaction, interaction_id)
        assert stored is not None
        assert (data["sentiment"], data["intent"]) == (stored.ai_sentiment, stored.ai_intent)


def test_the_accounts_own_replies_are_not_emitted(
    db: Database, ws: WorkspaceFixture, receiver: Receiver
) -> None:
    subscribe(db, ws, receiver)
    account_id = add_account(db, ws.workspace_id, external_id="own-account")
    post_id = add_post(db, account_id, "p1")
    _ingest(db, account_id, post_id, _comment("r1", "own-account", "Thanks everyone!"))
    assert receiver.received == []


# --- reply.sent (the reply queue) -----------------------------------------------------------


def test_a_sent_reply_is_emitted_as_reply_sent(
    db: Database,
    ws: WorkspaceFixture,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dry = DryRunPublisher(tmp_path / "dry.jsonl")
    monkeypatch.setattr(simulated_publish, "dry_run_publisher", lambda path=None: dry)
    subscribe(db, ws, receiver, types=["reply.sent"])
    account_id = add_account(db, ws.workspace_id, handle="ourbrand", external_id="own")
    interaction_id = add_interaction(
        db,
        account_id,
        external_id="c9",
        author_external_id="fan-9",
        author_handle="fan9",
        text="When is part two?",
        posted_at=utcnow() - dt.timedelta(hours=1),
    )
    now = utcnow()
    with db.session() as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        item_id = replies.enqueue_reply(
            session, interaction, "Next week!", created_by="user:1", now=now
        ).id

    assert sender.tick(db, now=now + dt.timedelta(minutes=1)).sent == 1
    assert sender.tick(db, now=now + dt.timedelta(minutes=5)).claimed == 0

    [got] = receiver.received
    data = got.event["data"]
    assert got.event["type"] == "reply.sent"
    assert (data["queue_item_id"], data["interaction_id"], data["account_id"]) == (
        item_id,
        interaction_id,
        account_id,
    )
    assert data["text"] == "Next week!"
    assert data["external_reply_id"] == dry.sent[0]["external_id"]
    with db.session(readonly=True) as session:
        item = session.get(ReplyQueueItem, item_id)
        assert item is not None and item.sent_at is not None
        assert data["sent_at"] == item.sent_at.isoformat()


# --- creator.report_ready (creator report builds) -------------------------------------------


@pytest.fixture
def small_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings().model_copy(
        update={"creator_posts": 15, "creator_comments_per_post": 6}
    )
    monkeypatch.setattr(pipeline, "get_settings", lambda: settings)
    monkeypatch.setattr(jobs, "nudge_job", lambda *_args: None)  # jobs wait for run_due


@pytest.mark.usefixtures("small_builds")
def test_a_finished_report_is_emitted_to_the_workspaces_that_asked_for_it(
    db: Database, ws: WorkspaceFixture, other_ws: WorkspaceFixture, receiver: Receiver
) -> None:
    bystander = make_workspace(db, "bystander-co")
    for fixture, path in [(ws, "/asked"), (other_ws, "/asked-later"), (bystander, "/not")]:
        subscribe(db, fixture, receiver, path, ["creator.report_ready"])

    creator_id = request(db, ws, "Alice_Cooks")
    # Another workspace searches while the build is queued: it waits for the same build.
    assert request(db, other_ws, "alice_cooks") == creator_id
    run_due(db)
    run_due(db)  # the deliveries the build queued

    assert sorted(r.path for r in receiver.received) == ["/asked", "/asked-later"]
    for got in receiver.received:
        assert got.signature_ok
        data = got.event["data"]
        assert (data["creator_id"], data["platform"], data["handle"]) == (
            creator_id,
            "simulated",
            "alice_cooks",
        )
        assert data["computed_at"] and isinstance(data["complete"], bool)
    # The report exists now: asking again builds nothing and emits nothing.
    request(db, ws, "alice_cooks")
    run_due(db)
    assert len(receiver.received) == len(deliveries(db)) == 2
