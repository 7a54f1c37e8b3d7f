"""Saved creator lists: CRUD with validation that writes nothing when it refuses, the creators
on a list with what the workspace may see of them, roles, and tenancy (another workspace's
list is a 404 on every route)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factories import WorkspaceFixture, make
from socialpulse.creators import lists
from socialpulse.creators.models import Creator, CreatorAccess, CreatorList, CreatorListItem
from socialpulse.db import Database, utcnow
from socialpulse.workspaces.models import Role


def _creators(db: Database, *handles: str) -> list[int]:
    with db.session() as session:
        return [
            make(session, Creator, handle=handle, display_name=handle.title()).id
            for handle in handles
        ]


def _count(db: Database, model: type) -> int:
    with db.session(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _new_list(client: TestClient, ws: WorkspaceFixture, name: str = "Shortlist") -> dict:
    response = client.post(
        "/api/v1/lists", json={"name": name, "description": "for Q1"}, headers=ws.headers()
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_list_is_created_read_renamed_and_deleted(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    created = _new_list(client, ws, "  Shortlist  ")
    assert created["name"] == "Shortlist" and created["creators_count"] == 0
    list_id = created["id"]
    page = client.get("/api/v1/lists", headers=ws.headers()).json()
    assert [item["name"] for item in page["items"]] == ["Shortlist"] and page["total"] == 1
    renamed = client.patch(
        f"/api/v1/lists/{list_id}", json={"name": "Finalists"}, headers=ws.headers()
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Finalists"
    assert renamed.json()["description"] == "for Q1"
    creator_id = _creators(db, "ada")[0]
    client.post(
        f"/api/v1/lists/{list_id}/creators",
        json={"creator_ids": [creator_id]},
        headers=ws.headers(),
    )
    assert client.delete(f"/api/v1/lists/{list_id}", headers=ws.headers()).status_code == 204
    assert client.get(f"/api/v1/lists/{list_id}", headers=ws.headers()).status_code == 404
    assert _count(db, CreatorListItem) == 0
    assert _count(db, Creator) == 1, "deleting a list keeps its creators"


def test_a_duplicate_name_is_a_409_and_writes_nothing(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    first = _new_list(client, ws, "Shortlist")
    again = client.post("/api/v1/lists", json={"name": "Shortlist"}, headers=ws.headers())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "list_name_taken"
    assert "Shortlist" in again.json()["error"]["message"]
    other = _new_list(client, ws, "Other")
    renamed = client.patch(
        f"/api/v1/lists/{other['id']}", json={"name": "Shortlist"}, headers=ws.headers()
    )
    assert renamed.status_code == 409
    assert (
        client.get(f"/api/v1/lists/{other['id']}", headers=ws.headers()).json()["name"] == "Other"
    )
    assert _count(db, CreatorList) == 2
    # Renaming a list to its own name is no conflict.
    same = client.patch(
        f"/api/v1/lists/{first['id']}", json={"name": "Shortlist"}, headers=ws.headers()
    )
    assert same.status_code == 200


def test_another_workspace_may_use_the_same_name(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture
) -> None:
    _new_list(client, ws, "Shortlist")
    _new_list(client, other_ws, "Shortlist")


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_blank_or_long_name_is_a_422(client: TestClient, ws: WorkspaceFixture, name: str) -> None:
    response = client.post("/api/v1/lists", json={"name": name}, headers=ws.headers())
    assert response.status_code == 422
    assert "name" in response.json()["error"]["message"]


def test_an_unknown_creator_refuses_the_whole_batch(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    known = _creators(db, "ada", "bob")
    response = client.post(
        f"/api/v1/lists/{list_id}/creators",
        json={"creator_ids": [*known, 999_999]},
        headers=ws.headers(),
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert "999999" in error["message"]
    assert error["details"] == {"missing_creator_ids": [999_999]}
    assert _count(db, CreatorListItem) == 0


def test_adding_creators_twice_keeps_them_once_with_their_first_note(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    ada, bob = _creators(db, "ada", "bob")
    first = client.post(
        f"/api/v1/lists/{list_id}/creators",
        json={"creator_ids": [ada, ada], "note": "great reels"},
        headers=ws.headers(),
    ).json()
    assert first == {"added": [ada], "already_listed": []}
    second = client.post(
        f"/api/v1/lists/{list_id}/creators",
        json={"creator_ids": [bob, ada], "note": "later"},
        headers=ws.headers(),
    ).json()
    assert second == {"added": [bob], "already_listed": [ada]}
    items = client.get(f"/api/v1/lists/{list_id}/creators", headers=ws.headers()).json()
    notes = {item["creator"]["id"]: item["note"] for item in items["items"]}
    assert notes == {ada: "great reels", bob: "later"}
    assert (
        client.get(f"/api/v1/lists/{list_id}", headers=ws.headers()).json()["creators_count"] == 2
    )


def test_listed_creators_show_whether_the_workspace_may_read_their_report(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    unlocked, locked, expired = _creators(db, "unlocked", "locked", "expired")
    with db.session() as session:
        make(session, CreatorAccess, workspace_id=ws.workspace_id, creator_id=unlocked)
        make(
            session,
            CreatorAccess,
            workspace_id=ws.workspace_id,
            creator_id=expired,
            expires_at=utcnow() - dt.timedelta(minutes=1),
        )
    client.post(
        f"/api/v1/lists/{list_id}/creators",
        json={"creator_ids": [unlocked, locked, expired]},
        headers=ws.headers(),
    )
    items = client.get(f"/api/v1/lists/{list_id}/creators", headers=ws.headers()).json()["items"]
    access = {item["creator"]["handle"]: item["access"] for item in items}
    assert access == {"unlocked": "full", "locked": "preview", "expired": "preview"}


def test_a_note_is_changed_and_a_creator_removed(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    ada, bob = _creators(db, "ada", "bob")
    client.post(
        f"/api/v1/lists/{list_id}/creators", json={"creator_ids": [ada]}, headers=ws.headers()
    )
    changed = client.patch(
        f"/api/v1/lists/{list_id}/creators/{ada}", json={"note": "call her"}, headers=ws.headers()
    )
    assert changed.status_code == 200 and changed.json()["note"] == "call her"
    missing = client.delete(f"/api/v1/lists/{list_id}/creators/{bob}", headers=ws.headers())
    assert missing.status_code == 404
    assert f"creator {bob} is not on list" in missing.json()["error"]["message"]
    assert (
        client.delete(f"/api/v1/lists/{list_id}/creators/{ada}", headers=ws.headers()).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/lists/{list_id}/creators", headers=ws.headers()).json()["total"] == 0
    )


def test_a_viewer_reads_lists_but_cannot_change_them(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    viewer = ws.headers(Role.viewer)
    assert client.get(f"/api/v1/lists/{list_id}", headers=viewer).status_code == 200
    refused = client.post("/api/v1/lists", json={"name": "Mine"}, headers=viewer)
    assert refused.status_code == 403
    assert client.delete(f"/api/v1/lists/{list_id}", headers=viewer).status_code == 403
    assert _count(db, CreatorList) == 1


def test_another_workspaces_list_is_a_404_on_every_route(
    client: TestClient, ws: WorkspaceFixture, other_ws: WorkspaceFixture, db: Database
) -> None:
    list_id = _new_list(client, ws)["id"]
    ada = _creators(db, "ada")[0]
    client.post(
        f"/api/v1/lists/{list_id}/creators", json={"creator_ids": [ada]}, headers=ws.headers()
    )
    calls = [
        ("GET", f"/api/v1/lists/{list_id}", None),
        ("PATCH", f"/api/v1/lists/{list_id}", {"name": "Stolen"}),
        ("DELETE", f"/api/v1/lists/{list_id}", None),
        ("GET", f"/api/v1/lists/{list_id}/creators", None),
        ("POST", f"/api/v1/lists/{list_id}/creators", {"creator_ids": [ada]}),
        ("PATCH", f"/api/v1/lists/{list_id}/creators/{ada}", {"note": "x"}),
        ("DELETE", f"/api/v1/lists/{list_id}/creators/{ada}", None),
        ("GET", f"/api/v1/lists/{list_id}/export.csv", None),
        ("GET", f"/api/v1/lists/{list_id}/export.json", None),
    ]
    for method, path, body in calls:
        response = client.request(method, path, json=body, headers=other_ws.headers())
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/lists", headers=other_ws.headers()).json()["total"] == 0
    mine = client.get(f"/api/v1/lists/{list_id}", headers=ws.headers()).json()
    assert mine["name"] == "Shortlist" and mine["creators_count"] == 1


def test_a_list_named_meanwhile_by_another_request_is_a_409_not_a_500(
    client: TestClient, ws: WorkspaceFixture, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests both pass the name check before either commits: the unique constraint
    # decides, and the loser gets the same 409 as a sequential duplicate.
    _new_list(client, ws, "Shortlist")
    monkeypatch.setattr(lists, "_name_free", lambda *_args, **_kwargs: None)
    raced = client.post("/api/v1/lists", json={"name": "Shortlist"}, headers=ws.headers())
    assert raced.status_code == 409
    assert raced.json()["error"]["code"] == "list_name_taken"
    assert _count(db, CreatorList) == 1
