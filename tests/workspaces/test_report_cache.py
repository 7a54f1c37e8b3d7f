"""Cached report responses are never stale: after each kind of write, the next read of a cached
report equals one computed without the cache (and the write did change it, so a stale entry
would show). ETags answer 304; another workspace's writes neither invalidate nor reach a
workspace's entries; two app instances sharing Redis see each other's writes.

Time is frozen: reports whose window ends "now" then compute the same with and without cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from conftest import REDIS_URL, TEST_SECRET_KEY, make_settings, require
from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.app import create_app
from socialpulse.db import Database
from socialpulse.inbox.models import Interaction, InteractionStatus, ReplyQueueItem, ReplyStatus
from socialpulse.inbox.replies.sender import REPLY_LEASE
from socialpulse.kit import leases
from socialpulse.kit.security import SecretBox

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "cached-co")


@contextmanager
def _client(tmp_path: Path, database_url: str, **overrides: object) -> Iterator[TestClient]:
    """Another app instance on the same database: its own in-process state."""
    app: FastAPI = create_app(
        make_settings(tmp_path, database_url, **overrides), start_worker=False
    )
    with TestClient(app) as client:
        yield client


@pytest.fixture
def cold(tmp_path: Path, database_url: str, db: Database) -> Iterator[TestClient]:
    """The same server with SOCIALPULSE_RESPONSE_CACHE=off: every read computed."""
    with _client(tmp_path / "cold", database_url, response_cache=False) as client:
        yield client


def _read(client: TestClient, path: str, ws: WorkspaceFixture) -> Any:
    response = client.get(path, headers=ws.headers())
    assert response.status_code == 200, response.text
    return response.json()


class Reads:
    """Cached reads primed before a write, checked after it."""

    def __init__(self, cached: TestClient, cold: TestClient, ws: WorkspaceFixture) -> None:
        self.cached, self.cold, self.ws = cached, cold, ws
        self.before: dict[str, Any] = {}

    def prime(self, *paths: str) -> None:
        for path in paths:
            first = self.cached.get(path, headers=self.ws.headers())
            assert first.status_code == 200, first.text
            assert first.headers["etag"]
            again = self.cached.get(path, headers=self.ws.headers())
            assert again.headers["etag"] == first.headers["etag"]  # served from the cache
            self.before[path] = first.json()

    def assert_fresh(self) -> None:
        for path, before in self.before.items():
            computed = _read(self.cold, path, self.ws)
            assert computed != before, f"the write did not change {path}: the test proves nothing"
            assert _read(self.cached, path, self.ws) == computed, path


@pytest.fixture
def reads(client: TestClient, cold: TestClient, ws: WorkspaceFixture) -> Reads:
    return Reads(client, cold, ws)


def _simulated_account(client: TestClient, ws: WorkspaceFixture) -> int:
    response = client.post(
        "/api/v1/accounts",
        json={"ref": "garden_lab", "platform": "simulated", "credentials": {"latency_ms": 0}},
        headers=ws.headers(),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_ingest_through_run_fetch_makes_the_next_reads_fresh(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = _simulated_account(client, ws)
    reads.prime(
        "/api/v1/accounts",
        f"/api/v1/accounts/{account_id}/overview",
        f"/api/v1/accounts/{account_id}/top-posts",
        "/api/v1/analytics/compare",
    )
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        run_id = accounts_service.queue_fetch(session, account, "manual").id
    accounts_service.run_fetch(db, run_id, box=SecretBox(TEST_SECRET_KEY))
    reads.assert_fresh()


def _interaction(db: Database, ws: WorkspaceFixture, **fields: Any) -> int:
    account_id = add_account(db, ws.workspace_id, "youtube", handle="own", external_id="UCown")
    return add_interaction(
        db, account_id, author_external_id="fan", author_handle="fan", text="Hi!", **fields
    )


def _queue_reply(client: TestClient, ws: WorkspaceFixture, interaction: int) -> int:
    """A reply queued through the API: its queue item's id."""
    queued = client.post(
        f"/api/v1/inbox/interactions/{interaction}/reply",
        json={"text": "Thank you!"},
        headers=ws.headers(),
    )
    assert queued.status_code == 201, queued.text
    return int(queued.json()["id"])


