"""Request size limits and rate limits per API key and per user (the AI endpoints' text
limits are in tests/ai/test_ai_api_limits.py)."""

from __future__ import annotations

import re
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from limits import parse_many

from factories import PASSWORD, WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces.models import Role

MB = 1024 * 1024


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme")


def _asgi_post(
    app: FastAPI, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[dict[str, Any]], int]:
    """POSTs `chunks` straight through the ASGI interface, as a server streams a body; answers
    (bytes the app pulled, messages it sent, chunks left unread)."""
    remaining = list(chunks)
    consumed = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        if not remaining:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = remaining.pop(0)
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(remaining)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    return consumed, sent, len(remaining)


def _status_and_body(sent: list[dict[str, Any]]) -> tuple[int, bytes]:
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


def test_a_chunked_body_over_the_limit_is_refused_without_reading_the_rest(
    app: FastAPI,
) -> None:
    chunk = b" " * (64 * 1024)
    consumed, sent, unread = _asgi_post(
        app, "/api/v1/ai/analyze/batch", [chunk] * 100, [(b"transfer-encoding", b"chunked")]
    )
    status, body = _status_and_body(sent)
    assert status == 413
    assert b'"code":"payload_too_large"' in body
    # 2 MB is the default limit: the app stops pulling right after passing it.
    assert 2 * MB < consumed <= 2 * MB + len(chunk)
    assert unread > 60


def test_a_declared_length_over_the_limit_is_refused_before_any_byte_is_read(
    app: FastAPI,
) -> None:
    consumed, sent, unread = _asgi_post(
        app,
        "/api/v1/ai/analyze/batch",
        [b" " * MB] * 60,
        [(b"content-length", str(60 * MB).encode())],
    )
    status, body = _status_and_body(sent)
    assert status == 413
    assert b'"code":"payload_too_large"' in body
    assert consumed == 0
    assert unread == 60


def test_the_body_limit_follows_the_setting(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch, acme: WorkspaceFixture
) -> None:
    monkeypatch.setattr(app.state.settings, "max_body_bytes", 1_000)
    big = client.post(
        "/api/v1/ai/analyze", json={"text": "x" * 2_000}, headers=acme.headers(Role.viewer)
    )
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "payload_too_large"
    assert big.headers["Connection"] == "close"
    small = client.post(
        "/api/v1/ai/analyze", json={"text": "great video"}, headers=acme.headers(Role.viewer)
    )
    assert small.status_code == 200


def test_an_api_key_over_its_rate_limit_gets_429_with_retry_after(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch, acme: WorkspaceFixture
) -> None:
    # The app's limiter (its storage is reset per test) with a small limit.
    monkeypatch.setattr(app.state.api_rate_limiter, "limits", parse_many("3/minute"))
    for _ in range(3):
        assert client.get("/api/v1/workspace", headers=acme.headers()).status_code == 200
    refused = client.get("/api/v1/workspace", headers=acme.headers())
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-Frame-Options"] == "DENY"
    # The count is per key: another key of the same workspace is not held back.
    assert client.get("/api/v1/workspace", headers=acme.headers(Role.viewer)).status_code == 200
    # A wrong secret is refused as such and does not spend anyone's budget.
    assert (
        client.get("/api/v1/workspace", headers={"Authorization": "Bearer sp_x_y"}).status_code
        == 401
    )


def _login(client: TestClient, email: str) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_a_dashboard_user_over_the_rate_limit_gets_a_friendly_429_page(
    client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch, acme: WorkspaceFixture
) -> None:
    _login(client, acme.owner_email)
    monkeypatch.setattr(app.state.web_rate_limiter, "limits", parse_many("3/minute"))
    for _ in range(3):
        assert client.get("/").status_code == 200
    # Static assets of those pages are not counted.
    assert client.get("/static/app.css").status_code == 200
    refused = client.get("/settings/members")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Try again in" in refused.text
    assert "Back to the dashboard" in refused.text
    assert "script-src 'self'" in refused.headers["Content-Security-Policy"]


def test_processes_sharing_redis_share_the_api_key_counts() -> None:
    """With a Redis task queue the web processes are several; a key's budget is one."""
    from conftest import REDIS_URL, require
    from socialpulse.kit.ratelimit import RateLimiter

    require(bool(REDIS_URL), "SOCIALPULSE_TEST_REDIS_URL is not set")
    first = RateLimiter("2/minute", REDIS_URL, "api-key-test")
    second = RateLimiter("2/minute", REDIS_URL, "api-key-test")
    first.reset()
    try:
        assert first.hit("key:1") is None
        assert second.hit("key:1") is None
        retry_after = first.hit("key:1")
        assert retry_after is not None and 1 <= retry_after <= 60
        assert second.hit("key:2") is None
    finally:
        first.reset()
