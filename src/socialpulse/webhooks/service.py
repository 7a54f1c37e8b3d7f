"""Outbound webhooks: emitting events (other domains call ``emit_event``), managing
subscriptions, the delivery log, replays and test events. Sending is ``webhooks.delivery``'s.

``emit_event`` only adds rows to the caller's transaction and queues one durable job per
delivery, sent after the caller commits: no network inside anyone's transaction, and a rolled
back change emits nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput
from socialpulse.kit import egress
from socialpulse.kit.security import SecretBox
from socialpulse.webhooks import delivery as sender
from socialpulse.webhooks import signing
from socialpulse.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from socialpulse.webhooks.schemas import (
    EVENT_TYPES,
    TEST_EVENT,
    SubscriptionCreate,
    SubscriptionUpdate,
)
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

MAX_SUBSCRIPTIONS = 20  # per workspace
DELIVERY_PAGE_MAX = 200


# --------------------------------------------------------------------------- emitting


def _payload(event_type: str, data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """The Standard Webhooks payload shape: type, timestamp (of the event), data."""
    stamp = at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {"type": event_type, "timestamp": stamp, "data": data}


def _add_delivery(
    session: Session,
    subscription: WebhookSubscription,
    event_type: str,
    payload: dict[str, Any],
    *,
    event_id: str | None = None,
    replay_of_id: int | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        workspace_id=subscription.workspace_id,
        subscription_id=subscription.id,
        event_id=event_id or sender.new_event_id(),
        event_type=event_type,
        payload=payload,
        status=DeliveryStatus.pending,
        attempts=0,
        max_attempts=sender.MAX_ATTEMPTS,
        next_attempt_at=utcnow(),
        replay_of_id=replay_of_id,
    )
    session.add(delivery)
    session.flush()
    sender.queue_attempt(session, delivery)
    return delivery


def emit_events(
    session: Session, workspace_id: int, events: Sequence[tuple[str, dict[str, Any]]]
) -> int:
    """``emit_event`` for several events of one workspace, reading its subscriptions once.
    Returns how many deliveries were added."""
    if not events:
        return 0
    unknown = sorted({event_type for event_type, _ in events} - set(EVENT_TYPES))
    if unknown:  # a typo at a call site is a bug, not an event nobody subscribed to
        raise ValueError(f"unknown webhook event type(s): {', '.join(unknown)}")
    subscriptions = session.scalars(
        select(WebhookSubscription).where(
            WebhookSubscription.workspace_id == workspace_id,
            WebhookSubscription.enabled.is_(True),
        )
    ).all()
    if not subscriptions:
        return 0
    now = utcnow()
    added = 0
    for event_type, data in events:
        payload = _payload(event_type, data, now)
        for subscription in subscriptions:
            if event_type in subscription.event_types:
                _add_delivery(session, subscription, event_type, payload)
                added += 1
    if added:
        log.info("webhooks.events.emitted", workspace_id=workspace_id, deliveries=added)
    return added


def emit_event(session: Session, workspace_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Queue ``event_type`` with ``data`` to every enabled subscription of the workspace that
    wants it: delivery rows in the caller's transaction, sent by durable jobs after commit.

    ``data`` must be JSON-serialisable (ids, strings, numbers, ISO datetimes)."""
    emit_events(session, workspace_id, [(event_type, data)])


# --------------------------------------------------------------------------- subscriptions


