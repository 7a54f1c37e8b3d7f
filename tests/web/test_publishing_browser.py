"""Publishing in headless Chromium against a live server: compose → schedule a post a minute
ahead on the simulated account (dry-run publisher) → its delivery runs → published in the
calendar and counted in the analytics overview; a drag to the past reverts with the reason;
and no accessibility violation (axe-core) on the calendar, composer, queue, overview and ROI.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    ARTIFACTS,
    BROWSER_WAIT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    REDIS_URL,
    csp_violations,
    require,
)
from factories import PASSWORD, Builder, WorkspaceFixture, add_account, make_workspace
from socialpulse.db import Database, utcnow
from socialpulse.kit import liveserver
from socialpulse.publishing import delivery, service
from socialpulse.publishing.models import DeliveryStatus
from socialpulse.publishing.schemas import PostCreate, TargetIn
from web.a11y import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture, int]]:
    """A live server and a workspace with one connected simulated account (it can publish:
    the dry-run publisher records posts in the data directory)."""
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), str(AXE))
    owner = make_workspace(db, "launch-studio")
    account = add_account(
        db, owner.workspace_id, "simulated", handle="ourbrand", followers_count=1000
    )
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    # The embedded worker's quarter-hourly tick queues each account's daily fetch once the
    # day's fetch time has passed: run across :00/:15/:30/:45, it ingested the simulated
    # account's own posts beside ours (4 in the overview, not 1). A fetch time no tick reaches
    # keeps the account's posts to the one this test publishes.
    with liveserver.live_server(
        db.url, tmp_path, tasks_url=tasks_url, SOCIALPULSE_DAILY_FETCH_TIME="23:59:59"
    ) as url:
        yield url, owner, account


def _log_in(page: Any, base_url: str, owner: WorkspaceFixture, target: str) -> None:
    page.goto(f"{base_url}/login?next={target}")
    page.get_by_label("Email").fill(owner.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_compose_schedule_publish_then_calendar_and_analytics(
    live: tuple[str, WorkspaceFixture, int], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, account = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    when = (utcnow() + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        violations = csp_violations(page)
        try:
            _log_in(page, base_url, owner, "/publishing/new")
            expect(page.get_by_role("heading", name="New post")).to_be_visible()
            assert axe_violations(page) == []
            # Refused (no account, no time): the messages are on the form, which stays usable.
            page.get_by_label("Text", exact=True).fill("Spring launch is live")
            page.get_by_role("button", name="Schedule").click()
            expect(page.get_by_test_id("composer-errors")).to_be_visible()
            expect(page.get_by_label("Text", exact=True)).to_have_value("Spring launch is live")
            assert axe_violations(page) == []

            page.get_by_label("Text", exact=True).fill("Spring launch is live")
            page.get_by_label("Hashtags").fill("spring")
            page.get_by_role("checkbox", name="@ourbrand").check()
            # Live counts and the preview follow the typing (text + appended hashtag).
            expect(page.get_by_test_id(f"count-{account}")).to_contain_text(
                str(len("Spring launch is live\n\n#spring"))
            )
            page.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
            page.get_by_label("Time zone").select_option("UTC")
            page.screenshot(path=str(SHOTS / "publishing-01-composer.png"), full_page=True)
            page.get_by_role("button", name="Schedule").click()

            expect(page.get_by_text("scheduled for")).to_be_visible()
            calendar = page.get_by_test_id("calendar")
            expect(calendar.locator('[data-status="scheduled"]')).to_have_count(1)
            assert axe_violations(page) == []

            page.goto(f"{base_url}/publishing/queue")
            expect(page.get_by_test_id("queue")).to_contain_text("Spring launch is live")
            assert axe_violations(page) == []

            # The delivery's job at its time, run here rather than waiting for the clock (the
            # server's worker may take it first: either way it is published exactly once).
            with db.session() as session:
                [summary] = service.list_posts(session, owner.subject).items
                [queued] = service.read_post(session, owner.subject, summary.id).deliveries
            outcome = delivery.publish_delivery(db, queued.id, now=when + dt.timedelta(seconds=1))
            assert outcome in ("published", "not_claimed")
            with db.session() as session:
                [done] = service.read_post(session, owner.subject, summary.id).deliveries
            assert done.status == DeliveryStatus.published and done.external_id
            # Account analytics tracks it through its fetch: the platform's answer, ingested.
            assert done.published_at is not None
            Builder(db).post(
                account,
                done.external_id,
                done.published_at,
                likes=12,
                comments=3,
                shares=1,
                caption="Spring launch is live #spring",
            )

            page.goto(f"{base_url}/publishing")
            expect(calendar.locator('[data-status="published"]')).to_have_count(1)
            page.screenshot(path=str(SHOTS / "publishing-02-calendar.png"), full_page=True)

            # The delivery ran ahead of the clock, so near midnight its publish time can be
            # tomorrow, which no "last 7 days" period includes yet: wait for that day.
            until_its_day = dt.datetime.combine(done.published_at.date(), dt.time(), dt.UTC)
            time.sleep(max(0.0, (until_its_day - utcnow()).total_seconds()))
            page.goto(f"{base_url}/analytics/overview?days=7")
            expect(page.get_by_test_id("total-posts")).to_have_text("1")
            expect(page.get_by_test_id("total-engagement")).to_have_text("16")
            expect(page.get_by_test_id("top-posts")).to_contain_text("Spring launch is live")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "publishing-03-overview.png"), full_page=True)

            page.goto(f"{base_url}/analytics/roi")
            expect(page.get_by_test_id("roi-formula")).to_contain_text("Estimated value")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "publishing-04-roi.png"), full_page=True)
            assert violations == []
        finally:
            browser.close()


def test_a_drag_to_the_past_reverts_and_says_why(
    live: tuple[str, WorkspaceFixture, int], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, account = live
    # Tomorrow at noon: dragged onto yesterday's cell of the month view.
    today = utcnow().date()
    when = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(12), tzinfo=dt.UTC)
    with db.session() as session:
        post = service.create_post(
            session,
            owner.subject,
            PostCreate(text="Drag me", scheduled_at=when, targets=[TargetIn(account_id=account)]),
        )
    target_day = today - dt.timedelta(days=1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        try:
            _log_in(page, base_url, owner, "/publishing")
            event = page.locator(f'[data-post-id="{post.id}"]')
            expect(event).to_have_count(1)
            cell = page.locator(f'td.fc-daygrid-day[data-date="{target_day.isoformat()}"]')
            if cell.count() == 0:  # on the first of a month starting a week row
                pytest.skip("yesterday is not in this month's grid")
            event.drag_to(cell)
            error = page.get_by_test_id("calendar-error")
            expect(error).to_contain_text("in the past")
            expect(
                page.locator(
                    f'td[data-date="{(today + dt.timedelta(days=1)).isoformat()}"]'
                ).locator(f'[data-post-id="{post.id}"]')
            ).to_have_count(1)
            with db.session() as session:
                assert service.read_post(session, owner.subject, post.id).scheduled_at == when

            # A drop two days later moves the post (the month view keeps the time of day).
            later = today + dt.timedelta(days=3)
            later_cell = page.locator(f'td.fc-daygrid-day[data-date="{later.isoformat()}"]')
            if later_cell.count() == 0:
                pytest.skip("three days ahead is not in this month's grid")
            page.locator(f'[data-post-id="{post.id}"]').drag_to(later_cell)
            expect(later_cell.locator(f'[data-post-id="{post.id}"]')).to_have_count(1)
            expect(error).to_be_hidden()
            moved = dt.datetime.combine(later, dt.time(12), tzinfo=dt.UTC)
            deadline = time.monotonic() + BROWSER_WAIT_MS / 1000
            while time.monotonic() < deadline:
                with db.session() as session:
                    found = service.read_post(session, owner.subject, post.id).scheduled_at
                if found == moved:
                    break
                time.sleep(0.1)
            assert found == moved

            # The week view shows it at its hour.
            page.get_by_role("button", name="Week").click()
            expect(page.locator(".fc-timegrid")).to_be_visible()
            assert axe_violations(page) == []
        finally:
            browser.close()
