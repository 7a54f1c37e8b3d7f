"""The rule builder, settings edits, the fan page and the API key copy button in headless
Chromium: rows added with the script, the preview filled in place with matches first, the key
copied to the clipboard, and axe-core finding no violation on each page.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ARTIFACTS, BROWSER_WAIT_MS, CHROMIUM, CHROMIUM_ARGS, csp_violations, require
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Fan, Interaction, InteractionKind
from socialpulse.kit.liveserver import live_server
from web.test_creators_browser import AXE, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture, int]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), f"{AXE} is missing (npm ci, as `make assets` runs)")
    owner = make_workspace(db, "rule-builders")
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=owner.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        fan = Fan(
            workspace_id=owner.workspace_id,
            platform="simulated",
            external_id="f1",
            handle="loyal_lou",
            interactions_count=3,
            positive_count=2,
            negative_count=0,
        )
        s.add(fan)
        s.flush()
        for n, text in enumerate(
            ["so pretty", "my order never came, refund please", "nice", "love it", "first"]
        ):
            s.add(
                Interaction(
                    workspace_id=owner.workspace_id,
                    account_id=account.id,
                    fan_id=fan.id if n % 2 else None,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=f"c{n}",
                    author_external_id=f"a{n}",
                    author_handle=f"author{n}",
                    text=text,
                    posted_at=utcnow() - dt.timedelta(minutes=n + 1),
                )
            )
        fan_id = fan.id
    with live_server(db.url, tmp_path) as base_url:
        yield base_url, owner, fan_id


def test_rule_builder_preview_copy_button_and_no_axe_violations(
    server: tuple[str, WorkspaceFixture, int],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, fan_id = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        page = context.new_page()
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login?next=/inbox/workflows")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="New workflow")).to_be_visible()
            assert axe_violations(page) == []

            # The example rule has one condition (intent); replace it by a keywords row.
            rows = page.locator('[data-wf-list="c"] [data-wf-row]')
            expect(rows).to_have_count(1)
            page.get_by_role("button", name="Remove condition 1").click()
            page.get_by_role("button", name="Add a condition").click()
            expect(rows).to_have_count(1)
            row = rows.first
            row.locator("[data-wf-type]").select_option("keywords")
            expect(row.locator(".wf-help")).to_contain_text("whole words")
            row.locator('input[name$="_value"]').fill("refund, broken")
            page.get_by_role("button", name="Preview on the last 100 comments").click()
            panel = page.get_by_test_id("dry-run")
            expect(panel.get_by_role("heading")).to_have_text("Preview: 1 of 5 would match")
            first = panel.locator(".wf-result").first
            expect(first).to_contain_text("refund please")
            expect(first).to_contain_text("match")
            assert page.url.endswith("/inbox/workflows")  # filled in place, no page load
            expect(page.get_by_test_id("not-saved")).to_have_count(0)
            page.screenshot(path=str(SHOTS / "workflows-01-builder-preview.png"), full_page=True)
            assert axe_violations(page) == []

            page.get_by_label("Name", exact=True).fill("Refunds")
            page.get_by_role("button", name="Save workflow").click()
            expect(page.get_by_text("Workflow 'Refunds' saved.")).to_be_visible()
            expect(page.locator("[data-wf-state]")).to_be_empty()
            page.locator('[data-wf-list="c"] input[name$="_value"]').first.fill("refund")
            expect(page.locator("[data-wf-state]")).to_have_text("Unsaved changes")

            for path, shot in (
                ("/settings/inbox", "settings-01-inbox.png"),
                ("/settings/reply-limits", "settings-02-reply-limits.png"),
                ("/settings/budgets", "settings-03-budgets.png"),
                (f"/inbox/fans/{fan_id}", "fan-01-page.png"),
            ):
                page.goto(f"{base_url}{path}")
                page.screenshot(path=str(SHOTS / shot), full_page=True)
                assert axe_violations(page) == [], path

            page.goto(f"{base_url}/settings/api-keys")
            expect(page.get_by_label("Role")).to_have_value("viewer")
            page.get_by_label("Name").fill("reporting script")
            page.get_by_role("button", name="Create key").click()
            key = page.get_by_test_id("new-key-value").inner_text().strip()
            page.get_by_role("button", name="Copy key").click()
            expect(page.get_by_test_id("copy-status")).to_have_text("Copied")
            assert page.evaluate("navigator.clipboard.readText()") == key
            page.screenshot(path=str(SHOTS / "settings-04-api-key-copied.png"), full_page=True)
            assert axe_violations(page) == []
        finally:
            browser.close()
    assert violations == [], violations
