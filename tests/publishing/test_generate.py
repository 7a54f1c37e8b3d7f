"""Generate and schedule (`POST /api/v1/publishing/posts/generate`): the model drafts the post
for each account's platform and it is scheduled in the same request, against a local
OpenAI-compatible server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database

GENERATE = "/api/v1/publishing/posts/generate"
Configure = Callable[..., None]


def completion(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "local",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


@pytest.fixture
def configure(app: FastAPI) -> Iterator[Configure]:
    original = app.state.settings

    def apply(**overrides: Any) -> None:
        app.state.settings = original.model_copy(update=overrides)

    yield apply
    app.state.settings = original


@pytest.fixture
def model_server(httpserver: HTTPServer, configure: Configure) -> HTTPServer:
    configure(llm_base_url=httpserver.url_for("/v1"), llm_model="local", llm_allow_private=True)
    return httpserver


def test_the_drafted_post_is_scheduled_for_the_account_at_the_given_time(
    client: TestClient,
    ws: WorkspaceFixture,
    account: int,
    model_server: HTTPServer,
    soon: dt.datetime,
) -> None:
    text = "Seed swap on Saturday: bring one packet, take one home."
    model_server.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        completion(text)
    )
    response = client.post(
        GENERATE,
        json={
            "brief": "announce the seed swap",
            "account_ids": [account],
            "scheduled_at": soon.isoformat(),
        },
        headers=ws.headers(),
    )
    assert response.status_code == 201, response.text
    post = response.json()["post"]
    assert post["status"] == "scheduled"
    assert post["targets"][0]["account_id"] == account
    assert post["targets"][0]["text"] == text
    assert dt.datetime.fromisoformat(post["scheduled_at"]) == soon


def test_without_a_model_nothing_is_scheduled_and_the_composer_is_suggested(
    client: TestClient, ws: WorkspaceFixture, account: int, soon: dt.datetime
) -> None:
    response = client.post(
        GENERATE,
        json={"brief": "x", "account_ids": [account], "scheduled_at": soon.isoformat()},
        headers=ws.headers(),
    )
    assert response.status_code == 409
    assert "SOCIALPULSE_LLM_MODEL" in response.json()["error"]["message"]
    listed = client.get("/api/v1/publishing/posts", headers=ws.headers()).json()
    assert listed["items"] == []


def test_another_workspaces_account_is_not_found(
    client: TestClient, db: Database, account: int, model_server: HTTPServer, soon: dt.datetime
) -> None:
    other = make_workspace(db, "someone-else")
    response = client.post(
        GENERATE,
        json={"brief": "x", "account_ids": [account], "scheduled_at": soon.isoformat()},
        headers=other.headers(),
    )
    assert response.status_code == 404


def test_a_time_in_the_past_is_refused_and_nothing_is_scheduled(
    client: TestClient, ws: WorkspaceFixture, account: int, model_server: HTTPServer
) -> None:
    model_server.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        completion("Hello there")
    )
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    response = client.post(
        GENERATE,
        json={"brief": "x", "account_ids": [account], "scheduled_at": past.isoformat()},
        headers=ws.headers(),
    )
    assert response.status_code == 422
    assert "past" in response.text
    listed = client.get("/api/v1/publishing/posts", headers=ws.headers()).json()
    assert listed["items"] == []
