"""A post our budget deferred is published as soon as the budget is raised; one the
platform's own quota refused keeps waiting for the platform's reset."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from fastapi.testclient import TestClient

from factories import WorkspaceFixture
from publishing_support import PLATFORM, PlatformDouble
from socialpulse.accounts.budget import deferral_prefix
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.publishing import delivery, service
from socialpulse.publishing.models import Delivery, DeliveryStatus
from socialpulse.publishing.schemas import PostCreate, TargetIn

A_QUOTA_DAY_S = 20 * 3600


def _schedule(
    db: Database, ws: WorkspaceFixture, account: int, when: dt.datetime, text: str
) -> int:
    with db.session() as session:
        body = PostCreate(text=text, scheduled_at=when, targets=[TargetIn(account_id=account)])
        return service.create_post(session, ws.subject, body).deliveries[0].id


def _row(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        found = session.get(Delivery, delivery_id)
        assert found is not None
        return found


def _deferred(db: Database, delivery_id: int, platform: PlatformDouble, error: Any) -> None:
    platform.errors = [error]
    outcome = delivery.publish_delivery(
        db, delivery_id, publisher_factory=lambda account, observer: platform
    )
    assert outcome == "deferred"


def test_raising_the_budget_publishes_the_posts_it_deferred(
    client: TestClient,
    db: Database,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    platform: PlatformDouble,
) -> None:
    ours = _schedule(db, ws, account, soon, "Launch day!")
    theirs = _schedule(db, ws, account, soon, "Behind the scenes")
    with time_machine.travel(soon + dt.timedelta(minutes=1), tick=True):
        _deferred(
            db,
            ours,
            platform,
            pb.BudgetDeferredError(
                f"{deferral_prefix(PLATFORM)}8 of 10 units used today; posts (1 unit) would "
                "pass the 80% safety margin, so it waits for the next quota day",
                platform=PLATFORM,
                endpoint="posts",
                retry_after=A_QUOTA_DAY_S,
            ),
        )
        _deferred(
            db,
            theirs,
            platform,
            pb.QuotaExhaustedError(
                "daily upload limit", platform=PLATFORM, endpoint="posts", retry_after=A_QUOTA_DAY_S
            ),
        )
        parked_until = _row(db, theirs).next_attempt_at
        raised = client.put(
            f"/api/v1/usage/budgets/{PLATFORM}", json={"daily_units": 100}, headers=ws.headers()
        )
        assert raised.json()["released_jobs"] == 1
        # Its job ran at once (the test worker runs nudged jobs inline).
        published = _row(db, ours)
        assert published.status == DeliveryStatus.published
        assert [text for _, text, _ in platform.posts] == ["Launch day!"]
        waiting = _row(db, theirs)
        assert (waiting.status, waiting.next_attempt_at) == (DeliveryStatus.scheduled, parked_until)