def check_url(url: str) -> str:
    """A webhook URL we may call: http(s), a host, and (unless the operator allowed it) not
    into a private network, loopback or link-local. Refused now with a 422, not found out at
    the first delivery; the egress policy checks each connection again (DNS may change)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"url: not a valid URL: {exc}", details={"url": url}) from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url: must start with https:// or http://", details={"url": url})
    host = parts.hostname
    if not host:
        raise InvalidInput("url: has no host name", details={"url": url})
    if parts.username or parts.password:
        raise InvalidInput(
            "url: credentials in the URL are not accepted; verify the signature instead",
            details={"url": url},
        )
    policy = egress.current_policy()
    if policy.host_allowed(host):
        return url
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = _resolve(host, port or _default_port(parts.scheme))
    try:
        policy.check_addresses(host, addresses)
    except egress.EgressRefused as exc:
        raise InvalidInput(f"url: {exc}", details={"url": url, "reason": exc.reason}) from exc
    return url


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _resolve(host: str, port: int) -> list[egress.IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidInput(
            f"url: the host {host} does not resolve ({exc}); check the URL",
            details={"host": host},
        ) from exc
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
    )


def _checked_secret(secret: str) -> str:
    try:
        signing.secret_bytes(secret)
    except signing.InvalidSecret as exc:
        raise InvalidInput(f"secret: {exc}") from exc
    if not secret.startswith(signing.SECRET_PREFIX):
        secret = signing.SECRET_PREFIX + secret
    return secret


def list_subscriptions(session: Session, subject: Subject) -> list[WebhookSubscription]:
    subject.require(Role.admin)
    stmt = scoped(select(WebhookSubscription), subject).order_by(WebhookSubscription.id)
    return list(session.scalars(stmt).all())


def get_subscription(
    session: Session, subject: Subject, subscription_id: int
) -> WebhookSubscription:
    subject.require(Role.admin)
    return get_scoped(session, WebhookSubscription, subscription_id, subject)


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once


def create_subscription(
    session: Session, subject: Subject, body: SubscriptionCreate, *, box: SecretBox
) -> CreatedSubscription:
    subject.require(Role.admin)
    url = check_url(body.url)
    count = len(list_subscriptions(session, subject))
    if count >= MAX_SUBSCRIPTIONS:
        raise Conflict(
            f"a workspace has at most {MAX_SUBSCRIPTIONS} webhook subscriptions; "
            "delete one or subscribe one URL to more event types"
        )
    secret = (
        _checked_secret(body.secret.get_secret_value())
        if body.secret is not None
        else signing.new_secret()
    )
    now = utcnow()
    subscription = WebhookSubscription(
        workspace_id=subject.workspace_id,
        url=url,
        description=body.description.strip(),
        event_types=list(body.event_types),
        secret_encrypted=box.encrypt(secret),
        enabled=body.enabled,
        created_by_user_id=subject.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    log.info(
        "webhooks.subscription.created",
        subscription_id=subscription.id,
        workspace_id=subject.workspace_id,
        actor=subject.actor,
    )
    return CreatedSubscription(subscription, secret)


def update_subscription(
    session: Session, subject: Subject, subscription_id: int, body: SubscriptionUpdate
) -> WebhookSubscription:
    subscription = get_subscription(session, subject, subscription_id)
    if body.url is not None:
        subscription.url = check_url(body.url)
    if body.description is not None:
        subscription.description = body.description.strip()
    if body.event_types is not None:
        subscription.event_types = list(body.event_types)
    if body.enabled is not None and body.enabled != subscription.enabled:
        subscription.enabled = body.enabled
        if body.enabled:  # a fresh start: the old reason and failure run no longer apply
            subscription.disabled_reason = None
            subscription.failing_since = None
    subscription.updated_at = utcnow()
    session.flush()
    return subscription


def delete_subscription(session: Session, subject: Subject, subscription_id: int) -> None:
    """Deletes the subscription and its delivery log (waiting deliveries are not sent)."""
    subscription = get_subscription(session, subject, subscription_id)
    session.delete(subscription)
    session.flush()
    log.info("webhooks.subscription.deleted", subscription_id=subscription_id, actor=subject.actor)


def rotate_secret(
    session: Session, subject: Subject, subscription_id: int, *, box: SecretBox
) -> CreatedSubscription:
    """A new secret, returned once. The old one keeps signing too (a second signature in
    ``webhook-signature``) for ``ROTATED_SECRET_GRACE``, so the receiver can switch without
    dropping events."""
    subscription = get_subscription(session, subject, subscription_id)
    secret = signing.new_secret()
    now = utcnow()
    subscription.previous_secret_encrypted = subscription.secret_encrypted
    subscription.previous_secret_expires_at = now + sender.ROTATED_SECRET_GRACE
    subscription.secret_encrypted = box.encrypt(secret)
    subscription.updated_at = now
    session.flush()
    log.info("webhooks.secret.rotated", subscription_id=subscription.id, actor=subject.actor)
    return CreatedSubscription(subscription, secret)


def send_test_event(session: Session, subject: Subject, subscription_id: int) -> WebhookDelivery:
    """A ``webhook.test`` event to this subscription only (whatever it subscribed to)."""
    subscription = get_subscription(session, subject, subscription_id)
    _require_enabled(subscription)
    data = {
        "subscription_id": subscription.id,
        "message": "A test event from socialpulse: your endpoint is reachable.",
    }
    return _add_delivery(session, subscription, TEST_EVENT, _payload(TEST_EVENT, data, utcnow()))


def _require_enabled(subscription: WebhookSubscription) -> None:
    if not subscription.enabled:
        reason = f" ({subscription.disabled_reason})" if subscription.disabled_reason else ""
        raise Conflict(
            f"webhook subscription {subscription.id} is disabled{reason}; enable it first"
        )


# --------------------------------------------------------------------------- the delivery log


@dataclass(frozen=True)
class DeliverySlice:
    items: list[WebhookDelivery]
    next_cursor: int | None


def list_deliveries(
    session: Session,
    subject: Subject,
    *,
    subscription_id: int | None = None,
    status: DeliveryStatus | None = None,
    event_type: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> DeliverySlice:
    """Newest first; ``next_cursor`` (an id) as ``before_id`` gives the next, older page."""
    subject.require(Role.admin)
    if subscription_id is not None:
        get_scoped(session, WebhookSubscription, subscription_id, subject)
    limit = max(1, min(limit, DELIVERY_PAGE_MAX))
    stmt = scoped(select(WebhookDelivery), subject)
    if subscription_id is not None:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    if event_type is not None:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    if before_id is not None:
        stmt = stmt.where(WebhookDelivery.id < before_id)
    rows = list(session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliverySlice(rows, rows[-1].id if more and rows else None)


def get_delivery(session: Session, subject: Subject, delivery_id: int) -> WebhookDelivery:
    subject.require(Role.admin)
    return get_scoped(session, WebhookDelivery, delivery_id, subject)


def replay_delivery(session: Session, subject: Subject, delivery_id: int) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery in the log with the same payload and
    the same ``webhook-id`` (so a receiver that already has it can tell); attempts start over."""
    original = get_delivery(session, subject, delivery_id)
    subscription = session.get(WebhookSubscription, original.subscription_id)
    assert subscription is not None
    _require_enabled(subscription)
    replay = _add_delivery(
        session,
        subscription,
        original.event_type,
        dict(original.payload),
        event_id=original.event_id,
        replay_of_id=original.id,
    )
    log.info(
        "webhooks.delivery.replayed",
        delivery_id=original.id,
        replay_id=replay.id,
        actor=subject.actor,
    )
    return replay
