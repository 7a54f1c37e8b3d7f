"""Every dashboard page in headless Chromium, on demo-like data, at a desktop width and at a
phone's 390 px: no serious or critical axe-core violation, nothing wider than the viewport on
the phone, and a skip link that is the first Tab stop and moves focus to the page's content.
Then the phone navigation: the Menu button opens and closes it, and without JavaScript the
links simply wrap.

Screenshots (one per page and width) land in test-artifacts/browser/a11y/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import ARTIFACTS, BROWSER_WAIT_MS, CHROMIUM, CHROMIUM_ARGS, csp_violations, require
from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import Settings
from socialpulse.creators.models import Campaign, Creator, CreatorAccess, CreatorList
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Fan
from socialpulse.kit.liveserver import live_server
from socialpulse.publishing.models import Post as PublishingPost
from web.a11y import AXE, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser" / "a11y"
DESKTOP, PHONE = 1400, 390

# Every page of the dashboard, (name, path); {placeholders} are ids from the seeded data.
# A page added to the dashboard belongs here.
PAGES: list[tuple[str, str]] = [
    ("overview", "/"),
    ("accounts", "/accounts"),
    ("account", "/accounts/{account}"),
    ("usage", "/usage"),
    ("inbox", "/inbox"),
    ("inbox-queue", "/inbox/queue"),
    ("inbox-workflows", "/inbox/workflows"),
    ("inbox-analytics", "/inbox/analytics"),
    ("inbox-fan", "/inbox/fans/{fan}"),
    ("creators", "/creators"),
    ("creator-report", "/creators/{creator}"),
    ("discovery", "/discovery"),
    ("discovery-unlock", "/discovery/unlock/{locked_creator}"),
    ("discovery-unlocked", "/discovery/unlocked"),
    ("lists", "/lists"),
    ("list", "/lists/{list}"),
    ("campaigns", "/campaigns"),
    ("campaign", "/campaigns/{campaign}"),
    ("billing", "/billing"),
    ("publishing-calendar", "/publishing"),
    ("publishing-new", "/publishing/new"),
    ("publishing-edit", "/publishing/posts/{publishing_post}/edit"),
    ("publishing-queue", "/publishing/queue"),
    ("analytics-overview", "/analytics/overview"),
    ("analytics-roi", "/analytics/roi"),
    ("settings-members", "/settings/members"),
    ("settings-api-keys", "/settings/api-keys"),
    ("settings-webhooks", "/settings/webhooks"),
    ("settings-workspace", "/settings/workspace"),
    ("settings-account", "/settings/account"),
    ("not-found", "/accounts/999999"),
]
# How many of the demo's creators and comment polls to build: enough for every page to show
# tables, chips and charts, far fewer than `socialpulse demo` (minutes of work).
DEMO_CREATORS = 7
DEMO_POLLS = 3


def _seed_inbox(db: Database, settings: Settings, owner: WorkspaceFixture) -> None:
    """The demo's workflows, then a few posts' comments through the real pipeline (analysis,
    workflows, fans, paced replies), as `seed_demo_inbox` does for every post."""
    from socialpulse.demo import DEMO_WORKFLOWS
    from socialpulse.inbox import fans, polling
    from socialpulse.inbox.models import CommentPoll
    from socialpulse.inbox.workflows import schemas as workflow_schemas
    from socialpulse.inbox.workflows import service as workflows
    from socialpulse.kit.security import SecretBox
    from socialpulse.workspaces.models import Role
    from socialpulse.workspaces.tenancy import Subject

    subject = Subject(workspace_id=owner.workspace_id, role=Role.owner, user_id=owner.owner_id)
    with db.session() as session:
        for definition in DEMO_WORKFLOWS:
            workflows.create_workflow(
                session, subject, workflow_schemas.WorkflowCreate.model_validate(definition)
            )
        polling.ensure_polls(session, utcnow())
        poll_ids = list(
            session.scalars(
                select(CommentPoll.id)
                .where(CommentPoll.workspace_id == owner.workspace_id)
                .order_by(CommentPoll.id)
                .limit(DEMO_POLLS)
            )
        )
    box = SecretBox(settings.resolved_secret_key())
    for poll_id in poll_ids:
        polling.poll_post_comments(db, poll_id, box=box)
    fans.evaluate_all(db, workspace_id=owner.workspace_id)


def _seed_creators(db: Database, owner: WorkspaceFixture) -> None:
    """The first demo creators, built through the report job as `seed_demo_creators` builds
    all sixty."""
    from socialpulse.creators import service as creators_service
    from socialpulse.demo_creators import DEMO_CREATOR_SEED, DEMO_SAMPLE, pick_demo_creators
    from socialpulse.worker import jobs

    queued: list[int] = []
    with db.session() as session:
        for demo in pick_demo_creators(DEMO_CREATOR_SEED)[:DEMO_CREATORS]:
            creator = creators_service.request_report(
                session,
                platform="simulated",
                handle=demo.handle,
                workspace_id=owner.workspace_id,
                user_id=owner.owner_id,
                origin="demo",
                sample=DEMO_SAMPLE,
            )
            if creator.build_job_id is not None:
                queued.append(creator.build_job_id)
    for job_id in queued:
        jobs.run_job(db, job_id)


def _ids(db: Database, workspace_id: int) -> dict[str, int]:
    with db.session(readonly=True) as s:
        unlocked = select(CreatorAccess.creator_id).where(
            CreatorAccess.workspace_id == workspace_id
        )
        found = {
            "account": s.scalar(
                select(TrackedAccount.id).where(
                    TrackedAccount.workspace_id == workspace_id,
                    TrackedAccount.handle == "garden_lab",
                )
            ),
            "fan": s.scalar(select(Fan.id).where(Fan.workspace_id == workspace_id).limit(1)),
            "creator": s.scalar(unlocked.order_by(CreatorAccess.creator_id).limit(1)),
            "locked_creator": s.scalar(
                select(Creator.id).where(Creator.id.not_in(unlocked)).order_by(Creator.id).limit(1)
            ),
            "list": s.scalar(
                select(CreatorList.id).where(CreatorList.workspace_id == workspace_id)
            ),
            "campaign": s.scalar(select(Campaign.id).where(Campaign.workspace_id == workspace_id)),
            "publishing_post": s.scalar(
                select(PublishingPost.id)
                .where(PublishingPost.workspace_id == workspace_id)
                .order_by(PublishingPost.id)
                .limit(1)
            ),
        }
    missing = [key for key, value in found.items() if value is None]
    assert not missing, f"the seeded data has no {missing}"
    return {key: int(value) for key, value in found.items() if value is not None}


@pytest.fixture
def demo_site(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture, dict]]:
    """A live server over a demo-like workspace: the demo's accounts with 180 days of history
    and analysed posts, inbox comments run through its workflows, built creator reports with
    unlocks, a list and a campaign, and next week's publishing posts."""
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), str(AXE))
    from socialpulse.ai.service import analyze_pending_posts
    from socialpulse.demo import seed_demo_accounts
    from socialpulse.demo_billing import seed_demo_billing
    from socialpulse.demo_publishing import seed_demo_publishing
    from socialpulse.worker.schedule import load_tasks

    load_tasks()
    # The slug of the demo workspace, which may use the simulated platform.
    owner = make_workspace(db, "demo")
    settings = Settings(data_dir=tmp_path)
    seed_demo_accounts(db, settings, owner.workspace_id)
    analyze_pending_posts(db, workspace_id=owner.workspace_id)
    _seed_inbox(db, settings, owner)
    _seed_creators(db, owner)
    seed_demo_billing(db, owner.workspace_id, owner.owner_id)
    seed_demo_publishing(db, owner.workspace_id, owner.owner_id)
    ids = _ids(db, owner.workspace_id)
    with live_server(db.url, tmp_path) as base_url:
        yield base_url, owner, ids


