"""Inbox dashboard pages: the inbox (escaping, chips, superfans, inline reply, suggestions, bulk
actions), workflows editor with dry run, reply queue, inbox analytics, fan profile."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.app import create_app
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.inbox.analytics_api import router as analytics_router
from socialpulse.inbox.models import (
    Fan,
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.web import inbox_listing, inbox_queue
from socialpulse.web.inbox import router as inbox_router

XSS = "<script>alert('pwned')</script> love it"


def _mount(app: FastAPI, router: object, probe: str) -> None:
    if not any(getattr(r, "path", "") == probe for r in app.routes):
        app.include_router(router)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def inbox_app(settings: Settings, migrated_db: Database) -> FastAPI:
    app = create_app(settings, start_worker=False)
    _mount(app, inbox_router, "/inbox")
    _mount(app, analytics_router, "/api/v1/inbox/analytics/overview")
    return app


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@dataclass
class Seeded:
    ws: WorkspaceFixture
    client: TestClient
    token: str
    fan_id: int
    evil_id: int
    suggested_id: int
    plain_id: int


@pytest.fixture
def seeded(inbox_app: FastAPI, db: Database) -> Iterator[Seeded]:
    ws = make_workspace(db, "inbox-pages")
    now = utcnow()
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=ws.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        fan = Fan(
            workspace_id=ws.workspace_id,
            platform="simulated",
            external_id="f1",
            handle="loyal_lou",
            display_name="Loyal Lou",
            interactions_count=14,
            positive_count=12,
            negative_count=1,
            is_superfan=True,
            superfan_since=now - dt.timedelta(days=20),
            lifetime_value_score=87,
        )
        s.add(fan)
        s.flush()

        def add(text: str, minutes: int, **extra: object) -> int:
            row = Interaction(
                workspace_id=ws.workspace_id,
                account_id=account.id,
                platform="simulated",
                kind=InteractionKind.comment,
                external_id=f"c{minutes}",
                author_external_id=f"a{minutes}",
                author_handle=f"author{minutes}",
                text=text,
                posted_at=now - dt.timedelta(minutes=minutes),
                **extra,
            )
            s.add(row)
            s.flush()
            return row.id

        evil = add(
            XSS,
            5,
            fan_id=fan.id,
            ai_sentiment="positive",
            ai_sentiment_confidence=0.93,
            ai_intent="praise",
            ai_intent_confidence=0.9,
            ai_evidence={
                "sentiment": [{"source": "feature", "value": "love", "weight": 0.8}],
                "intents": {"praise": {"score": 0.9, "fired": True, "evidence": []}},
            },
        )
        suggested = add(
            "Where can I buy the blue one?",
            10,
            status=InteractionStatus.awaiting_approval,
            ai_intent="purchase_intent",
            ai_language="hi",
            suggested_reply="Thanks! It is in the shop link in our bio.",
            suggested_reply_source="intent:purchase_intent",
        )
        plain = add("first!", 15)
        fan_id = fan.id
    with TestClient(inbox_app) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        )
        token = _csrf(client.get("/inbox").text)
        yield Seeded(ws, client, token, fan_id, evil, suggested, plain)


def _queued(db: Database, interaction_id: int) -> list[ReplyQueueItem]:
    with db.session(readonly=True) as s:
        return list(
            s.scalars(select(ReplyQueueItem).where(ReplyQueueItem.interaction_id == interaction_id))
        )


def test_inbox_escapes_comment_text_and_shows_chips_with_evidence(seeded: Seeded) -> None:
    html = seeded.client.get("/inbox").text
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; love it" in html
    assert "<script>alert(" not in html
    assert "★ superfan" in html
    # Evidence in words in a "Why?" panel, not a tooltip of raw tokens.
    assert "Sentiment: positive, 93 % confident" in html
    assert "The word “love” points moderately towards this label" in html
    assert "(+0.80)" not in html and 'title="confidence' not in html
    assert ">purchase intent</span>" in html
    # The detected language by its name, not its code.
    assert '<span class="chip chip-lang">Hindi</span>' in html
    assert f'data-testid="suggestion-{seeded.suggested_id}"' in html


def test_inbox_filters_by_status_and_superfan(seeded: Seeded) -> None:
    waiting = seeded.client.get("/inbox?status=awaiting_approval").text
    assert f'data-testid="interaction-{seeded.suggested_id}"' in waiting
    assert f'data-testid="interaction-{seeded.plain_id}"' not in waiting
    fans = seeded.client.get("/inbox?superfan=yes").text
    assert f'data-testid="interaction-{seeded.evil_id}"' in fans
    assert f'data-testid="interaction-{seeded.plain_id}"' not in fans


def _ids_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="interaction-(\d+)"', page)]


def _link(page: str, rel: str) -> str:
    match = re.search(rf'<a class="button" rel="{rel}" href="([^"]+)"', page)
    assert match, f"no {rel} link"
    return html.unescape(match.group(1))


def test_inbox_pages_go_older_and_back_newer_keeping_the_filters(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_listing, "PAGE_SIZE", 1)
    first = seeded.client.get("/inbox?superfan=no").text
    assert _ids_on(first) == [seeded.suggested_id]
    assert 'aria-label="Inbox pages"' in first and 'rel="prev"' not in first
    older = _link(first, "next")
    assert "superfan=no" in older
    second = seeded.client.get(older).text
    assert _ids_on(second) == [seeded.plain_id]
    assert 'rel="next"' not in second
    back = seeded.client.get(_link(second, "prev")).text
    assert _ids_on(back) == [seeded.suggested_id]
    assert 'rel="prev"' not in back


def test_queue_sections_page_separately(
    seeded: Seeded, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_queue, "PAGE_SIZE", 2)
    start = utcnow()
    with db.session() as s:
        ids = (seeded.evil_id, seeded.suggested_id, seeded.plain_id)
        for n, interaction in enumerate(s.get_one(Interaction, i) for i in ids):
            s.add(
                ReplyQueueItem(
                    workspace_id=seeded.ws.workspace_id,
                    account_id=interaction.account_id,
                    interaction_id=interaction.id,
                    platform="simulated",
                    text=f"failed reply {n}",
                    status=ReplyStatus.failed,
                    scheduled_for=start + dt.timedelta(minutes=n),
                    idempotency_key=f"paged-{n}",
                )
            )
    first = seeded.client.get("/inbox/queue").text
    assert "failed reply 2" in first and "failed reply 1" in first
    assert "failed reply 0" not in first
    assert 'aria-label="Pages of failed replies"' in first
    assert 'aria-label="Pages of replies waiting"' not in first  # one page: no links
    second = seeded.client.get(_link(first, "next")).text
    assert "failed reply 0" in second and "failed reply 1" not in second
    assert _link(second, "prev") == "/inbox/queue"
    assert seeded.client.get("/inbox/queue?failed_page=0").status_code == 422


def test_inline_reply_is_queued_and_needs_the_csrf_token(seeded: Seeded, db: Database) -> None:
    url = f"/inbox/interactions/{seeded.plain_id}/reply"
    forged = seeded.client.post(url, data={"text": "hi"}, follow_redirects=False)
    assert forged.status_code == 303
    assert _queued(db, seeded.plain_id) == []
    page = seeded.client.post(url, data={"text": "Thank you!", "csrf_token": seeded.token})
    assert "Reply to @author15 queued" in page.text
    assert f'data-testid="queued-{seeded.plain_id}"' in page.text
    [item] = _queued(db, seeded.plain_id)
    assert (item.text, item.status, item.platform) == (
        "Thank you!",
        ReplyStatus.pending,
        "simulated",
    )


def test_approving_an_edited_suggestion_queues_the_edited_text(
    seeded: Seeded, db: Database
) -> None:
    url = f"/inbox/interactions/{seeded.suggested_id}/suggestion"
    seeded.client.post(
        url, data={"decision": "approve", "text": "Link in bio 💙", "csrf_token": seeded.token}
    )
    [item] = _queued(db, seeded.suggested_id)
    assert item.text == "Link in bio 💙"
    with db.session(readonly=True) as s:
        interaction = s.get(Interaction, seeded.suggested_id)
        assert interaction is not None
        assert interaction.status == InteractionStatus.unread  # no longer awaiting approval
    html = seeded.client.get("/inbox").text
    assert f'data-testid="queued-{seeded.suggested_id}"' in html
    assert f'data-testid="suggestion-{seeded.suggested_id}"' not in html


def test_rejecting_a_suggestion_queues_nothing(seeded: Seeded, db: Database) -> None:
    url = f"/inbox/interactions/{seeded.suggested_id}/suggestion"
    page = seeded.client.post(url, data={"decision": "reject", "csrf_token": seeded.token})
    assert "rejected" in page.text
    assert _queued(db, seeded.suggested_id) == []
    with db.session(readonly=True) as s:
        interaction = s.get(Interaction, seeded.suggested_id)
        assert interaction is not None
        assert interaction.status == InteractionStatus.unread


def test_bulk_action_changes_every_selected_interaction(seeded: Seeded, db: Database) -> None:
    page = seeded.client.post(
        "/inbox/bulk",
        data={
            "action": "ignored",
            "ids": [seeded.plain_id, seeded.evil_id],
            "csrf_token": seeded.token,
        },
    )
    assert "Ignore: 2 updated." in page.text
    with db.session(readonly=True) as s:
        statuses = dict(s.execute(select(Interaction.id, Interaction.status)).all())
    assert statuses[seeded.plain_id] == statuses[seeded.evil_id] == InteractionStatus.ignored
    assert statuses[seeded.suggested_id] == InteractionStatus.awaiting_approval


def test_queue_page_shows_platform_errors_and_retries_and_cancels(
    seeded: Seeded, db: Database
) -> None:
    with db.session() as s:
        interaction = s.get(Interaction, seeded.plain_id)
        assert interaction is not None
        failed = ReplyQueueItem(
            workspace_id=seeded.ws.workspace_id,
            account_id=interaction.account_id,
            interaction_id=interaction.id,
            platform="simulated",
            text="sorry!",
            status=ReplyStatus.failed,
            scheduled_for=utcnow(),
            idempotency_key="failed-1",
            last_error="403: commenting is turned off for this post",
        )
        s.add(failed)
        s.flush()
        failed_id = failed.id
    html = seeded.client.get("/inbox/queue").text
    assert "403: commenting is turned off for this post" in html
    seeded.client.post(f"/inbox/queue/{failed_id}/retry", data={"csrf_token": seeded.token})
    with db.session(readonly=True) as s:
        item = s.get(ReplyQueueItem, failed_id)
        assert item is not None and item.status == ReplyStatus.pending
    url = f"/inbox/queue/{failed_id}/cancel"
    asked = seeded.client.post(url, data={"csrf_token": seeded.token})
    assert "Cancel the reply to @author15?" in asked.text  # works without JavaScript
    with db.session(readonly=True) as s:
        item = s.get(ReplyQueueItem, failed_id)
        assert item is not None and item.status == ReplyStatus.pending
    done = seeded.client.post(url, data={"csrf_token": seeded.token, "confirmed": "1"})
    assert "The reply to @author15 is cancelled" in done.text
    with db.session(readonly=True) as s:
        item = s.get(ReplyQueueItem, failed_id)
        assert item is not None and item.status == ReplyStatus.cancelled


def test_analytics_page_has_cards_bars_and_timeline_data(seeded: Seeded) -> None:
    html = seeded.client.get("/inbox/analytics?days=7").text
    assert re.search(r'data-testid="stat-total">3<', html)
    assert 'class="active">7 days' in html
    assert 'id="inbox-timeline-chart-data"' in html
    data = html.split('id="inbox-timeline-chart-data">')[1].split("</script>")[0]
    assert data.count('"label"') == 4  # positive, neutral, negative, unanalysed
    assert "Simulated" in html.split('data-testid="platform-bars"')[1]


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        (None, "n/a"),
        (0.4, "0 min"),
        (45.2, "45 min"),
        (60, "1 h"),
        (200, "3 h 20 min"),
        (40648, "28 d 5 h"),
        (2880, "2 d"),
    ],
)
def test_response_times_read_as_people_say_them(minutes: float | None, shown: str) -> None:
    from socialpulse.web.pages import human_minutes

    assert human_minutes(minutes) == shown


def test_fan_profile_shows_superfan_since_and_value(seeded: Seeded) -> None:
    html = seeded.client.get(f"/inbox/fans/{seeded.fan_id}").text
    assert 'data-testid="superfan-badge"' in html
    assert "(20 days)" in html
    assert 'data-testid="fan-ltv">87<' in html
    assert "over the last 90 days" in html
    assert "&lt;script&gt;" in html and "<script>alert(" not in html


def test_another_workspaces_fan_is_not_found(seeded: Seeded, db: Database) -> None:
    other = make_workspace(db, "elsewhere")
    with db.session() as s:
        fan = Fan(
            workspace_id=other.workspace_id, platform="simulated", external_id="x", handle="x"
        )
        s.add(fan)
        s.flush()
        other_fan = fan.id
    response = seeded.client.get(f"/inbox/fans/{other_fan}")
    assert response.status_code == 404


def _row(page: str, interaction_id: int) -> str:
    start = page.index(f'data-testid="interaction-{interaction_id}"')
    return page[start : page.index("</article>", start)]


def test_each_rows_forms_preselect_that_rows_own_assignee_and_labels(
    seeded: Seeded, db: Database
) -> None:
    # The option lists are rendered once per page and shared by the rows: only the selected
    # option differs, and it must be the row's own.
    with db.session() as s:
        evil = s.get(Interaction, seeded.evil_id)
        assert evil is not None
        evil.assignee_user_id = seeded.ws.owner_id
    page = seeded.client.get("/inbox").text
    evil_row, plain_row = _row(page, seeded.evil_id), _row(page, seeded.plain_id)
    owner = f'<option value="{seeded.ws.owner_id}" selected>{seeded.ws.owner_email}</option>'
    assert owner in evil_row and owner not in plain_row
    assert '<option value="positive" selected>positive</option>' in evil_row
    assert '<option value="praise" selected>praise</option>' in evil_row
    assert " selected>" not in plain_row.split('name="user_id"')[1]
    suggested = _row(page, seeded.suggested_id)
    assert '<option value="purchase_intent" selected>purchase intent</option>' in suggested


def test_inbox_filters_by_detected_language(seeded: Seeded) -> None:
    hindi = seeded.client.get("/inbox?language=hi").text
    assert _ids_on(hindi) == [seeded.suggested_id]
    # The filter offers languages by name and keeps the choice.
    assert '<option value="hi" selected>Hindi</option>' in hindi
    assert '<option value="es" >Spanish</option>' in hindi
    # A language the list does not name (Swedish) still filters, shown by its code.
    swedish = seeded.client.get("/inbox?language=sv")
    assert swedish.status_code == 200
    assert _ids_on(swedish.text) == []
    assert '<option value="sv" selected>sv</option>' in swedish.text
    # Paging keeps the filter: the form's "back" address carries it.
    assert 'name="back" value="/inbox?language=hi"' in hindi


@pytest.mark.parametrize("language", ["english", "ES", "e1", "<b>x"])
def test_an_unknown_language_filter_says_why(seeded: Seeded, language: str) -> None:
    answer = seeded.client.get("/inbox", params={"language": language})
    assert answer.status_code == 422
    assert "unknown language" in answer.text
    assert "<b>x" not in answer.text  # shown escaped, never as markup
