"""Shared steps of the alert tests: rules saved through the service, history written as a
fetch and the inbox write it, evaluation as the job runs it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from factories import WorkspaceFixture, make, make_interaction
from socialpulse.accounts.models import AccountSnapshot, TrackedAccount
from socialpulse.alerts import evaluation, service
from socialpulse.alerts.models import Alert, AlertRule
from socialpulse.alerts.schemas import AlertRuleCreate
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import InteractionKind


def add_rule(db: Database, ws: WorkspaceFixture, account_id: int, **body: Any) -> int:
    with db.session() as session:
        return service.create_rule(session, ws.subject, account_id, AlertRuleCreate(**body)).id


def snapshot(
    db: Database,
    account_id: int,
    day: dt.date,
    followers: int | None = 1000,
    engagement_rate: float | None = None,
) -> None:
    """Write (or overwrite) the account's snapshot of `day`."""
    with db.session() as session:
        existing = session.scalar(
            select(AccountSnapshot).where(
                AccountSnapshot.account_id == account_id, AccountSnapshot.day == day
            )
        )
        if existing is None:
            make(
                session,
                AccountSnapshot,
                account_id=account_id,
                day=day,
                followers_count=followers,
                engagement_rate=engagement_rate,
            )
        else:
            session.execute(
                update(AccountSnapshot)
                .where(AccountSnapshot.id == existing.id)
                .values(followers_count=followers, engagement_rate=engagement_rate)
            )


def comments(
    db: Database,
    account_id: int,
    n: int,
    hours_ago: float,
    sentiment: str = "negative",
    kind: InteractionKind = InteractionKind.comment,
) -> None:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        for _ in range(n):
            make_interaction(
                session,
                account,
                kind=kind,
                ai_sentiment=sentiment,
                posted_at=utcnow() - dt.timedelta(hours=hours_ago),
            )


def evaluate(db: Database, account_id: int, *, smtp: bool = False) -> list[int]:
    with db.session() as session:
        return evaluation.evaluate_account(session, account_id, smtp_configured=smtp)


def alerts(db: Database) -> list[Alert]:
    with db.session(readonly=True) as session:
        rows = list(session.scalars(select(Alert).order_by(Alert.id)))
        session.expunge_all()
    return rows


def rule_row(db: Database, rule_id: int) -> AlertRule:
    with db.session(readonly=True) as session:
        row = session.get(AlertRule, rule_id)
        assert row is not None
        session.expunge(row)
    return row
