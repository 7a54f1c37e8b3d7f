"""The fan page: honest wording, their interactions one click away (inbox and API filtered by
fan), the team's labels and private note, and a refused edit keeping what was typed."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard_pages import csrf, log_in
from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Fan, Interaction, InteractionKind
from socialpulse.workspaces.models import Role


@dataclass
class FanFixture:
    ws: WorkspaceFixture
    client: TestClient
    token: str
    fan_id: int


@pytest.fixture
def fan(app: FastAPI, db: Database) -> FanFixture:
    ws = make_workspace(db, "fan-page")
    with db.session() as s:
        account = TrackedAccount(
            workspace_id=ws.workspace_id, platform="simulated", external_id="1", handle="studio"
        )
        s.add(account)
        s.flush()
        lou = Fan(
            workspace_id=ws.workspace_id,
            platform="simulated",
            external_id="f1",
            handle="loyal_lou",
            interactions_count=4,
            positive_count=3,
            negative_count=1,
        )
        s.add(lou)
        s.flush()
        for n, (text, fan_id) in enumerate(
            [("from lou", lou.id), ("also lou", lou.id), ("a stranger", None)]
        ):
            s.add(
                Interaction(
                    workspace_id=ws.workspace_id,
                    account_id=account.id,
                    fan_id=fan_id,
                    platform="simulated",
                    kind=InteractionKind.comment,
                    external_id=f"c{n}",
                    author_external_id="f1" if fan_id else "x",
                    author_handle="loyal_lou" if fan_id else "stranger",
                    text=text,
                    posted_at=utcnow() - dt.timedelta(minutes=n + 1),
                )
            )
        fan_id = lou.id
    client = TestClient(app)
    log_in(client, ws)
    token = csrf(client.get("/settings/workspace").text)
    return FanFixture(ws, client, token, fan_id)


def test_fan_page_says_positive_share_not_engagement(fan: FanFixture) -> None:
    page = fan.client.get(f"/inbox/fans/{fan.fan_id}").text
    assert "Positive share" in page and "Engagement" not in page
    assert "75 %" in page


def test_open_their_interactions_shows_only_theirs_in_the_inbox_and_the_api(
    fan: FanFixture,
) -> None:
    page = fan.client.get(f"/inbox/fans/{fan.fan_id}").text
    assert f'href="/inbox?fan={fan.fan_id}"' in page
    inbox = fan.client.get(f"/inbox?fan={fan.fan_id}").text
    assert "from lou" in inbox and "also lou" in inbox and "a stranger" not in inbox
    assert 'data-testid="fan-filter"' in inbox
    api = fan.client.get(
        f"/api/v1/inbox/interactions?fan_id={fan.fan_id}",
        headers={"Authorization": f"Bearer {fan.ws.keys[Role.viewer]}"},
    ).json()
    assert sorted(item["text"] for item in api["items"]) == ["also lou", "from lou"]


def test_another_workspaces_fan_cannot_filter_the_inbox(fan: FanFixture, db: Database) -> None:
    other = make_workspace(db, "fan-elsewhere")
    with db.session() as s:
        stranger = Fan(
            workspace_id=other.workspace_id, platform="simulated", external_id="y", handle="y"
        )
        s.add(stranger)
        s.flush()
        other_id = stranger.id
    assert fan.client.get(f"/inbox?fan={other_id}").status_code == 404


def test_labels_and_a_note_are_kept_on_the_fan_and_shown_by_the_api(fan: FanFixture) -> None:
    url = f"/inbox/fans/{fan.fan_id}"
    fan.client.post(f"{url}/labels", data={"csrf_token": fan.token, "label": "ambassador"})
    fan.client.post(f"{url}/labels", data={"csrf_token": fan.token, "label": "vip"})
    page = fan.client.post(
        f"{url}/labels", data={"csrf_token": fan.token, "label": "vip", "action": "remove"}
    )
    assert "Label “vip” removed from @loyal_lou." in page.text
    saved = fan.client.post(f"{url}/note", data={"csrf_token": fan.token, "note": "Met at VidCon"})
    assert "Note on @loyal_lou saved." in saved.text
    assert "Met at VidCon</textarea>" in saved.text
    api = fan.client.get(
        f"/api/v1/inbox/fans/{fan.fan_id}",
        headers={"Authorization": f"Bearer {fan.ws.keys[Role.viewer]}"},
    ).json()
    assert (api["labels"], api["note"]) == (["ambassador"], "Met at VidCon")


def test_a_refused_note_or_label_keeps_what_was_typed(fan: FanFixture) -> None:
    url = f"/inbox/fans/{fan.fan_id}"
    long_note = "so loyal " * 700
    page = fan.client.post(f"{url}/note", data={"csrf_token": fan.token, "note": long_note})
    assert page.status_code == 422
    assert "a note has at most 5,000 characters" in page.text
    assert f"{long_note}</textarea>" in html.unescape(page.text)
    label = "x" * 60
    page = fan.client.post(f"{url}/labels", data={"csrf_token": fan.token, "label": label})
    assert page.status_code == 422
    assert "a label has 1 to 50 characters" in page.text and f'value="{label}"' in page.text