def _log_in(page: Any, base_url: str, owner: WorkspaceFixture) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(owner.owner_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main", include_hidden=True)).to_be_attached()


def _wider_than_viewport(page: Any) -> str | None:
    """None when the page fits its viewport; otherwise the widths and the widest elements that
    stick out (what to fix)."""
    return page.evaluate(
        """() => {
          const width = window.innerWidth, total = document.documentElement.scrollWidth;
          if (total <= width) return null;
          const out = [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > width + 1)
            .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
              + (typeof el.className === 'string' && el.className
                 ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
              + ' ' + Math.round(el.getBoundingClientRect().right) + 'px')
            .slice(0, 6);
          return `page ${total}px wide in a ${width}px viewport: ${out.join(', ')}`;
        }"""
    )


def _skip_link_problem(page: Any) -> str | None:
    """None when the first Tab stop of the page (in document order, so an autofocused field
    does not hide it) is a "Skip to main content" link, visible once focused, whose Enter moves
    focus to <main id="main">."""
    first = page.evaluate(
        """() => {
          const el = [...document.querySelectorAll(
            'a[href], button, input, select, textarea, summary, [tabindex]')]
            .find(e => e.tabIndex >= 0 && !e.disabled && e.type !== 'hidden'
                  && getComputedStyle(e).display !== 'none'
                  && getComputedStyle(e).visibility !== 'hidden');
          return el ? [el.className, el.textContent.trim()] : null;
        }"""
    )
    if first != ["skip-link", "Skip to main content"]:
        return f"the first Tab stop is {first}, not the skip link"
    skip = page.locator(".skip-link")
    skip.focus()
    if not page.evaluate("document.querySelector('.skip-link').getBoundingClientRect().top >= 0"):
        return "the focused skip link stays off screen"
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id")
    return None if focused == "MAIN#main" else f"the skip link moved focus to {focused}"


def _check(page: Any, name: str, width: int, expected_status: int, status: int) -> list[str]:
    problems = []
    if status != expected_status:
        problems.append(f"answered {status}")
    problems += serious_violations(page)
    if width == PHONE and (wide := _wider_than_viewport(page)):
        problems.append(wide)
    if skip := _skip_link_problem(page):
        problems.append(skip)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    return problems


def test_every_page_passes_axe_fits_a_phone_and_has_a_skip_link(
    demo_site: tuple[str, WorkspaceFixture, dict[str, int]],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, ids = demo_site
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": DESKTOP, "height": 900})
        refused = csp_violations(page)
        try:
            for width in (DESKTOP, PHONE):
                page.set_viewport_size({"width": width, "height": 900})
                page.context.clear_cookies()
                response = page.goto(f"{base_url}/login", wait_until="networkidle")
                if found := _check(page, "login", width, 200, response.status):
                    failures[f"login at {width}px"] = found
                _log_in(page, base_url, owner)
                for name, path in PAGES:
                    response = page.goto(base_url + path.format(**ids), wait_until="networkidle")
                    expected = 404 if name == "not-found" else 200
                    if found := _check(page, name, width, expected, response.status):
                        failures[f"{name} ({path}) at {width}px"] = found
        finally:
            browser.close()
    assert failures == {}, "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in failures.items()
    )
    assert refused == [], refused


@pytest.fixture
def site(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), str(AXE))
    owner = make_workspace(db, "phone-studio")
    with live_server(db.url, tmp_path) as base_url:
        yield base_url, owner


