"""The inbox and reply queue in headless Chromium (Debian's, driven by Playwright), #17 items 1,
4 and 9: a reply in place (no navigation, scroll kept), select-all + bulk, j/k/r/e, the evidence
panel by keyboard, "wrong label", one tab stop per comment, the queue's overdue and limits, the
cancel dialog; axe-core reports nothing serious or critical on either page.

Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from socialpulse.accounts.models import AccountStatus, Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    AiLabelCorrection,
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.kit.liveserver import live_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "browser"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ROWS = 30


def serious_axe_violations(page: Any) -> list[str]:
    """axe-core's WCAG 2 A/AA violations of impact serious or critical on the page as it is now
    (evaluated through the DevTools protocol, which the page's CSP does not govern)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return list(
        page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
            ".then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.help + ' ' +"
            " v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')))"
        )
    )


@pytest.fixture
def server(db: Database, tmp_path: Path) -> Iterator[tuple[str, WorkspaceFixture, list[int]]]:
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(AXE.exists(), f"{AXE} is missing (npm ci, as `make assets` runs)")
    owner = make_workspace(db, "inbox-ux")
    now = utcnow()
    ids: list[int] = []
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=owner.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        post = Post(
            workspace_id=owner.workspace_id,
            account_id=account.id,
            external_id="p1",
            caption="Sourdough at home: the whole method",
            posted_at=now - dt.timedelta(days=1),
        )
        s.add(post)
        s.flush()
        for n in range(ROWS):
            row = Interaction(
                workspace_id=owner.workspace_id,
                account_id=account.id,
                post_id=post.id,
                platform="simulated",
                kind=InteractionKind.comment,
                external_id=f"c{n}",
                author_external_id=f"fan{n}",
                author_handle=f"fan{n}",
                text=f"Comment number {n}: where can I buy your starter?",
                posted_at=now - dt.timedelta(minutes=n + 1),
                ai_sentiment="neutral",
                ai_sentiment_confidence=0.81,
                ai_intent="purchase_intent" if n % 2 else "question",
                ai_intent_confidence=0.9 if n % 2 else 0.45,
                ai_evidence={
                    "intents": {
                        "purchase_intent": {
                            "evidence": [
                                {
                                    "source": "rule",
                                    "value": "where_to_buy: where can i buy",
                                    "weight": 0.9,
                                }
                            ]
                        },
                        "question": {
                            "evidence": [
                                {"source": "rule", "value": "question_mark: ?", "weight": 0.9}
                            ]
                        },
                    }
                },
            )
            s.add(row)
            s.flush()
            ids.append(row.id)
        # A reply waiting since ten minutes ago on an account that needs reconnecting: the
        # embedded worker leaves it alone, so it stays overdue.
        stalled = TrackedAccount(
            workspace_id=owner.workspace_id,
            platform="simulated",
            external_id="2",
            handle="old_shop",
            status=AccountStatus.needs_reconnect,
        )
        s.add(stalled)
        s.flush()
        asked = Interaction(
            workspace_id=owner.workspace_id,
            account_id=stalled.id,
            platform="simulated",
            kind=InteractionKind.comment,
            external_id="late",
            author_external_id="late_fan",
            author_handle="late_fan",
            text="Still open on Sundays?",
            posted_at=now - dt.timedelta(days=2),
        )
        s.add(asked)
        s.flush()
        s.add(
            ReplyQueueItem(
                workspace_id=owner.workspace_id,
                account_id=stalled.id,
                interaction_id=asked.id,
                platform="simulated",
                text="Yes, 9 to 1!",
                status=ReplyStatus.pending,
                scheduled_for=now - dt.timedelta(minutes=10),
                idempotency_key="late-one",
            )
        )
    tasks_url = REDIS_URL if db.dialect == "postgresql" else ""
    with live_server(db.url, tmp_path, tasks_url=tasks_url) as base_url:
        mounted = httpx.get(f"{base_url}/inbox", follow_redirects=False).status_code != 404
        require(mounted, "the inbox dashboard router is not mounted in socialpulse.app yet")
        yield base_url, owner, ids


def _status(db: Database, interaction_id: int) -> InteractionStatus:
    with db.session(readonly=True) as s:
        return s.get_one(Interaction, interaction_id).status


