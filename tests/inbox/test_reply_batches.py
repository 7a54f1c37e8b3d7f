"""Reply batches: replies queued together (a bulk approve, one workflow run) share a
`batch_id` the queue can be filtered by; a reply queued on its own is a batch of one."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.inbox.models import InteractionStatus, ReplyQueueItem, ReplyStatus
from socialpulse.inbox.workflows import engine
from socialpulse.inbox.workflows import service as workflows
from socialpulse.inbox.workflows.schemas import WorkflowCreate
from socialpulse.workspaces.models import Role

BULK = "/api/v1/inbox/interactions/bulk/approve"


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "batches")


@pytest.fixture
def account(db: Database, ws: WorkspaceFixture) -> int:
    return add_account(db, ws.workspace_id, "youtube", handle="own", external_id="UCown")


def _drafted(db: Database, account: int, n: int) -> list[int]:
    """n fans' questions, each with a drafted reply awaiting approval."""
    return [
        add_interaction(
            db,
            account,
            external_id=f"q{i}",
            author_external_id=f"fan{i}",
            author_handle=f"fan{i}",
            text="Where can I buy this?",
            status=InteractionStatus.awaiting_approval,
            suggested_reply=f"Link is in the description, fan {i}!",
        )
        for i in range(n)
    ]


