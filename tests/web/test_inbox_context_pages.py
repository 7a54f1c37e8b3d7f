"""The inbox with context and in place (#17 items 1, 4, 9), without a browser: account, post and
thread on every item, htmx answers (the row, the results) beside plain POST + redirect, search
and a result count, done / label / assign, "wrong label", readable evidence, confirmation pages,
and the reply queue's accounts, limits, overdue, time to clear and auto-reply warning."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.app import create_app
from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    AiLabelCorrection,
    InboxSettings,
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
)
from socialpulse.web.inbox import router as inbox_router
from socialpulse.web.inbox_rows import evidence_phrase

HTMX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def inbox_app(settings: Settings, migrated_db: Database) -> FastAPI:
    app = create_app(settings, start_worker=False)
    if not any(getattr(r, "path", "") == "/inbox" for r in app.routes):
        app.include_router(inbox_router)
    return app


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@dataclass
class Inbox:
    ws: WorkspaceFixture
    client: TestClient
    token: str
    account_id: int
    post_id: int
    parent_id: int
    reply_id: int  # a fan's reply to the parent, with our own answer under it
    question_id: int  # uncertain labels, no post


@pytest.fixture
def inbox(inbox_app: FastAPI, db: Database) -> Iterator[Inbox]:
    ws = make_workspace(db, "inbox-context")
    now = utcnow()
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=ws.workspace_id, platform="simulated", external_id="acct", handle="studio"
        )
        s.add(account)
        s.flush()
        post = Post(
            workspace_id=ws.workspace_id,
            account_id=account.id,
            external_id="p1",
            caption="How we bake the perfect sourdough loaf at home, step by step",
            thumbnail_url="https://cdn.example/p1.jpg",
            posted_at=now - dt.timedelta(days=1),
        )
        s.add(post)
        s.flush()

        def add(key: str, text: str, minutes: int, **extra: object) -> Interaction:
            values: dict[str, object] = {
                "workspace_id": ws.workspace_id,
                "account_id": account.id,
                "platform": "simulated",
                "kind": InteractionKind.comment,
                "external_id": key,
                "author_external_id": f"fan-{key}",
                "author_handle": f"fan_{key}",
                "text": text,
                "posted_at": now - dt.timedelta(minutes=minutes),
            }
            row = Interaction(**(values | extra))
            s.add(row)
            s.flush()
            return row

        parent = add("top", "Which flour do you use?", 60, post_id=post.id)
        reply = add(
            "re",
            "Same question, and for how long do you proof it?",
            30,
            post_id=post.id,
            kind=InteractionKind.reply,
            parent_id=parent.id,
            parent_external_id="top",
            ai_intent="purchase_intent",
            ai_intent_confidence=0.92,
            ai_sentiment="neutral",
            ai_sentiment_confidence=0.81,
            ai_evidence={
                "intents": {
                    "purchase_intent": {
                        "evidence": [
                            {"source": "model", "value": "spam_model", "weight": 0.78},
                            {
                                "source": "rule",
                                "value": "where_to_buy: where can i buy",
                                "weight": 0.9,
                            },
                        ]
                    }
                }
            },
        )
        # The account answered on the platform itself.
        add(
            "ours",
            "Overnight, 12 hours!",
            20,
            post_id=post.id,
            kind=InteractionKind.reply,
            parent_id=reply.id,
            author_external_id="acct",
            author_handle="studio",
        )
        question = add(
            "q",
            "is it vegan?? sourdough",
            10,
            ai_intent="question",
            ai_intent_confidence=0.41,
            ai_sentiment="neutral",
            ai_sentiment_confidence=0.4,
        )
        ids = (account.id, post.id, parent.id, reply.id, question.id)
    with TestClient(inbox_app) as client:
        page = client.get("/login")
        client.post(
            "/login",
            data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
        )
        token = _csrf(client.get("/inbox").text)
        yield Inbox(ws, client, token, *ids)


def _row(html: str, interaction_id: int) -> str:
    start = html.index(f'data-testid="interaction-{interaction_id}"')
    end = html.find("</article>", start)
    return html[start:end]


def test_every_item_shows_its_account_post_and_thread_with_our_replies(inbox: Inbox) -> None:
    row = _row(inbox.client.get("/inbox").text, inbox.reply_id)
    assert "to @studio on " in row
    assert f'<a href="/posts/{inbox.post_id}">“How we bake the perfect sourdough' in row
    assert '<img src="https://cdn.example/p1.jpg" alt=""' in row
    assert "In reply to @fan_top" in row and "Which flour do you use?" in row
    assert "Overnight, 12 hours!" in row and "our reply" in row


def test_a_reply_sent_with_htmx_answers_the_row_with_the_reply_pending_under_it(
    inbox: Inbox, db: Database
) -> None:
    url = f"/inbox/interactions/{inbox.question_id}/reply"
    response = inbox.client.post(
        url, data={"text": "Yes, 100% plant based", "csrf_token": inbox.token}, headers=HTMX
    )
    assert response.status_code == 200
    assert "<html" not in response.text  # the row alone, swapped in place
    assert response.text.lstrip().startswith("<article")
    assert "Reply to @fan_q queued." in response.text
    assert "Yes, 100% plant based" in response.text and ">reply pending<" in response.text
    with db.session(readonly=True) as s:
        [item] = s.scalars(
            select(ReplyQueueItem).where(ReplyQueueItem.interaction_id == inbox.question_id)
        ).all()
    assert f'href="/inbox/queue?item={item.id}"' in response.text
    again = inbox.client.post(
        url, data={"text": "Yes!", "csrf_token": inbox.token}, headers=HTMX
    ).text
    assert "A reply to @fan_q is already waiting to be sent." in again
    assert f'<a href="/inbox/queue?item={item.id}">See it in the reply queue</a>' in again
    assert f"item {item.id}" not in again and f"#{item.id}" not in again


def test_without_javascript_actions_redirect_back_to_the_same_page(inbox: Inbox) -> None:
    response = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/status",
        data={"status": "ignored", "csrf_token": inbox.token, "back": "/inbox?q=vegan"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/inbox?q=vegan"
    outside = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/status",
        data={"status": "unread", "csrf_token": inbox.token, "back": "https://evil.example"},
        follow_redirects=False,
    )
    assert outside.headers["location"] == "/inbox"


def test_search_narrows_the_inbox_and_counts_the_results(inbox: Inbox) -> None:
    everything = inbox.client.get("/inbox").text
    assert 'data-testid="result-count">4 comments<' in everything
    found = inbox.client.get("/inbox?q=SOURDOUGH").text
    assert 'data-testid="result-count">1 comment match<' in found
    assert f'data-testid="interaction-{inbox.question_id}"' in found
    assert f'data-testid="interaction-{inbox.reply_id}"' not in found


def test_done_answers_a_replied_item_and_ignores_an_unanswered_one(
    inbox: Inbox, db: Database
) -> None:
    row = _row(inbox.client.get("/inbox").text, inbox.question_id)
    assert 'name="status" value="ignored"' in row
    response = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/status",
        data={"status": "ignored", "csrf_token": inbox.token},
        headers=HTMX,
    )
    assert "marked ignored" in response.text and 'class="status status-ignored"' in response.text
    with db.session(readonly=True) as s:
        assert s.get_one(Interaction, inbox.question_id).status == InteractionStatus.ignored


def test_labels_and_assignment_change_in_place(inbox: Inbox, db: Database) -> None:
    labelled = inbox.client.post(
        f"/inbox/interactions/{inbox.reply_id}/labels",
        data={"label": "recipe", "csrf_token": inbox.token},
        headers=HTMX,
    ).text
    assert (
        "Label “recipe” added." in labelled and '<span class="chip inbox-label">recipe' in labelled
    )
    assigned = inbox.client.post(
        f"/inbox/interactions/{inbox.reply_id}/assign",
        data={"user_id": str(inbox.ws.owner_id), "csrf_token": inbox.token},
        headers=HTMX,
    ).text
    assert f"assigned to {inbox.ws.owner_email}" in assigned
    with db.session(readonly=True) as s:
        item = s.get_one(Interaction, inbox.reply_id)
        assert item.labels == ["recipe"] and item.assignee_user_id == inbox.ws.owner_id


def test_a_refused_action_is_explained_in_the_row(inbox: Inbox) -> None:
    response = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/status",
        data={"status": "deleted", "csrf_token": inbox.token},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "unknown status &#39;deleted&#39;" in response.text and "flash-error" in response.text


def test_bulk_with_htmx_answers_the_results_with_what_changed(inbox: Inbox, db: Database) -> None:
    response = inbox.client.post(
        "/inbox/bulk",
        data={
            "action": "flagged",
            "ids": [inbox.reply_id, inbox.question_id],
            "csrf_token": inbox.token,
            "back": "/inbox?status=flagged",
        },
        headers=HTMX,
    )
    assert 'id="inbox-results"' in response.text and "<html" not in response.text
    assert "Flag: 2 updated." in response.text
    # The results of the page it came from (its filters), now showing both.
    assert 'data-testid="result-count">2 comments match<' in response.text
    with db.session(readonly=True) as s:
        flagged = s.scalars(
            select(Interaction.id).where(Interaction.status == InteractionStatus.flagged)
        ).all()
    assert sorted(flagged) == sorted([inbox.reply_id, inbox.question_id])


def test_evidence_reads_as_words_and_low_confidence_is_marked_uncertain(inbox: Inbox) -> None:
    html = inbox.client.get("/inbox").text
    sure = _row(html, inbox.reply_id)
    assert "Why these labels?" in sure
    assert "Intent: purchase intent, 92 % confident" in sure
    assert "Spam model: 78 % likely" in sure
    assert "Rule “where to buy” matched “where can i buy”" in sure
    assert "purchase_intent" not in sure.split('name="intent"')[0]  # raw names only in the form
    assert "spam_model" not in sure
    unsure = _row(html, inbox.question_id)
    assert (
        'class="chip chip-intent chip-uncertain">question <span class="chip-confidence">41 %'
        in (unsure)
    )
    assert "<em>uncertain</em>" in unsure


@pytest.mark.parametrize(
    ("evidence", "phrase"),
    [
        (
            {"source": "model", "value": "complaint_model", "weight": 0.61},
            "Complaint model: 61 % likely",
        ),
        (
            {"source": "rule", "value": "bait: free followers", "weight": 0.8},
            "Rule “bait” matched “free followers”",
        ),
        (
            {"source": "rule", "value": "sentiment: positive", "weight": 1},
            "The text reads as positive",
        ),
        (
            {"source": "term", "value": "positive_phrase: love this", "weight": 1},
            "Positive phrase: “love this”",
        ),
        (
            {"source": "feature", "value": "<url>", "weight": 4.5},
            "A link points strongly towards this label",
        ),
        (
            {"source": "rule", "value": "unsupported_language:pt", "weight": 0.98},
            "Portuguese is not a language the model was trained on",
        ),
        (
            {"source": "feature", "value": "quelle belle", "weight": 0.5},
            "The words “quelle belle” point moderately towards this label",
        ),
        (
            {"source": "feature", "value": "!", "weight": 0.1},
            "The sign “!” points slightly towards this label",
        ),
        (
            {"source": "feature", "value": "🥹", "weight": -0.4},
            "The emoji “🥹” points moderately away from this label",
        ),
        (
            {"source": "model", "value": "hf:distilbert", "weight": 0.9},
            "Hugging Face model distilbert: 90 % likely",
        ),
        (
            {"source": "model", "value": "sentiment_multi:hi", "weight": 0.95},
            "Multilingual model, read as Hindi (95 % sure of the language)",
        ),
        (
            {"source": "model", "value": "sentiment_multi:xx", "weight": 0.5},
            "Multilingual model, read as xx (50 % sure of the language)",
        ),
        (
            {"source": "model", "value": "english_vote", "weight": 0.81},
            "English model, for the English words in it: 81 % likely",
        ),
    ],
)
def test_evidence_phrases(evidence: dict[str, object], phrase: str) -> None:
    assert evidence_phrase(evidence) == phrase


def test_wrong_label_is_corrected_in_place_and_filters_follow(inbox: Inbox, db: Database) -> None:
    response = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/label-correction",
        data={"intent": "purchase_intent", "sentiment": "", "csrf_token": inbox.token},
        headers=HTMX,
    ).text
    assert "intent “purchase intent” saved" in response
    assert "purchase intent" in response and "corrected by you" in response
    with db.session(readonly=True) as s:
        row = s.scalars(
            select(AiLabelCorrection).where(
                AiLabelCorrection.workspace_id == inbox.ws.workspace_id,
                AiLabelCorrection.interaction_id == inbox.question_id,
            )
        ).one()
        assert (row.intent, row.model_intent, row.sentiment) == (
            "purchase_intent",
            "question",
            None,
        )
    listed = inbox.client.get("/inbox?intent=purchase_intent").text
    assert f'data-testid="interaction-{inbox.question_id}"' in listed
    unchanged = inbox.client.post(
        f"/inbox/interactions/{inbox.question_id}/label-correction",
        data={"intent": "purchase_intent", "csrf_token": inbox.token},
        headers=HTMX,
    ).text
    assert "these are the labels it has" in unchanged


def test_hiding_asks_first_on_a_page_of_its_own_without_javascript(
    inbox: Inbox, db: Database
) -> None:
    url = f"/inbox/interactions/{inbox.reply_id}/hide"
    asked = inbox.client.post(url, data={"csrf_token": inbox.token, "back": "/inbox"})
    assert "Hide the comment by @fan_re?" in asked.text
    assert 'name="confirmed" value="1"' in asked.text
    with db.session(readonly=True) as s:
        assert not s.get_one(Interaction, inbox.reply_id).hidden
    inbox.client.post(url, data={"csrf_token": inbox.token, "confirmed": "1"})
    with db.session(readonly=True) as s:
        assert s.get_one(Interaction, inbox.reply_id).hidden


def test_queue_shows_accounts_limits_overdue_time_to_clear_and_warnings(
    inbox: Inbox, db: Database
) -> None:
    now = utcnow()
    with db.session() as s:
        workflow = Workflow(workspace_id=inbox.ws.workspace_id, name="Thank everyone")
        s.add(workflow)
        s.add(InboxSettings(workspace_id=inbox.ws.workspace_id, auto_reply_daily_warning=1))
        s.flush()
        for n, interaction_id in enumerate((inbox.question_id, inbox.parent_id)):
            s.add(
                ReplyQueueItem(
                    workspace_id=inbox.ws.workspace_id,
                    account_id=inbox.account_id,
                    interaction_id=interaction_id,
                    platform="simulated",
                    text=f"Thanks so much {n}",
                    status=ReplyStatus.pending,
                    scheduled_for=now - dt.timedelta(minutes=5 - n),
                    idempotency_key=f"late-{n}",
                    created_by=f"workflow:{workflow.id}",
                    created_at=now,
                )
            )
    html = inbox.client.get("/inbox/queue").text
    accounts = html[html.index('data-testid="queue-accounts"') :]
    assert f'data-testid="overdue-{inbox.account_id}">overdue' in accounts
    # The simulated platform's pace: 10 a minute, 120 an hour, 2 s apart + 0–3 s.
    assert "10 a minute, 120 an hour, at least 2 s apart + 0–3 s at random" in accounts
    assert "platform default" in accounts
    assert "about 1 min" in accounts  # 2 waiting x 30 s (120 an hour)
    assert 'data-testid="waiting-count">1–2 of 2 replies waiting · page 1 of 1' in html
    waiting = html[html.index('data-testid="queue-waiting"') :]
    assert "@studio" in waiting and "overdue" in waiting
    assert 'data-confirm="Cancel the reply to @fan_q? It will not be sent."' in waiting
    assert "Workflow “Thank everyone” auto-replied 2 times today" in html
    assert "more than the 1 a day" in html


def test_a_linked_queue_item_is_shown_at_the_top(inbox: Inbox, db: Database) -> None:
    with db.session() as s:
        item = ReplyQueueItem(
            workspace_id=inbox.ws.workspace_id,
            account_id=inbox.account_id,
            interaction_id=inbox.question_id,
            platform="simulated",
            text="On its way",
            status=ReplyStatus.pending,
            scheduled_for=utcnow() + dt.timedelta(minutes=3),
            idempotency_key="linked",
        )
        s.add(item)
        s.flush()
        item_id = item.id
    html = inbox.client.get(f"/inbox/queue?item={item_id}").text
    selected = html[html.index('data-testid="queue-selected"') :]
    assert "The reply to @fan_q" in selected and "On its way" in selected
    other = make_workspace(db, "queue-rival")
    assert other.workspace_id != inbox.ws.workspace_id
    assert inbox.client.get("/inbox/queue?item=99999999").status_code == 404
