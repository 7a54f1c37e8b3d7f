"""Issue #17 (C) in headless Chromium: the Overview's counts and links, "Fetch now" followed
in place until done (the live server's embedded worker runs the fetch), the best-times
heatmap, the post page's charts, the comparison and an account's removal followed on the
list, each page without a serious or critical axe-core finding.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
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
from factories import PASSWORD, WorkspaceFixture, make_interaction, make_workspace
from socialpulse.accounts.models import AccountStatus, FetchRun, FetchStatus, TrackedAccount
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.demo import seed_demo_accounts
from socialpulse.inbox.models import InteractionStatus
from socialpulse.kit.liveserver import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_axe_findings(page: Any) -> list[str]:
    """axe-core's WCAG 2 A/AA findings of impact serious or critical on the page as it is."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
        ".then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ' (' + v.impact + '): ' + v.help + ' ' +"
        " v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))"
    )
    return list(result)


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), f"{AXE} is missing (npm ci, as `make assets` runs)")
    owner = make_workspace(db, "overview-live")
    # Credentials sealed with the live server's key: its worker decrypts them to fetch.
    key = SecretStr("live-server-test-secret-0123456789abcdef")
    seed_demo_accounts(db, Settings(data_dir=tmp_path, secret_key=key), owner.workspace_id)
    with db.session() as session:
        accounts = {
            a.handle: a
            for a in session.scalars(
                select(TrackedAccount).where(TrackedAccount.workspace_id == owner.workspace_id)
            )
        }
        garden = accounts["garden_lab"]
        for sentiment in ("negative", "positive", "negative"):
            make_interaction(
                session, garden, status=InteractionStatus.unread, ai_sentiment=sentiment
            )
        rival = next(a for a in accounts.values() if not a.is_own)
        rival.status = AccountStatus.needs_reconnect
        rival.status_message = "the platform rejected the token"
        session.add(
            FetchRun(
                workspace_id=owner.workspace_id,
                account_id=rival.id,
                status=FetchStatus.failed,
                error="401 from the platform",
            )
        )
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        yield base_url, owner


def _account_id(db: Database, handle: str) -> int:
    with db.session() as session:
        found = session.scalar(select(TrackedAccount.id).where(TrackedAccount.handle == handle))
    assert found is not None
    return found


def _count(page: Any, test_id: str) -> int:
    """The number an overview stat shows (its first run of digits)."""
    found = re.search(r"\d[\d,]*", page.get_by_test_id(test_id).inner_text())
    assert found, test_id
    return int(found.group().replace(",", ""))


