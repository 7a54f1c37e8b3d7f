"""Deliveries parked by a budget are published when the budget is raised.

A delivery our budget deferred (``budget.deferral_prefix`` starts its ``last_error``) is
scheduled again for the platform's next quota day, with a job for that time. Raising the budget
makes it due now with a job of its own (the job for the old time then finds nothing due); the
platform's own quota refusals are not ours to lift and keep waiting. Registered with
``budget.register_budget_release`` by ``publishing.tasks.on_load``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts import budget as budget_service
from socialpulse.db import utcnow
from socialpulse.publishing import series
from socialpulse.publishing.models import Delivery, DeliveryStatus

RELEASE_NAME = "publishing"


def release_budget_deliveries(session: Session, workspace_id: int, platform: str) -> int:
    """Make the workspace's deliveries that wait for ``platform``'s budget due now; returns
    how many."""
    now = utcnow()
    waiting = session.scalars(
        select(Delivery).where(
            Delivery.workspace_id == workspace_id,
            Delivery.platform == platform,
            Delivery.status == DeliveryStatus.scheduled,
            Delivery.next_attempt_at > now,
            Delivery.last_error.startswith(
                budget_service.deferral_prefix(platform), autoescape=True
            ),
        )
    ).all()
    for delivery in waiting:
        delivery.next_attempt_at = max(now, delivery.scheduled_for)  # never before its time
        session.flush()
        series.enqueue(session, delivery)
    return len(waiting)
