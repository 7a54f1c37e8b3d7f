"""Discovery, billing, lists and campaigns in headless Chromium against a live server: browse →
unlock (the confirm step shows the price and the balance) → the full report; a top-up through
the local fake Stripe's hosted checkout back to /billing with the new balance and its ledger
row; and no accessibility violation (axe-core) on any of these pages.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import os
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
from dashboard_pages import build_creators, set_plan
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.kit import liveserver
from web.a11y import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def live(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, WorkspaceFixture, Any, dict[str, int]]]:
    """A live server whose payments go to a local fake Stripe, with analysed creators."""
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), str(AXE))
    from billing.stripe_fake import StripeFake

    creators = build_creators(db, ["garden_lab", "city_eats_daily"])
    owner = make_workspace(db, "brand-studio")
    # The checkout's return address is the instance's public URL (settings.base_url): the
    # server's port is chosen here so that URL can name it.
    port = liveserver.free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setattr(liveserver, "free_port", lambda: port)
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with StripeFake() as fake:
        fake.webhook_url = f"{base_url}/api/v1/billing/webhooks/stripe"
        env = {
            "SOCIALPULSE_BASE_URL": base_url,
            "SOCIALPULSE_STRIPE_SECRET_KEY": fake.api_key,
            "SOCIALPULSE_STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
            "SOCIALPULSE_STRIPE_API_BASE": fake.url,
            # The fake listens on loopback, which outbound requests refuse unless allowed.
            "SOCIALPULSE_EGRESS_ALLOW": "127.0.0.1",
        }
        with liveserver.live_server(db.url, tmp_path, tasks_url=tasks_url, **env) as url:
            assert url == base_url
            yield url, owner, fake, creators


def _log_in(page: Any, base_url: str, owner: WorkspaceFixture, target: str) -> None:
    page.goto(f"{base_url}/login?next={target}")
    page.get_by_label("Email").fill(owner.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_browse_unlock_with_price_and_balance_then_the_full_report(
    live: tuple[str, WorkspaceFixture, Any, dict[str, int]],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, _fake, creators = live
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        violations = csp_violations(page)
        try:
            _log_in(page, base_url, owner, "/discovery")
            expect(page.get_by_role("heading", name="Discovery", exact=True)).to_be_visible()
            expect(page.get_by_test_id(f"creator-{creators['city_eats_daily']}")).to_be_visible()
            assert axe_violations(page) == []

            page.get_by_label("Search text").fill("garden")
            page.get_by_label("Sort by").select_option("followers")
            page.get_by_role("button", name="Search").click()
            card = page.get_by_test_id(f"creator-{creators['garden_lab']}")
            expect(card).to_contain_text("locked")
            expect(page.get_by_test_id(f"creator-{creators['city_eats_daily']}")).to_have_count(0)
            page.screenshot(path=str(SHOTS / "billing-01-discovery.png"), full_page=True)

            card.get_by_role("link", name="Unlock @garden_lab", exact=False).click()
            expect(page.get_by_test_id("unlock-confirm")).to_be_visible()
            expect(page.get_by_test_id("unlock-price")).to_contain_text("allowance")
            expect(page.get_by_test_id("unlock-balance")).to_have_text("0 credits")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "billing-02-unlock-confirm.png"), full_page=True)

            page.get_by_role("button", name="Confirm unlock", exact=False).click()
            expect(page.get_by_text("Unlocked @garden_lab")).to_be_visible()
            expect(page.get_by_test_id("section-posts")).to_be_visible()
            assert axe_violations(page) == []

            page.goto(f"{base_url}/discovery/unlocked")
            expect(page.get_by_test_id(f"days-left-{creators['garden_lab']}")).to_have_text("30")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "billing-03-unlocked.png"), full_page=True)
        finally:
            browser.close()
    assert violations == [], violations


def test_topup_through_the_fake_stripe_checkout_returns_to_the_new_balance(
    live: tuple[str, WorkspaceFixture, Any, dict[str, int]], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, fake, _creators = live
    set_plan(db, owner.workspace_id, "premium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        violations = csp_violations(page)
        try:
            _log_in(page, base_url, owner, "/billing")
            expect(page.get_by_role("heading", name="Billing and credits")).to_be_visible()
            expect(page.get_by_test_id("balance")).to_have_text("0")
            # Nothing spent yet: the chart says so instead of drawing an empty axis.
            expect(page.get_by_test_id("empty-chart")).to_have_text(
                "No credits spent in these months yet."
            )
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "billing-04-billing.png"), full_page=True)

            page.get_by_role("button", name="Buy 1,000 credits").click()
            # The provider's hosted page (the fake's), then back with the payment confirmed.
            page.wait_for_url(f"{fake.url}/checkout/**")
            # Premium pays 20 % less: $40.00 for the $50.00 package.
            expect(page.get_by_role("heading", name="Pay", exact=False)).to_contain_text("$40.00")
            page.get_by_role("button", name="Pay").click()
            page.wait_for_url(f"{base_url}/billing?checkout=success**")
            expect(page.get_by_text("Payment received")).to_be_visible()
            expect(page.get_by_test_id("balance")).to_have_text("1,000")
            row = page.get_by_test_id("ledger-row").first
            expect(row).to_contain_text("topup")
            expect(row).to_contain_text("+1,000")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "billing-05-topped-up.png"), full_page=True)
        finally:
            browser.close()
    assert [d.status for d in fake.deliveries] == [200]
    assert violations == [], violations


def test_lists_and_campaigns_pages_have_no_axe_violations(
    live: tuple[str, WorkspaceFixture, Any, dict[str, int]],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, _fake, creators = live
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        violations = csp_violations(page)
        try:
            _log_in(page, base_url, owner, "/lists")
            expect(page.get_by_role("heading", name="Creator lists")).to_be_visible()
            assert axe_violations(page) == []
            page.get_by_label("Name").fill("Food creators")
            page.get_by_role("button", name="Create list").click()
            expect(page.get_by_role("heading", name="Food creators")).to_be_visible()

            page.goto(f"{base_url}/discovery")
            card = page.get_by_test_id(f"creator-{creators['city_eats_daily']}")
            card.get_by_role("button", name="Save to list", exact=False).click()
            expect(page.get_by_text("Saved to Food creators.")).to_be_visible()
            page.get_by_role("link", name="Lists", exact=True).click()
            page.get_by_role("link", name="Food creators").click()
            expect(page.get_by_test_id(f"item-{creators['city_eats_daily']}")).to_be_visible()
            assert axe_violations(page) == []

            page.goto(f"{base_url}/campaigns")
            assert axe_violations(page) == []
            page.get_by_label("Name").fill("Autumn menu")
            page.get_by_label("First day").fill("2026-09-01")
            page.get_by_label("Last day").fill("2026-09-30")
            page.get_by_label("Budget").fill("1500")
            page.get_by_role("button", name="Create campaign").click()
            expect(page.get_by_role("heading", name="Autumn menu")).to_be_visible()
            expect(page.get_by_test_id("analysis-price")).to_contain_text("credits")
            assert axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "billing-06-campaign.png"), full_page=True)
        finally:
            browser.close()
    assert violations == [], violations
