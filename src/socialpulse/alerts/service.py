"""Alert rules of an account (create, change, delete: editors and up) and the alerts they fired
(list, acknowledge). Every read is scoped to the caller's workspace; another workspace's rule,
alert or account is a 404. Evaluation after a fetch is ``alerts.evaluation``'s."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.alerts.models import Alert, AlertKind, AlertRule
from socialpulse.alerts.schemas import AlertRead, AlertRuleCreate, AlertRuleUpdate, AlertState
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, scoped

log = structlog.get_logger(__name__)

MAX_RULES_PER_ACCOUNT = 20
ALERTS_PAGE_MAX = 200

# Which parameters each kind reads, and its defaults when a rule is created without them.
PARAMETERS: dict[AlertKind, frozenset[str]] = {
    AlertKind.follower_drop: frozenset({"percent", "count", "days"}),
    AlertKind.engagement_drop: frozenset({"percent", "days"}),
    AlertKind.negative_spike: frozenset({"count", "multiplier", "days"}),
}
DEFAULTS: dict[AlertKind, dict[str, Any]] = {
    AlertKind.follower_drop: {"percent": 5.0, "days": 7},
    AlertKind.engagement_drop: {"percent": 30.0, "days": 7},
    AlertKind.negative_spike: {"count": 5, "multiplier": 3.0, "days": 7},
}
_TUNABLE = ("percent", "count", "multiplier")


def _check(kind: AlertKind, values: dict[str, Any]) -> None:
    """422 unless `values` are what a rule of `kind` reads: no parameter of another kind,
    none it needs missing (a follower_drop needs a percent, a count, or both)."""
    foreign = sorted(
        name for name in _TUNABLE if values.get(name) is not None and name not in PARAMETERS[kind]
    )
    if foreign:
        allowed = ", ".join(sorted(PARAMETERS[kind]))
        raise InvalidInput(
            f"{', '.join(foreign)} does not apply to a {kind.value} rule (it takes {allowed})"
        )
    needed = PARAMETERS[kind] - ({"percent", "count"} if kind == AlertKind.follower_drop else set())
    missing = sorted(name for name in needed if values.get(name) is None)
    if missing:
        raise InvalidInput(f"a {kind.value} rule needs {', '.join(missing)}")
    if kind == AlertKind.follower_drop and values.get("percent") is None:
        if values.get("count") is None:
            raise InvalidInput("a follower_drop rule needs a percent, a count, or both")


# --------------------------------------------------------------------------- rules


def _account(session: Session, subject: Subject, account_id: int) -> TrackedAccount:
    return accounts_service.get_account(session, subject, account_id)


def list_rules(session: Session, subject: Subject, account_id: int) -> list[AlertRule]:
    _account(session, subject, account_id)
    stmt = scoped(select(AlertRule), subject).where(AlertRule.account_id == account_id)
    return list(session.scalars(stmt.order_by(AlertRule.id)).all())


def get_rule(session: Session, subject: Subject, account_id: int, rule_id: int) -> AlertRule:
    rule = session.scalar(
        scoped(select(AlertRule), subject).where(
            AlertRule.id == rule_id, AlertRule.account_id == account_id
        )
    )
    if rule is None:
        raise NotFound(f"alert rule {rule_id} not found on account {account_id}")
    return rule


def create_rule(
    session: Session, subject: Subject, account_id: int, body: AlertRuleCreate
) -> AlertRule:
    subject.require(Role.editor)
    _account(session, subject, account_id)
    given = body.model_dump(include={"percent", "count", "multiplier", "days"})
    chosen = {name: value for name, value in given.items() if value is not None}
    # Defaults fill what the rule's kind reads and the caller left out; a follower_drop given
    # only a count stays a count rule (a default percent would fire where the caller did not ask).
    values = dict(DEFAULTS[body.kind])
    if body.kind == AlertKind.follower_drop and "count" in chosen:
        values.pop("percent")
    values |= chosen
    _check(body.kind, values)
    if len(list_rules(session, subject, account_id)) >= MAX_RULES_PER_ACCOUNT:
        raise Conflict(f"an account has at most {MAX_RULES_PER_ACCOUNT} alert rules")
    now = utcnow()
    rule = AlertRule(
        workspace_id=subject.workspace_id,
        account_id=account_id,
        kind=body.kind,
        percent=values.get("percent"),
        count=values.get("count"),
        multiplier=values.get("multiplier"),
        days=values["days"],
        enabled=body.enabled,
        created_by_user_id=subject.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    log.info("alerts.rule.created", rule_id=rule.id, account_id=account_id, actor=subject.actor)
    return rule


def update_rule(
    session: Session, subject: Subject, account_id: int, rule_id: int, body: AlertRuleUpdate
) -> AlertRule:
    """Change a rule; `null` clears percent or count (a follower_drop rule keeps one of them).
    Changed thresholds re-arm it: the next evaluation decides anew under them. Pausing and
    resuming (`enabled`) keeps the episode, so resuming does not repeat an alert."""
    subject.require(Role.editor)
    rule = get_rule(session, subject, account_id, rule_id)
    changes = body.model_dump(exclude_unset=True)
    if "enabled" in changes and changes["enabled"] is None:
        raise InvalidInput("enabled must be true or false")
    values = {name: getattr(rule, name) for name in ("percent", "count", "multiplier", "days")}
    values |= {name: value for name, value in changes.items() if name != "enabled"}
    _check(rule.kind, values)
    for name, value in changes.items():
        setattr(rule, name, value)
    if changes.keys() - {"enabled"}:
        # New thresholds: the episode under the old ones says nothing about the new ones.
        rule.active_since = None
    rule.updated_at = utcnow()
    session.flush()
    return rule


def delete_rule(session: Session, subject: Subject, account_id: int, rule_id: int) -> None:
    """Delete a rule; the alerts it fired stay (without their rule)."""
    subject.require(Role.editor)
    rule = get_rule(session, subject, account_id, rule_id)
    session.delete(rule)
    session.flush()
    log.info("alerts.rule.deleted", rule_id=rule_id, actor=subject.actor)


# --------------------------------------------------------------------------- alerts


def _reads(rows: Sequence[Any]) -> list[AlertRead]:
    return [
        AlertRead(
            id=alert.id,
            account_id=alert.account_id,
            account_handle=handle,
            platform=platform,
            rule_id=alert.rule_id,
            kind=alert.kind,
            fired_at=alert.fired_at,
            measured_value=alert.measured_value,
            threshold=alert.threshold,
            baseline_value=alert.baseline_value,
            unit=alert.unit,
            message=alert.message,
            cleared_at=alert.cleared_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by_user_id=alert.acknowledged_by_user_id,
            email_status=alert.email_status,
            email_error=alert.email_error,
        )
        for alert, handle, platform in rows
    ]


def list_alerts(
    session: Session,
    subject: Subject,
    *,
    account_id: int | None = None,
    state: AlertState = AlertState.open,
    platform: str | None = None,
    limit: int = 50,
) -> list[AlertRead]:
    """The workspace's alerts, newest first."""
    if not 1 <= limit <= ALERTS_PAGE_MAX:
        raise InvalidInput(f"limit must be 1 to {ALERTS_PAGE_MAX}")
    if account_id is not None:
        _account(session, subject, account_id)
    stmt = scoped(
        select(Alert, TrackedAccount.handle, TrackedAccount.platform).join(
            TrackedAccount, TrackedAccount.id == Alert.account_id
        ),
        subject,
    )
    if account_id is not None:
        stmt = stmt.where(Alert.account_id == account_id)
    if platform is not None:
        stmt = stmt.where(TrackedAccount.platform == platform)
    if state == AlertState.open:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    elif state == AlertState.acknowledged:
        stmt = stmt.where(Alert.acknowledged_at.is_not(None))
    rows = session.execute(stmt.order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit))
    return _reads(rows.all())


def open_alerts(
    session: Session, subject: Subject, platform: str | None = None, limit: int = 50
) -> list[AlertRead]:
    """What the overview shows: alerts nobody has acknowledged yet, newest first."""
    return list_alerts(session, subject, state=AlertState.open, platform=platform, limit=limit)


def acknowledge(session: Session, subject: Subject, alert_id: int) -> AlertRead:
    """Mark an alert seen (it leaves the overview); acknowledging twice keeps the first."""
    subject.require(Role.editor)
    row = session.execute(
        scoped(
            select(Alert, TrackedAccount.handle, TrackedAccount.platform).join(
                TrackedAccount, TrackedAccount.id == Alert.account_id
            ),
            subject,
        ).where(Alert.id == alert_id)
    ).first()
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    alert = row[0]
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_user_id = subject.user_id
        session.flush()
    return _reads([row])[0]
