"""Deliveries made from a post's occurrences, the durable job of each, and the post's status.

``materialise`` creates the deliveries of a post's occurrences up to a horizon
(SOCIALPULSE_PUBLISH_HORIZON_DAYS; the next occurrence always, however far), applying the
series' overrides (a skipped occurrence gets no delivery; an edited one its own time and text).
Each new delivery gets a durable job at its exact time (``enqueue``); the per-minute sweep is
the safety net. An endless series therefore never holds more than a horizon of rows; the next
ones are made when one is delivered and by the sweep.

Services flush, the edge commits: everything here runs in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import get_settings
from socialpulse.publishing.models import (
    Delivery,
    DeliveryStatus,
    OccurrenceOverride,
    OverrideAction,
    Post,
    PostStatus,
    PostTarget,
)
from socialpulse.publishing.recurrence import Occurrence, Recurrence, occurrences
from socialpulse.worker.jobs import enqueue_job

PUBLISH_JOB = "publishing.publish_delivery"
MAX_PER_CALL = 200  # occurrences materialised in one call (an every-minute series, a week ahead)
OPEN = (DeliveryStatus.scheduled, DeliveryStatus.publishing)


def recurrence_of(post: Post) -> Recurrence | None:
    if not post.recurring:
        return None
    return Recurrence(
        cron=post.cron, interval_s=post.interval_s, ends_at=post.ends_at, max_count=post.max_count
    )


def compose_text(text: str, hashtags: Sequence[str]) -> str:
    """The text as published: the hashtags not already in it are appended."""
    present = {word.lstrip("#").lower() for word in text.split() if word.startswith("#")}
    missing = [f"#{tag}" for tag in hashtags if tag.lower() not in present]
    if not missing:
        return text
    return f"{text.rstrip()}\n\n{' '.join(missing)}" if text.strip() else " ".join(missing)


def enqueue(session: Session, delivery: Delivery) -> None:
    """The durable job publishing ``delivery`` at ``next_attempt_at`` (sent after commit).

    The key names the time, so a rescheduled delivery gets a job of its own; the job of the old
    time finds the delivery not due and does nothing."""
    enqueue_job(
        session,
        PUBLISH_JOB,
        {"delivery_id": delivery.id},
        workspace_id=delivery.workspace_id,
        run_after=delivery.next_attempt_at,
        dedupe_key=f"{PUBLISH_JOB}:{delivery.id}:{int(delivery.next_attempt_at.timestamp())}",
    )


def _overrides(session: Session, post_id: int) -> dict[dt.datetime, OccurrenceOverride]:
    return {
        row.occurrence_at: row
        for row in session.scalars(
            select(OccurrenceOverride).where(OccurrenceOverride.post_id == post_id)
        )
    }


def planned(
    post: Post, *, after: dt.datetime | None, until: dt.datetime, limit: int
) -> list[Occurrence]:
    if post.scheduled_at is None:
        return []
    return occurrences(
        post.scheduled_at, post.zone, recurrence_of(post), after=after, until=until, limit=limit
    )


def materialise(session: Session, post: Post, now: dt.datetime) -> int:
    """Create the deliveries of ``post``'s occurrences up to the horizon; returns how many."""
    if post.status in (PostStatus.draft, PostStatus.cancelled) or post.scheduled_at is None:
        return 0
    if post.series_done:
        return 0
    horizon = now + dt.timedelta(days=get_settings().publish_horizon_days)
    after = post.materialised_until
    found = planned(post, after=after, until=horizon, limit=MAX_PER_CALL)
    if not found and post.recurring and (after is None or after <= now):
        # Nothing left within the horizon (a monthly series): the next occurrence still gets
        # its delivery, once, so the queue and the calendar show it.
        far = planned(post, after=after, until=dt.datetime.max.replace(tzinfo=dt.UTC), limit=1)
        found = far
    targets = list(
        session.execute(
            select(PostTarget, TrackedAccount.platform)
            .join(TrackedAccount, TrackedAccount.id == PostTarget.account_id)
            .where(PostTarget.post_id == post.id)
            .order_by(PostTarget.id)
        )
    )
    overrides = _overrides(session, post.id)
    existing = {
        (target_id, occurrence_at)
        for target_id, occurrence_at in session.execute(
            select(Delivery.target_id, Delivery.occurrence_at).where(Delivery.post_id == post.id)
        )
    }
    made = 0
    for occurrence in found:
        override = overrides.get(occurrence.at)
        if override is not None and override.action == OverrideAction.skip:
            continue
        when = occurrence.at
        text = None
        if override is not None:
            when = override.scheduled_for or occurrence.at
            text = override.text
        for target, platform in targets:
            if (target.id, occurrence.at) in existing:
                continue
            delivery = Delivery(
                workspace_id=post.workspace_id,
                post_id=post.id,
                target_id=target.id,
                account_id=target.account_id,
                platform=platform,
                occurrence_at=occurrence.at,
                scheduled_for=when,
                next_attempt_at=when,
                text_override=text,
                idempotency_key=uuid.uuid4().hex,
            )
            session.add(delivery)
            session.flush()
            enqueue(session, delivery)
            made += 1
    if found:
        post.materialised_until = found[-1].at
    if not post.recurring or not planned(
        post,
        after=post.materialised_until,
        until=dt.datetime.max.replace(tzinfo=dt.UTC),
        limit=1,
    ):
        post.series_done = True
    return made


def refresh_status(session: Session, post: Post) -> PostStatus:
    """The post's status from its deliveries: publishing while one is, scheduled while any
    waits (or the series goes on), else failed if any failed, missed if any was missed, else
    published. Drafts and cancelled posts keep theirs."""
    if post.status in (PostStatus.draft, PostStatus.cancelled):
        return post.status
    statuses = set(
        session.scalars(select(Delivery.status).where(Delivery.post_id == post.id).distinct())
    )
    if DeliveryStatus.publishing in statuses:
        status = PostStatus.publishing
    elif DeliveryStatus.scheduled in statuses or (post.recurring and not post.series_done):
        status = PostStatus.scheduled
    elif DeliveryStatus.failed in statuses:
        status = PostStatus.failed
    elif DeliveryStatus.missed in statuses:
        status = PostStatus.missed
    elif DeliveryStatus.published in statuses:
        status = PostStatus.published
    else:
        status = PostStatus.scheduled if not statuses else PostStatus.cancelled
    post.status = status
    return status


def drop_unstarted(session: Session, post_id: int) -> None:
    """Remove the deliveries that never reached a platform and are not done, so they are made
    again from the post's new time or recurrence (their old jobs find nothing to do)."""
    for delivery in session.scalars(
        select(Delivery).where(
            Delivery.post_id == post_id,
            Delivery.status.in_(
                [
                    DeliveryStatus.scheduled,
                    DeliveryStatus.missed,
                    DeliveryStatus.cancelled,
                    DeliveryStatus.skipped,
                ]
            ),
            Delivery.publish_started_at.is_(None),
        )
    ):
        session.delete(delivery)
    session.flush()