def _queue(api: TestClient, ws: WorkspaceFixture, **params: Any) -> list[dict[str, Any]]:
    response = api.get("/api/v1/inbox/queue", params=params, headers=ws.headers(Role.viewer))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def test_bulk_approve_queues_every_draft_under_one_batch_the_filter_returns(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    three = _drafted(db, account, 3)
    lone = add_interaction(db, account, external_id="lone", text="hi")
    single = client.post(
        f"/api/v1/inbox/interactions/{lone}/reply", json={"text": "Hello!"}, headers=ws.headers()
    ).json()

    response = client.post(BULK, json={"ids": three}, headers=ws.headers(Role.editor))
    assert response.status_code == 201, response.text
    body = response.json()
    batch = body["batch_id"]
    assert isinstance(batch, str) and batch
    assert [item["interaction_id"] for item in body["items"]] == three
    assert {item["batch_id"] for item in body["items"]} == {batch}
    assert [item["text"] for item in body["items"]] == [
        f"Link is in the description, fan {i}!" for i in range(3)
    ]

    listed = _queue(client, ws, batch_id=batch)
    assert sorted(item["id"] for item in listed) == sorted(item["id"] for item in body["items"])
    # A reply queued on its own is a batch of one: its own id, shared with nothing.
    assert single["batch_id"] not in (None, batch)
    assert [item["id"] for item in _queue(client, ws, batch_id=single["batch_id"])] == [
        single["id"]
    ]
    assert len(_queue(client, ws)) == 4
    # The drafts left the approval queue, as a single approve does.
    interaction = client.get(f"/api/v1/inbox/interactions/{three[0]}", headers=ws.headers())
    assert interaction.json()["status"] == "unread"


def test_each_approve_is_its_own_batch(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    first, second = _drafted(db, account, 2)
    one = client.post(f"/api/v1/inbox/interactions/{first}/approve", headers=ws.headers())
    two = client.post(BULK, json={"ids": [second]}, headers=ws.headers())
    assert one.status_code == 201 and two.status_code == 201
    assert one.json()["batch_id"] != two.json()["batch_id"]


def test_bulk_approve_is_all_or_nothing_and_names_the_offenders(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    drafted = _drafted(db, account, 2)
    undrafted = add_interaction(db, account, external_id="plain", text="nice")
    other = make_workspace(db, "elsewhere")
    foreign = _drafted(db, add_account(db, other.workspace_id, "youtube", handle="x"), 1)[0]

    missing = client.post(BULK, json={"ids": [*drafted, foreign]}, headers=ws.headers())
    assert missing.status_code == 404
    assert str(foreign) in missing.json()["error"]["message"]

    no_draft = client.post(BULK, json={"ids": [*drafted, undrafted]}, headers=ws.headers())
    assert no_draft.status_code == 422
    assert str(undrafted) in no_draft.json()["error"]["message"]
    assert _queue(client, ws) == []  # nothing of either request was queued

    client.post(f"/api/v1/inbox/interactions/{drafted[1]}/approve", headers=ws.headers())
    twice = client.post(BULK, json={"ids": drafted}, headers=ws.headers())
    assert twice.status_code == 409
    assert str(drafted[1]) in twice.json()["error"]["message"]
    assert len(_queue(client, ws)) == 1

    assert client.post(BULK, json={"ids": []}, headers=ws.headers()).status_code == 422


def test_a_draft_the_platform_refuses_late_in_the_batch_queues_none_of_it(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    fine = _drafted(db, account, 2)
    mastodon = add_account(db, ws.workspace_id, "mastodon", handle="toot", external_id="toot")
    too_long = add_interaction(
        db,
        mastodon,
        external_id="long",
        status=InteractionStatus.awaiting_approval,
        suggested_reply="x" * 501,  # Mastodon takes 500 characters
    )
    response = client.post(BULK, json={"ids": [*fine, too_long]}, headers=ws.headers())
    assert response.status_code == 422
    assert "500 characters" in response.json()["error"]["message"]
    assert _queue(client, ws) == []  # the two queued before it were rolled back with it
    drafts = client.get(f"/api/v1/inbox/interactions/{fine[0]}", headers=ws.headers()).json()
    assert drafts["status"] == "awaiting_approval"


def test_the_batch_filter_checks_its_input_and_stays_in_the_workspace(
    client: TestClient, db: Database, ws: WorkspaceFixture, account: int
) -> None:
    batch = client.post(BULK, json={"ids": _drafted(db, account, 2)}, headers=ws.headers())
    batch_id = batch.json()["batch_id"]
    other = make_workspace(db, "nosy")
    assert _queue(client, other, batch_id=batch_id) == []
    assert _queue(client, ws, batch_id="0" * 32) == []
    bad = client.get(
        "/api/v1/inbox/queue", params={"batch_id": "x" * 65}, headers=ws.headers(Role.viewer)
    )
    assert bad.status_code == 422
    assert "batch_id" in bad.text


def _auto_reply_workflow(db: Database, ws: WorkspaceFixture, name: str, **fields: Any) -> int:
    body = WorkflowCreate.model_validate(
        {
            "name": name,
            "actions": [{"type": "auto_reply", "template": f"{name}, {{fan_name}}!"}],
            **fields,
        }
    )
    with db.session() as session:
        return workflows.create_workflow(session, ws.subject, body).id


def _queued_by(db: Database, workflow_id: int) -> list[ReplyQueueItem]:
    with db.session(readonly=True) as session:
        return list(
            session.scalars(
                select(ReplyQueueItem)
                .where(ReplyQueueItem.created_by == f"workflow:{workflow_id}")
                .order_by(ReplyQueueItem.id)
            )
        )


def test_one_workflow_run_queues_its_replies_as_one_batch(
    db: Database, ws: WorkspaceFixture, account: int
) -> None:
    bluesky = add_account(db, ws.workspace_id, "bluesky", handle="own2", external_id="did:own")
    thanks = _auto_reply_workflow(
        db, ws, "Thanks", conditions=[{"type": "platform", "values": ["youtube"]}]
    )
    welcome = _auto_reply_workflow(
        db, ws, "Welcome", conditions=[{"type": "platform", "values": ["bluesky"]}]
    )
    first_pass = [
        add_interaction(db, account, external_id=f"a{i}", author_handle=f"fan{i}") for i in range(3)
    ] + [add_interaction(db, bluesky, external_id="b1", author_handle="sky")]
    with db.session() as session:
        engine.apply_new_interaction_workflows(session, first_pass)

    thanked = _queued_by(db, thanks)
    assert len(thanked) == 3 and thanked[0].status == ReplyStatus.pending
    assert len({item.batch_id for item in thanked}) == 1 and thanked[0].batch_id
    welcomed = _queued_by(db, welcome)
    assert len(welcomed) == 1
    assert welcomed[0].batch_id not in (None, thanked[0].batch_id)  # another workflow's run

    later = add_interaction(db, account, external_id="a9", author_handle="late")
    with db.session() as session:
        engine.apply_new_interaction_workflows(session, [later])
    next_run = _queued_by(db, thanks)[-1]
    assert next_run.interaction_id == later
    assert next_run.batch_id not in (None, thanked[0].batch_id)  # the next pass, a new batch
