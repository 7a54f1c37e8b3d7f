"""Where the reply queue stands per account (limits in force, overdue, time to clear) and the
warning about a workflow auto-replying too often in a day."""

from __future__ import annotations

import datetime as dt

import pytest

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.accounts.models import AccountStatus
from socialpulse.db import Database
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import ReplyQueueItem, ReplyStatus, Workflow
from socialpulse.inbox.replies import backlog
from socialpulse.inbox.replies import service as reply_service
from socialpulse.inbox.replies.pacing import ReplyLimits

NOW = dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "backlog-co")


def _queue(
    db: Database,
    ws: WorkspaceFixture,
    account_id: int,
    n: int,
    *,
    start: dt.datetime,
    created_by: str = "user:1",
    status: ReplyStatus = ReplyStatus.pending,
) -> None:
    with db.session() as session:
        for i in range(n):
            interaction_id = add_interaction(
                db, account_id, external_id=f"{created_by}-{start.isoformat()}-{i}"
            )
            session.add(
                ReplyQueueItem(
                    workspace_id=ws.workspace_id,
                    account_id=account_id,
                    interaction_id=interaction_id,
                    platform="simulated",
                    text=f"thanks {i}",
                    status=status,
                    scheduled_for=start + dt.timedelta(minutes=i),
                    idempotency_key=f"{created_by}-{start.isoformat()}-{i}",
                    created_by=created_by,
                    created_at=NOW - dt.timedelta(minutes=5),
                )
            )


def test_backlog_shows_limits_overdue_and_time_to_clear(db: Database, ws: WorkspaceFixture) -> None:
    late = add_account(db, ws.workspace_id, handle="late_shop")
    calm = add_account(db, ws.workspace_id, handle="calm_shop")
    with db.session() as session:
        # 10 s apart + 0–10 s at random (mean 5): 15 s a reply, within 30 a minute, 600 an hour.
        reply_service.set_limits(session, ws.subject, late, ReplyLimits(600, 30, 10.0, 0.0, 10.0))
    _queue(db, ws, late, 4, start=NOW - dt.timedelta(minutes=2))
    _queue(db, ws, calm, 1, start=NOW + dt.timedelta(minutes=10))
    with db.session(readonly=True) as session:
        rows = {row.handle: row for row in backlog.account_backlogs(session, ws.subject, NOW)}
    assert [rows["late_shop"].waiting, rows["calm_shop"].waiting] == [4, 1]
    assert rows["late_shop"].overdue and not rows["calm_shop"].overdue
    assert rows["late_shop"].custom_limits and not rows["calm_shop"].custom_limits
    assert rows["late_shop"].time_to_clear == dt.timedelta(seconds=60)
    assert rows["late_shop"].next_send == NOW - dt.timedelta(minutes=2)
    assert not rows["late_shop"].paused


def test_an_account_to_reconnect_is_shown_as_paused(db: Database, ws: WorkspaceFixture) -> None:
    stalled = add_account(
        db, ws.workspace_id, handle="stalled", status=AccountStatus.needs_reconnect
    )
    _queue(db, ws, stalled, 1, start=NOW - dt.timedelta(hours=1))
    with db.session(readonly=True) as session:
        [row] = backlog.account_backlogs(session, ws.subject, NOW)
    assert row.paused and row.overdue and row.waiting == 1


def test_a_slow_hourly_cap_sets_the_pace_of_the_backlog() -> None:
    # 6 an hour: one every 10 minutes, whatever the minimum interval says.
    gap = backlog.planned_gap(ReplyLimits(6, 2, 1.0, 0.0, 0.0))
    assert gap == dt.timedelta(minutes=10)


def test_a_workflow_auto_replying_past_the_daily_warning_is_named(
    db: Database, ws: WorkspaceFixture
) -> None:
    account = add_account(db, ws.workspace_id)
    with db.session() as session:
        workflow = Workflow(workspace_id=ws.workspace_id, name="Thank every fan")
        session.add(workflow)
        session.flush()
        workflow_id = workflow.id
        inbox_service.update_settings(session, ws.subject, {"auto_reply_daily_warning": 3})
    source = f"workflow:{workflow_id}"
    _queue(db, ws, account, 4, start=NOW, created_by=source, status=ReplyStatus.sent)
    _queue(db, ws, account, 3, start=NOW, created_by="workflow:999999")  # at the level: fine
    with db.session(readonly=True) as session:
        warnings = backlog.auto_reply_warnings(session, ws.subject, NOW)
        assert [(w.workflow_name, w.count, w.threshold) for w in warnings] == [
            ("Thank every fan", 4, 3)
        ]
        # Yesterday's replies do not count toward today.
        assert backlog.auto_reply_warnings(session, ws.subject, NOW + dt.timedelta(days=1)) == []


def test_the_daily_warning_defaults_to_fifty(db: Database, ws: WorkspaceFixture) -> None:
    with db.session(readonly=True) as session:
        assert backlog.daily_warning_threshold(session, ws.subject) == 50
        assert inbox_service.get_inbox_settings(session, ws.subject).auto_reply_daily_warning == 50