def test_phone_menu_opens_closes_and_tables_scroll_in_their_box(
    site: tuple[str, WorkspaceFixture],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": PHONE, "height": 800})
        refused = csp_violations(page)
        try:
            _log_in(page, base_url, owner)
            page.goto(f"{base_url}/settings/api-keys")
            page.keyboard.press("Tab")
            expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.locator("main#main")).to_be_focused()
            main_nav = page.get_by_role("navigation", name="Main", include_hidden=True)
            menu = page.get_by_role("button", name="Menu")
            expect(main_nav).to_be_hidden()
            expect(menu).to_have_attribute("aria-expanded", "false")

            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
            expect(main_nav.get_by_role("link", name="Inbox")).to_be_visible()
            expect(page.get_by_label("Workspace")).to_be_visible()
            assert _wider_than_viewport(page) is None
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / "phone-menu-open.png"), full_page=True)
            page.keyboard.press("Escape")
            expect(main_nav).to_be_hidden()
            expect(menu).to_be_focused()

            # The keys table is wider than a phone: it scrolls inside a named region that
            # keyboard users can reach, and the page itself does not widen.
            region = page.locator(".table-scroll", has=page.get_by_test_id("api-keys"))
            expect(region).to_have_attribute("role", "region")
            expect(region).to_have_attribute("tabindex", "0")
            assert region.get_attribute("aria-label")
            assert region.evaluate("el => el.scrollWidth > el.clientWidth")
            assert _wider_than_viewport(page) is None
            page.set_viewport_size({"width": DESKTOP, "height": 800})
            expect(menu).to_be_hidden()
            expect(main_nav).to_be_visible()
            # On a wide screen the table fits: no extra Tab stop.
            expect(region).not_to_have_attribute("tabindex", "0")
        finally:
            browser.close()

        # Without JavaScript there is no Menu button: the navigation is shown and wraps.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        plain = browser.new_page(
            viewport={"width": PHONE, "height": 800}, java_script_enabled=False
        )
        try:
            _log_in(plain, base_url, owner)
            plain.goto(f"{base_url}/settings/api-keys")
            expect(plain.get_by_role("button", name="Menu")).to_be_hidden()
            expect(
                plain.get_by_role("navigation", name="Main", include_hidden=True).get_by_role(
                    "link", name="Billing"
                )
            ).to_be_visible()
            assert _wider_than_viewport(plain) is None
            plain.screenshot(path=str(SHOTS / "phone-no-js.png"), full_page=True)
        finally:
            browser.close()
    assert refused == [], refused