def test_a_status_change_through_the_api_makes_the_next_reads_fresh(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    interaction = _interaction(db, ws)
    reads.prime(
        "/api/v1/inbox/analytics/overview",
        "/api/v1/ai/summary",
        "/api/v1/inbox/interactions?limit=50",
        "/api/v1/inbox/interactions?status=unread",
    )
    changed = client.patch(
        f"/api/v1/inbox/interactions/{interaction}",
        json={"status": "ignored"},
        headers=ws.headers(),
    )
    assert changed.status_code == 200, changed.text
    del reads.before["/api/v1/ai/summary"]  # unchanged by a status: read below, not compared
    reads.assert_fresh()


def test_a_new_comment_shows_in_the_next_inbox_page(
    reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    """A client polling the inbox list gets its cached page until a comment arrives (ingest
    writes interactions outside the API), then the page with it."""
    first = _interaction(db, ws)
    reads.prime("/api/v1/inbox/interactions", "/api/v1/inbox/interactions?limit=1")
    account_id = reads.before["/api/v1/inbox/interactions"]["items"][0]["account_id"]
    newer = add_interaction(
        db, account_id, author_external_id="fan2", author_handle="fan2", text="Where is it from?"
    )
    reads.assert_fresh()
    ids = [item["id"] for item in _read(reads.cached, "/api/v1/inbox/interactions", ws)["items"]]
    assert set(ids) == {first, newer}


def test_inbox_pages_with_other_filters_are_other_entries(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    answered = _interaction(db, ws, status=InteractionStatus.answered)
    both = client.get("/api/v1/inbox/interactions", headers=ws.headers())
    unread = client.get("/api/v1/inbox/interactions?status=unread", headers=ws.headers())
    assert [item["id"] for item in both.json()["items"]] == [answered]
    assert unread.json()["items"] == []
    assert both.headers["etag"] != unread.headers["etag"]
    again = client.get(
        "/api/v1/inbox/interactions",
        headers={**ws.headers(), "If-None-Match": both.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_queued_reply_makes_the_next_reads_fresh(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    interaction = _interaction(db, ws, status=InteractionStatus.unread)
    reads.prime("/api/v1/inbox/analytics/response-queue")
    _queue_reply(client, ws, interaction)
    reads.assert_fresh()


def test_a_reply_sent_refreshes_only_the_reports_that_read_what_it_changed(
    client: TestClient, cold: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    """The sender claims the item (the queue), then settles it and marks the interaction
    answered (the queue and the inbox): account reports read neither and stay cached."""
    interaction = _interaction(db, ws, status=InteractionStatus.unread)
    item = _queue_reply(client, ws, interaction)
    accounts = "/api/v1/accounts"
    overview, queue = "/api/v1/inbox/analytics/overview", "/api/v1/inbox/analytics/response-queue"
    tags = {
        path: client.get(path, headers=ws.headers()).headers["etag"]
        for path in (accounts, overview, queue)
    }

    def read(path: str) -> Any:
        return client.get(path, headers={**ws.headers(), "If-None-Match": tags[path]})

    with db.session() as session:  # the claim: status "processing", a lease
        claimed = leases.claim(
            session,
            REPLY_LEASE,
            ReplyQueueItem.id == item,
            owner="sender-1",
            until=NOW + dt.timedelta(minutes=5),
        )
        assert claimed == 1
    assert read(accounts).status_code == 304
    assert read(overview).status_code == 304
    fresh = read(queue)
    assert fresh.status_code == 200
    assert fresh.json() == _read(cold, queue, ws)
    assert fresh.json()["overall"]["processing"] == 1
    tags[queue] = fresh.headers["etag"]
    assert read(queue).status_code == 304  # cached again at the new version
    with db.session() as session:  # the outcome, in one transaction as the sender writes it
        assert leases.release(session, REPLY_LEASE, item, "sender-1", status=ReplyStatus.sent)
        session.execute(
            update(Interaction)
            .where(Interaction.id == interaction)
            .values(status=InteractionStatus.answered, answered_at=NOW)
        )
    assert read(accounts).status_code == 304
    for path in (overview, queue):
        answered = read(path)
        assert answered.status_code == 200, path
        assert answered.json() == _read(cold, path, ws)
    assert _read(client, overview, ws)["answered"] == 1


@pytest.mark.parametrize("how", ["core", "orm"])
def test_deleting_an_interaction_refreshes_what_its_cascade_removed(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture, how: str
) -> None:
    """The database deletes the interaction's queued reply (ON DELETE CASCADE) unseen by the
    session: the queue report, which reads only the queue, must not keep the reply."""
    interaction = _interaction(db, ws, status=InteractionStatus.unread)
    _queue_reply(client, ws, interaction)
    reads.prime("/api/v1/inbox/analytics/response-queue")
    with db.session() as session:
        if how == "core":
            session.execute(delete(Interaction).where(Interaction.id == interaction))
        else:
            session.delete(session.get(Interaction, interaction))
    reads.assert_fresh()
    assert _read(client, "/api/v1/inbox/analytics/response-queue", ws)["overall"]["total"] == 0


def test_a_setting_change_makes_the_next_reads_fresh(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    _interaction(db, ws)
    reads.prime("/api/v1/inbox/analytics/overview", "/api/v1/inbox/analytics/timeline")
    changed = client.patch(
        "/api/v1/workspace", json={"timezone": "Pacific/Auckland"}, headers=ws.headers()
    )
    assert changed.status_code == 200, changed.text
    reads.assert_fresh()


def test_account_deletion_makes_the_next_reads_fresh(
    client: TestClient, reads: Reads, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = _simulated_account(client, ws)
    reads.prime("/api/v1/accounts", "/api/v1/analytics/compare")
    deleted = client.delete(f"/api/v1/accounts/{account_id}", headers=ws.headers())
    assert deleted.status_code == 202, deleted.text
    reads.assert_fresh()
    with db.session() as session:  # the job ran after the request's commit (memory queue)
        assert session.get(TrackedAccount, account_id) is None


def test_etag_round_trip_answers_304_until_a_write(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    first = client.get("/api/v1/accounts", headers=ws.headers())
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    unchanged = client.get("/api/v1/accounts", headers={**ws.headers(), "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    _simulated_account(client, ws)
    changed = client.get("/api/v1/accounts", headers={**ws.headers(), "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(changed.json()) == 1


def test_another_workspaces_write_neither_invalidates_nor_leaks(
    client: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    other = make_workspace(db, "other-co")
    _simulated_account(client, ws)
    mine = client.get("/api/v1/accounts", headers=ws.headers())
    etag = mine.headers["etag"]
    _simulated_account(client, other)  # a write in the other workspace
    still = client.get("/api/v1/accounts", headers={**ws.headers(), "If-None-Match": etag})
    assert still.status_code == 304
    # The other workspace never gets this workspace's entry, even when it presents its tag.
    theirs = client.get("/api/v1/accounts", headers={**other.headers(), "If-None-Match": etag})
    assert theirs.status_code == 200
    assert theirs.headers["etag"] != etag
    assert {a["id"] for a in theirs.json()}.isdisjoint(a["id"] for a in mine.json())


def test_with_the_cache_off_nothing_is_tagged(cold: TestClient, ws: WorkspaceFixture) -> None:
    response = cold.get("/api/v1/accounts", headers={**ws.headers(), "If-None-Match": "*"})
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert response.json() == []


def test_two_app_instances_sharing_redis_see_each_others_writes(
    tmp_path: Path, database_url: str, db: Database, cold: TestClient, ws: WorkspaceFixture
) -> None:
    require(bool(REDIS_URL), "SOCIALPULSE_TEST_REDIS_URL is not set")
    shared = redis.Redis.from_url(REDIS_URL)
    shared.flushdb()
    with (
        _client(tmp_path / "one", database_url, cache_url=REDIS_URL) as writer,
        _client(tmp_path / "two", database_url, cache_url=REDIS_URL) as reader,
    ):
        account_id = _simulated_account(writer, ws)
        path = f"/api/v1/accounts/{account_id}/overview"
        primed = reader.get(path, headers=ws.headers())
        assert list(shared.scan_iter("socialpulse:responses:*"))  # the entry went to Redis
        assert writer.get(path, headers=ws.headers()).headers["etag"] == primed.headers["etag"]
        with db.session() as session:
            run_id = accounts_service.queue_fetch(
                session, session.get(TrackedAccount, account_id), "manual"
            ).id
        accounts_service.run_fetch(db, run_id, box=SecretBox(TEST_SECRET_KEY))
        computed = _read(cold, path, ws)
        assert computed != primed.json()
        assert _read(reader, path, ws) == computed
        renamed = writer.patch(
            f"/api/v1/accounts/{account_id}", json={"active": False}, headers=ws.headers()
        )
        assert renamed.status_code == 200, renamed.text
        assert _read(reader, "/api/v1/accounts", ws) == _read(cold, "/api/v1/accounts", ws)
        assert _read(reader, "/api/v1/accounts", ws)[0]["active"] is False


def test_a_cached_body_is_byte_for_byte_the_uncached_one(
    client: TestClient, cold: TestClient, db: Database, ws: WorkspaceFixture
) -> None:
    account_id = _simulated_account(client, ws)
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        run_id = accounts_service.queue_fetch(session, account, "manual").id
    accounts_service.run_fetch(db, run_id, box=SecretBox(TEST_SECRET_KEY))
    for path in (
        "/api/v1/accounts",
        f"/api/v1/accounts/{account_id}/overview",
        f"/api/v1/accounts/{account_id}/top-posts?limit=3",
        f"/api/v1/accounts/{account_id}/timeseries",
        f"/api/v1/accounts/{account_id}/ai-profile",
        "/api/v1/inbox/analytics/overview",
    ):
        computed = cold.get(path, headers=ws.headers())
        assert computed.status_code == 200, computed.text
        for _ in range(2):  # filled, then served from the cache
            cached = client.get(path, headers=ws.headers())
            assert cached.content == computed.content, path
            assert cached.headers["content-type"] == computed.headers["content-type"]
