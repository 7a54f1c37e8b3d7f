"""Analysis costs CPU per character: each text has a length limit (422 naming the text) and
a batch a character budget (413)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from factories import WorkspaceFixture, make_workspace
from socialpulse.db import Database
from socialpulse.workspaces.models import Role


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme")


def test_a_text_over_the_length_limit_is_refused_naming_its_index(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    texts = ["fine", "also fine", "x" * 5_001, "y" * 6_000]
    response = client.post(
        "/api/v1/ai/analyze/batch", json={"texts": texts}, headers=acme.headers(Role.viewer)
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "texts.2" in error["message"]
    assert "5000" in error["message"]
    assert error["details"][0]["loc"] == ["body", "texts", 2]

    single = client.post(
        "/api/v1/ai/analyze", json={"text": "z" * 5_001}, headers=acme.headers(Role.viewer)
    )
    assert single.status_code == 422
    assert single.json()["error"]["details"][0]["loc"] == ["body", "text"]
    ok = client.post(
        "/api/v1/ai/analyze", json={"text": "z" * 5_000}, headers=acme.headers(Role.viewer)
    )
    assert ok.status_code == 200


def test_a_batch_over_the_character_budget_is_refused(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    # 50 texts within the per-text limit, 250,000 characters in all: over the 200,000 budget.
    texts = ["word " * 1_000] * 50
    response = client.post(
        "/api/v1/ai/analyze/batch", json={"texts": texts}, headers=acme.headers(Role.viewer)
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "200000" in response.json()["error"]["message"]
