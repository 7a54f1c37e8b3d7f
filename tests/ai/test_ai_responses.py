"""Auto-responses in the analysis API, the workspace's response templates and AI settings, and
the inbox suggestions and workflows that answer from the same templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from factories import WorkspaceFixture, add_account, make_workspace
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.ai.base import INTENT_LABELS
from socialpulse.db import Database, utcnow
from socialpulse.inbox import ingest
from socialpulse.inbox.models import Interaction, InteractionStatus, WorkflowMatch
from socialpulse.inbox.workflows import service as workflows
from socialpulse.inbox.workflows.schemas import WorkflowCreate
from socialpulse.providers import base as pb
from socialpulse.workspaces import versions
from socialpulse.workspaces.models import Role

ANALYZE = "/api/v1/ai/analyze"
TEMPLATES = "/api/v1/ai/response-templates"
CONFIG = "/api/v1/ai/config"
EXAMPLE = "This retreat was absolutely life-changing! Thank you!"
DEFAULT_PRAISE = "Thank you so much, {fan_name}! Comments like yours make our day."
OWN_PRAISE = "So happy it moved you, {fan_name}! See you at the next retreat on {platform}."


@pytest.fixture
def acme(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "acme")


@pytest.fixture
def globex(db: Database) -> WorkspaceFixture:
    return make_workspace(db, "globex")


def analyze(client: TestClient, ws: WorkspaceFixture, text: str, **extra: Any) -> dict[str, Any]:
    response = client.post(ANALYZE, json={"text": text, **extra}, headers=ws.headers(Role.viewer))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put_templates(
    client: TestClient, ws: WorkspaceFixture, *changes: dict[str, Any], role: Role = Role.admin
) -> Any:
    return client.put(TEMPLATES, json={"templates": list(changes)}, headers=ws.headers(role))


def templates_of(client: TestClient, ws: WorkspaceFixture) -> dict[tuple[str, str], Any]:
    response = client.get(TEMPLATES, headers=ws.headers(Role.viewer))
    assert response.status_code == 200, response.text
    return {(t["intent"], t["language"]): t for t in response.json()["templates"]}


def ingest_comment(db: Database, workspace_id: int, text: str, external_id: str) -> Interaction:
    """A comment stored the way a poll stores it: analysed, workflows and suggestions run."""
    account_id = add_account(db, workspace_id, handle=f"retreats-{external_id}")
    comment = pb.Comment(
        platform=pb.Platform.SIMULATED,
        external_id=external_id,
        post_external_id="post-1",
        parent_external_id=None,
        author_external_id=f"fan-{external_id}",
        author_handle="maya_moves",
        author_display_name="Maya",
        text=text,
        posted_at=utcnow() - dt.timedelta(minutes=5),
    )
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        ingest.ingest_interactions(session, account, [comment])
    with db.session(readonly=True) as session:
        stored = session.scalars(
            select(Interaction).where(Interaction.external_id == external_id)
        ).one()
        return stored


# --------------------------------------------------------------------------- analyze


def test_the_users_example_is_praise_with_the_default_auto_response(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    body = analyze(client, acme, EXAMPLE, variables={"fan_name": "Maya"})
    assert body["sentiment"]["label"] == "positive"
    assert body["intent"] == "praise"
    assert body["intents"]["praise"]["score"] >= 0.85
    assert body["requires_response"] is True
    assert body["auto_response"] == "Thank you so much, Maya! Comments like yours make our day."
    # Variables the caller does not send stay as placeholders to fill in.
    assert analyze(client, acme, EXAMPLE)["auto_response"] == DEFAULT_PRAISE


def test_spam_and_other_never_get_an_auto_response(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    spam = analyze(client, acme, "FREE GIFT CARDS!!! click the link in my bio sub4sub")
    assert spam["intent"] == "spam"
    assert (spam["requires_response"], spam["auto_response"]) == (False, None)
    plain = analyze(client, acme, "The video was uploaded on Tuesday.")
    assert plain["intent"] == "other"
    assert (plain["requires_response"], plain["auto_response"]) == (False, None)


def test_a_raised_threshold_withholds_the_auto_response_but_not_the_need_to_answer(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    config = client.get(CONFIG, headers=acme.headers(Role.viewer)).json()
    assert config["auto_response_threshold"] == 0.85
    assert config["auto_response_threshold_default"] == 0.85
    assert config["analysis_backend"] == "default"
    assert config["analysis_model_version"]
    assert config["template_languages"] == ["en", "es", "pt", "fr", "de", "it"]

    response = client.put(
        CONFIG, json={"auto_response_threshold": 0.99}, headers=acme.headers(Role.admin)
    )
    assert response.status_code == 200, response.text
    assert response.json()["auto_response_threshold"] == 0.99
    assert client.get(CONFIG, headers=acme.headers()).json()["auto_response_threshold"] == 0.99
    body = analyze(client, acme, EXAMPLE)
    assert body["intent"] == "praise"
    assert body["requires_response"] is True
    assert body["auto_response"] is None


def test_the_batch_answers_each_text_from_the_same_templates(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    put_templates(client, acme, {"intent": "question", "language": "en", "text": "Good one!"})
    response = client.post(
        f"{ANALYZE}/batch",
        json={"texts": [EXAMPLE, "How do you film these shots?", "ok"]},
        headers=acme.headers(Role.viewer),
    )
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r["intent"] for r in results] == ["praise", "question", "other"]
    assert [r["auto_response"] for r in results] == [DEFAULT_PRAISE, "Good one!", None]


def test_threshold_outside_half_to_one_is_refused(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    for value in (0.49, 1.01, "high"):
        response = client.put(
            CONFIG, json={"auto_response_threshold": value}, headers=acme.headers()
        )
        assert response.status_code == 422, value
    editor = client.put(
        CONFIG, json={"auto_response_threshold": 0.9}, headers=acme.headers(Role.editor)
    )
    assert editor.status_code == 403
    assert client.get(CONFIG, headers=acme.headers()).json()["auto_response_threshold"] == 0.85


# --------------------------------------------------------------------------- intents


def test_intents_lists_every_intent_and_which_are_answered(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    response = client.get("/api/v1/ai/intents", headers=acme.headers(Role.viewer))
    assert response.status_code == 200
    found = {item["intent"]: item for item in response.json()}
    assert list(found) == list(INTENT_LABELS)
    assert {name for name, item in found.items() if item["requires_response"]} == {
        "question",
        "complaint",
        "praise",
        "purchase_intent",
        "collaboration",
    }
    assert all(item["description"] for item in found.values())


# --------------------------------------------------------------------------- templates


def test_templates_default_to_the_built_in_ones_for_every_answered_intent(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    found = templates_of(client, acme)
    intents = ("question", "complaint", "praise", "purchase_intent", "collaboration")
    languages = ("en", "es", "pt", "fr", "de", "it")
    assert set(found) == {(i, lang) for i in intents for lang in languages}
    assert all(t["is_default"] and t["text"] == t["default_text"] for t in found.values())
    assert found[("praise", "en")]["text"] == DEFAULT_PRAISE


def test_an_override_changes_the_analysis_answer_and_the_inbox_suggestion_in_its_workspace_only(
    client: TestClient, db: Database, acme: WorkspaceFixture, globex: WorkspaceFixture
) -> None:
    response = put_templates(
        client, acme, {"intent": "praise", "language": "en", "text": OWN_PRAISE}
    )
    assert response.status_code == 200, response.text
    praise_en = {(t["intent"], t["language"]): t for t in response.json()["templates"]}[
        ("praise", "en")
    ]
    assert praise_en["text"] == OWN_PRAISE
    assert praise_en["is_default"] is False
    assert praise_en["default_text"] == DEFAULT_PRAISE

    answered = analyze(client, acme, EXAMPLE, variables={"fan_name": "Maya", "platform": "YouTube"})
    assert answered["auto_response"] == (
        "So happy it moved you, Maya! See you at the next retreat on YouTube."
    )
    stored = ingest_comment(db, acme.workspace_id, EXAMPLE, "c-acme")
    assert stored.ai_intent == "praise"
    assert stored.suggested_reply == (
        "So happy it moved you, Maya! See you at the next retreat on Simulated."
    )
    assert stored.suggested_reply_source == "intent:praise"

    # Another workspace keeps the built-in wording everywhere.
    assert templates_of(client, globex)[("praise", "en")]["is_default"] is True
    assert analyze(client, globex, EXAMPLE)["auto_response"] == DEFAULT_PRAISE
    theirs = ingest_comment(db, globex.workspace_id, EXAMPLE, "c-globex")
    assert theirs.suggested_reply == "Thank you so much, Maya! Comments like yours make our day."


def test_text_null_brings_the_default_back(client: TestClient, acme: WorkspaceFixture) -> None:
    put_templates(client, acme, {"intent": "praise", "language": "en", "text": OWN_PRAISE})
    response = put_templates(client, acme, {"intent": "praise", "language": "en", "text": None})
    assert response.status_code == 200, response.text
    assert templates_of(client, acme)[("praise", "en")]["is_default"] is True
    assert analyze(client, acme, EXAMPLE)["auto_response"] == DEFAULT_PRAISE


def test_the_commenters_language_wins_over_the_workspaces_english(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    put_templates(
        client,
        acme,
        {"intent": "praise", "language": "en", "text": OWN_PRAISE},
        {"intent": "praise", "language": "nl", "text": "Heel erg bedankt, {fan_name}!"},
    )
    found = templates_of(client, acme)
    assert found[("praise", "nl")]["default_text"] is None
    assert found[("praise", "nl")]["is_default"] is False
    variables = {"fan_name": "Ana"}
    spanish = analyze(
        client, acme, "¡Muchas gracias! Fue increíble, me encanta", variables=variables
    )
    assert spanish["language"]["code"] == "es"
    assert spanish["intent"] == "praise" and spanish["requires_response"] is True
    # The built-in Spanish reply, not the workspace's English one.
    assert spanish["auto_response"].startswith("¡Muchas gracias, Ana!")
    client.put(CONFIG, json={"auto_response_threshold": 0.5}, headers=acme.headers())
    italian = analyze(
        client, acme, "Grazie mille, è stato bellissimo e fantastico", variables=variables
    )
    assert italian["language"]["code"] == "it"
    assert italian["auto_response"].startswith("Grazie mille, Ana! Commenti come il tuo")
    dutch = analyze(
        client, acme, "Dank je wel, het was echt geweldig en prachtig 😍", variables=variables
    )
    assert dutch["language"]["code"] == "nl"
    assert dutch["auto_response"] == "Heel erg bedankt, Ana!"
    swedish = analyze(
        client, acme, "Tack så mycket, det var verkligen underbart 😍", variables=variables
    )
    assert swedish["language"]["code"] == "sv"
    assert (
        swedish["auto_response"]
        == "So happy it moved you, Ana! See you at the next retreat on {platform}."
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"intent": "gratitude", "language": "en", "text": "Hi"}, "unknown intent 'gratitude'"),
        ({"intent": "spam", "language": "en", "text": "Hi"}, "spam is never answered"),
        ({"intent": "praise", "language": "english", "text": "Hi"}, "ISO 639-1"),
        ({"intent": "praise", "language": "EN", "text": "Hi"}, "ISO 639-1"),
        ({"intent": "praise", "language": "und", "text": "Hi"}, "ISO 639-1"),
        ({"intent": "praise", "language": "nb", "text": "Hi"}, 'detected as "no"'),
        ({"intent": "praise", "language": "en", "text": "Hi {name}"}, "unknown template variable"),
        ({"intent": "praise", "language": "en", "text": "Hi {fan_name.upper}"}, "unknown"),
        ({"intent": "praise", "language": "en", "text": "Hi {fan_name!r}"}, "no format"),
        ({"intent": "praise", "language": "en", "text": "   "}, "cannot be blank"),
        ({"intent": "praise", "language": "en", "text": "x" * 2001}, "2000"),
        ({"intent": "praise", "language": "en"}, "text"),
    ],
)
def test_a_bad_template_is_a_422_that_says_why(
    client: TestClient, acme: WorkspaceFixture, change: dict[str, Any], words: str
) -> None:
    response = put_templates(client, acme, change)
    assert response.status_code == 422, response.text
    assert words in response.json()["error"]["message"]
    assert all(t["is_default"] for t in templates_of(client, acme).values())


def test_the_same_template_twice_in_one_request_is_refused(
    client: TestClient, acme: WorkspaceFixture
) -> None:
    change = {"intent": "praise", "language": "en", "text": "Hi"}
    response = put_templates(client, acme, change, change)
    assert response.status_code == 422
    assert "praise in en is listed twice" in response.text


@pytest.mark.parametrize("role", [Role.viewer, Role.editor])
def test_only_admins_change_templates(
    client: TestClient, acme: WorkspaceFixture, role: Role
) -> None:
    response = put_templates(
        client, acme, {"intent": "praise", "language": "en", "text": "Hi"}, role=role
    )
    assert response.status_code == 403
    assert templates_of(client, acme)[("praise", "en")]["is_default"] is True
    owner = put_templates(
        client, acme, {"intent": "praise", "language": "en", "text": "Hi"}, role=Role.owner
    )
    assert owner.status_code == 200


def test_changes_bump_the_workspace_data_version(
    client: TestClient, db: Database, acme: WorkspaceFixture, globex: WorkspaceFixture
) -> None:
    def version(ws: WorkspaceFixture) -> int:
        with db.session(readonly=True) as session:
            return versions.current(session, ws.workspace_id)

    before, other = version(acme), version(globex)
    put_templates(client, acme, {"intent": "praise", "language": "en", "text": "Hi"})
    after_set = version(acme)
    put_templates(client, acme, {"intent": "praise", "language": "en", "text": None})
    after_reset = version(acme)
    client.put(CONFIG, json={"auto_response_threshold": 0.9}, headers=acme.headers())
    assert before < after_set < after_reset < version(acme)
    assert version(globex) == other


# --------------------------------------------------------------------------- inbox


def test_a_workflow_reply_without_a_template_uses_the_workspace_template(
    client: TestClient, db: Database, acme: WorkspaceFixture
) -> None:
    put_templates(client, acme, {"intent": "praise", "language": "en", "text": OWN_PRAISE})
    body = WorkflowCreate.model_validate(
        {"name": "answer fans", "actions": [{"type": "send_to_approval"}]}
    )
    with db.session() as session:
        workflow_id = workflows.create_workflow(session, acme.subject, body).id
    praised = ingest_comment(db, acme.workspace_id, EXAMPLE, "c-praise")
    assert praised.suggested_reply == (
        "So happy it moved you, Maya! See you at the next retreat on Simulated."
    )
    assert praised.suggested_reply_source == f"workflow:{workflow_id}"
    assert praised.status == InteractionStatus.awaiting_approval
    spam = ingest_comment(db, acme.workspace_id, "FREE GIFT CARDS click the link in my bio", "c-s")
    assert spam.ai_intent == "spam"
    assert spam.suggested_reply is None
    with db.session(readonly=True) as session:
        match = session.scalars(
            select(WorkflowMatch).where(WorkflowMatch.interaction_id == spam.id)
        ).one()
    assert match.actions_applied == ["send_to_approval skipped: spam has no response template"]


def test_an_ingest_pass_reads_the_templates_once(
    client: TestClient, db: Database, acme: WorkspaceFixture
) -> None:
    put_templates(client, acme, {"intent": "question", "language": "en", "text": "Good one!"})
    account_id = add_account(db, acme.workspace_id)
    comments = [
        pb.Comment(
            platform=pb.Platform.SIMULATED,
            external_id=f"q{i}",
            post_external_id="post-1",
            parent_external_id=None,
            author_external_id=f"fan-{i}",
            author_handle=f"fan{i}",
            text=text,
            posted_at=utcnow(),
        )
        for i, text in enumerate(
            ["How do you edit these videos?", "Which lens do you use?", "Where was this filmed?"]
        )
    ]
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        with db.session() as session:
            account = session.get(TrackedAccount, account_id)
            assert account is not None
            ingest.ingest_interactions(session, account, comments)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert sum("FROM ai_response_templates" in s for s in statements) == 1
    with db.session(readonly=True) as session:
        replies = session.scalars(
            select(Interaction.suggested_reply).where(Interaction.account_id == account_id)
        ).all()
    assert list(replies) == ["Good one!"] * 3


def test_a_stored_post_analysis_says_whether_it_needs_an_answer_but_proposes_none(
    client: TestClient, db: Database, acme: WorkspaceFixture
) -> None:
    account = client.post(
        "/api/v1/accounts",
        json={"ref": "https://simulated.invalid/@fit_with_maya"},
        headers=acme.headers(),
    ).json()
    client.post(f"/api/v1/accounts/{account['id']}/fetch", headers=acme.headers())
    with db.session(readonly=True) as session:
        posts = session.execute(
            select(Post.id, Post.ai_intent).where(Post.ai_intent.is_not(None))
        ).all()
    assert posts
    for post_id, intent in posts[:10]:
        response = client.get(f"/api/v1/posts/{post_id}/analysis", headers=acme.headers())
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["intent"] == intent
        assert body["requires_response"] is (intent not in ("spam", "other"))
        assert body["auto_response"] is None
