"""Drafting help against a local OpenAI-compatible server (pytest-httpserver): the request it
receives, usage and cost recorded, retries and clear errors, platform limits, and the offline
suggestions without a model."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Response

from factories import WorkspaceFixture, make_workspace
from socialpulse.ai import service as ai_service
from socialpulse.ai.llm import (
    ChatMessage,
    LlmBadResponse,
    LlmConfig,
    LlmUnavailable,
    OpenAICompatibleChat,
)
from socialpulse.ai.models import AiUsage
from socialpulse.db import Database, utcnow
from socialpulse.providers.publishing import grapheme_count
from socialpulse.workspaces.models import Role

if TYPE_CHECKING:
    from factories import Builder

Configure = Callable[..., None]
KEY = "sk-local-test-key"
MODEL = "llama3.1:8b"
SUGGEST = "/api/v1/publishing/drafts/suggest"


def completion(text: str, prompt_tokens: int = 120, completion_tokens: int = 30) -> dict[str, Any]:
    """A chat completion as OpenAI-compatible servers (Ollama, vLLM, llama.cpp) answer it."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1764739800,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@pytest.fixture
def ws(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "drafts-co")


@pytest.fixture
def build(db: Database) -> Builder:
    from factories import Builder

    return Builder(db)


@pytest.fixture
def configure(app: FastAPI) -> Iterator[Configure]:
    """Run the app with other settings for one test (the app is shared by the session)."""
    original = app.state.settings

    def apply(**overrides: Any) -> None:
        app.state.settings = original.model_copy(update=overrides)

    yield apply
    app.state.settings = original


@pytest.fixture
def model_server(httpserver: HTTPServer, configure: Configure) -> HTTPServer:
    """The app talks to the local fake, allowed as a local Ollama would be."""
    configure(
        llm_base_url=httpserver.url_for("/v1"),
        llm_model=MODEL,
        llm_api_key=SecretStr(KEY),
        llm_allow_private=True,
        llm_price_prompt_per_1k_cents=10.0,
        llm_price_completion_per_1k_cents=20.0,
    )
    return httpserver


def chat(httpserver: HTTPServer) -> Any:
    return httpserver.expect_request("/v1/chat/completions", method="POST")


def chat_once(httpserver: HTTPServer) -> Any:
    return httpserver.expect_oneshot_request("/v1/chat/completions", method="POST")


def client_for(httpserver: HTTPServer, sleeps: list[float]) -> OpenAICompatibleChat:
    config = LlmConfig(
        base_url=httpserver.url_for("/v1"), model=MODEL, allow_private=True, max_attempts=3
    )
    return OpenAICompatibleChat(config, sleep=sleeps.append)


def usage_rows(db: Database) -> list[AiUsage]:
    with db.session() as session:
        return list(session.scalars(select(AiUsage).order_by(AiUsage.id)))


# --- the request and its usage -------------------------------------------------------------------


