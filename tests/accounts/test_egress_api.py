"""Adding an account cannot make the server call its own network (SSRF), error messages do
not echo what an upstream answered, and credentials never show in a repr."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.schemas import AccountCreate, AccountUpdate
from socialpulse.config import get_settings
from socialpulse.db import Database
from socialpulse.providers.bluesky.client import build as build_bluesky
from socialpulse.providers.http import reset_breakers

Allow = Callable[[str], None]
SECRET = "sk-live-9f8e7d6c5b4a"


@pytest.fixture(autouse=True)
def _breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "egress-co")


def _add(client: TestClient, ws: WorkspaceFixture, **body: Any) -> httpx.Response:
    return client.post("/api/v1/accounts", json=body, headers=ws.headers())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("ref", "platform"),
    [
        ("@a@127.0.0.1:{port}", None),
        ("https://127.0.0.1:{port}/@a", None),
        ("a@127.0.0.1:{port}", "mastodon"),
        ("@a@169.254.169.254", None),
        ("@a@localhost", None),
        ("@a@localhost:{port}", None),
        ("a@10.0.0.5", "mastodon"),
    ],
)
def test_a_mastodon_instance_on_the_private_network_is_refused_with_422(
    client: TestClient, ws: WorkspaceFixture, httpserver: HTTPServer, ref: str, platform: str | None
) -> None:
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_json({"id": "1"})
    body: dict[str, Any] = {"ref": ref.format(port=httpserver.port)}
    if platform:
        body["platform"] = platform

    response = _add(client, ws, **body)

    assert response.status_code == 422, response.text
    assert "refusing to connect to a private address" in response.json()["error"]["message"]
    assert httpserver.log == []


def test_a_mastodon_instance_with_a_port_is_refused(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    response = _add(client, ws, ref="@a@mastodon.example:8443")
    assert response.status_code == 422, response.text
    assert "names a port" in response.json()["error"]["message"]


def test_a_private_instance_credential_is_refused(client: TestClient, ws: WorkspaceFixture) -> None:
    response = _add(
        client, ws, ref="@a@mastodon.social", credentials={"instance": "http://192.168.1.10"}
    )
    assert response.status_code == 422, response.text
    assert "private address" in response.json()["error"]["message"]


def test_open_and_closed_ports_give_the_same_answer(
    client: TestClient, ws: WorkspaceFixture, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v1/accounts/lookup").respond_with_json({"id": "1"})
    answers = []
    for port in (httpserver.port, _closed_port()):
        response = _add(client, ws, ref=f"@a@127.0.0.1:{port}")
        answers.append((response.status_code, response.json()["error"]["message"]))
        answers[-1] = (answers[-1][0], answers[-1][1].replace(str(port), "PORT"))
    assert answers[0] == answers[1]


def test_bluesky_appview_url_credential_is_refused_and_never_called(
    client: TestClient, ws: WorkspaceFixture, httpserver: HTTPServer, egress_allow: Allow
) -> None:
    egress_allow("127.0.0.1")  # even where loopback is allowed, users do not pick the AppView
    httpserver.expect_request(re.compile(".*")).respond_with_json({"did": "did:plc:x"})
    appview = httpserver.url_for("/xrpc/")

    created = _add(
        client, ws, ref="@alice.bsky.social", platform="bluesky",
        credentials={"appview_url": appview},
    )  # fmt: skip
    assert created.status_code == 422, created.text
    assert "SOCIALPULSE_BLUESKY_APPVIEW_URL" in created.json()["error"]["message"]

    updated = client.patch(
        "/api/v1/accounts/1", json={"credentials": {"appview_url": appview}}, headers=ws.headers()
    )
    assert updated.status_code == 422, updated.text
    assert httpserver.log == []


def test_a_stored_appview_url_is_ignored_for_the_operators_appview(
    httpserver: HTTPServer, egress_allow: Allow, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials saved before the change still hold an appview_url: reads go to the
    operator's AppView all the same."""
    operator = HTTPServer(host="127.0.0.1", port=0)
    operator.start()
    try:
        operator.expect_request("/xrpc/app.bsky.actor.getProfile").respond_with_json(
            {"did": "did:plc:alice", "handle": "alice.bsky.social"}
        )
        httpserver.expect_request(re.compile(".*")).respond_with_json({"did": "did:plc:evil"})
        egress_allow("127.0.0.1")
        monkeypatch.setenv("SOCIALPULSE_BLUESKY_APPVIEW_URL", operator.url_for("/xrpc/"))
        get_settings.cache_clear()

        client = build_bluesky({"appview_url": httpserver.url_for("/xrpc/")})
        profile = client.get_profile("alice.bsky.social")

        assert profile.external_id == "did:plc:alice"
        assert len(operator.log) == 1
        assert httpserver.log == []
    finally:
        get_settings.cache_clear()
        operator.clear()
        if operator.is_running():
            operator.stop()


@respx.mock
@pytest.mark.parametrize(("status", "expected"), [(403, "rejected"), (404, "has no account")])
def test_an_upstream_html_error_page_is_not_echoed(
    client: TestClient, ws: WorkspaceFixture, status: int, expected: str
) -> None:
    respx.get("https://mastodon.social/api/v1/accounts/lookup").mock(
        return_value=httpx.Response(
            status, html="<html><title>nginx</title><body>upstream-secret-42</body></html>"
        )
    )
    response = _add(client, ws, ref="@alice@mastodon.social")
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert expected in message and f"HTTP {status}" in message
    assert "upstream-secret-42" not in message and "<" not in message


def test_credentials_never_show_in_a_repr_or_a_validation_error() -> None:
    body = AccountCreate.model_validate(
        {"ref": "@x", "credentials": {"api_key": SECRET, "seed": 3}}
    )
    assert SECRET not in repr(body) and SECRET not in str(body)
    assert body.credentials is not None and body.credentials["seed"] == 3
    with pytest.raises(ValidationError) as excinfo:
        AccountUpdate.model_validate(
            {"credentials": {"access_token": SECRET, "appview_url": "http://x"}}
        )
    assert SECRET not in str(excinfo.value)


def test_a_secret_credential_still_reaches_the_platform(
    client: TestClient, ws: WorkspaceFixture
) -> None:
    with respx.mock:
        route = respx.get("https://www.googleapis.com/youtube/v3/channels").mock(
            return_value=httpx.Response(400, json={"error": {"code": 400, "message": "bad"}})
        )
        _add(client, ws, ref="@somebody", platform="youtube", credentials={"api_key": SECRET})
    assert route.calls.last.request.url.params["key"] == SECRET
