"""Evaluating an account's alert rules after a fetch, and telling people when one fires.

``evaluate_account`` runs in the job's transaction: it measures each enabled rule, writes an
alert for a condition that starts to hold (once per episode: ``AlertRule.active_since``), re-arms
a rule whose condition cleared, and emits ``alert.fired`` to the webhooks in the same
transaction. ``notify`` e-mails the workspace's owners and admins afterwards, outside it: a
mail server that fails costs the e-mail (recorded on the alert), never the alert.

A rule that cannot be measured yet (no snapshot old enough, no engagement rate, an account
being removed) keeps its episode state: "unknown" neither fires nor re-arms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountSnapshot, AccountStatus, TrackedAccount
from socialpulse.alerts.models import Alert, AlertKind, AlertRule, EmailStatus
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Interaction, InteractionKind
from socialpulse.kit.mail import MailError, send_mail
from socialpulse.webhooks import service as webhooks_service
from socialpulse.workspaces.models import Membership, Role, User, Workspace

log = structlog.get_logger(__name__)

EVENT_TYPE = "alert.fired"
SPIKE_WINDOW = dt.timedelta(hours=24)
# Comments on the account's posts (top-level and replies); mentions and DMs are not "on a post".
COMMENT_KINDS = (InteractionKind.comment, InteractionKind.reply)
NOTIFIED_ROLES = (Role.owner, Role.admin)


@dataclass(frozen=True)
class Measurement:
    holds: bool
    value: float
    threshold: float
    baseline: float | None
    unit: str
    message: str


def _follower_drop(
    session: Session, rule: AlertRule, account: TrackedAccount
) -> Measurement | None:
    """The latest snapshot vs the oldest one of the `days` days before it (the whole window
    when the history is that long, what there is of it otherwise)."""
    known = select(AccountSnapshot.day, AccountSnapshot.followers_count).where(
        AccountSnapshot.account_id == account.id, AccountSnapshot.followers_count.is_not(None)
    )
    latest = session.execute(known.order_by(AccountSnapshot.day.desc()).limit(1)).first()
    if latest is None:
        return None
    base = session.execute(
        known.where(
            AccountSnapshot.day >= latest.day - dt.timedelta(days=rule.days),
            AccountSnapshot.day < latest.day,
        )
        .order_by(AccountSnapshot.day)
        .limit(1)
    ).first()
    if base is None:
        return None
    lost = base.followers_count - latest.followers_count
    percent = lost / base.followers_count * 100 if base.followers_count > 0 else None
    by_percent = rule.percent is not None and percent is not None and percent >= rule.percent
    by_count = rule.count is not None and lost >= rule.count
    shown = f" ({percent:.1f} %)" if percent is not None else ""
    message = (
        f"@{account.handle} lost {lost:,} followers{shown} since {base.day.isoformat()}: "
        f"{base.followers_count:,} → {latest.followers_count:,}"
    )
    if rule.percent is not None and percent is not None and (by_percent or not by_count):
        return Measurement(
            by_percent or by_count,
            round(percent, 4),
            rule.percent,
            base.followers_count,
            "percent",
            message,
        )
    threshold = float(rule.count) if rule.count is not None else float("inf")
    return Measurement(by_count, lost, threshold, base.followers_count, "followers", message)


def _engagement_drop(
    session: Session, rule: AlertRule, account: TrackedAccount
) -> Measurement | None:
    """The latest snapshot's engagement rate vs the average of the `days` days before it."""
    rated = select(AccountSnapshot.day, AccountSnapshot.engagement_rate).where(
        AccountSnapshot.account_id == account.id, AccountSnapshot.engagement_rate.is_not(None)
    )
    latest = session.execute(rated.order_by(AccountSnapshot.day.desc()).limit(1)).first()
    if latest is None:
        return None
    average = session.scalar(
        select(func.avg(AccountSnapshot.engagement_rate)).where(
            AccountSnapshot.account_id == account.id,
            AccountSnapshot.engagement_rate.is_not(None),
            AccountSnapshot.day >= latest.day - dt.timedelta(days=rule.days),
            AccountSnapshot.day < latest.day,
        )
    )
    if average is None or float(average) <= 0:
        return None
    average = float(average)
    drop = (average - latest.engagement_rate) / average * 100
    assert rule.percent is not None  # a checked engagement_drop rule has one
    return Measurement(
        drop >= rule.percent,
        round(drop, 4),
        rule.percent,
        average,
        "percent",
        f"@{account.handle}'s engagement rate is {latest.engagement_rate * 100:.2f} % on "
        f"{latest.day.isoformat()}, {drop:.1f} % below its {rule.days}-day average of "
        f"{average * 100:.2f} %",
    )


