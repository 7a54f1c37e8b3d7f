"""Posts through the API: recurring series materialised a horizon ahead, skip and edit one
occurrence, edit, cancel, reschedule, retry, the queue, and roles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from factories import WorkspaceFixture
from publishing_support import PlatformDouble
from socialpulse.db import Database
from socialpulse.providers import base as pb
from socialpulse.publishing import delivery, service
from socialpulse.publishing.models import Delivery, DeliveryStatus
from socialpulse.publishing.schemas import PostCreate, TargetIn
from socialpulse.workspaces import versions
from socialpulse.workspaces.models import Role

POSTS = "/api/v1/publishing/posts"


def create(client: TestClient, ws: WorkspaceFixture, account: int, **body: Any) -> Any:
    payload = {"text": "Daily tip", "zone": "UTC", "targets": [{"account_id": account}], **body}
    response = client.post(POSTS, json=payload, headers=ws.headers())
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(db: Database, post_id: int) -> list[Delivery]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Delivery).where(Delivery.post_id == post_id).order_by(Delivery.occurrence_at)
            )
        )


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_an_endless_series_creates_deliveries_only_for_the_horizon(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    assert post["status"] == "scheduled"
    # SOCIALPULSE_PUBLISH_HORIZON_DAYS = 7 from now; the first is an hour from now.
    assert [row.occurrence_at - soon for row in deliveries(db, post["id"])] == [
        dt.timedelta(days=d) for d in range(7)
    ]


def test_the_sweep_extends_a_series_as_time_passes(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    delivery.sweep(db, now=soon + dt.timedelta(days=3), publisher_factory=lambda a, o: platform)
    times = [row.occurrence_at for row in deliveries(db, post["id"])]
    assert times[-1] == soon + dt.timedelta(days=10)
    assert len(times) == len(set(times))


def test_a_series_ending_by_count_stops_there(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    post = create(
        client, ws, account, scheduled_at=iso(soon), recurrence={"every": "2h", "count": 3}
    )
    assert [row.occurrence_at - soon for row in deliveries(db, post["id"])] == [
        dt.timedelta(hours=h) for h in (0, 2, 4)
    ]


def test_a_monthly_series_still_shows_its_next_occurrence_beyond_the_horizon(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    day = (soon + dt.timedelta(days=20)).day if (soon + dt.timedelta(days=20)).day <= 28 else 1
    post = create(
        client, ws, account, scheduled_at=iso(soon), recurrence={"cron": f"0 9 {day} * *"}
    )
    rows = deliveries(db, post["id"])
    assert len(rows) == 1 and rows[0].occurrence_at > soon


def test_skipping_an_occurrence_leaves_the_others(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(
        client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d", "count": 3}
    )
    second = soon + dt.timedelta(days=1)
    response = client.post(
        f"{POSTS}/{post['id']}/occurrences/skip",
        json={"occurrence_at": iso(second)},
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    statuses = [(row.occurrence_at, row.status) for row in deliveries(db, post["id"])]
    assert statuses[1] == (second, DeliveryStatus.skipped)
    for day in range(3):
        at = soon + dt.timedelta(days=day)
        delivery.sweep(db, now=at, publisher_factory=lambda a, o: platform)
    assert len(platform.calls) == 2
    occurrences = client.get(f"{POSTS}/{post['id']}/occurrences", headers=ws.headers()).json()
    assert [o["skipped"] for o in occurrences] == [False, True, False]


def test_a_time_that_is_not_an_occurrence_is_refused(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    response = client.post(
        f"{POSTS}/{post['id']}/occurrences/skip",
        json={"occurrence_at": iso(soon + dt.timedelta(hours=5))},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert "is not an occurrence of this series" in response.json()["error"]["message"]


def test_editing_one_occurrence_changes_its_text_and_time_only(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(
        client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d", "count": 3}
    )
    second = soon + dt.timedelta(days=1)
    moved = second + dt.timedelta(hours=3)
    response = client.post(
        f"{POSTS}/{post['id']}/occurrences/edit",
        json={"occurrence_at": iso(second), "text": "Special edition", "scheduled_at": iso(moved)},
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    edited = deliveries(db, post["id"])[1]
    assert (edited.scheduled_for, edited.text_override) == (moved, "Special edition")
    for at in (soon, moved, soon + dt.timedelta(days=2)):
        delivery.sweep(db, now=at, publisher_factory=lambda a, o: platform)
    assert platform.calls == ["Daily tip", "Special edition", "Daily tip"]


def test_an_edited_occurrence_is_checked_against_the_platform(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    response = client.post(
        f"{POSTS}/{post['id']}/occurrences/edit",
        json={"occurrence_at": iso(soon), "text": "q" * 301},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert "301 graphemes" in response.json()["error"]["message"]


def test_editing_the_text_applies_to_deliveries_not_yet_published(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon))
    response = client.patch(
        f"{POSTS}/{post['id']}", json={"text": "Fixed typo"}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    delivery.sweep(db, now=soon, publisher_factory=lambda a, o: platform)
    assert platform.calls == ["Fixed typo"]


def test_a_published_post_cannot_be_edited(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon))
    delivery.sweep(db, now=soon, publisher_factory=lambda a, o: platform)
    response = client.patch(f"{POSTS}/{post['id']}", json={"text": "Late"}, headers=ws.headers())
    assert response.status_code == 409
    assert "published post cannot be edited" in response.json()["error"]["message"]


def test_rescheduling_moves_the_delivery_and_its_job(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon))
    later = soon + dt.timedelta(hours=5)
    response = client.post(
        f"{POSTS}/{post['id']}/reschedule", json={"scheduled_at": iso(later)}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    assert [row.scheduled_for for row in deliveries(db, post["id"])] == [later]
    delivery.sweep(db, now=soon + dt.timedelta(minutes=1), publisher_factory=lambda a, o: platform)
    assert platform.calls == []
    delivery.sweep(db, now=later, publisher_factory=lambda a, o: platform)
    assert platform.calls == ["Daily tip"]


def test_cancelling_stops_every_waiting_delivery(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    response = client.post(f"{POSTS}/{post['id']}/cancel", headers=ws.headers())
    assert response.json()["status"] == "cancelled"
    assert {row.status for row in deliveries(db, post["id"])} == {DeliveryStatus.cancelled}


def test_the_queue_lists_waiting_and_failed_deliveries_soonest_first(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    first = create(client, ws, account, scheduled_at=iso(soon), text="First")
    create(client, ws, account, scheduled_at=iso(soon + dt.timedelta(hours=1)), text="Second")
    platform.errors = [pb.PermanentError("media rejected", platform="shortnet", endpoint="posts")]
    delivery.sweep(db, now=soon, publisher_factory=lambda a, o: platform)
    page = client.get("/api/v1/publishing/queue", headers=ws.headers()).json()
    assert [(item["text"], item["status"]) for item in page["items"]] == [
        ("First", "failed"),
        ("Second", "scheduled"),
    ]
    assert page["items"][0]["last_error"] == "media rejected"
    assert page["items"][0]["handle"] == "ourbrand"
    retried = client.post(
        f"/api/v1/publishing/deliveries/{page['items'][0]['id']}/retry", headers=ws.headers()
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "scheduled" and retried.json()["post_id"] == first["id"]


def test_a_viewer_reads_but_cannot_write(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon))
    viewer = ws.headers(Role.viewer)
    assert client.get(f"{POSTS}/{post['id']}", headers=viewer).status_code == 200
    assert client.post(f"{POSTS}/{post['id']}/cancel", headers=viewer).status_code == 403
    refused = client.post(POSTS, json={"text": "x", "draft": True, "targets": []}, headers=viewer)
    assert refused.status_code == 403


def test_deleting_a_post_removes_its_deliveries(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    post = create(client, ws, account, scheduled_at=iso(soon), recurrence={"every": "1d"})
    assert client.delete(f"{POSTS}/{post['id']}", headers=ws.headers()).status_code == 204
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert client.get(f"{POSTS}/{post['id']}", headers=ws.headers()).status_code == 404


def test_the_list_is_the_workspaces_own(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime, db: Database
) -> None:
    create(client, ws, account, scheduled_at=iso(soon))
    page = client.get(POSTS, headers=ws.headers()).json()
    assert page["total"] == 1 and page["items"][0]["targets"] == 1
    with db.session() as session:
        assert service.list_posts(session, ws.subject, status=None).total == 1


def test_writes_bump_the_workspace_data_version(
    ws: WorkspaceFixture,
    account: int,
    soon: dt.datetime,
    db: Database,
    platform: PlatformDouble,
) -> None:
    def version() -> int:
        with db.session() as session:
            return versions.current(session, ws.workspace_id)

    before = version()
    with db.session() as session:
        body = PostCreate(text="Hi", scheduled_at=soon, targets=[TargetIn(account_id=account)])
        created = service.create_post(session, ws.subject, body)
    scheduled = version()
    delivery.publish_delivery(
        db, created.deliveries[0].id, now=soon, publisher_factory=lambda a, o: platform
    )
    assert before < scheduled < version()
