"""Creator reports in headless Chromium: search a simulated creator, watch the live progress
(the live server's embedded worker builds the report), land on the report with its charts and
thumbnails, and find no accessibility violation (axe-core, see web/a11y.py).

Screenshots (screen and print) land in test-artifacts/browser/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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
from creator_builds import unlock
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.kit.liveserver import live_server
from web.a11y import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), str(AXE))
    owner = make_workspace(db, "creator-scouts")
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        yield base_url, owner


def test_search_progress_report_and_no_axe_violations(
    server: tuple[str, WorkspaceFixture], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)

    base_url, owner = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        violations = csp_violations(page)
        seen_progress: list[str] = []
        page.on(
            "response",
            lambda response: (
                seen_progress.append(response.url) if response.url.endswith("/status") else None
            ),
        )
        try:
            page.goto(f"{base_url}/login?next=/creators")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Creator reports")).to_be_visible()
            assert axe_violations(page) == []

            page.get_by_label("Handle or profile URL").fill("@garden_lab")
            page.get_by_label("Platform").select_option("simulated")
            page.get_by_role("button", name="Get report").click()
            # The progress page first (the build needs a moment), then the preview by itself;
            # since #14 the full report needs an unlock (made here as the API makes it).
            expect(page.get_by_role("heading", name="Preview")).to_be_visible()
            assert seen_progress, "the progress page never polled the build's status"
            unlock(db, owner, int(page.url.rstrip("/").rsplit("/", 1)[1]))
            page.reload()
            expect(page.get_by_test_id("section-overview")).to_be_visible()
            expect(page.get_by_role("heading", name="Posts", exact=False)).to_be_visible()
            expect(page.get_by_test_id("report-age")).to_contain_text("Report computed")
            drawn = page.evaluate(
                "['engagement-chart', 'sentiment-chart', 'category-chart', 'language-chart']"
                ".map(id => Chart.getChart(id) ? Chart.getChart(id).data.labels.length : 0)"
            )
            assert all(n > 0 for n in drawn), drawn
            thumbs = page.locator("img.creator-thumb")
            assert thumbs.count() >= 12
            page.screenshot(path=str(SHOTS / "creators-01-report.png"), full_page=True)
            assert axe_violations(page) == []

            page.emulate_media(media="print")
            expect(page.get_by_role("button", name="Refresh")).to_be_hidden()
            expect(page.locator(".topbar")).to_be_hidden()
            page.screenshot(path=str(SHOTS / "creators-02-print.png"), full_page=True)
            page.emulate_media(media="screen")

            page.get_by_role("button", name="Refresh").click()
            expect(page.get_by_text("Refresh queued")).to_be_visible()
        finally:
            browser.close()
    assert violations == [], violations
