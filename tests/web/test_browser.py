"""End to end in headless Chromium (Debian's, driven by Playwright; never `playwright install`).

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
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
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.kit.liveserver import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    owner = make_workspace(db, "studio-one")
    make_workspace(db, "studio-two", email=owner.owner_email)
    # On the PostgreSQL run the queue is Redis, as in a scaled-out install.
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        yield base_url, owner


def test_login_create_key_switch_workspace_logout(
    server: tuple[str, WorkspaceFixture],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)

    base_url, owner = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        # The Content-Security-Policy refuses inline scripts: a refusal is a broken page.
        violations = csp_violations(page)
        outside: list[str] = []
        page.on(
            "request",
            lambda request: (
                outside.append(request.url) if not request.url.startswith(base_url) else None
            ),
        )
        try:
            page.goto(f"{base_url}/settings/api-keys")
            expect(page.get_by_role("heading", name="Log in to socialpulse")).to_be_visible()
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="API keys")).to_be_visible()
            page.screenshot(path=str(SHOTS / "01-logged-in-api-keys.png"), full_page=True)

            page.get_by_label("Name").fill("browser test key")
            page.get_by_role("button", name="Create key").click()
            secret = page.get_by_test_id("new-key-value").inner_text().strip()
            assert secret.startswith("sp_")
            page.screenshot(path=str(SHOTS / "02-key-shown-once.png"), full_page=True)
            response = httpx.get(
                f"{base_url}/api/v1/workspace", headers={"Authorization": f"Bearer {secret}"}
            )
            assert response.json()["slug"] == "studio-one"

            page.goto(f"{base_url}/settings/api-keys")
            expect(page.get_by_test_id("api-keys")).to_contain_text("browser test key")
            assert secret not in page.content()

            page.goto(f"{base_url}/")
            expect(page.get_by_role("heading", name="Studio-One")).to_be_visible()
            page.locator("#workspace_id").select_option(label="Studio-Two (owner)")
            expect(page.get_by_role("heading", name="Studio-Two")).to_be_visible()
            page.screenshot(path=str(SHOTS / "03-switched-workspace.png"), full_page=True)

            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", name="Log in to socialpulse")).to_be_visible()
            page.goto(f"{base_url}/")
            expect(page.get_by_role("heading", name="Log in to socialpulse")).to_be_visible()
            page.screenshot(path=str(SHOTS / "04-logged-out.png"), full_page=True)
        finally:
            browser.close()
    assert violations == [], violations
    assert outside == [], f"the dashboard made requests outside the server: {outside}"


def test_account_page_draws_its_charts(
    server: tuple[str, WorkspaceFixture], db: Database, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    from sqlalchemy import select

    from socialpulse.accounts.models import TrackedAccount
    from socialpulse.config import Settings
    from socialpulse.demo import seed_demo_accounts

    base_url, owner = server
    seed_demo_accounts(db, Settings(data_dir=tmp_path), owner.workspace_id)
    with db.session() as session:
        account_id = session.scalar(
            select(TrackedAccount.id).where(TrackedAccount.handle == "fit_with_maya")
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        # The Content-Security-Policy refuses inline scripts: a refusal is a broken page.
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{base_url}/accounts")
            expect(page.get_by_test_id("accounts")).to_contain_text("@fit_with_maya")
            page.goto(f"{base_url}/accounts/{account_id}")
            expect(page.get_by_role("heading", name="Fit With Maya")).to_be_visible()
            page.wait_for_function(
                "() => window.Chart && Chart.getChart('followers-chart')"
                " && Chart.getChart('engagement-chart')"
            )
            points = page.evaluate(
                "['followers-chart', 'engagement-chart'].map("
                "id => Chart.getChart(id).data.datasets[0].data.length)"
            )
            assert points[0] >= 89 and points[1] > 10, points
            page.screenshot(path=str(SHOTS / "05-account-page.png"), full_page=True)
        finally:
            browser.close()
    assert violations == [], violations
