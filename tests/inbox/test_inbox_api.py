"""The inbox API end to end: polling a simulated account, filters, keyset pagination, thread
detail, triage and bulk actions, fans, settings; roles and tenancy on every route."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox import ingest
from socialpulse.inbox.models import Fan, Interaction
from socialpulse.providers import base as pb
from socialpulse.workspaces.models import Role

NOW = utcnow()


@pytest.fixture
def other(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "rival-co")


@pytest.fixture
def seeded(
    db: Database,
    ws: WorkspaceFixture,
    make_account: Callable[..., int],
    make_comment: Callable[..., pb.Comment],
) -> dict[str, Any]:
    """Two accounts; ann is a superfan; a thread c1 <- r1; comments at known times."""
    sim = make_account(db, ws.workspace_id)
    tube = make_account(db, ws.workspace_id, platform="youtube", handle="tube")
    at = [NOW - dt.timedelta(hours=h) for h in range(30)]
    ann = [
        make_comment(f"ann{i}", "ann", text, at=at[10 + i])
        for i, text in enumerate(
            [
                "I love this, amazing work!",
                "This is wonderful, thank you so much!",
                "Best video ever, great job",
                "Absolutely fantastic, I love it",
                "So beautiful, great work",
                "Amazing tutorial, thanks a lot!",
                "You are the best, love your videos",
                "I love this, amazing work!",
                "Best video ever, great job",
                "Amazing tutorial, thanks a lot!",
            ]
        )
    ]
    sim_comments = [
        *ann,
        make_comment("c1", "bob", "Terrible, worst video ever", at=at[3]),
        make_comment("r1", "cid", "Where can I buy the lamp?", parent="c1", at=at[2]),
        make_comment("es1", "dan", "¿Dónde puedo comprar esta camiseta? Me encanta", at=at[1]),
    ]
    yt = [
        make_comment("y1", "eve", "What camera do you use?", platform=pb.Platform.YOUTUBE, at=at[0])
    ]
    with db.session() as session:
        for account_id, comments in ((sim, sim_comments), (tube, yt)):
            account = session.get(TrackedAccount, account_id)
            assert account is not None
            ingest.ingest_interactions(session, account, comments)
        ids = dict(session.execute(select(Interaction.external_id, Interaction.id)).all())
        fan_ids = dict(session.execute(select(Fan.handle, Fan.id)).all())
    return {"sim": sim, "tube": tube, "ids": ids, "fans": fan_ids}


def _list(client: TestClient, ws: WorkspaceFixture, **params: Any) -> list[str]:
    response = client.get("/api/v1/inbox/interactions", params=params, headers=ws.headers())
    assert response.status_code == 200, response.text
    return [item["external_id"] for item in response.json()["items"]]


def test_poll_a_simulated_account_end_to_end(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    added = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@garden_lab"},
        headers=ws.headers(),
    )
    assert added.status_code == 201, added.text
    account_id = added.json()["id"]
    fetched = client.post(f"/api/v1/accounts/{account_id}/fetch", headers=ws.headers())
    assert fetched.status_code == 202
    polled = client.post(
        f"/api/v1/accounts/{account_id}/comments/poll", headers=ws.headers(Role.editor)
    )
    assert polled.status_code == 202, polled.text
    assert polled.json()["polls_queued"] > 0
    page = client.get(
        "/api/v1/inbox/interactions", params={"limit": 200}, headers=ws.headers()
    ).json()
    items = page["items"]
    assert items, "the account's recent posts have comments"
    assert {item["platform"] for item in items} == {"simulated"}
    assert all(item["ai_sentiment"] in {"positive", "neutral", "negative"} for item in items)
    assert all(item["fan_id"] is not None for item in items)
    posted = [item["posted_at"] for item in items]
    assert posted == sorted(posted, reverse=True)
    with db.session() as session:
        stored = session.scalar(select(func.count()).select_from(Interaction))
    # Polling again finds nothing new: the same comments are not stored twice.
    client.post(f"/api/v1/accounts/{account_id}/comments/poll", headers=ws.headers())
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == stored


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"platform": "youtube"}, ["y1"]),
        ({"sentiment": "negative"}, ["c1"]),
        ({"intent": "purchase_intent"}, ["es1", "r1"]),
        ({"language": "es"}, ["es1"]),
        ({"q": "CAMERA"}, ["y1"]),
        ({"q": "dan"}, ["es1"]),
        ({"status": "answered"}, []),
    ],
)
def test_interaction_filters(
    client: TestClient,
    ws: WorkspaceFixture,
    seeded: dict[str, Any],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert _list(client, ws, **params) == expected


def test_filters_by_account_superfan_and_time(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    assert _list(client, ws, account_id=seeded["tube"]) == ["y1"]
    superfan = _list(client, ws, superfan="true", limit=200)
    assert sorted(superfan) == sorted(f"ann{i}" for i in range(10))
    assert "ann0" not in _list(client, ws, superfan="false", limit=200)
    window = _list(
        client,
        ws,
        since=(NOW - dt.timedelta(hours=3, minutes=1)).isoformat(),
        until=(NOW - dt.timedelta(hours=1, minutes=1)).isoformat(),
    )
    assert window == ["r1", "c1"]


def test_keyset_pagination_walks_every_interaction_once_newest_first(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/inbox/interactions", params=params, headers=ws.headers()).json()
        seen.extend(item["external_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(seeded["ids"])
    assert seen[:3] == ["y1", "es1", "r1"]
    bad = client.get("/api/v1/inbox/interactions", params={"cursor": "!!"}, headers=ws.headers())
    assert bad.status_code == 422


def test_list_leaves_the_evidence_in_the_database(
    client: TestClient, db: Database, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    """Lists never select ai_evidence (a third of a page's time went to decoding it); the
    detail of one interaction still shows it."""
    selected: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        selected.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        items = _list(client, ws, limit=50)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert len(items) == 14
    listing = [sql for sql in selected if "FROM interactions" in sql]
    assert listing and not any("ai_evidence" in sql for sql in listing)
    detail = client.get(f"/api/v1/inbox/interactions/{seeded['ids']['c1']}", headers=ws.headers())
    assert detail.json()["ai_evidence"]["intents"]["complaint"]["fired"] is True


def test_detail_shows_thread_fan_and_workflow_reason(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any], db: Database
) -> None:
    ids = seeded["ids"]
    with db.session() as session:
        item = session.get(Interaction, ids["c1"])
        assert item is not None
        item.matched_reason = "intent is complaint"
        item.suggested_reply = "Sorry to hear that!"
    parent = client.get(f"/api/v1/inbox/interactions/{ids['c1']}", headers=ws.headers())
    assert parent.status_code == 200
    body = parent.json()
    assert [r["external_id"] for r in body["replies"]] == ["r1"]
    assert body["parent"] is None
    assert body["fan"]["handle"] == "bob"
    assert body["matched_reason"] == "intent is complaint"
    assert body["suggested_reply"] == "Sorry to hear that!"
    assert body["ai_evidence"]["intents"]["complaint"]["fired"] is True
    reply = client.get(f"/api/v1/inbox/interactions/{ids['r1']}", headers=ws.headers())
    assert reply.json()["parent"]["external_id"] == "c1"


def test_patch_triages_an_interaction(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    url = f"/api/v1/inbox/interactions/{seeded['ids']['c1']}"
    response = client.patch(
        url,
        json={
            "status": "answered",
            "assignee_user_id": ws.owner_id,
            "labels": ["refund", "vip", "refund"],
            "priority": 95,
        },
        headers=ws.headers(Role.editor),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["assignee_user_id"]) == ("answered", ws.owner_id)
    assert (body["labels"], body["priority"]) == (["refund", "vip"], 95)
    assert body["answered_at"] is not None
    assert _list(client, ws, label="vip") == ["c1"]
    assert _list(client, ws, label="vi") == []
    assert _list(client, ws, assignee=str(ws.owner_id)) == ["c1"]
    assert "c1" not in _list(client, ws, assignee="none", limit=200)
    unassigned = client.patch(url, json={"assignee_user_id": None}, headers=ws.headers())
    assert unassigned.json()["assignee_user_id"] is None
    assert unassigned.json()["labels"] == ["refund", "vip"]  # untouched fields stay


def test_patch_rejects_a_non_member_assignee_and_bad_values(
    client: TestClient, ws: WorkspaceFixture, other: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    url = f"/api/v1/inbox/interactions/{seeded['ids']['c1']}"
    stranger = client.patch(url, json={"assignee_user_id": other.owner_id}, headers=ws.headers())
    assert stranger.status_code == 422
    assert "not a member" in stranger.json()["error"]["message"]
    assert client.patch(url, json={"priority": 101}, headers=ws.headers()).status_code == 422
    assert (
        client.patch(url, json={"labels": ['bad"label']}, headers=ws.headers()).status_code == 422
    )


def test_bulk_actions_apply_to_every_id(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    ids = [seeded["ids"]["c1"], seeded["ids"]["r1"]]
    url = "/api/v1/inbox/interactions/bulk"
    done = client.post(
        url, json={"ids": ids, "action": "set_status", "status": "flagged"}, headers=ws.headers()
    )
    assert done.json() == {"updated": 2}
    client.post(
        url, json={"ids": ids, "action": "add_label", "label": "escalate"}, headers=ws.headers()
    )
    client.post(
        url,
        json={"ids": ids, "action": "assign", "assignee_user_id": ws.owner_id},
        headers=ws.headers(),
    )
    flagged = client.get(
        "/api/v1/inbox/interactions", params={"status": "flagged"}, headers=ws.headers()
    ).json()["items"]
    assert sorted(i["external_id"] for i in flagged) == ["c1", "r1"]
    assert all(i["labels"] == ["escalate"] for i in flagged)
    assert all(i["assignee_user_id"] == ws.owner_id for i in flagged)
    missing_status = client.post(
        url, json={"ids": ids, "action": "set_status"}, headers=ws.headers()
    )
    assert missing_status.status_code == 422


def test_bulk_with_a_foreign_id_is_404_and_changes_nothing(
    client: TestClient,
    ws: WorkspaceFixture,
    other: WorkspaceFixture,
    seeded: dict[str, Any],
    db: Database,
    make_account: Callable[..., int],
    make_comment: Callable[..., pb.Comment],
) -> None:
    with db.session() as session:
        account = session.get(TrackedAccount, make_account(db, other.workspace_id, handle="x"))
        assert account is not None
        foreign = ingest.ingest_interactions(session, account, [make_comment("f1", "zed", "hi")])
    ids = [seeded["ids"]["c1"], foreign.new_ids[0]]
    response = client.post(
        "/api/v1/inbox/interactions/bulk",
        json={"ids": ids, "action": "set_status", "status": "ignored"},
        headers=ws.headers(),
    )
    assert response.status_code == 404
    assert _list(client, ws, status="ignored") == []


def test_superfans_listed_by_lifetime_value_with_detail(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    listed = client.get(
        "/api/v1/inbox/fans", params={"superfan": "true"}, headers=ws.headers()
    ).json()
    assert [f["handle"] for f in listed] == ["ann"]
    assert listed[0]["is_superfan"] is True and listed[0]["superfan_since"] is not None
    everyone = client.get("/api/v1/inbox/fans", headers=ws.headers()).json()
    values = [f["lifetime_value_score"] for f in everyone]
    assert values == sorted(values, reverse=True)
    # An integer from 0 to 100 in the API, never a float.
    assert all(type(v) is int and 0 <= v <= 100 for v in values)
    assert everyone[0]["handle"] == "ann"
    detail = client.get(f"/api/v1/inbox/fans/{seeded['fans']['ann']}", headers=ws.headers())
    body = detail.json()
    assert body["interactions_count"] == 10
    # min(100, 20 + 5 x positive + avg priority), over the superfan window
    assert body["lifetime_value_score"] == 100 and type(body["lifetime_value_score"]) is int
    assert len(body["recent_interactions"]) == 10
    assert "superfan window" in body["score_basis"]


def test_settings_defaults_validation_and_admin_only(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    url = "/api/v1/inbox/settings"
    defaults = client.get(url, headers=ws.headers(Role.viewer)).json()
    assert defaults["superfan_window_days"] == 90
    assert defaults["superfan_min_interactions"] == 10
    assert defaults["superfan_min_positive_ratio"] == 0.7
    assert (
        client.put(
            url, json={"superfan_min_interactions": 3}, headers=ws.headers(Role.editor)
        ).status_code
        == 403
    )
    assert (
        client.put(url, json={"superfan_min_positive_ratio": 1.5}, headers=ws.headers()).status_code
        == 422
    )
    changed = client.put(
        url, json={"superfan_min_interactions": 20}, headers=ws.headers(Role.admin)
    )
    assert changed.status_code == 200
    assert changed.json()["superfan_min_interactions"] == 20
    assert changed.json()["superfan_window_days"] == 90
    # New thresholds apply at once: ann's 10 interactions no longer make a superfan.
    superfans = client.get(
        "/api/v1/inbox/fans", params={"superfan": "true"}, headers=ws.headers()
    ).json()
    assert superfans == []


def test_viewers_read_but_cannot_change(
    client: TestClient, ws: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    viewer = ws.headers(Role.viewer)
    c1 = seeded["ids"]["c1"]
    assert client.get("/api/v1/inbox/interactions", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/inbox/interactions/{c1}", headers=viewer).status_code == 200
    assert client.get("/api/v1/inbox/fans", headers=viewer).status_code == 200
    forbidden = [
        client.patch(
            f"/api/v1/inbox/interactions/{c1}", json={"status": "ignored"}, headers=viewer
        ),
        client.post(
            "/api/v1/inbox/interactions/bulk",
            json={"ids": [c1], "action": "add_label", "label": "x"},
            headers=viewer,
        ),
        client.put("/api/v1/inbox/settings", json={}, headers=viewer),
        client.post(f"/api/v1/accounts/{seeded['sim']}/comments/poll", headers=viewer),
    ]
    assert [r.status_code for r in forbidden] == [403, 403, 403, 403]
    assert client.get("/api/v1/inbox/interactions").status_code == 401


def test_other_workspaces_ids_are_not_found(
    client: TestClient, ws: WorkspaceFixture, other: WorkspaceFixture, seeded: dict[str, Any]
) -> None:
    theirs = other.headers()
    c1, ann, sim = seeded["ids"]["c1"], seeded["fans"]["ann"], seeded["sim"]
    responses = [
        client.get(f"/api/v1/inbox/interactions/{c1}", headers=theirs),
        client.patch(
            f"/api/v1/inbox/interactions/{c1}", json={"status": "ignored"}, headers=theirs
        ),
        client.post(
            "/api/v1/inbox/interactions/bulk",
            json={"ids": [c1], "action": "set_status", "status": "ignored"},
            headers=theirs,
        ),
        client.get(f"/api/v1/inbox/fans/{ann}", headers=theirs),
        client.post(f"/api/v1/accounts/{sim}/comments/poll", headers=theirs),
    ]
    assert [r.status_code for r in responses] == [404] * 5
    assert all(r.json()["error"]["code"] == "not_found" for r in responses)
    assert _list(client, other) == []
    assert client.get("/api/v1/inbox/fans", headers=theirs).json() == []
    assert client.get("/api/v1/inbox/settings", headers=theirs).status_code == 200


def test_polling_an_account_without_comments_api_is_refused(
    client: TestClient, ws: WorkspaceFixture, db: Database, make_account: Callable[..., int]
) -> None:
    tiktok = make_account(db, ws.workspace_id, platform="tiktok", handle="dancer")
    response = client.post(f"/api/v1/accounts/{tiktok}/comments/poll", headers=ws.headers())
    assert response.status_code == 422
    assert "TikTok" in response.json()["error"]["message"]
