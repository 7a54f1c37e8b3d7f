"""The demo's publishing (#15): next week's posts across the demo's own accounts at each
account's best slots, one recurring series, one failed post with its reason, ROI values and a
few recorded costs, so the calendar, queue, overview and ROI pages show real-looking data at
first start.

Posts are created through the same service the composer and the API use (every check runs;
the simulated platform's dry-run publisher publishes them on time while the demo runs). One
thing is staged: dry-run publishing never fails, so one delivery is recorded as failed with
the message a platform gives for an unsupported video, after its three attempts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.analytics import service as analytics_service
from socialpulse.db import Database, utcnow
from socialpulse.insights import roi as insights_roi
from socialpulse.insights.models import CostCategory
from socialpulse.insights.schemas import CostCreate, RoiSettingsUpdate
from socialpulse.publishing import series
from socialpulse.publishing import service as publishing_service
from socialpulse.publishing.models import Delivery, DeliveryStatus, Post
from socialpulse.publishing.schemas import PostCreate, RecurrenceIn, TargetIn
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

DEMO_WEEK_POSTS = [
    "Seed swap this Saturday: bring one packet, take one home. #gardening #seeds",
    "Three tomato mistakes we made so you don't have to (thread). #tomatoes #growyourown",
    "60-second balcony herb box build. Link in bio. #balconygarden #herbs",
    "Morning mobility in 8 minutes, no equipment. #fitness #mobility",
    "Friday street-food map: five stalls worth the queue. #foodie #streetfood",
    "Compost or bin? Quick guide for the kitchen scraps you're unsure about. #compost",
]
DEMO_SERIES_TEXT = "Weekly Q&A: ask us anything about your garden in the comments. #askagardener"
DEMO_SERIES_CRON = "0 9 * * 1,3,5"  # Mon, Wed, Fri at 09:00 in the workspace's zone
DEMO_SERIES_COUNT = 12
DEMO_FAILED_TEXT = "Behind the scenes: planting 400 bulbs in one afternoon. #spring"
DEMO_FAILED_REASON = (
    "The platform refused the video: its audio codec is not supported (re-encode the audio "
    "as AAC and retry)"
)
DEMO_ROI_VALUES = RoiSettingsUpdate(
    currency="EUR",
    value_per_like=Decimal("0.08"),
    value_per_comment=Decimal("0.60"),
    value_per_share=Decimal("1.20"),
    value_per_follower=Decimal("1.50"),
    value_per_click=Decimal("0.40"),
    value_per_impression=Decimal("0.004"),
)
DEMO_COSTS = [
    (CostCategory.tools, "Scheduling and analytics seats", 4_900),
    (CostCategory.ads, "Boosted spring planting reel", 12_000),
    (CostCategory.other, "Props and seed packets for shoots", 3_500),
]


def seed_demo_publishing(db: Database, workspace_id: int, owner_id: int) -> bool:
    """Once per workspace (any publishing post marks it done). Returns whether it seeded."""
    subject = Subject(workspace_id=workspace_id, role=Role.owner, user_id=owner_id)
    with db.session() as session:
        if session.scalar(select(func.count()).where(Post.workspace_id == workspace_id)):
            return False
        accounts = list(
            session.scalars(
                select(TrackedAccount)
                .where(TrackedAccount.workspace_id == workspace_id, TrackedAccount.is_own)
                .order_by(TrackedAccount.id)
            )
        )
        if not accounts:
            return False
        now = utcnow()
        # Next week's posts: each at its account's next best slot after a day of the week.
        for day, text in enumerate(DEMO_WEEK_POSTS, start=1):
            account = accounts[day % len(accounts)]
            slot = analytics_service.next_best_slot(
                session, workspace_id, account.id, after=now + dt.timedelta(days=day)
            )
            publishing_service.create_post(
                session,
                subject,
                PostCreate(
                    text=text, scheduled_at=slot.at, targets=[TargetIn(account_id=account.id)]
                ),
                now=now,
            )
        # One recurring series across two accounts.
        publishing_service.create_post(
            session,
            subject,
            PostCreate(
                text=DEMO_SERIES_TEXT,
                scheduled_at=now + dt.timedelta(days=1),
                recurrence=RecurrenceIn(cron=DEMO_SERIES_CRON, count=DEMO_SERIES_COUNT),
                targets=[TargetIn(account_id=a.id) for a in accounts[:2]],
            ),
            now=now,
        )
        failed = publishing_service.create_post(
            session,
            subject,
            PostCreate(
                text=DEMO_FAILED_TEXT,
                scheduled_at=now + dt.timedelta(hours=2),
                targets=[TargetIn(account_id=accounts[0].id)],
            ),
            now=now,
        )
        _stage_failure(session, failed.id, now)
        insights_roi.update_settings(session, subject, DEMO_ROI_VALUES)
        for category, label, cents in DEMO_COSTS:
            insights_roi.add_cost(
                session,
                subject,
                CostCreate(
                    category=category,
                    label=label,
                    amount_cents=cents,
                    incurred_on=(now - dt.timedelta(days=7)).date(),
                ),
            )
    return True


def _stage_failure(session: Session, post_id: int, now: dt.datetime) -> None:
    """The staged part (see the module's docstring): yesterday's attempt, failed three times."""
    yesterday = now - dt.timedelta(days=1)
    delivery = session.scalars(select(Delivery).where(Delivery.post_id == post_id)).one()
    delivery.scheduled_for = yesterday
    delivery.occurrence_at = yesterday
    delivery.next_attempt_at = yesterday
    delivery.publish_started_at = yesterday
    delivery.attempts = 3
    delivery.status = DeliveryStatus.failed
    delivery.last_error = DEMO_FAILED_REASON
    post = session.get(Post, post_id)
    assert post is not None
    post.scheduled_at = yesterday
    session.flush()
    series.refresh_status(session, post)
