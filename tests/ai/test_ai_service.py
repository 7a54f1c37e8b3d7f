"""Every ingested caption is analysed once per model version, and the results are served."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import Post, PostAnalysis
from socialpulse.ai import service as ai_service
from socialpulse.db import Database
from socialpulse.workspaces.models import Role


@pytest.fixture
def fetched(client: TestClient, db: Database) -> tuple[WorkspaceFixture, int]:
    ws = make_workspace(db, "analysed-co")
    account = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@fit_with_maya"},
        headers=ws.headers(),
    ).json()
    client.post(f"/api/v1/accounts/{account['id']}/fetch", headers=ws.headers())
    return ws, account["id"]


def test_fetched_captions_are_analysed_with_evidence(
    client: TestClient, db: Database, fetched: tuple[WorkspaceFixture, int]
) -> None:
    ws, _account_id = fetched
    version = ai_service.model_version()
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Post))
        analysed = session.scalar(select(func.count()).where(Post.ai_model_version == version))
        full = session.scalar(select(func.count()).select_from(PostAnalysis))
        post = session.scalars(select(Post).where(Post.ai_sentiment.is_not(None))).first()
    assert total and analysed == total == full
    assert post is not None
    assert post.ai_language and post.ai_sentiment in {"negative", "neutral", "positive"}
    assert -1 <= (post.ai_sentiment_score or 0) <= 1
    body = client.get(f"/api/v1/posts/{post.id}/analysis", headers=ws.headers()).json()
    assert body["model_version"] == version
    assert body["sentiment"]["label"] == post.ai_sentiment
    assert "evidence" in body["sentiment"]


def test_analysis_is_idempotent_and_redone_for_a_new_model_version(
    db: Database, fetched: tuple[WorkspaceFixture, int]
) -> None:
    assert ai_service.analyze_pending_posts(db) == 0
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Post))
        session.execute(update(Post).values(ai_model_version="sentiment-2020.1"))
    assert ai_service.analyze_pending_posts(db, batch_size=50) == total
    assert ai_service.analyze_pending_posts(db) == 0


def test_account_profile_and_workspace_summary(
    client: TestClient, db: Database, fetched: tuple[WorkspaceFixture, int]
) -> None:
    ws, account_id = fetched
    profile = client.get(f"/api/v1/accounts/{account_id}/ai-profile", headers=ws.headers()).json()
    assert profile["posts_analysed"] > 0
    assert profile["posts_pending"] == 0
    assert abs(sum(profile["language_distribution"].values()) - 1) < 0.01
    assert sum(profile["sentiment_mix"].values()) == profile["posts_analysed"]
    assert profile["primary_category"] == max(
        profile["category_distribution"], key=profile["category_distribution"].get
    )
    assert 0 <= profile["content_quality_score"] <= 100
    assert "engagement_rate / 0.03" in profile["content_quality_formula"]
    summary = client.get("/api/v1/ai/summary?days=365", headers=ws.headers()).json()
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(Post))
    assert summary["texts_analysed"] == total
    assert sum(summary["sentiment"].values()) == total


def test_analyze_endpoints(client: TestClient, db: Database) -> None:
    ws = make_workspace(db, "texts-co")
    one = client.post(
        "/api/v1/ai/analyze",
        json={"text": "Where can I buy this? I love it!"},
        headers=ws.headers(Role.viewer),
    )
    assert one.status_code == 200
    assert one.json()["intents"]["purchase_intent"]["fired"] is True
    texts = ["terrible service, my order never arrived", "", "Bonjour à tous, quelle belle journée"]
    batch = client.post("/api/v1/ai/analyze/batch", json={"texts": texts}, headers=ws.headers())
    assert [r["text"] for r in batch.json()] == texts
    assert batch.json()[1]["language"]["code"] == "und"
    too_many = client.post(
        "/api/v1/ai/analyze/batch", json={"texts": ["x"] * 1001}, headers=ws.headers()
    )
    assert too_many.status_code == 413
    assert "at most 1000" in too_many.json()["error"]["message"]
    unknown = client.post(
        "/api/v1/ai/analyze", json={"text": "x", "backend": "gpt"}, headers=ws.headers()
    )
    assert unknown.status_code == 422
