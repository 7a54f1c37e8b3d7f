"""Shared steps of the webhook tests: subscribe the receiver, emit, read the log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import time_machine
from sqlalchemy import select

from conftest import TEST_SECRET_KEY
from factories import WorkspaceFixture
from socialpulse.db import Database, utcnow
from socialpulse.kit.security import SecretBox
from socialpulse.webhooks import service
from socialpulse.webhooks.models import WebhookDelivery, WebhookSubscription
from socialpulse.webhooks.schemas import EventType, SubscriptionCreate
from socialpulse.worker import jobs

BOX = SecretBox(TEST_SECRET_KEY)


def subscribe(
    db: Database,
    ws: WorkspaceFixture,
    receiver: Any,
    path: str = "/hook",
    types: Sequence[EventType] = ("interaction.received",),
) -> int:
    with db.session() as session:
        body = SubscriptionCreate(url=receiver.url(path), event_types=list(types))
        created = service.create_subscription(session, ws.subject, body, box=BOX)
        receiver.secrets[path] = created.secret
        return created.subscription.id


def emit(db: Database, workspace_id: int, event_type: str, data: dict[str, Any]) -> None:
    with db.session() as session:
        service.emit_event(session, workspace_id, event_type, data)


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.session(readonly=True) as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        session.expunge_all()
    return rows


def delivery(db: Database, delivery_id: int) -> WebhookDelivery:
    with db.session(readonly=True) as session:
        row = session.get(WebhookDelivery, delivery_id)
        assert row is not None
        session.expunge(row)
    return row


def subscription(db: Database, subscription_id: int) -> WebhookSubscription:
    with db.session(readonly=True) as session:
        row = session.get(WebhookSubscription, subscription_id)
        assert row is not None
        session.expunge(row)
    return row


def run_retry(db: Database, delivery_id: int) -> WebhookDelivery:
    """Move the clock to the delivery's next attempt and run the due jobs there."""
    due = delivery(db, delivery_id).next_attempt_at
    assert due is not None
    with time_machine.travel(max(due, utcnow()) + dt.timedelta(seconds=1), tick=True):
        jobs.drain(db)
    return delivery(db, delivery_id)
