"""Cached report reads answered ahead of the app (SQLite's change counter proves the database
unchanged): the second read runs no SQL yet answers the same bytes and headers, and every kind
of change (a write by any connection, a revoked key, the clock bucket, the rate limit) sends
the request back through the app."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import make_url

from factories import WorkspaceFixture, add_account, add_interaction, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces.report_cache import ReportCache

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
REPORT = "/api/v1/inbox/analytics/overview"
QUEUE_REPORT = "/api/v1/inbox/analytics/response-queue"


@pytest.fixture(autouse=True)
def sqlite_only(db: Database) -> None:
    if db.change_counter is None:
        pytest.skip("the shortcut needs SQLite's change counter; PostgreSQL reads the version")


@pytest.fixture(autouse=True)
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """SQL the app runs, on both engines."""
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    engines = [db.engine] + ([db.read_engine] if db.read_engine is not None else [])
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    yield seen
    for engine in engines:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "fast-co")


def _interaction(db: Database, ws: WorkspaceFixture, text: str) -> None:
    account_id = add_account(db, ws.workspace_id, "youtube", handle="own", external_id="UCown")
    add_interaction(db, account_id, author_external_id="fan", author_handle="fan", text=text)


def test_a_repeated_read_runs_no_sql_and_answers_the_same_bytes_and_headers(
    client: TestClient, ws: WorkspaceFixture, statements: list[str]
) -> None:
    statements.clear()
    first = client.get(REPORT, headers=ws.headers())
    assert first.status_code == 200
    assert statements, "the first read goes through the app"
    # It recorded the key's first use, a commit: the next read checks the entry again with
    # one lookup on the change counter's own connection, not through the app's engines.
    statements.clear()
    second = client.get(REPORT, headers=ws.headers())
    assert statements == []
    assert second.status_code == 200
    assert second.content == first.content
    for header in ("etag", "cache-control", "content-type", "content-length"):
        assert second.headers[header] == first.headers[header], header
    # The outer middleware still run: security headers and a request id on the shortcut too.
    assert second.headers["x-request-id"]
    assert second.headers["content-security-policy"]
    statements.clear()
    not_modified = client.get(
        REPORT, headers=ws.headers() | {"If-None-Match": first.headers["etag"]}
    )
    assert not_modified.status_code == 304
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert statements == []


def test_a_write_by_another_connection_makes_the_next_read_fresh(
    client: TestClient, ws: WorkspaceFixture, db: Database, statements: list[str]
) -> None:
    before = client.get(REPORT, headers=ws.headers()).json()
    assert client.get(REPORT, headers=ws.headers()).json() == before
    _interaction(db, ws, "Thanks, love it!")
    after = client.get(REPORT, headers=ws.headers()).json()
    assert after != before
    # Another process's commit (the worker's) moves the counter as well: one that bumps the
    # workspace's data version sends the next read through the app.
    client.get(REPORT, headers=ws.headers())
    statements.clear()
    client.get(REPORT, headers=ws.headers())
    assert statements == []
    with sqlite3.connect(_path(db)) as other:
        other.execute(
            "UPDATE workspaces SET data_version = data_version + 1 WHERE id = ?",
            (ws.workspace_id,),
        )
    assert client.get(REPORT, headers=ws.headers()).json() == after
    assert statements, "the read after another connection's commit went through the app"


def _path(db: Database) -> str:
    path = make_url(db.url).database
    assert path is not None
    return path


def test_a_commit_that_leaves_the_workspace_alone_keeps_the_entry_after_one_lookup(
    client: TestClient, ws: WorkspaceFixture, db: Database, statements: list[str]
) -> None:
    """Most commits are the queue's bookkeeping or another workspace's data: the entry is
    checked again (key, creator, workspace version) with one lookup instead of the app."""
    other = make_workspace(db, "other-co")
    client.get(REPORT, headers=ws.headers())
    first = client.get(REPORT, headers=ws.headers())
    _interaction(db, other, "Another workspace's comment")
    with sqlite3.connect(_path(db)) as worker:
        worker.execute("UPDATE jobs SET attempts = attempts")  # unversioned bookkeeping
        worker.execute("UPDATE workspaces SET name = 'Renamed' WHERE id = ?", (ws.workspace_id,))
    statements.clear()
    again = client.get(REPORT, headers=ws.headers())
    assert statements == [], "answered ahead of the app"
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    # The entry now stands for the new counter: the next read needs no lookup at all.
    assert client.get(REPORT, headers=ws.headers()).content == first.content
    assert statements == []


def test_a_deactivated_creator_ends_the_entry_of_their_key(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    created = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=ws.headers())
    reader = {"Authorization": f"Bearer {created.json()['key']}"}
    with sqlite3.connect(_path(db)) as admin:  # as if the owner had made it in the dashboard
        admin.execute(
            "UPDATE api_keys SET created_by_user_id = ? WHERE id = ?",
            (ws.owner_id, created.json()["id"]),
        )
    assert client.get(REPORT, headers=reader).status_code == 200
    assert client.get(REPORT, headers=reader).status_code == 200
    with sqlite3.connect(_path(db)) as admin:
        admin.execute("UPDATE users SET is_active = 0 WHERE id = ?", (ws.owner_id,))
    refused = client.get(REPORT, headers=reader)
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["error"]["message"]


def test_a_key_whose_last_use_is_due_goes_through_the_app_which_records_it(
    client: TestClient, ws: WorkspaceFixture, db: Database, statements: list[str]
) -> None:
    client.get(REPORT, headers=ws.headers())
    client.get(REPORT, headers=ws.headers())
    long_ago = (NOW - dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(_path(db)) as other:
        other.execute("UPDATE api_keys SET last_used_at = ?", (long_ago,))
    statements.clear()
    assert client.get(REPORT, headers=ws.headers()).status_code == 200
    assert any("UPDATE api_keys" in sql for sql in statements), "the use was recorded"


def test_a_revoked_key_is_refused_even_with_its_report_in_the_shortcut(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    created = client.post("/api/v1/api-keys", json={"name": "ci"}, headers=ws.headers())
    key_id, key = created.json()["id"], created.json()["key"]
    reader = {"Authorization": f"Bearer {key}"}
    assert client.get(REPORT, headers=reader).status_code == 200
    assert client.get(REPORT, headers=reader).status_code == 200
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=ws.headers()).status_code == 200
    refused = client.get(REPORT, headers=reader)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]


def test_another_key_or_query_never_gets_an_entry_it_did_not_earn(
    client: TestClient, ws: WorkspaceFixture, db: Database
) -> None:
    other = make_workspace(db, "other-co")
    _interaction(db, ws, "Only in fast-co")
    mine = client.get(REPORT, headers=ws.headers()).json()
    client.get(REPORT, headers=ws.headers())
    theirs = client.get(REPORT, headers=other.headers()).json()
    assert theirs != mine
    assert client.get(REPORT, headers={"Authorization": "Bearer sp_nope_nope"}).status_code == 401
    assert client.get(REPORT + "?days=7", headers=ws.headers()).status_code == 200
    assert client.get(REPORT + "?days=0", headers=ws.headers()).status_code == 422


def test_the_rate_limit_counts_reads_the_shortcut_answers(
    app: FastAPI, client: TestClient, ws: WorkspaceFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from limits import parse_many

    monkeypatch.setattr(app.state.api_rate_limiter, "limits", parse_many("3/minute"))
    answers = [client.get(REPORT, headers=ws.headers()).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_the_next_clock_bucket_recomputes(
    client: TestClient,
    ws: WorkspaceFixture,
    statements: list[str],
    frozen: time_machine.Coordinates,
) -> None:
    client.get(REPORT, headers=ws.headers())
    client.get(REPORT, headers=ws.headers())
    frozen.shift(dt.timedelta(minutes=2))
    statements.clear()
    assert client.get(REPORT, headers=ws.headers()).status_code == 200
    assert statements, "a report whose window ends now is recomputed in the next clock bucket"


def test_with_the_cache_off_every_read_goes_through_the_app(
    app: FastAPI, client: TestClient, ws: WorkspaceFixture, statements: list[str]
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"response_cache": False})
    try:
        client.get(REPORT, headers=ws.headers())
        statements.clear()
        client.get(REPORT, headers=ws.headers())
        assert statements
    finally:
        app.state.settings = app.state.settings.model_copy(update={"response_cache": True})


def _concurrent_reads(app: FastAPI, ws: WorkspaceFixture, count: int) -> list[httpx.Response]:
    """`count` reads of the report at once, on one event loop (as uvicorn serves them)."""

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            reads = (http.get(REPORT, headers=ws.headers()) for _ in range(count))
            return list(await asyncio.gather(*reads))

    return asyncio.run(burst())


def test_after_a_commit_one_request_refreshes_and_the_others_wait_for_it(
    app: FastAPI,
    client: TestClient,
    ws: WorkspaceFixture,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client.get(REPORT, headers=ws.headers())
    first = client.get(REPORT, headers=ws.headers())
    _interaction(db, ws, "A new comment: every entry is stale now")
    passes: list[str] = []
    real = ReportCache._respond

    def counted(self: ReportCache, *args: object, **kwargs: object) -> object:
        passes.append(self.request.url.path)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ReportCache, "_respond", counted)
    answers = _concurrent_reads(app, ws, 8)
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.content for a in answers}) == 1
    assert answers[0].content != first.content
    assert len(passes) == 1, "one request went through the app; the others waited for it"


def test_a_commit_during_the_refresh_costs_one_more_refresh_not_one_per_waiting_request(
    app: FastAPI,
    client: TestClient,
    ws: WorkspaceFixture,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Commits come in bursts (a reply sent is several): the waiters of a refresh that a
    second commit made stale elect one new leader instead of all going through the app."""
    account_id = add_account(db, ws.workspace_id, "youtube", handle="own", external_id="UCown")
    client.get(REPORT, headers=ws.headers())
    client.get(REPORT, headers=ws.headers())
    add_interaction(db, account_id, author_external_id="fan", text="First commit of a burst")
    passes: list[str] = []
    real = ReportCache._respond

    def counted(self: ReportCache, *args: object, **kwargs: object) -> object:
        passes.append(self.request.url.path)
        answer = real(self, *args, **kwargs)  # type: ignore[arg-type]
        if len(passes) == 1:
            # The leader read before this commit: its answer cannot be proved fresh after it.
            add_interaction(
                db, account_id, author_external_id="fan2", text="Second commit, mid-refresh"
            )
        return answer

    monkeypatch.setattr(ReportCache, "_respond", counted)
    answers = _concurrent_reads(app, ws, 8)
    assert [a.status_code for a in answers] == [200] * 8
    assert len(passes) == 2, "the stale refresh was followed by one more, not by every waiter"
    latest = client.get(REPORT, headers=ws.headers())
    assert answers[-1].content == latest.content, "the waiters got the data after both commits"


