"""Fans and superfans: the users' rule (90 days, 10 interactions, 70 % positive), promotion
on arrival, demotion as the window moves, the score formulas over the same window, and the
nightly batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from sqlalchemy import select

from factories import WorkspaceFixture
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox import fans, ingest, service
from socialpulse.inbox.models import Fan, InboxSettings, Interaction
from socialpulse.providers import base as pb

START = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
POSITIVE = [
    "I love this, amazing work!",
    "This is wonderful, thank you so much!",
    "Best video ever, great job",
    "Absolutely fantastic, I love it",
    "So beautiful, great work",
    "Amazing tutorial, thanks a lot!",
    "You are the best, love your videos",
]
NEUTRAL = ["What camera do you use?", "Posted on Tuesday."]
NEGATIVE = ["This is awful, I hate it", "Terrible, worst video ever"]


def _ingest(
    db: Database,
    account_id: int,
    make_comment: Callable[..., pb.Comment],
    author: str,
    texts: list[str],
    *,
    prefix: str,
) -> ingest.IngestOutcome:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        comments = [
            make_comment(f"{prefix}-{index}", author, text) for index, text in enumerate(texts)
        ]
        return ingest.ingest_interactions(session, account, comments)


def _fan(db: Database, handle: str) -> Fan:
    with db.session() as session:
        fan = session.scalars(select(Fan).where(Fan.handle == handle)).one()
        session.expunge(fan)
        return fan


@pytest.fixture
def account_id(db: Database, ws: WorkspaceFixture, make_account: Callable[..., int]) -> int:
    return make_account(db, ws.workspace_id)


def test_promoted_at_exactly_ten_interactions_with_seventy_percent_positive(
    db: Database, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    with time_machine.travel(START, tick=False):
        first = _ingest(
            db, account_id, make_comment, "ann", POSITIVE + NEUTRAL, prefix="a"
        )  # 9 interactions, 7 positive: too few
        assert first.promoted == 0
        assert _fan(db, "ann").is_superfan is False
        tenth = _ingest(db, account_id, make_comment, "ann", NEUTRAL[:1], prefix="b")
        ann = _fan(db, "ann")
    assert tenth.promoted == 1
    assert ann.is_superfan is True
    assert ann.superfan_since == START
    assert (ann.interactions_count, ann.positive_count) == (10, 7)


def test_ten_interactions_below_seventy_percent_positive_is_not_a_superfan(
    db: Database, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    texts = POSITIVE[:6] + NEUTRAL + NEGATIVE  # 10 interactions, 60 % positive
    with time_machine.travel(START, tick=False):
        outcome = _ingest(db, account_id, make_comment, "bob", texts, prefix="b")
    bob = _fan(db, "bob")
    assert outcome.promoted == 0
    assert bob.interactions_count == 10
    assert bob.is_superfan is False
    assert bob.superfan_since is None


def test_superfan_kept_while_in_the_window_then_demoted_when_it_moves_on(
    db: Database, ws: WorkspaceFixture, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    with time_machine.travel(START, tick=False):
        _ingest(db, account_id, make_comment, "ann", POSITIVE + NEUTRAL + NEUTRAL[:1], prefix="a")
    with time_machine.travel(START + dt.timedelta(days=60), tick=False):
        kept = fans.evaluate_all(db, ws.workspace_id)
        assert kept == {"total_evaluated": 1, "promoted": 0, "demoted": 0}
        assert _fan(db, "ann").superfan_since == START
    # The comments were posted 30 minutes before START: 90 days and 1 hour later they are out.
    with time_machine.travel(START + dt.timedelta(days=90, hours=1), tick=False):
        moved = fans.evaluate_all(db)
    ann = _fan(db, "ann")
    assert moved == {"total_evaluated": 1, "promoted": 0, "demoted": 1}
    assert ann.is_superfan is False
    assert ann.superfan_since is None
    # The lifetime counters stay; the scores are over the window, now empty.
    assert ann.interactions_count == 10
    assert (ann.lifetime_value_score, ann.sentiment_score) == (0, 0.0)


def test_scores_follow_the_documented_formulas_over_the_window(
    db: Database, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    texts = POSITIVE[:2] + NEGATIVE[:1] + NEUTRAL[:1]
    _ingest(db, account_id, make_comment, "cid", texts, prefix="c")
    cid = _fan(db, "cid")
    with db.session() as session:
        priorities = list(
            session.scalars(select(Interaction.priority).where(Interaction.fan_id == cid.id))
        )
    average = sum(priorities) / len(priorities)
    assert (cid.interactions_count, cid.positive_count, cid.negative_count) == (4, 2, 1)
    assert cid.average_priority == pytest.approx(average)
    assert cid.lifetime_value_score == int(2 * 4 + 5 * 2 + average + 0.5)
    assert isinstance(cid.lifetime_value_score, int)
    assert cid.sentiment_score == pytest.approx((2 - 1) / 4)


def test_score_formula_edges() -> None:
    assert fans.lifetime_value_score(40, 30, 80.0) == 100  # capped
    assert fans.lifetime_value_score(1, 1, 45.0) == 52
    assert fans.lifetime_value_score(0, 0, 0.0) == 0
    # An integer, halves rounded up: 2 x 1 + 0.5 = 2.5 → 3, 2 x 1 + 0.49 → 2.
    assert fans.lifetime_value_score(1, 0, 0.5) == 3
    assert fans.lifetime_value_score(1, 0, 0.49) == 2
    assert all(
        isinstance(fans.lifetime_value_score(n, n // 2, p), int)
        for n in range(0, 60, 7)
        for p in (0.0, 33.3, 100.0)
    )
    assert fans.sentiment_score(0, 0, 0) == 0.0
    assert fans.sentiment_score(4, 0, 4) == -1.0


def test_raising_priority_rescores_the_fan(
    db: Database, ws: WorkspaceFixture, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    _ingest(db, account_id, make_comment, "dee", NEUTRAL[:1], prefix="d")
    before = _fan(db, "dee")
    with db.session() as session:
        item = session.scalars(select(Interaction)).one()
        service.update_interaction(session, ws.subject, item.id, priority=100)
    after = _fan(db, "dee")
    assert after.average_priority == 100.0
    assert before.lifetime_value_score == int(2 + before.average_priority + 0.5)
    assert after.lifetime_value_score == 100  # min(100, 2 x 1 + 5 x 0 + 100)


def test_nightly_batch_applies_the_workspace_thresholds_and_counts(
    db: Database, ws: WorkspaceFixture, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    with time_machine.travel(START, tick=False):
        _ingest(db, account_id, make_comment, "ann", POSITIVE[:3], prefix="a")
        _ingest(db, account_id, make_comment, "bob", POSITIVE[:2] + NEGATIVE, prefix="b")
        _ingest(db, account_id, make_comment, "cid", POSITIVE[:1], prefix="c")
        assert not any(_fan(db, h).is_superfan for h in ("ann", "bob", "cid"))
        with db.session() as session:
            session.add(
                InboxSettings(
                    workspace_id=ws.workspace_id,
                    superfan_min_interactions=3,
                    superfan_min_positive_ratio=0.6,
                )
            )
        counts = fans.evaluate_all(db)
    assert counts == {"total_evaluated": 3, "promoted": 1, "demoted": 0}
    assert _fan(db, "ann").is_superfan is True  # 3 of 3 positive
    assert _fan(db, "bob").is_superfan is False  # 2 of 4 positive: below 60 %
    assert _fan(db, "cid").is_superfan is False  # 1 interaction: too few
    again = fans.evaluate_all(db, now=START)
    assert again == {"total_evaluated": 3, "promoted": 0, "demoted": 0}


def test_nightly_batch_is_scoped_to_one_workspace_when_asked(
    db: Database,
    ws: WorkspaceFixture,
    account_id: int,
    make_account: Callable[..., int],
    make_comment: Callable[..., pb.Comment],
) -> None:
    from factories import make_workspace

    other = make_workspace(db, "other-co")
    other_account = make_account(db, other.workspace_id, handle="other")
    _ingest(db, account_id, make_comment, "ann", POSITIVE[:1], prefix="a")
    _ingest(db, other_account, make_comment, "zed", POSITIVE[:1], prefix="z")
    assert fans.evaluate_all(db, ws.workspace_id)["total_evaluated"] == 1
    assert fans.evaluate_all(db)["total_evaluated"] == 2


def test_nightly_periodic_function_reports_the_batch_counts(
    db: Database, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    from socialpulse.inbox import tasks

    _ingest(db, account_id, make_comment, "ann", POSITIVE[:2], prefix="a")
    assert tasks.nightly_superfans() == {"total_evaluated": 1, "promoted": 0, "demoted": 0}


def test_interactions_older_than_the_window_move_neither_score(
    db: Database, ws: WorkspaceFixture, account_id: int, make_comment: Callable[..., pb.Comment]
) -> None:
    recent = START - dt.timedelta(days=2)
    with time_machine.travel(START, tick=False), db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        ingest.ingest_interactions(
            session,
            account,
            [make_comment(f"new-{i}", "eve", POSITIVE[i], at=recent) for i in range(2)],
        )
    before = _fan(db, "eve")
    # Old complaints (91 and 200 days back), arriving late (a first import of old posts): they
    # count for the fan's lifetime counters, not for the scores.
    with time_machine.travel(START, tick=False), db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        old = [
            make_comment(f"old-{i}", "eve", NEGATIVE[i % 2], at=START - dt.timedelta(days=days))
            for i, days in enumerate((91, 120, 200, 200, 91))
        ]
        ingest.ingest_interactions(session, account, old)
    after = _fan(db, "eve")
    assert (before.interactions_count, after.interactions_count) == (2, 7)
    assert after.negative_count == 5
    assert after.lifetime_value_score == before.lifetime_value_score
    assert after.sentiment_score == before.sentiment_score == 1.0
    # Inside the window (89 days back), a complaint does move both.
    with time_machine.travel(START, tick=False), db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        ingest.ingest_interactions(
            session,
            account,
            [make_comment("inside", "eve", NEGATIVE[0], at=START - dt.timedelta(days=89))],
        )
    inside = _fan(db, "eve")
    with db.session(readonly=True) as session:
        window_priorities = list(
            session.scalars(
                select(Interaction.priority).where(
                    Interaction.fan_id == inside.id,
                    Interaction.posted_at >= START - dt.timedelta(days=90),
                )
            )
        )
    assert len(window_priorities) == 3
    average = sum(window_priorities) / 3
    assert inside.sentiment_score == round((2 - 1) / 3, 4)
    assert inside.lifetime_value_score == int(2 * 3 + 5 * 2 + average + 0.5)
    # The nightly batch uses the workspace's window too: 30 days leaves only the recent two.
    with db.session() as session:
        session.add(InboxSettings(workspace_id=ws.workspace_id, superfan_window_days=30))
    fans.evaluate_all(db, ws.workspace_id, now=START)
    narrowed = _fan(db, "eve")
    assert (narrowed.sentiment_score, narrowed.lifetime_value_score) == (
        1.0,
        before.lifetime_value_score,
    )