def _wait_until_no_fetch_is_active(db: Database, account_id: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with db.session(readonly=True) as session:
            active = session.scalar(
                select(FetchRun.id).where(
                    FetchRun.account_id == account_id,
                    FetchRun.status.in_([FetchStatus.pending, FetchStatus.running]),
                )
            )
        if active is None:
            return
        time.sleep(0.5)
    raise AssertionError(f"account {account_id} still has a fetch running after {timeout_s} s")


def test_overview_fetch_now_heatmap_post_and_compare(
    server: tuple[str, WorkspaceFixture], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner = server
    garden = _account_id(db, "garden_lab")
    SHOTS.mkdir(parents=True, exist_ok=True)
    findings: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            # The Overview: what waits, each count a link to where it is handled.
            # What was seeded here (3 unread, 2 of them negative), plus whatever the live
            # server's own first fetch of the demo accounts has added since (it runs on its
            # schedule, not the test's).
            expect(page.get_by_test_id("count-unread")).to_contain_text(re.compile(r"\d"))
            assert _count(page, "count-unread") >= 3
            expect(page.get_by_test_id("count-unread")).to_have_attribute(
                "href", "/inbox?status=unread"
            )
            assert _count(page, "count-negative") >= 2
            expect(page.get_by_test_id("attention")).to_contain_text("401 from the platform")
            expect(page.get_by_test_id("overview-followers")).to_contain_text("@garden_lab")
            page.screenshot(path=str(SHOTS / "c17-01-overview.png"), full_page=True)
            findings["overview"] = serious_axe_findings(page)

            page.goto(f"{base_url}/accounts")
            expect(page.get_by_test_id("accounts")).to_contain_text("@garden_lab")
            page.screenshot(path=str(SHOTS / "c17-02-accounts.png"), full_page=True)
            findings["accounts"] = serious_axe_findings(page)

            # Adding an account asks its platform: a spinner, and the button off meanwhile.
            # The submission is held in the page (after accounts.js saw it) to look at that state.
            page.evaluate(
                "document.querySelector('[data-busy-form]')"
                ".addEventListener('submit', event => event.preventDefault())"
            )
            page.get_by_label("Profile URL or handle").fill("@new_face")
            page.get_by_role("button", name="Check and add").click()
            expect(page.get_by_role("button", name="Checking the account…")).to_be_disabled()
            expect(page.locator("[data-busy-spinner]")).to_be_visible()
            page.locator("[data-busy-form]").screenshot(path=str(SHOTS / "c17-02b-adding.png"))

            # The live server's scheduler may be fetching the new accounts on its own: let it
            # finish, so the "Fetch now" below is this test's fetch, not a running one.
            _wait_until_no_fetch_is_active(db, garden)
            # The account page: the heatmap's best cell is the slot its text names.
            page.goto(f"{base_url}/accounts/{garden}")
            best_text = page.get_by_test_id("best-text").inner_text()
            best_cells = page.locator("td.hm-best")
            assert best_cells.count() >= 1
            first_best = best_cells.first.get_attribute("data-cell")
            assert first_best and first_best in best_text, (first_best, best_text)
            expect(best_cells.first).to_contain_text("best")
            page.get_by_test_id("best-times").screenshot(path=str(SHOTS / "c17-03-heatmap.png"))
            findings["account"] = serious_axe_findings(page)

            # Fetch now: disabled at once, progress until done, all without a reload.
            page.evaluate("window.__sameDocument = true")
            button = page.get_by_test_id("fetch-now")
            # The page opens saying how the scheduler's earlier fetch ended ("Fetch #1: Done:
            # ..."), so "Done:" alone could be that one: follow the run this click started.
            with page.expect_response(
                lambda r: r.request.method == "POST" and r.url.endswith(f"/accounts/{garden}/fetch")
            ) as posted:
                button.click()
            expect(button).to_be_disabled()
            run_id = posted.value.json()["run_id"]
            progress_text = page.locator("[data-progress-text]")
            expect(progress_text).to_contain_text(f"Fetch #{run_id}: ")
            # On PostgreSQL + Redis the live server's worker may still be busy with the jobs
            # its start queued (the demo's fetches and caption analyses): the page keeps saying
            # "Queued: waiting for a worker" meanwhile, so give the fetch time to be picked up.
            expect(progress_text).to_contain_text(f"Fetch #{run_id}: Done:", timeout=120_000)
            expect(button).to_be_enabled()
            expect(page.locator("[data-progress-box]")).to_be_hidden()  # no fetch under way
            assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
            newest_run = page.get_by_test_id("fetch-history").locator("tbody tr").first
            expect(newest_run.locator("td").first).to_have_text(str(run_id))
            expect(newest_run).to_contain_text("manual")
            expect(newest_run).to_contain_text("completed")
            page.screenshot(path=str(SHOTS / "c17-04-fetch-done.png"), full_page=True)

            # A post's page, reached from the top posts: its metric history drawn.
            page.get_by_test_id("top-posts").locator("a[href^='/posts/']").first.click()
            expect(page.get_by_test_id("post-caption")).to_be_visible()
            page.wait_for_function("() => window.Chart && Chart.getChart('views-chart')")
            points = page.evaluate("Chart.getChart('views-chart').data.datasets[0].data.length")
            assert points > 1, points
            page.screenshot(path=str(SHOTS / "c17-05-post.png"), full_page=True)
            findings["post"] = serious_axe_findings(page)

            # The comparison: choose two accounts, a table and a chart of them.
            page.goto(f"{base_url}/accounts/compare")
            form = page.get_by_test_id("compare-form")
            for box in form.get_by_role("checkbox").all():
                box.uncheck()
            form.get_by_role("checkbox", name="@garden_lab simulated", exact=True).check()
            form.get_by_role("checkbox", name="@fit_with_maya simulated", exact=True).check()
            form.get_by_role("button", name="Compare").click()
            expect(page.get_by_test_id("compare-table").locator("tbody tr")).to_have_count(2)
            page.wait_for_function("() => window.Chart && Chart.getChart('compare-followers')")
            page.screenshot(path=str(SHOTS / "c17-06-compare.png"), full_page=True)
            findings["compare"] = serious_axe_findings(page)

            # Removing an account: the list follows the background deletion without a reload.
            maya = _account_id(db, "fit_with_maya")
            page.goto(f"{base_url}/accounts/{maya}/delete")
            page.get_by_test_id("confirm-remove").click()
            expect(page).to_have_url(f"{base_url}/accounts")
            page.evaluate("window.__sameDocument = true")
            removal = page.get_by_test_id(f"removal-{maya}")
            if removal.count():  # absent when the worker finished before the list was drawn
                expect(removal.locator("[data-removal-text]")).to_have_text(
                    "Removed", timeout=120_000
                )
                assert page.evaluate("window.__sameDocument === true"), "the list reloaded"
            page.reload()
            expect(page.get_by_text("@fit_with_maya")).to_have_count(0)
        finally:
            browser.close()
    assert violations == [], violations
    assert {name: found for name, found in findings.items() if found} == {}
