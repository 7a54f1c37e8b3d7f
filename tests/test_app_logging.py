"""Crashes are logged once, without locals (no secrets), bounded, and off the event loop."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import PASSWORD, make_workspace
from socialpulse.config import Settings
from socialpulse.db import Database
from socialpulse.kit import asgi
from socialpulse.kit.logging import configure_logging

NEW_PASSWORD = "hunter2-new-member-pw-7781"


@pytest.fixture
def restore_logging(settings: Settings) -> Iterator[None]:
    yield
    configure_logging(settings.log_level, settings.log_json)


def _crash(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the service broke")


@pytest.mark.parametrize("json_logs", [False, True], ids=["console", "json"])
def test_a_500_logs_neither_password_nor_token_and_stays_small(
    app: FastAPI,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
    json_logs: bool,
) -> None:
    ws = make_workspace(db, "acme")
    headers = ws.headers()
    token = headers["Authorization"].removeprefix("Bearer ")
    monkeypatch.setattr("socialpulse.workspaces.api.invitations.accept_as_new_user", _crash)
    configure_logging("INFO", json_logs)
    capsys.readouterr()

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/invitations/accept",
            json={"token": "inv_secret-link-token", "name": "New", "password": NEW_PASSWORD},
            headers=headers | {"X-Api-Token": token},
        )

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    log = capsys.readouterr().err
    assert "http.request.crashed" in log
    assert "RuntimeError: the service broke" in log
    assert NEW_PASSWORD not in log
    assert "secret-link-token" not in log
    assert token not in log
    assert len(log.encode()) < 20_000
    # Logged once: the server is not handed the exception to log it again.
    assert log.count("RuntimeError: the service broke") == 1
    if json_logs:
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        crash = next(line for line in lines if line["event"] == "http.request.crashed")
        assert crash["request_id"] == response.headers["X-Request-ID"]


def test_a_failed_dashboard_login_does_not_log_the_password(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    ws = make_workspace(db, "acme")
    monkeypatch.setattr("socialpulse.web.views.workspace_service.authenticate", _crash)
    page = client.get("/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    configure_logging("INFO", False)
    capsys.readouterr()

    response = client.post(
        "/login",
        data={"email": ws.owner_email, "password": PASSWORD, "csrf_token": csrf.group(1)},
    )

    assert response.status_code == 500
    log = capsys.readouterr().err
    assert "http.request.crashed" in log
    assert PASSWORD not in log


def test_the_crash_is_formatted_off_the_event_loop(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Formatting a traceback on the loop stalled every other request (health waited 84 s
    behind three crashes)."""
    ws = make_workspace(db, "acme")
    calls: list[tuple[str, bool]] = []

    class Recorder:
        def error(self, event: str, **fields: Any) -> None:
            try:
                asyncio.get_running_loop()
                on_loop = True
            except RuntimeError:
                on_loop = False
            calls.append((event, on_loop))

        def info(self, event: str, **fields: Any) -> None:
            pass

    monkeypatch.setattr(asgi, "log", Recorder())
    monkeypatch.setattr("socialpulse.workspaces.api.invitations.accept_as_new_user", _crash)

    response = client.post(
        "/api/v1/invitations/accept",
        json={"token": "inv_secret-link-token", "password": "a-password"},
        headers=ws.headers(),
    )

    assert response.status_code == 500
    assert calls == [("http.request.crashed", False)]
    assert threading.current_thread() is threading.main_thread()


@respx.mock
def test_outgoing_request_urls_with_tokens_are_not_logged(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    """httpx logs each URL at INFO; Instagram and YouTube take their token in the query."""
    respx.get("https://graph.instagram.com/me").respond(200, json={})
    configure_logging("DEBUG", False)
    capsys.readouterr()

    httpx.get("https://graph.instagram.com/me", params={"access_token": "IGQVJ-secret-token"})

    assert "IGQVJ-secret-token" not in capsys.readouterr().err


@pytest.mark.parametrize("json_logs", [False, True], ids=["console", "json"])
def test_standard_library_loggers_write_plain_tracebacks_without_locals(
    capsys: pytest.CaptureFixture[str], restore_logging: None, json_logs: bool
) -> None:
    """Huey (a failed task) and other libraries log through the standard library."""
    import logging

    configure_logging("INFO", json_logs)
    capsys.readouterr()

    def run_task(platform_token: str) -> None:
        raise ValueError("the platform said no")

    token = "-".join(["EAAB", "platform", "token", "55"])  # not a literal a traceback quotes
    try:
        run_task(token)
    except ValueError:
        logging.getLogger("huey.consumer").exception("task failed")

    log = capsys.readouterr().err
    assert "ValueError: the platform said no" in log
    assert token not in log
    if json_logs:
        record = json.loads(log.strip().splitlines()[-1])
        assert record["logger"] == "huey.consumer"
        assert "ValueError" in record["exception"]


def test_a_huge_exception_chain_is_cut_to_a_bounded_record(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    import structlog

    configure_logging("INFO", False)
    capsys.readouterr()

    def chain(depth: int) -> None:
        if depth == 0:
            raise KeyError("root cause")
        try:
            chain(depth - 1)
        except Exception as exc:
            raise RuntimeError(f"layer {depth}") from exc

    try:
        chain(300)
    except RuntimeError:
        structlog.get_logger("test").exception("job.crashed")

    log = capsys.readouterr().err
    assert len(log.encode()) < 20_000
    assert "characters of traceback cut" in log
    assert "RuntimeError: layer 300" in log  # the tail: what finally failed