def test_inbox_in_place_with_keys_evidence_corrections_and_the_queue(
    server: tuple[str, WorkspaceFixture, list[int]], db: Database
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=BROWSER_WAIT_MS)
    base_url, owner, ids = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        violations = csp_violations(page)
        try:
            page.goto(f"{base_url}/login?next=/inbox")
            page.get_by_label("Email").fill(owner.owner_email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
            expect(page.get_by_test_id("result-count")).to_have_text(f"{ROWS + 1} comments")
            assert serious_axe_violations(page) == []

            # One tab stop per comment: the controls of every row but the active one are out
            # of the tab order (hundreds of stops otherwise), and the rows themselves rove.
            stops = page.evaluate(
                "Array.from(document.querySelectorAll('[data-inbox-row] a[href], "
                "[data-inbox-row] button, [data-inbox-row] input, [data-inbox-row] summary, "
                "[data-inbox-row] select, [data-inbox-row] textarea'))"
                ".filter(e => e.tabIndex >= 0 && !e.closest('.inbox-active')).length"
            )
            assert stops == 0
            rows_in_tab_order = page.evaluate(
                "Array.from(document.querySelectorAll('[data-inbox-row]'))"
                ".filter(e => e.tabIndex >= 0).length"
            )
            assert rows_in_tab_order == 1

            # --- reply in place: no navigation, the scroll position kept ---------------------
            target = ids[12]
            row = page.get_by_test_id(f"interaction-{target}")
            row.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, 200)")
            page.evaluate("window.spMarker = 'same page'")
            before = page.evaluate("window.scrollY")
            assert before > 300
            row.get_by_text("Reply", exact=True).click()
            row.get_by_label("Reply to @fan12").fill("It is in the shop, link in bio")
            row.get_by_role("button", name="Queue reply").click()
            expect(row.get_by_test_id(f"row-message-{target}")).to_contain_text(
                "Reply to @fan12 queued."
            )
            expect(row.get_by_test_id(f"thread-{target}")).to_contain_text(
                "It is in the shop, link in bio"
            )
            expect(row.get_by_test_id(f"queued-{target}")).to_have_text("reply pending")
            assert page.evaluate("window.spMarker") == "same page"  # no reload
            assert abs(page.evaluate("window.scrollY") - before) <= 2
            page.screenshot(path=str(SHOTS / "inbox-ux-01-reply-in-place.png"))

            # --- keys: j / k move, e done, r reply --------------------------------------------
            page.evaluate("window.scrollTo(0, 0)")
            page.locator("body").click(position={"x": 5, "y": 5})
            focused = "document.activeElement.getAttribute('data-testid')"
            page.keyboard.press("j")  # from outside the list: the comment last worked on
            assert page.evaluate(focused) == f"interaction-{target}"
            page.get_by_test_id(f"interaction-{ids[0]}").focus()
            page.keyboard.press("j")
            page.keyboard.press("j")
            page.keyboard.press("k")
            assert page.evaluate(focused) == f"interaction-{ids[1]}"
            page.keyboard.press("e")
            second = page.get_by_test_id(f"interaction-{ids[1]}")
            expect(second.get_by_test_id(f"row-message-{ids[1]}")).to_contain_text("marked ignored")
            assert _status(db, ids[1]) == InteractionStatus.ignored
            expect(second).to_be_focused()  # the swapped-in row keeps the focus
            page.keyboard.press("r")
            box = second.get_by_label("Reply to @fan1")
            expect(box).to_be_focused()
            box.fill("Thanks!")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            expect(second.get_by_test_id(f"queued-{ids[1]}")).to_be_visible()

            # --- the evidence panel, reached with the keyboard -------------------------------
            first = page.get_by_test_id(f"interaction-{ids[0]}")
            # The reply's row swap settles (and re-activates its row) on its own schedule:
            # wait for it, then move to the first row.
            page.wait_for_load_state("networkidle")
            first.focus()
            expect(first).to_have_class(re.compile(r"\binbox-active\b"))
            why = first.locator("summary", has_text="Why these labels?")
            for _ in range(12):
                page.keyboard.press("Tab")
                if why.evaluate("e => e === document.activeElement"):
                    break
            expect(why).to_be_focused()
            page.keyboard.press("Enter")
            panel = first.get_by_test_id(f"why-{ids[0]}")
            expect(panel).to_contain_text("Intent: question, 45 % confident (uncertain)")
            expect(panel).to_contain_text("Rule “question mark” matched “?”")
            expect(first.locator(".chip-uncertain")).to_contain_text("uncertain")
            page.screenshot(path=str(SHOTS / "inbox-ux-02-evidence-panel.png"))

            # --- wrong label -----------------------------------------------------------------
            first.get_by_text("Label, assign, wrong label").click()
            first.get_by_label("Intent", exact=True).select_option("complaint")
            first.get_by_role("button", name="Save correction").click()
            expect(first.get_by_test_id(f"row-message-{ids[0]}")).to_contain_text(
                "intent “complaint” saved"
            )
            expect(first.locator(".chip-intent")).to_contain_text("corrected by you")
            with db.session(readonly=True) as s:
                corrected = s.scalar(
                    select(AiLabelCorrection.intent).where(
                        AiLabelCorrection.interaction_id == ids[0]
                    )
                )
            assert corrected == "complaint"
            page.screenshot(path=str(SHOTS / "inbox-ux-03-wrong-label.png"))

            # --- hide asks in a dialog first, then the row changes in place --------------------
            third = page.get_by_test_id(f"interaction-{ids[2]}")
            third.focus()
            third.get_by_role("button", name="Hide").click()
            dialog = page.locator("#confirm-dialog")
            expect(dialog).to_contain_text("Hide the comment by @fan2?")
            dialog.get_by_role("button", name="No, keep it").click()
            expect(dialog).to_be_hidden()
            with db.session(readonly=True) as s:
                assert not s.get_one(Interaction, ids[2]).hidden
            third.get_by_role("button", name="Hide").click()
            dialog.get_by_role("button", name="Yes").click()
            expect(third.get_by_test_id(f"row-message-{ids[2]}")).to_contain_text(
                "the comment by @fan2"
            )
            with db.session(readonly=True) as s:
                assert s.get_one(Interaction, ids[2]).hidden
            assert page.evaluate("window.spMarker") == "same page"

            # --- select all + bulk action, in place -----------------------------------------
            page.get_by_label("Select all on this page").check()
            expect(page.locator("#selected-count")).to_have_text(f"{ROWS + 1} selected")
            page.get_by_label("With the selected").select_option("flagged")
            page.get_by_role("button", name="Apply").click()
            expect(page.get_by_test_id("results-message")).to_have_text(
                f"Flag: {ROWS + 1} updated."
            )
            assert page.evaluate("window.spMarker") == "same page"
            assert _status(db, ids[5]) == InteractionStatus.flagged
            page.screenshot(path=str(SHOTS / "inbox-ux-04-bulk.png"))

            # --- the queue: limits, overdue, cancel through a dialog ---------------------------
            page.goto(f"{base_url}/inbox/queue")
            accounts = page.get_by_test_id("queue-accounts")
            expect(accounts).to_contain_text("10 a minute, 120 an hour")
            expect(
                accounts.locator("tr", has_text="@old_shop").locator(".inbox-overdue")
            ).to_have_text("overdue")
            expect(page.get_by_test_id("waiting-count")).to_contain_text("replies waiting · page 1")
            expect(accounts).to_contain_text("Sending paused: reconnect @old_shop")
            assert serious_axe_violations(page) == []
            page.screenshot(path=str(SHOTS / "inbox-ux-05-queue.png"), full_page=True)
            waiting = page.get_by_test_id("queue-waiting")
            waiting.get_by_role("button", name="Cancel the reply to @late_fan").click()
            dialog = page.locator("#confirm-dialog")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text("Cancel the reply to @late_fan? It will not be sent.")
            page.screenshot(path=str(SHOTS / "inbox-ux-06-cancel-dialog.png"))
            dialog.get_by_role("button", name="Yes").click()
            expect(page.get_by_text("The reply to @late_fan is cancelled")).to_be_visible()
            with db.session(readonly=True) as s:
                late = s.scalar(
                    select(ReplyQueueItem.status).where(
                        ReplyQueueItem.idempotency_key == "late-one"
                    )
                )
            assert late == ReplyStatus.cancelled
        finally:
            browser.close()
    assert violations == []
