"""The first response time kept by triggers (``interactions.first_response_us``, migration
0011) follows ``answered_at`` on every write path, and the inbox overview's median read from it
equals the median recomputed from the timestamps."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from pathlib import Path

import pytest
from sqlalchemy import select, update

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.inbox import analytics
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import Interaction, InteractionStatus
from socialpulse.inbox.replies import sender
from socialpulse.inbox.replies import service as replies
from socialpulse.providers.publishing import DryRunPublisher
from socialpulse.providers.simulated import publish as simulated_publish

NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "first-response")


def _stored(db: Database) -> dict[int, tuple[int | None, int | None]]:
    """By id: (first_response_us as kept, answered_at - posted_at recomputed)."""
    with db.session(readonly=True) as s:
        rows = s.execute(
            select(
                Interaction.id,
                Interaction.first_response_us,
                Interaction.posted_at,
                Interaction.answered_at,
            )
        ).all()
    return {
        ident: (kept, None if answered is None else (answered - posted) // MICROSECOND)
        for ident, kept, posted, answered in rows
    }


def test_first_response_follows_answered_at_on_every_write_path(
    db: Database, ws: WorkspaceFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = add_account(db, ws.workspace_id, handle="ourbrand", external_id="own")
    posted = NOW - dt.timedelta(hours=3, microseconds=123_457)

    def interaction(n: int, **fields: object) -> int:
        return add_interaction(
            db, account, external_id=f"c{n}", posted_at=posted + n * MICROSECOND, **fields
        )

    inserted = interaction(1, answered_at=NOW + dt.timedelta(microseconds=999_999))
    unanswered = interaction(2)
    by_hand = interaction(3)
    by_reply = interaction(4)
    moved = interaction(5, answered_at=NOW)
    early = interaction(6, answered_at=posted - dt.timedelta(minutes=1))  # clock skew
    assert _stored(db)[unanswered] == (None, None)

    # An ORM update (marking answered by hand), then a Core update (the reply sender).
    with db.session() as s:
        inbox_service.update_interaction(s, ws.subject, by_hand, status=InteractionStatus.answered)
    dry = DryRunPublisher(tmp_path / "dry.jsonl")
    monkeypatch.setattr(simulated_publish, "dry_run_publisher", lambda path=None: dry)
    with db.session() as s:
        target = s.get(Interaction, by_reply)
        assert target is not None
        replies.enqueue_reply(s, target, "Thanks!", created_by="user:1", now=NOW)
    assert sender.tick(db, now=NOW + dt.timedelta(minutes=1)).sent == 1
    # Moving posted_at recomputes too; leaving "answered" keeps answered_at and the value.
    with db.session() as s:
        s.execute(
            update(Interaction)
            .where(Interaction.id == moved)
            .values(posted_at=posted - dt.timedelta(days=1))
        )
        inbox_service.update_interaction(s, ws.subject, by_hand, status=InteractionStatus.unread)

    stored = _stored(db)
    for ident in (inserted, by_hand, by_reply, moved, early):
        kept, recomputed = stored[ident]
        assert recomputed is not None
        assert kept == recomputed, ident
    assert stored[early][0] is not None and stored[early][0] < 0
    assert stored[unanswered] == (None, None)


def _median(gaps: list[dt.timedelta]) -> float:
    """The overview's figure, recomputed from timestamps as it was before the column."""
    return round(statistics.median(max(0.0, gap.total_seconds() / 60) for gap in gaps), 2)


@pytest.mark.parametrize("answered", [1, 8, 9])
def test_overview_median_equals_the_median_recomputed_from_timestamps(
    db: Database, ws: WorkspaceFixture, answered: int
) -> None:
    draw = random.Random(answered)
    account = add_account(db, ws.workspace_id)
    gaps = [
        dt.timedelta(microseconds=draw.randrange(-60_000_000, 3 * 86_400_000_000))
        for _ in range(answered)
    ]
    for n, gap in enumerate(gaps):
        posted = NOW - dt.timedelta(days=n % 20, microseconds=draw.randrange(10**9))
        add_interaction(
            db,
            account,
            external_id=f"a{n}",
            posted_at=posted,
            status=InteractionStatus.answered,
            answered_at=posted + gap,
        )
    add_interaction(db, account, external_id="open", posted_at=NOW - dt.timedelta(hours=1))
    with db.session(readonly=True) as s:
        result = analytics.overview(s, ws.subject, 30, now=NOW)
    assert result.median_sample_size == answered
    assert result.median_first_response_minutes == _median(gaps)


def test_overview_median_takes_the_most_recently_posted_sample(
    db: Database, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics, "MEDIAN_SAMPLE", 3)
    account = add_account(db, ws.workspace_id)
    minutes = [5, 50, 7, 1000, 2000]  # oldest posted first; the sample is the last three
    for n, gap in enumerate(minutes):
        posted = NOW - dt.timedelta(days=len(minutes) - n)
        add_interaction(
            db,
            account,
            external_id=f"s{n}",
            posted_at=posted,
            status=InteractionStatus.answered,
            answered_at=posted + dt.timedelta(minutes=gap),
        )
    with db.session(readonly=True) as s:
        result = analytics.overview(s, ws.subject, 30, now=NOW)
    assert (result.median_first_response_minutes, result.median_sample_size) == (1000.0, 3)
