"""The inbox in headless Chromium (Debian's, driven by Playwright): reply inline and see it
queued, approve a suggested reply, and the analytics page draws its timeline chart.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from conftest import (
    ARTIFACTS,
    BROWSER_WAIT_MS,
    CHROMIUM,
    CHROMIUM_ARGS,
    REDIS_URL,
    csp_violations,
    require,
)
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
)
from socialpulse.kit.liveserver import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture, dict[str, int]]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    owner = make_workspace(db, "inbox-studio")
    now = utcnow()
    ids: dict[str, int] = {}
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=owner.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        for key, text, extra in [
            ("plain", "Your tutorial fixed my sourdough, thank you", {}),
            (
                "asks",
                "Where can I buy this apron?",
                {
                    "status": InteractionStatus.awaiting_approval,
                    "ai_intent": "purchase_intent",
                    "suggested_reply": "It is in the shop, link in bio!",
                },
            ),
        ]:
            row = Interaction(
                workspace_id=owner.workspace_id,
                account_id=account.id,
                platform="simulated",
                kind=InteractionKind.comment,
                external_id=key,
                author_external_id=key,
                author_handle=f"{key}_fan",
                text=text,
                posted_at=now - dt.timedelta(hours=len(ids) + 1),
                ai_sentiment="positive",
                **extra,
            )
            s.add(row)
            s.flush()
            ids[key] = row.id
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        mounted = httpx.get(f"{base_url}/inbox", follow_redirects=False).status_code != 404
        require(mounted, "the inbox dashboard router is not mounted in socialpulse.app yet")
        yield base_url, owner, ids


def test_reply_inline_approve_a_suggestion_and_see_the_timeline(
    server: tuple[str, WorkspaceFixture, dict[str, int]], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)

    base_url, owner, ids = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        # The Content-Security-Policy refuses inline scripts: a refusal is a broken page.
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login?next=/inbox")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Inbox")).to_be_visible()

            item = page.get_by_test_id(f"interaction-{ids['plain']}")
            item.get_by_text("Reply", exact=True).click()
            item.get_by_label("Reply to @plain_fan").fill("So glad it helped!")
            item.get_by_role("button", name="Queue reply").click()
            expect(page.get_by_text("Reply to @plain_fan queued")).to_be_visible()
            expect(page.get_by_test_id(f"queued-{ids['plain']}")).to_be_visible()
            page.screenshot(path=str(SHOTS / "inbox-01-reply-queued.png"), full_page=True)

            suggestion = page.get_by_test_id(f"suggestion-{ids['asks']}")
            suggestion.get_by_role("button", name="Approve").click()
            expect(page.get_by_text("approved and queued")).to_be_visible()
            expect(page.get_by_test_id(f"suggestion-{ids['asks']}")).to_have_count(0)
            page.screenshot(path=str(SHOTS / "inbox-02-suggestion-approved.png"), full_page=True)

            page.goto(f"{base_url}/inbox/queue")
            expect(page.get_by_test_id("queue-waiting")).to_contain_text("So glad it helped!")
            expect(page.get_by_test_id("queue-waiting")).to_contain_text(
                "It is in the shop, link in bio!"
            )

            page.goto(f"{base_url}/inbox/analytics?days=30")
            expect(page.get_by_test_id("stat-total")).to_have_text("2")
            drawn = page.evaluate(
                "(() => { const c = Chart.getChart('inbox-timeline-chart');"
                " return [c.data.labels.length,"
                " c.data.datasets.reduce((n, d) => n + d.data.reduce((a, b) => a + b, 0), 0)]; })()"
            )
            assert drawn == [30, 2], drawn
            page.screenshot(path=str(SHOTS / "inbox-03-analytics.png"), full_page=True)
        finally:
            browser.close()
    assert violations == [], violations
    with db.session(readonly=True) as s:
        texts = set(s.scalars(select(ReplyQueueItem.text)))
    assert texts == {"So glad it helped!", "It is in the shop, link in bio!"}
