"""The workflow rule builder: rows of conditions and actions (no JSON), messages next to the
row, typed values kept, emoji shown as emoji, the preview next to the rule with matches first."""

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

from dashboard_pages import csrf, log_in
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Interaction, InteractionKind, Workflow


def login(app: FastAPI, ws: WorkspaceFixture) -> tuple[TestClient, str]:
    """A logged-in client and its CSRF token."""
    client = TestClient(app)
    log_in(client, ws)
    return client, csrf(client.get("/settings/workspace").text)


@dataclass
class Seeded:
    ws: WorkspaceFixture
    client: TestClient
    token: str


@pytest.fixture
def seeded(app: FastAPI, db: Database) -> Iterator[Seeded]:
    ws = make_workspace(db, "rules")
    now = utcnow()
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=ws.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        for minutes, text, intent in (
            (1, "lovely video", "praise"),
            (2, "first!", None),
            (30, "Where can I buy the blue one?", "purchase_intent"),
        ):
            s.add(
                Interaction(
                    workspace_id=ws.workspace_id,
                    account_id=account.id,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=f"c{minutes}",
                    author_external_id=f"a{minutes}",
                    author_handle=f"author{minutes}",
                    text=text,
                    posted_at=now - dt.timedelta(minutes=minutes),
                    ai_intent=intent,
                )
            )
    client, token = login(app, ws)
    with client:
        yield Seeded(ws, client, token)


def _rule(token: str, **rows: str | list[str]) -> dict[str, str | list[str]]:
    return {
        "csrf_token": token,
        "name": "Tag buyers",
        "trigger": "new_interaction",
        "priority": "10",
        "status": "active",
        "stop_processing": "1",
    } | rows


def test_builder_shows_rows_not_json_and_documents_each_type(seeded: Seeded) -> None:
    page = seeded.client.get("/inbox/workflows").text
    assert '<textarea name="conditions"' not in page and "JSON" not in page
    rows = page.split('data-testid="condition-rows"')[1].split("</ol>")[0]
    assert 'name="c0_type"' in rows and '<option value="intent" selected>Intent</option>' in rows
    assert '<option value="purchase_intent" selected>wants to buy</option>' in rows
    docs = page.split('data-testid="workflow-docs"')[1]
    for words in ("Keywords", "Author&#39;s followers", "Reply automatically", "Set priority"):
        assert words in docs
    assert 'data-testid="not-saved"' not in page  # never on first load


def test_a_rule_built_from_rows_is_saved_and_comes_back_as_rows(
    seeded: Seeded, db: Database
) -> None:
    form = _rule(
        seeded.token,
        c0_type="intent",
        c0_op="is",
        c0_value=["purchase_intent", "question"],
        c0_conf="0.6",
        c1_type="keywords",
        c1_op="contains",
        c1_value="blue, red",
        c2_type="fan_followers",
        c2_op="max",
        c2_value="5000",
        c5_type="",  # a blank row left over is ignored
        a0_type="send_to_approval",
        a0_value="Thanks {fan_name}! 💚 The link is in our bio.",
        a1_type="label",
        a1_value="sales",
        intent="save",
    )
    saved = seeded.client.post("/inbox/workflows", data=form)
    assert saved.status_code == 200, saved.text
    assert "Workflow &#39;Tag buyers&#39; saved." in saved.text
    with db.session(readonly=True) as s:
        workflow = s.scalars(select(Workflow)).one()
        assert workflow.conditions == [
            {"type": "intent", "values": ["purchase_intent", "question"], "min_confidence": 0.6},
            {"type": "keywords", "words": ["blue", "red"]},
            {"type": "fan_followers", "max": 5000},
        ]
        assert workflow.actions[0]["template"] == "Thanks {fan_name}! 💚 The link is in our bio."
    page = saved.text
    assert "Thanks {fan_name}! 💚 The link is in our bio.</textarea>" in page
    assert "\\ud83d" not in page
    assert 'name="c1_value" value="blue, red"' in page
    assert re.search(r'name="c2_op".*?<option value="max" selected>at most', page, re.S)


def test_an_invalid_row_keeps_what_was_typed_and_says_what_is_wrong_next_to_it(
    seeded: Seeded, db: Database
) -> None:
    form = _rule(
        seeded.token,
        name="Refunds",
        c0_type="platform",
        c0_value="simulated",
        c1_type="regex",
        c1_op="matches",
        c1_value="refund(?! policy)",
        c2_type="fan_followers",
        c2_op="min",
        c2_value="lots",
        a0_type="label",
        a0_value="refunds",
        intent="save",
    )
    page = seeded.client.post("/inbox/workflows", data=form)
    assert page.status_code == 422
    assert "application/json" not in page.headers["content-type"]
    text = html.unescape(page.text)
    assert "Not saved" in text
    messages = re.findall(r'data-testid="row-error"><strong>(.*?)</strong>(.*?)</p>', text)
    assert ("Condition 3:", " author's followers: 'lots' is not a number") in messages
    assert 'name="c1_value" value="refund(?! policy)"' in text
    assert 'name="c2_value" value="lots"' in text
    assert 'name="name" value="Refunds"' in text
    fixed = form | {"c2_value": "100"}
    page = seeded.client.post("/inbox/workflows", data=fixed)
    text = html.unescape(page.text)
    assert re.search(
        r"Condition 2:</strong> pattern: regex /refund\(\?! policy\)/ cannot be used: "
        r"negative lookahead",
        text,
    )
    assert "Value error" not in text
    with db.session(readonly=True) as s:
        assert s.scalars(select(Workflow)).all() == []


def test_preview_lists_matches_first_next_to_the_rule_and_saves_nothing(
    seeded: Seeded, db: Database
) -> None:
    form = _rule(
        seeded.token,
        c0_type="intent",
        c0_value="wants to buy",  # typed in words, as a blank row without JS takes it
        a0_type="flag",
        intent="preview",
    )
    page = seeded.client.post("/inbox/workflows", data=form)
    assert page.status_code == 200, page.text
    assert "Preview: 1 of 3 would match" in page.text
    panel = page.text.split('data-testid="dry-run"')[1]
    order = re.findall(r'data-testid="preview-(match|miss)"', panel)
    assert order == ["match", "miss", "miss"]  # the match is the oldest comment, listed first
    assert "Where can I buy" in panel.split('preview-miss"')[0]
    assert 'data-testid="not-saved"' not in page.text  # a preview is not a failed save
    with db.session(readonly=True) as s:
        assert s.scalars(select(Workflow)).all() == []


def test_an_operator_that_does_not_fit_the_type_is_explained(seeded: Seeded) -> None:
    form = _rule(
        seeded.token,
        c0_type="sentiment",
        c0_op="min",
        c0_value="negative",
        a0_type="flag",
        intent="preview",
    )
    page = seeded.client.post("/inbox/workflows", data=form)
    assert page.status_code == 422
    assert "&#39;at least&#39; does not apply to Sentiment: use &#39;is any of&#39;" in page.text
    assert "Cannot preview" in page.text and 'data-testid="not-saved"' not in page.text


def test_a_rule_without_actions_asks_for_one(seeded: Seeded) -> None:
    form = _rule(seeded.token, c0_type="toxic", c0_op="is", intent="save")
    page = seeded.client.post("/inbox/workflows", data=form)
    assert page.status_code == 422
    assert "Actions: add at least one action" in page.text
