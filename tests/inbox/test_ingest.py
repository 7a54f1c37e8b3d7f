"""Polling comments into interactions: dedup, threading, fans, AI fields, provider failures,
and the polling schedule within the API budget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture
from socialpulse.accounts import budget
from socialpulse.accounts.models import AccountStatus, ApiUsage, Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import ingest, polling
from socialpulse.inbox.models import CommentPoll, Fan, Interaction, InteractionKind
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.worker.models import Job

BOX = SecretBox(TEST_SECRET_KEY)


def _poll_for(db: Database, post_id: int) -> int:
    with db.session() as session:
        poll = session.scalar(select(CommentPoll).where(CommentPoll.post_id == post_id))
        if poll is None:
            polling.ensure_polls(session, utcnow(), account_id=_account_of(session, post_id))
            poll = session.scalar(select(CommentPoll).where(CommentPoll.post_id == post_id))
        assert poll is not None
        return poll.id


def _account_of(session: Any, post_id: int) -> int:
    post = session.get(Post, post_id)
    assert post is not None
    return post.account_id


def _interactions(db: Database) -> dict[str, Interaction]:
    with db.session() as session:
        rows = session.scalars(select(Interaction)).all()
        session.expunge_all()
    return {row.external_id: row for row in rows}


@pytest.fixture
def post_poll(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
) -> int:
    account_id = make_account(db, ws.workspace_id)
    return _poll_for(db, make_post(db, account_id, "p1"))


def test_repolled_comments_are_stored_once_and_likes_refresh(
    db: Database, post_poll: int, scripted: Any, make_comment: Callable[..., pb.Comment]
) -> None:
    scripted.set_pages([make_comment("c1", "ann", "Great video!", likes=1)])
    first = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert (first.status, first.interactions_new) == ("completed", 1)
    scripted.set_pages(
        [
            make_comment("c1", "ann", "Great video!", likes=9),
            make_comment("c2", "bob", "Where can I buy the lamp?"),
        ]
    )
    second = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert (second.comments_seen, second.interactions_new) == (2, 1)
    stored = _interactions(db)
    assert sorted(stored) == ["c1", "c2"]
    assert stored["c1"].like_count == 9
    with db.session() as session:
        poll = session.get(CommentPoll, post_poll)
        assert poll is not None
        assert poll.interactions_seen == 2
        assert poll.last_error is None
        assert poll.last_polled_at is not None


def test_reply_arriving_before_its_parent_is_threaded_when_the_parent_comes(
    db: Database, post_poll: int, scripted: Any, make_comment: Callable[..., pb.Comment]
) -> None:
    scripted.set_pages([make_comment("r1", "bob", "Agreed!", parent="c1")])
    polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    reply = _interactions(db)["r1"]
    assert reply.kind == InteractionKind.reply
    assert reply.parent_id is None
    scripted.set_pages(
        [
            make_comment("c1", "ann", "This is the best tutorial"),
            make_comment("r2", "cid", "Same here", parent="c1"),
        ]
    )
    polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    stored = _interactions(db)
    assert stored["c1"].kind == InteractionKind.comment
    assert stored["r1"].parent_id == stored["c1"].id
    assert stored["r2"].parent_id == stored["c1"].id
    assert stored["c1"].parent_id is None


def test_one_fan_per_author_updated_with_the_latest_profile(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
    scripted: Any,
    make_comment: Callable[..., pb.Comment],
) -> None:
    account_id = make_account(db, ws.workspace_id)
    poll_1 = _poll_for(db, make_post(db, account_id, "p1"))
    poll_2 = _poll_for(db, make_post(db, account_id, "p2"))
    earlier = utcnow() - dt.timedelta(hours=1)
    scripted.set_pages(
        [make_comment("c1", "ann", "Love it", display_name="Ann", followers=10, at=earlier)]
    )
    polling.poll_post_comments(db, poll_1, box=BOX, source_factory=scripted.factory())
    scripted.set_pages(
        [
            make_comment(
                "c2", "ann_new", "Love this too", post="p2", followers=25, author_id="id-ann"
            ),
            make_comment("c3", "bob", "Nice", post="p2"),
        ]
    )
    polling.poll_post_comments(db, poll_2, box=BOX, source_factory=scripted.factory())
    with db.session() as session:
        fans = {f.external_id: f for f in session.scalars(select(Fan))}
        session.expunge_all()
    assert sorted(fans) == ["id-ann", "id-bob"]
    ann = fans["id-ann"]
    # Renamed handle and new follower count taken; the display name the platform omitted kept.
    assert (ann.handle, ann.display_name, ann.followers_count) == ("ann_new", "Ann", 25)
    assert ann.interactions_count == 2
    stored = _interactions(db)
    assert stored["c1"].fan_id == stored["c2"].fan_id == ann.id
    assert stored["c3"].fan_id == fans["id-bob"].id


def test_comments_by_the_account_itself_are_answered_and_have_no_fan(
    db: Database, post_poll: int, scripted: Any
) -> None:
    own = pb.Comment(
        platform=pb.Platform.SIMULATED,
        external_id="own1",
        post_external_id="p1",
        parent_external_id=None,
        author_external_id="simulated-brand",
        author_handle="brand",
        text="Thanks everyone for watching!",
        posted_at=utcnow() - dt.timedelta(minutes=5),
    )
    scripted.set_pages([own])
    polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    stored = _interactions(db)["own1"]
    assert stored.fan_id is None
    assert stored.status.value == "answered"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Fan)) == 0


def test_new_interactions_carry_the_text_analysis(
    db: Database, post_poll: int, scripted: Any, make_comment: Callable[..., pb.Comment]
) -> None:
    scripted.set_pages(
        [
            make_comment("happy", "ann", "I absolutely love this, amazing work, thank you!"),
            make_comment(
                "angry", "bob", "Terrible quality, it broke after one day. I want a refund"
            ),
            make_comment("spanish", "cid", "¿Dónde puedo comprar esta camiseta? Me encanta"),
        ]
    )
    polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    stored = _interactions(db)
    happy, angry, spanish = stored["happy"], stored["angry"], stored["spanish"]
    assert happy.ai_sentiment == "positive"
    assert angry.ai_sentiment == "negative"
    assert angry.ai_intent == "complaint"
    assert angry.priority == ingest.INTENT_PRIORITY["complaint"] > happy.priority
    assert spanish.ai_language == "es"
    for item in (happy, angry, spanish):
        assert item.ai_model_version
        assert item.ai_sentiment_confidence is not None
        assert item.ai_intent_confidence is not None
        assert item.ai_evidence is not None
    assert angry.ai_evidence is not None
    complaint = angry.ai_evidence["intents"]["complaint"]
    assert complaint["fired"] is True
    assert complaint["evidence"], "the complaint label says why it fired"


def test_oldest_first_platforms_resume_from_the_last_page(
    db: Database, post_poll: int, scripted: Any, make_comment: Callable[..., pb.Comment]
) -> None:
    scripted.set_pages(
        [make_comment("a", "ann", "first")],
        [make_comment("b", "bob", "second")],
        [make_comment("c", "cid", "third")],
    )
    result = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert result.interactions_new == 3
    assert scripted.calls == [None, "1", "2"]
    scripted.calls.clear()
    polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert scripted.calls == ["2"]  # only the last page again, not the whole history


def test_newest_first_platforms_stop_at_the_first_page_without_news(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
    scripted: Any,
    make_comment: Callable[..., pb.Comment],
) -> None:
    account_id = make_account(db, ws.workspace_id, platform="youtube", handle="tube")
    poll_id = _poll_for(db, make_post(db, account_id, "v1"))
    yt = pb.Platform.YOUTUBE
    older = [make_comment(f"o{i}", f"user{i}", "nice", post="v1", platform=yt) for i in range(3)]
    scripted.set_pages(older[:2], older[2:])
    polling.poll_post_comments(db, poll_id, box=BOX, source_factory=scripted.factory())
    newest = make_comment("n1", "zed", "new one", post="v1", platform=yt)
    scripted.set_pages([newest, older[0]], older[1:2], older[2:])
    scripted.calls.clear()
    result = polling.poll_post_comments(db, poll_id, box=BOX, source_factory=scripted.factory())
    assert result.interactions_new == 1
    assert scripted.calls == [None, "1"]  # page 2 was all known: page 3 never requested
    with db.session() as session:
        poll = session.get(CommentPoll, poll_id)
        assert poll is not None and poll.cursor is None


def test_budget_exhausted_defers_the_poll_to_the_next_quota_day(
    db: Database, ws: WorkspaceFixture, post_poll: int, scripted: Any
) -> None:
    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 10, 0.8)
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="simulated",
                day=budget.quota_day("simulated"),
                quota_units=8,
            )
        )
    before = utcnow()
    result = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert result.status == "deferred"
    assert scripted.calls == []  # nothing was sent
    assert result.next_poll_at is not None
    wait = (result.next_poll_at - before).total_seconds()
    assert wait == pytest.approx(budget.seconds_until_next_quota_day("simulated", before), abs=5)
    with db.session() as session:
        poll = session.get(CommentPoll, post_poll)
        assert poll is not None and poll.last_error is not None
        assert "budget" in poll.last_error
        usage = session.scalar(select(ApiUsage.deferred))
    assert usage == 1


def test_rejected_credentials_mark_the_account_needs_reconnect(
    db: Database, post_poll: int, scripted: Any
) -> None:
    scripted.error = pb.AuthError("token expired", platform="simulated", endpoint="comments")
    result = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert result.status == "failed"
    with db.session() as session:
        account = session.scalars(select(TrackedAccount)).one()
        poll = session.get(CommentPoll, post_poll)
        assert poll is not None
        assert account.status == AccountStatus.needs_reconnect
        assert account.status_message is not None and "reconnect" in account.status_message
        assert poll.last_error == account.status_message


def test_platform_down_retries_later_and_keeps_the_poll(
    db: Database, post_poll: int, scripted: Any
) -> None:
    scripted.error = pb.TransientError(
        "503 from upstream", platform="simulated", endpoint="comments", retry_after=1800
    )
    before = utcnow()
    result = polling.poll_post_comments(db, post_poll, box=BOX, source_factory=scripted.factory())
    assert result.status == "retry"
    assert result.next_poll_at is not None
    assert (result.next_poll_at - before).total_seconds() == pytest.approx(1800, abs=5)
    with db.session() as session:
        poll = session.get(CommentPoll, post_poll)
        account = session.scalars(select(TrackedAccount)).one()
        assert poll is not None and poll.last_error is not None
        assert "did not answer" in poll.last_error
        assert account.status == AccountStatus.ok


def test_platform_without_comments_is_skipped_with_a_reason(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
    scripted: Any,
) -> None:
    account_id = make_account(db, ws.workspace_id, platform="tiktok", handle="dancer")
    post_id = make_post(db, account_id, "t1")
    with db.session() as session:
        # No poll is ever created for TikTok on schedule; one made by hand is skipped.
        assert polling.ensure_polls(session, utcnow()) == 0
        poll = CommentPoll(workspace_id=ws.workspace_id, account_id=account_id, post_id=post_id)
        session.add(poll)
        session.flush()
        poll_id = poll.id
    result = polling.poll_post_comments(db, poll_id, box=BOX, source_factory=scripted.factory())
    assert result.status == "skipped"
    assert result.error is not None and "TikTok does not let applications read comments" in (
        result.error
    )
    assert scripted.calls == []


# --- the schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_hours", "active", "minutes"),
    [
        (2, True, 15),
        (2, False, 60),
        (30, True, 60),
        (30, False, 360),
        (100, True, 360),
        (200, True, 1440),
        (200, False, 1440),
    ],
)
def test_poll_interval_grows_with_post_age_and_quiet(
    age_hours: float, active: bool, minutes: float
) -> None:
    assert polling.poll_interval_s(age_hours * 3600, active) == minutes * 60


def test_budget_plan_keeps_wanted_intervals_when_they_fit() -> None:
    demands = [polling.PollDemand(i, 15 * 60, 100 - i) for i in range(10)]
    plans = polling.fit_polls_to_budget(demands, remaining_units=8000, horizon_s=86_400)
    assert [p.interval_s for p in plans] == [15 * 60] * 10
    assert sum(p.units for p in plans) == 10 * 96


def test_budget_plan_stretches_intervals_to_fit_the_remaining_units() -> None:
    # 100 videos every 15 minutes for a day is 9,600 units: more than the 8,000 usable of 10,000.
    demands = [polling.PollDemand(i, 15 * 60, 1.0) for i in range(100)]
    plans = polling.fit_polls_to_budget(demands, remaining_units=8000, horizon_s=86_400)
    assert all(p.interval_s is not None and p.interval_s > 15 * 60 for p in plans)
    assert sum(p.units for p in plans) <= 8000
    assert sum(p.units for p in plans) >= 7000  # the budget is used, not wasted


def test_budget_plan_skips_lowest_priority_polls_when_even_daily_polls_do_not_fit() -> None:
    demands = [polling.PollDemand(i, 3600, float(i)) for i in range(10)]
    plans = polling.fit_polls_to_budget(demands, remaining_units=3, horizon_s=86_400)
    kept = [p.poll_id for p in plans if p.interval_s is not None]
    assert kept == [9, 8, 7]
    assert all(p.interval_s == polling.MAX_INTERVAL_S for p in plans if p.interval_s)


def test_schedule_creates_polls_for_recent_own_posts_and_queues_due_ones(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
) -> None:
    own = make_account(db, ws.workspace_id, handle="mine")
    rival = make_account(db, ws.workspace_id, handle="rival")
    with db.session() as session:
        account = session.get(TrackedAccount, rival)
        assert account is not None
        account.is_own = False
    now = utcnow()
    fresh = make_post(db, own, "fresh", posted_at=now - dt.timedelta(hours=3))
    make_post(db, own, "ancient", posted_at=now - dt.timedelta(days=45))
    make_post(db, rival, "theirs", posted_at=now - dt.timedelta(hours=3))
    assert polling.schedule_polls(db, now) == 1
    with db.session() as session:
        polls = session.scalars(select(CommentPoll)).all()
        jobs = session.scalars(select(Job).where(Job.kind == "inbox.poll_comments")).all()
        assert [p.post_id for p in polls] == [fresh]
        assert [j.payload["poll_id"] for j in jobs] == [polls[0].id]
    # Polled a minute ago: a 3-hour-old post waits for its interval.
    with db.session() as session:
        poll = session.scalars(select(CommentPoll)).one()
        poll.last_polled_at = now - dt.timedelta(minutes=1)
        poll.next_poll_at = now
    with db.session() as session:
        session.execute(delete(Job))
    assert polling.schedule_polls(db, now) == 0


def test_schedule_never_queues_more_polls_than_the_budget_left(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
) -> None:
    account_id = make_account(db, ws.workspace_id)
    now = utcnow()
    for index in range(6):
        make_post(db, account_id, f"p{index}", posted_at=now - dt.timedelta(hours=index + 1))
    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 10, 1.0)
        session.add(
            ApiUsage(
                workspace_id=ws.workspace_id,
                platform="simulated",
                day=budget.quota_day("simulated", now),
                quota_units=7,
            )
        )
    queued = polling.schedule_polls(db, now)
    assert queued == 3
    with db.session() as session:
        polls = session.scalars(select(CommentPoll)).all()
        # Jobs run inline in tests: the three queued polls were tried (newest posts first).
        polled = {p.post_id for p in polls if p.last_polled_at is not None}
        names = dict(session.execute(select(Post.id, Post.external_id)).all())
        assert sorted(names[i] for i in polled) == ["p0", "p1", "p2"]
        waiting = [p for p in polls if p.last_polled_at is None]
        assert len(waiting) == 3
        assert all(p.next_poll_at > now for p in waiting)
        assert all(p.last_error and "next quota day" in p.last_error for p in waiting)


def test_periodic_schedule_function_queues_due_polls(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_post: Callable[..., int],
) -> None:
    from socialpulse.inbox import tasks

    make_post(db, make_account(db, ws.workspace_id), "p1")
    assert tasks.schedule_comment_polls() == {"queued": 1}
    # The poll ran (jobs run inline in tests) and set its next time: nothing is due now.
    assert tasks.schedule_comment_polls() == {"queued": 0}