def test_request_sends_the_model_the_messages_and_the_bearer_key(
    client: TestClient, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_json(completion("Tomatoes are in! 🍅"))
    response = client.post(
        SUGGEST,
        json={
            "brief": "our first tomato harvest",
            "platforms": ["mastodon"],
            "language": "en",
            "tone": "cheerful",
        },
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["variants"]["mastodon"]["text"] == "Tomatoes are in! 🍅"
    request, _ = model_server.log[0]
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    sent = request.get_json()
    assert sent["model"] == MODEL
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    prompt = sent["messages"][1]["content"]
    assert "our first tomato harvest" in prompt
    assert "Language: en." in prompt
    assert "Tone: cheerful." in prompt
    assert "At most 500 characters" in prompt  # Mastodon's default instance limit


def test_token_usage_is_recorded_with_its_cost(
    client: TestClient, db: Database, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_json(completion("Short and sweet.", 1200, 300))
    response = client.post(
        SUGGEST,
        json={"text": "rewrite me", "platforms": ["bluesky"], "mode": "rewrite"},
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    # 1,200 prompt tokens at 10 cents per 1k + 300 completion tokens at 20 cents per 1k.
    assert response.json()["usage"] == {
        "calls": 1,
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "cost_cents": 18,
    }
    [row] = usage_rows(db)
    assert (row.workspace_id, row.purpose, row.model) == (ws.workspace_id, "rewrite", MODEL)
    assert (row.prompt_tokens, row.completion_tokens, row.cost_cents) == (1200, 300, 18)


def test_rate_limited_request_waits_retry_after_then_succeeds(httpserver: HTTPServer) -> None:
    chat_once(httpserver).respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "7"})
    )
    chat(httpserver).respond_with_json(completion("Second time lucky."))
    sleeps: list[float] = []
    result = client_for(httpserver, sleeps).complete([ChatMessage("user", "hi")])
    assert result.text == "Second time lucky."
    assert sleeps == [7.0]
    assert len(httpserver.log) == 2


def test_server_error_on_every_attempt_is_a_clear_502(
    client: TestClient, db: Database, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_response(
        Response(
            json.dumps({"error": "CUDA out of memory"}),
            status=500,
            headers={"Retry-After": "0"},
            content_type="application/json",
        )
    )
    response = client.post(
        SUGGEST, json={"brief": "launch", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "llm_bad_response"
    assert "failed on all 3 attempts (HTTP 500: CUDA out of memory)" in error["message"]
    assert len(model_server.log) == 3
    assert usage_rows(db) == []


def test_body_that_is_not_json_is_a_clear_502(
    client: TestClient, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_data("<html>proxy error</html>", content_type="text/html")
    response = client.post(
        SUGGEST, json={"brief": "launch", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    assert response.status_code == 502, response.text
    assert "with a body that is not JSON" in response.json()["error"]["message"]
    assert "proxy error" not in response.text
    assert len(model_server.log) == 1  # not worth retrying


def test_answer_without_choices_is_a_bad_response(httpserver: HTTPServer) -> None:
    chat(httpserver).respond_with_json({"model": MODEL, "choices": []})
    with pytest.raises(LlmBadResponse, match=r"without choices\[0\]\.message\.content"):
        client_for(httpserver, []).complete([ChatMessage("user", "hi")])


def test_rejected_key_names_the_setting(
    client: TestClient, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_json({"error": {"message": "invalid api key"}}, status=401)
    response = client.post(
        SUGGEST, json={"brief": "launch", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "llm_auth_failed"
    assert "SOCIALPULSE_LLM_API_KEY" in response.json()["error"]["message"]
    assert KEY not in response.text


def test_local_model_is_refused_unless_private_addresses_are_allowed(
    client: TestClient, ws: WorkspaceFixture, model_server: HTTPServer, configure: Configure
) -> None:
    configure(llm_base_url=model_server.url_for("/v1"), llm_model=MODEL)
    response = client.post(
        SUGGEST, json={"brief": "launch", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    assert response.status_code == 503, response.text
    assert "SOCIALPULSE_LLM_ALLOW_PRIVATE=true" in response.json()["error"]["message"]
    assert model_server.log == []


def test_operator_egress_allow_also_reaches_a_local_model(
    httpserver: HTTPServer, egress_allow: Callable[[str], None]
) -> None:
    chat(httpserver).respond_with_json(completion("Allowed by the operator."))
    config = LlmConfig(base_url=httpserver.url_for("/v1"), model=MODEL)  # allow_private off
    with pytest.raises(LlmUnavailable):
        OpenAICompatibleChat(config).complete([ChatMessage("user", "hi")])
    egress_allow("localhost, 127.0.0.1, ::1")
    result = OpenAICompatibleChat(config).complete([ChatMessage("user", "hi")])
    assert result.text == "Allowed by the operator."


# --- platform limits -----------------------------------------------------------------------------

LONG = " ".join(["Harvest"] + ["tomatoes"] * 60)  # 548 characters, far over Bluesky's 300


def test_text_over_the_bluesky_limit_is_cut_at_a_word_and_flagged(
    client: TestClient, db: Database, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat(model_server).respond_with_json(completion(LONG))  # too long, even when asked again
    response = client.post(
        SUGGEST, json={"brief": "harvest", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    assert response.status_code == 200, response.text
    body = response.json()
    variant = body["variants"]["bluesky"]
    assert (variant["rewritten"], variant["truncated"]) == (True, True)
    assert variant["length"] <= 300
    assert grapheme_count(variant["text"]) == variant["length"]
    assert variant["text"].endswith("tomatoes…")  # whole words only
    assert any(
        c["level"] == "warning" and "cut at a word boundary" in c["message"] for c in body["checks"]
    )
    second, _ = model_server.log[1]
    assert "the limit is 300" in second.get_json()["messages"][1]["content"]
    assert [row.purpose for row in usage_rows(db)] == ["draft", "shorten"]


def test_shorter_answer_to_the_second_request_is_used_as_is(
    client: TestClient, ws: WorkspaceFixture, model_server: HTTPServer
) -> None:
    chat_once(model_server).respond_with_json(completion(LONG))
    chat(model_server).respond_with_json(completion('"Harvest day: tomatoes!"'))
    response = client.post(
        SUGGEST, json={"brief": "harvest", "platforms": ["bluesky"]}, headers=ws.headers()
    )
    variant = response.json()["variants"]["bluesky"]
    assert variant["text"] == "Harvest day: tomatoes!"  # quotes around the answer removed
    assert (variant["rewritten"], variant["truncated"]) == (True, False)
    assert response.json()["usage"]["calls"] == 2


# --- offline suggestions -------------------------------------------------------------------------


def seed_hashtag_history(build: Builder, workspace_id: int) -> int:
    """#garden posts do 5x the median post, #seeds (only in captions) 2x, #misc half."""
    account = build.account(workspace_id, "gardener", followers=1000)
    start = utcnow() - dt.timedelta(days=60)

    def post(name: str, n: int, likes: int, hashtags: tuple[str, ...], caption: str) -> None:
        for i in range(n):
            when = start + dt.timedelta(days=len(name) + i * 3, hours=i)
            build.post(account, f"{name}{i}", when, likes=likes, hashtags=hashtags, caption=caption)

    post("garden", 3, 50, ("garden",), "Our beds today")
    post("seeds", 2, 20, (), "Sowing #Seeds for spring")
    post("misc", 3, 5, ("misc",), "Odds and ends")
    post("once", 1, 500, ("viral",), "A lucky one")
    post("plain", 4, 10, (), "No tags here")
    return account


def test_without_a_model_hashtags_come_from_the_accounts_best_posts(
    client: TestClient, ws: WorkspaceFixture, build: Builder
) -> None:
    account = seed_hashtag_history(build, ws.workspace_id)
    response = client.post(
        SUGGEST,
        json={"text": "New raised beds", "platforms": ["bluesky"], "account_id": account},
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["variants"] is None
    assert (body["model"], body["usage"]) == (None, None)
    assert [(h["hashtag"], h["posts"]) for h in body["hashtags"]] == [
        ("garden", 3),
        ("seeds", 2),
        ("misc", 3),
    ]  # "viral" was used once: not enough to rank
    assert any("no language model is configured" in c["message"] for c in body["checks"])
    assert "Bluesky: 15 of 300 graphemes" in [c["message"] for c in body["checks"]]
    assert body["next_best_slot"]["at"] is not None


def test_link_to_a_loopback_address_is_flagged(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.post(
        SUGGEST,
        json={
            "text": "Slides: http://127.0.0.1:8000/deck and https://example.org/post.",
            "platforms": ["mastodon"],
            "mode": "suggest",
        },
        headers=ws.headers(),
    )
    assert response.status_code == 200, response.text
    errors = [c["message"] for c in response.json()["checks"] if c["level"] == "error"]
    assert errors == [
        "http://127.0.0.1:8000/deck points to a loopback address (127.0.0.1) that readers "
        "cannot open"
    ]


def test_too_many_hashtags_are_warned_about(client: TestClient, ws: WorkspaceFixture) -> None:
    text = "Spring! " + " ".join(f"#tag{n}" for n in range(7))
    response = client.post(
        SUGGEST,
        json={"text": text, "platforms": ["bluesky"], "mode": "suggest"},
        headers=ws.headers(),
    )
    warnings = [c["message"] for c in response.json()["checks"] if c["level"] == "warning"]
    assert warnings == ["7 hashtags: more than 5 tends to read as spam and lowers engagement"]


def test_text_over_the_limit_is_an_error_offline(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.post(
        SUGGEST,
        json={"text": LONG, "platforms": ["bluesky"], "mode": "suggest"},
        headers=ws.headers(),
    )
    errors = [c["message"] for c in response.json()["checks"] if c["level"] == "error"]
    assert errors == [f"Bluesky: {len(LONG)} of 300 graphemes, {len(LONG) - 300} over the limit"]


def test_another_workspaces_account_is_not_found(
    client: TestClient, db: Database, ws: WorkspaceFixture, build: Builder
) -> None:
    other = make_workspace(db, "other-drafts")
    theirs = build.account(other.workspace_id, "theirs")
    response = client.post(
        SUGGEST,
        json={"text": "hi", "platforms": ["bluesky"], "account_id": theirs, "mode": "suggest"},
        headers=ws.headers(),
    )
    assert response.status_code == 404, response.text


def test_unknown_platform_is_refused_by_name(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.post(
        SUGGEST, json={"text": "hi", "platforms": ["myspace"]}, headers=ws.headers()
    )
    assert response.status_code == 422, response.text
    assert "unknown platform 'myspace'" in response.json()["error"]["message"]


def test_viewers_cannot_use_drafting_help(client: TestClient, ws: WorkspaceFixture) -> None:
    response = client.post(
        SUGGEST, json={"text": "hi", "platforms": ["bluesky"]}, headers=ws.headers(Role.viewer)
    )
    assert response.status_code == 403, response.text


# --- costs for ROI -------------------------------------------------------------------------------


def test_ai_costs_sum_within_the_period_and_the_workspace(db: Database) -> None:
    mine, other = make_workspace(db, "costs-a"), make_workspace(db, "costs-b")
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with db.session() as session:
        for workspace_id, day, cents in (
            (mine.workspace_id, 0, 5),
            (mine.workspace_id, 10, 7),
            (mine.workspace_id, 30, 100),  # the first instant of the next period: excluded
            (mine.workspace_id, -1, 100),  # before the period
            (other.workspace_id, 10, 1000),  # another workspace's
        ):
            row = ai_service.record_usage(
                session,
                workspace_id,
                purpose="draft",
                model=MODEL,
                prompt_tokens=1,
                completion_tokens=1,
                cost_cents=cents,
            )
            row.created_at = start + dt.timedelta(days=day)
    with db.session() as session:
        total = ai_service.ai_costs_cents(
            session, mine.workspace_id, start, start + dt.timedelta(days=30)
        )
        empty = ai_service.ai_costs_cents(
            session, mine.workspace_id, start - dt.timedelta(days=90), start - dt.timedelta(days=60)
        )
    assert (total, empty) == (12, 0)