def test_only_an_entry_that_read_the_reply_queue_waits_for_the_queue_version(
    client: TestClient, ws: WorkspaceFixture, db: Database, statements: list[str]
) -> None:
    """The reply queue commits on every claim and lease renewal (its own version): the
    inbox overview never reads the queue and stays answered ahead of the app; the queue
    report goes through the app again. A commit to interactions sends the overview too."""
    _interaction(db, ws, "Hi!")
    for path in (REPORT, QUEUE_REPORT, REPORT, QUEUE_REPORT):
        assert client.get(path, headers=ws.headers()).status_code == 200

    def bump(column: str) -> None:
        with sqlite3.connect(_path(db)) as worker:
            worker.execute(
                f"UPDATE workspaces SET {column} = {column} + 1 WHERE id = ?", (ws.workspace_id,)
            )

    bump("queue_version")
    statements.clear()
    assert client.get(REPORT, headers=ws.headers()).status_code == 200
    assert statements == [], "the overview's entry stands after the queue's commit"
    assert client.get(QUEUE_REPORT, headers=ws.headers()).status_code == 200
    assert statements, "the queue report went through the app"
    bump("inbox_version")
    statements.clear()
    assert client.get(REPORT, headers=ws.headers()).status_code == 200
    assert statements, "the overview read interactions: it went through the app"