def _negative_spike(
    session: Session, rule: AlertRule, account: TrackedAccount, now: dt.datetime
) -> Measurement:
    """Negative comments of the last 24 h vs their daily average over the `days` days before."""
    start = now - SPIKE_WINDOW
    base_start = start - dt.timedelta(days=rule.days)
    recent = case((Interaction.posted_at >= start, 1), else_=0)
    row = session.execute(
        select(
            func.coalesce(func.sum(recent), 0).label("recent"),
            func.coalesce(func.sum(1 - recent), 0).label("before"),
        ).where(
            Interaction.workspace_id == account.workspace_id,
            Interaction.account_id == account.id,
            Interaction.kind.in_(COMMENT_KINDS),
            Interaction.ai_sentiment == "negative",
            Interaction.posted_at >= base_start,
            Interaction.posted_at <= now,
        )
    ).one()
    count, before = int(row.recent), int(row.before)
    average = before / rule.days
    assert rule.count is not None and rule.multiplier is not None  # checked on save
    threshold = max(float(rule.count), rule.multiplier * average)
    return Measurement(
        count >= threshold,
        count,
        threshold,
        round(average, 4),
        "comments",
        f"@{account.handle} received {count} negative comments in the last 24 h "
        f"(daily average over the {rule.days} days before: {average:.1f})",
    )


def measure(
    session: Session, rule: AlertRule, account: TrackedAccount, now: dt.datetime
) -> Measurement | None:
    if rule.kind == AlertKind.follower_drop:
        return _follower_drop(session, rule, account)
    if rule.kind == AlertKind.engagement_drop:
        return _engagement_drop(session, rule, account)
    return _negative_spike(session, rule, account, now)


def event_data(alert: Alert, account: TrackedAccount) -> dict[str, Any]:
    """The ``data`` of an ``alert.fired`` webhook event (documented in the README)."""
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "account_id": account.id,
        "platform": account.platform,
        "handle": account.handle,
        "kind": alert.kind.value,
        "fired_at": alert.fired_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "measured_value": alert.measured_value,
        "threshold": alert.threshold,
        "baseline_value": alert.baseline_value,
        "unit": alert.unit,
        "message": alert.message,
    }


def evaluate_account(
    session: Session, account_id: int, *, smtp_configured: bool, now: dt.datetime | None = None
) -> list[int]:
    """Measure the account's enabled rules; returns the ids of the alerts that fired."""
    now = now or utcnow()
    account = session.get(TrackedAccount, account_id)
    if account is None or account.status == AccountStatus.deleting:
        return []
    rules = session.scalars(
        select(AlertRule)
        .where(
            AlertRule.workspace_id == account.workspace_id,
            AlertRule.account_id == account.id,
            AlertRule.enabled.is_(True),
        )
        .order_by(AlertRule.id)
    ).all()
    fired: list[Alert] = []
    for rule in rules:
        found = measure(session, rule, account, now)
        rule.last_evaluated_at = now
        if found is None:
            continue
        if found.holds and rule.active_since is None:
            rule.active_since = now
            alert = Alert(
                workspace_id=account.workspace_id,
                account_id=account.id,
                rule_id=rule.id,
                kind=rule.kind,
                fired_at=now,
                measured_value=found.value,
                threshold=found.threshold,
                baseline_value=found.baseline,
                unit=found.unit,
                message=found.message,
                email_status=EmailStatus.pending if smtp_configured else EmailStatus.not_configured,
            )
            session.add(alert)
            fired.append(alert)
        elif not found.holds and rule.active_since is not None:
            rule.active_since = None  # re-armed: the next episode fires again
            session.execute(
                update(Alert)
                .where(
                    Alert.workspace_id == account.workspace_id,
                    Alert.rule_id == rule.id,
                    Alert.cleared_at.is_(None),
                )
                .values(cleared_at=now)
            )
    session.flush()
    webhooks_service.emit_events(
        session, account.workspace_id, [(EVENT_TYPE, event_data(a, account)) for a in fired]
    )
    for alert in fired:
        log.info(
            "alerts.alert.fired",
            alert_id=alert.id,
            rule_id=alert.rule_id,
            account_id=account.id,
            kind=alert.kind.value,
        )
    return [alert.id for alert in fired]


