"""The dashboard and the API docs work under the Content-Security-Policy, in headless Chromium:
no inline script is refused and the controls that used inline handlers still act."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import BROWSER_WAIT_MS, CHROMIUM, CHROMIUM_ARGS, REDIS_URL, csp_violations, require
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.kit.liveserver import live_server
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    owner = make_workspace(db, "studio-one")
    with db.session() as session:
        service.create_user(session, "editor@studio-one.test", PASSWORD)
        service.add_member(session, owner.subject, "editor@studio-one.test", Role.viewer)
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        yield base_url, owner


def test_role_select_and_api_docs_work_under_the_policy(
    server: tuple[str, WorkspaceFixture],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login?next=/settings/members")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            members = page.get_by_test_id("members")
            expect(members).to_contain_text("editor@studio-one.test")
            row = members.locator("tr", has_text="editor@studio-one.test")
            # Choosing a role submits its form (was onchange="this.form.submit()").
            row.locator("select[name=role]").select_option("editor")
            expect(page.get_by_text("Role updated.")).to_be_visible()
            expect(
                page.get_by_test_id("members")
                .locator("tr", has_text="editor@studio-one.test")
                .locator("select[name=role]")
            ).to_have_value("editor")

            page.goto(f"{base_url}/docs")
            # Swagger UI is started by the page's one inline script, allowed by its hash.
            expect(page.get_by_text("/api/v1/api-keys").first).to_be_visible()
        finally:
            browser.close()
    assert violations == [], violations