# --------------------------------------------------------------------------- e-mail


def _recipients(session: Session, workspace_id: int) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.workspace_id == workspace_id,
                Membership.role.in_(NOTIFIED_ROLES),
                User.is_active.is_(True),
            )
            .order_by(User.email)
        )
    )


def _mail(alert: Alert, account: TrackedAccount, workspace: str, base_url: str) -> tuple[str, str]:
    kind = alert.kind.value.replace("_", " ")
    subject = f"[socialpulse] {workspace}: {kind} on @{account.handle} ({account.platform})"
    body = (
        f"{alert.message}.\n\n"
        f"Measured {alert.measured_value:g} {alert.unit}; the rule fires at {alert.threshold:g}.\n"
        f"Fired at {alert.fired_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC. It fires once until "
        "the condition clears.\n\n"
        f"Open alerts are on the overview: {base_url.rstrip('/')}/analytics/overview\n"
    )
    return subject, body


def notify(db: Database, settings: Settings, alert_ids: Sequence[int]) -> None:
    """E-mail each fired alert to its workspace's owners and admins, after the alert committed;
    the outcome (sent, or failed with the reason) is recorded on the alert."""
    if not alert_ids or settings.smtp_url is None:
        return
    url = settings.smtp_url.get_secret_value()
    for alert_id in alert_ids:
        with db.session(readonly=True) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or alert.email_status != EmailStatus.pending:
                continue  # gone, or already sent by an earlier try of the job
            account = session.get(TrackedAccount, alert.account_id)
            workspace = session.get(Workspace, alert.workspace_id)
            if account is None or workspace is None:
                continue
            workspace_id = alert.workspace_id
            recipients = _recipients(session, alert.workspace_id)
            subject, body = _mail(alert, account, workspace.name, settings.base_url)
        errors: list[str] = []
        if not recipients:
            errors.append("the workspace has no owner or admin to e-mail")
        for to in recipients:
            try:
                send_mail(
                    url, settings.smtp_from, to, subject, body, timeout=settings.smtp_timeout_s
                )
            except MailError as exc:
                errors.append(f"{to}: {exc}")
            except Exception as exc:
                # The alert is committed: a bug in delivery costs the e-mail, not the alert.
                errors.append(f"{to}: unexpected error while sending: {type(exc).__name__}")
                log.exception("alerts.alert.mail_failed", alert_id=alert_id)
        if errors:
            log.warning("alerts.alert.mail_failed", alert_id=alert_id, error="; ".join(errors))
        else:
            log.info("alerts.alert.mail_sent", alert_id=alert_id, recipients=len(recipients))
        with db.session() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.workspace_id == workspace_id)
                .values(
                    email_status=EmailStatus.failed if errors else EmailStatus.sent,
                    email_error="; ".join(errors)[:4000] if errors else None,
                )
            )


def evaluate_and_notify(db: Database, settings: Settings, account_id: int) -> list[int]:
    """What follows a completed fetch (the job, or `socialpulse fetch`): evaluate in a unit of
    work of its own, then e-mail what fired once it is committed."""
    with db.session() as session:
        fired = evaluate_account(session, account_id, smtp_configured=settings.smtp_url is not None)
    notify(db, settings, fired)
    return fired
