"""Inbox workflows: conditions, actions, ordering, time triggers, dry runs and suggested
replies, on interactions stored the way ingestion stores them."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from factories import WorkspaceFixture, make_workspace
from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput, PermissionDenied
from socialpulse.inbox import tasks
from socialpulse.inbox.models import (
    Fan,
    InboxSettings,
    Interaction,
    InteractionKind,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
)
from socialpulse.inbox.replies import service as replies
from socialpulse.inbox.workflows import engine
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflows
from socialpulse.inbox.workflows.schemas import WorkflowCreate, WorkflowDefinition, WorkflowUpdate
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


@dataclass
class Env:
    db: Database
    ws: WorkspaceFixture
    accounts: dict[str, int] = field(default_factory=dict)
    post_id: int = 0


@pytest.fixture
def env(db: Database) -> Env:
    ws = make_workspace(db, "bloom-studio")
    out = Env(db, ws)
    with db.session() as session:
        for platform in ("simulated", "youtube", "bluesky", "instagram"):
            account = TrackedAccount(
                workspace_id=ws.workspace_id,
                platform=platform,
                external_id=f"{platform}-own",
                handle="bloomstudio",
                display_name="Bloom Studio",
            )
            session.add(account)
            session.flush()
            out.accounts[platform] = account.id
        post = Post(
            workspace_id=ws.workspace_id,
            account_id=out.accounts["youtube"],
            external_id="vid-1",
            url="https://www.youtube.com/watch?v=vid1",
            caption="Spring planting guide",
            posted_at=T0 - dt.timedelta(days=1),
        )
        session.add(post)
        session.flush()
        out.post_id = post.id
    return out


def add_interaction(env: Env, **overrides: Any) -> int:
    """An interaction as ingestion stores it: analysed, linked to an account (and a fan)."""
    fan_fields = overrides.pop("fan", None)
    platform = overrides.get("platform", "simulated")
    values: dict[str, Any] = dict(
        workspace_id=env.ws.workspace_id,
        account_id=env.accounts[platform],
        platform=platform,
        kind=InteractionKind.comment,
        external_id=f"c-{uuid.uuid4().hex[:10]}",
        author_external_id="author-1",
        author_handle="ana_gardens",
        author_display_name="Ana Souza",
        text="Love this video, thank you!",
        posted_at=T0,
        ingested_at=T0,
        ai_model_version="test",
        ai_sentiment="positive",
        ai_sentiment_score=0.9,
        ai_sentiment_confidence=0.93,
        ai_language="en",
        ai_intent="praise",
        ai_intent_confidence=0.9,
        ai_toxic=False,
    )
    values.update(overrides)
    with env.db.session() as session:
        if fan_fields is not None:
            fan = Fan(
                workspace_id=env.ws.workspace_id,
                platform=values["platform"],
                external_id=f"fan-{uuid.uuid4().hex[:8]}",
                handle=fan_fields.pop("handle", "ana_gardens"),
                **fan_fields,
            )
            session.add(fan)
            session.flush()
            values["fan_id"] = fan.id
        interaction = Interaction(**values)
        session.add(interaction)
        session.flush()
        return interaction.id


def add_workflow(
    env: Env, conditions: list[dict[str, Any]], actions: list[dict[str, Any]], **fields: Any
) -> int:
    body = WorkflowCreate.model_validate(
        {"name": fields.pop("name", "rule"), "conditions": conditions, "actions": actions, **fields}
    )
    with env.db.session() as session:
        return workflows.create_workflow(session, env.ws.subject, body).id


def apply(env: Env, *ids: int) -> None:
    with env.db.session() as session:
        engine.apply_new_interaction_workflows(session, list(ids))


def load(env: Env, interaction_id: int) -> Interaction:
    with env.db.session(readonly=True) as session:
        interaction = session.get(Interaction, interaction_id)
        assert interaction is not None
        return interaction


def load_workflow(env: Env, workflow_id: int) -> Workflow:
    with env.db.session(readonly=True) as session:
        workflow = session.get(Workflow, workflow_id)
        assert workflow is not None
        return workflow


def matches(env: Env, interaction_id: int | None = None) -> list[WorkflowMatch]:
    with env.db.session(readonly=True) as session:
        stmt = select(WorkflowMatch).order_by(WorkflowMatch.id)
        if interaction_id is not None:
            stmt = stmt.where(WorkflowMatch.interaction_id == interaction_id)
        return list(session.scalars(stmt).all())


@dataclass
class ReplyCalls:
    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: str | None = None


@pytest.fixture
def fake_replies(monkeypatch: pytest.MonkeyPatch) -> ReplyCalls:
    """Records `enqueue_reply` calls and stores a pending queue item like the real queue."""
    recorded = ReplyCalls()

    def enqueue_reply(
        session: Session,
        interaction: Interaction,
        text: str,
        *,
        created_by: str,
        priority: int = 50,
        batch_id: str | None = None,
        now: dt.datetime | None = None,
    ) -> ReplyQueueItem:
        if recorded.fail_with:
            raise InvalidInput(recorded.fail_with)
        recorded.calls.append(
            {"interaction_id": interaction.id, "text": text, "created_by": created_by}
        )
        item = ReplyQueueItem(
            workspace_id=interaction.workspace_id,
            account_id=interaction.account_id,
            interaction_id=interaction.id,
            platform=interaction.platform,
            text=text,
            priority=priority,
            scheduled_for=now or utcnow(),
            idempotency_key=uuid.uuid4().hex,
            created_by=created_by,
        )
        session.add(item)
        session.flush()
        return item

    monkeypatch.setattr(replies, "enqueue_reply", enqueue_reply)
    return recorded


# --------------------------------------------------------------------------- conditions

LABEL = [{"type": "label", "name": "hit"}]

CONDITION_CASES = [
    pytest.param(
        {"type": "platform", "values": ["youtube", "instagram"]},
        {"platform": "youtube"},
        {"platform": "bluesky"},
        id="platform",
    ),
    pytest.param(
        {"type": "sentiment", "values": ["positive"], "min_confidence": 0.8},
        {"ai_sentiment": "positive", "ai_sentiment_confidence": 0.93},
        {"ai_sentiment": "positive", "ai_sentiment_confidence": 0.6},
        id="sentiment-confidence",
    ),
    pytest.param(
        {"type": "sentiment", "values": ["negative", "neutral"]},
        {"ai_sentiment": "negative"},
        {"ai_sentiment": "positive"},
        id="sentiment-label",
    ),
    pytest.param(
        {"type": "intent", "values": ["question"], "min_confidence": 0.7},
        {"ai_intent": "question", "ai_intent_confidence": 0.75},
        {"ai_intent": "question", "ai_intent_confidence": 0.69},
        id="intent-confidence",
    ),
    pytest.param(
        {"type": "intent", "values": ["complaint", "purchase_intent"]},
        {"ai_intent": "purchase_intent"},
        {"ai_intent": "praise"},
        id="intent-label",
    ),
    pytest.param(
        {"type": "language", "values": ["es", "pt"]},
        {"ai_language": "pt"},
        {"ai_language": "en"},
        id="language",
    ),
    pytest.param(
        {"type": "keywords", "words": ["refund", "money back"]},
        {"text": "I want my MONEY BACK, now."},
        {"text": "Refunding is not what I asked about"},
        id="keywords-word-boundaries",
    ),
    pytest.param(
        {"type": "regex", "pattern": r"order\s*#?\d{4,}"},
        {"text": "Where is Order #48213?"},
        {"text": "I will order one soon"},
        id="regex",
    ),
    pytest.param(
        {"type": "toxic", "value": True},
        {"ai_toxic": True},
        {"ai_toxic": False},
        id="toxic",
    ),
    pytest.param(
        {"type": "superfan", "value": True},
        {"fan": {"is_superfan": True}},
        {"fan": {"is_superfan": False}},
        id="superfan",
    ),
    pytest.param(
        {"type": "fan_followers", "min": 1000, "max": 50_000},
        {"fan": {"followers_count": 12_000}},
        {"fan": {"followers_count": 80_000}},
        id="fan-followers-max",
    ),
    pytest.param(
        {"type": "fan_followers", "min": 1000},
        {"fan": {"followers_count": 1000}},
        {"fan": {"followers_count": 999}},
        id="fan-followers-min",
    ),
]


@pytest.mark.parametrize(("condition", "matching", "other"), CONDITION_CASES)
def test_condition_matches_only_the_interactions_it_describes(
    env: Env, condition: dict[str, Any], matching: dict[str, Any], other: dict[str, Any]
) -> None:
    workflow_id = add_workflow(env, [condition], LABEL)
    hit = add_interaction(env, **matching)
    miss = add_interaction(env, **other)
    apply(env, hit, miss)
    assert load(env, hit).labels == ["hit"]
    assert load(env, hit).matched_workflow_id == workflow_id
    assert load(env, miss).labels == []
    assert load(env, miss).matched_workflow_id is None
    assert [m.interaction_id for m in matches(env)] == [hit]


def test_account_condition_matches_listed_accounts(env: Env) -> None:
    add_workflow(env, [{"type": "account_id", "values": [env.accounts["youtube"]]}], LABEL)
    hit = add_interaction(env, platform="youtube")
    miss = add_interaction(env, platform="instagram")
    apply(env, hit, miss)
    assert load(env, hit).labels == ["hit"]
    assert load(env, miss).labels == []


def test_fan_conditions_do_not_match_without_a_fan_record(env: Env) -> None:
    add_workflow(env, [{"type": "fan_followers", "min": 0}], LABEL)
    orphan = add_interaction(env)
    apply(env, orphan)
    assert load(env, orphan).labels == []


def test_all_conditions_must_hold_and_the_reason_names_them(env: Env) -> None:
    add_workflow(
        env,
        [
            {"type": "sentiment", "values": ["positive"]},
            {"type": "intent", "values": ["praise"]},
        ],
        LABEL,
    )
    praise = add_interaction(env)
    positive_question = add_interaction(env, ai_intent="question")
    apply(env, praise, positive_question)
    assert load(env, praise).matched_reason == "sentiment is positive (0.93); intent praise (0.90)"
    assert matches(env, praise)[0].reason == "sentiment is positive (0.93); intent praise (0.90)"
    assert load(env, positive_question).labels == []


# --------------------------------------------------------------------------- actions


def test_auto_reply_queues_the_rendered_template_without_approval(
    env: Env, fake_replies: ReplyCalls
) -> None:
    workflow_id = add_workflow(
        env,
        [{"type": "intent", "values": ["praise"]}],
        [
            {
                "type": "auto_reply",
                "template": "Thanks {fan_name} ({fan_handle})! More on {platform}: {post_url}",
            }
        ],
    )
    interaction_id = add_interaction(
        env,
        platform="youtube",
        post_id=env.post_id,
        fan={"handle": "ana_gardens", "display_name": "Ana S."},
    )
    apply(env, interaction_id)
    assert fake_replies.calls == [
        {
            "interaction_id": interaction_id,
            "text": "Thanks Ana S. (@ana_gardens)! More on YouTube: "
            "https://www.youtube.com/watch?v=vid1",
            "created_by": f"workflow:{workflow_id}",
        }
    ]
    interaction = load(env, interaction_id)
    # Sent by the queue later: still unread, and no second reply offered for approval.
    assert interaction.status == InteractionStatus.unread
    assert interaction.suggested_reply is None
    match = matches(env, interaction_id)[0]
    assert match.auto_responded is True
    assert match.actions_applied[0].startswith("auto_reply: queued reply ")
    workflow = load_workflow(env, workflow_id)
    assert (workflow.triggered_count, workflow.auto_responded_count) == (1, 1)


def test_auto_reply_rejected_by_the_queue_is_recorded_and_ingest_goes_on(
    env: Env, fake_replies: ReplyCalls
) -> None:
    fake_replies.fail_with = "reply is 12000 characters; YouTube allows 10000"
    workflow_id = add_workflow(
        env, [], [{"type": "auto_reply", "template": "Hi {fan_name}"}, *LABEL]
    )
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    match = matches(env, interaction_id)[0]
    assert match.actions_applied == [
        "auto_reply failed: reply is 12000 characters; YouTube allows 10000",
        "label: hit",
    ]
    assert match.auto_responded is False
    assert load(env, interaction_id).labels == ["hit"]
    assert load_workflow(env, workflow_id).auto_responded_count == 0
    with env.db.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(ReplyQueueItem)) == 0


def test_send_to_approval_drafts_the_reply_for_a_human(env: Env) -> None:
    workflow_id = add_workflow(
        env,
        [{"type": "intent", "values": ["question"]}],
        [{"type": "send_to_approval", "template": "Hi {fan_name}, good question!"}],
    )
    interaction_id = add_interaction(env, ai_intent="question")
    apply(env, interaction_id)
    interaction = load(env, interaction_id)
    assert interaction.status == InteractionStatus.awaiting_approval
    assert interaction.suggested_reply == "Hi Ana Souza, good question!"
    assert interaction.suggested_reply_source == f"workflow:{workflow_id}"


def test_flag_sets_status_and_counts(env: Env) -> None:
    workflow_id = add_workflow(env, [{"type": "toxic", "value": True}], [{"type": "flag"}])
    first = add_interaction(env, ai_toxic=True)
    second = add_interaction(env, ai_toxic=True)
    apply(env, first, second)
    assert load(env, first).status == InteractionStatus.flagged
    assert all(m.flagged for m in matches(env))
    workflow = load_workflow(env, workflow_id)
    assert (workflow.triggered_count, workflow.flagged_count) == (2, 2)


def test_label_assign_priority_and_ignore_apply_in_order(env: Env) -> None:
    add_workflow(
        env,
        [{"type": "intent", "values": ["spam"]}],
        [
            {"type": "label", "name": "spam"},
            {"type": "assign", "user_id": env.ws.owner_id},
            {"type": "set_priority", "priority": 5},
            {"type": "ignore"},
        ],
    )
    interaction_id = add_interaction(env, ai_intent="spam", labels=["old"])
    apply(env, interaction_id)
    interaction = load(env, interaction_id)
    assert interaction.labels == ["old", "spam"]
    assert interaction.assignee_user_id == env.ws.owner_id
    assert interaction.priority == 5
    assert interaction.status == InteractionStatus.ignored
    assert matches(env, interaction_id)[0].actions_applied == [
        "label: spam",
        f"assign: user {env.ws.owner_id}",
        "set_priority: 5",
        "ignore",
    ]


def test_assign_to_a_non_member_is_rejected_on_create(env: Env, db: Database) -> None:
    with db.session() as session:
        stranger = workspace_service.create_user(session, "stranger@x.test", "long password 1")
        stranger_id = stranger.id
    with pytest.raises(InvalidInput, match=f"user {stranger_id} is not a member"):
        add_workflow(env, [], [{"type": "assign", "user_id": stranger_id}])


def test_assign_skips_a_user_who_left_the_workspace(env: Env, db: Database) -> None:
    with db.session() as session:
        user = workspace_service.create_user(session, "temp@x.test", "long password 1")
        user_id = user.id
    with db.session() as session:
        workspace_service.add_member(session, env.ws.subject, user.email, Role.editor)
    add_workflow(env, [], [{"type": "assign", "user_id": user_id}])
    with db.session() as session:
        for membership, member in workspace_service.list_members(session, env.ws.subject):
            if member.id == user_id:
                workspace_service.remove_member(session, env.ws.subject, membership.id)
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    assert load(env, interaction_id).assignee_user_id is None
    assert matches(env, interaction_id)[0].actions_applied == [
        f"assign skipped: user {user_id} is not a member of the workspace"
    ]


def test_hide_only_where_the_platform_allows_it(env: Env) -> None:
    add_workflow(env, [{"type": "toxic", "value": True}], [{"type": "hide"}])
    on_youtube = add_interaction(env, platform="youtube", ai_toxic=True)
    on_bluesky = add_interaction(env, platform="bluesky", ai_toxic=True)
    apply(env, on_youtube, on_bluesky)
    assert load(env, on_youtube).hidden is True
    assert load(env, on_bluesky).hidden is False
    assert matches(env, on_bluesky)[0].actions_applied == [
        "hide skipped: bluesky does not let accounts hide comments"
    ]


# --------------------------------------------------------------------------- ordering


def test_lower_priority_number_runs_first_and_stop_processing_ends_the_pass(env: Env) -> None:
    late = add_workflow(env, [], [{"type": "label", "name": "late"}], priority=20)
    first = add_workflow(env, [], [{"type": "label", "name": "first"}], priority=10)
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    interaction = load(env, interaction_id)
    assert interaction.labels == ["first"]
    assert interaction.matched_workflow_id == first
    assert load_workflow(env, late).triggered_count == 0


def test_without_stop_processing_every_matching_workflow_acts_in_priority_order(
    env: Env,
) -> None:
    add_workflow(env, [], [{"type": "label", "name": "b"}], priority=20)
    first = add_workflow(
        env, [], [{"type": "label", "name": "a"}], priority=10, stop_processing=False
    )
    non_matching = add_workflow(
        env, [{"type": "language", "values": ["de"]}], [{"type": "flag"}], priority=5
    )
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    interaction = load(env, interaction_id)
    assert interaction.labels == ["a", "b"]
    assert interaction.matched_workflow_id != first  # the last workflow that acted
    assert [m.workflow_id for m in matches(env, interaction_id)][0] == first
    assert interaction.status == InteractionStatus.unread
    assert load_workflow(env, non_matching).triggered_count == 0


def test_paused_workflows_do_not_run(env: Env) -> None:
    workflow_id = add_workflow(env, [], [{"type": "flag"}], status="paused")
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    assert load(env, interaction_id).status == InteractionStatus.unread
    with env.db.session() as session:
        workflows.update_workflow(
            session, env.ws.subject, workflow_id, WorkflowUpdate(status="active")
        )
    later = add_interaction(env)
    apply(env, later)
    assert load(env, later).status == InteractionStatus.flagged


def test_a_workflow_never_acts_twice_on_the_same_interaction(
    env: Env, fake_replies: ReplyCalls
) -> None:
    workflow_id = add_workflow(env, [], [{"type": "auto_reply", "template": "Thanks {fan_name}!"}])
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    apply(env, interaction_id)
    assert len(fake_replies.calls) == 1
    assert len(matches(env, interaction_id)) == 1
    assert load_workflow(env, workflow_id).triggered_count == 1


# --------------------------------------------------------------------------- time triggers


def test_unanswered_for_fires_once_after_the_wait(env: Env, fake_replies: ReplyCalls) -> None:
    workflow_id = add_workflow(
        env,
        [{"type": "intent", "values": ["question"]}],
        [{"type": "set_priority", "priority": 90}, {"type": "label", "name": "overdue"}],
        trigger="unanswered_for",
        trigger_hours=4,
    )
    waiting = add_interaction(env, ai_intent="question")
    answered = add_interaction(env, ai_intent="question", status=InteractionStatus.answered)
    queued = add_interaction(env, ai_intent="question")
    with env.db.session() as session:
        interaction = session.get(Interaction, queued)
        assert interaction is not None
        session.add(
            ReplyQueueItem(
                workspace_id=interaction.workspace_id,
                account_id=interaction.account_id,
                interaction_id=queued,
                platform=interaction.platform,
                text="On its way",
                status=ReplyStatus.pending,
                scheduled_for=T0 + dt.timedelta(hours=5),
                idempotency_key=uuid.uuid4().hex,
            )
        )
    # A new-interaction pass does not run time-triggered workflows.
    apply(env, waiting)
    assert load(env, waiting).labels == []
    with time_machine.travel(T0 + dt.timedelta(hours=3, minutes=59), tick=False):
        assert engine.run_time_triggers(env.db)["matched"] == 0
    with time_machine.travel(T0 + dt.timedelta(hours=4, minutes=1), tick=False):
        assert engine.run_time_triggers(env.db)["matched"] == 1
    with time_machine.travel(T0 + dt.timedelta(hours=9), tick=False):
        assert engine.run_time_triggers(env.db)["matched"] == 0
    interaction = load(env, waiting)
    assert (interaction.priority, interaction.labels) == (90, ["overdue"])
    assert interaction.matched_reason == "intent question (0.90)"
    assert load(env, answered).labels == []
    assert load(env, queued).labels == []
    assert load_workflow(env, workflow_id).triggered_count == 1


def test_periodic_time_trigger_function_uses_the_app_database(env: Env) -> None:
    add_workflow(env, [], [{"type": "flag"}], trigger="unanswered_for", trigger_hours=1)
    interaction_id = add_interaction(env)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        stats = tasks.run_workflow_time_triggers()
    assert stats == {"workflows": 1, "checked": 1, "matched": 1}
    assert load(env, interaction_id).status == InteractionStatus.flagged


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "auto_reply", "template": "Hi {fan_email}"}, "unknown template variable"),
        ({"type": "auto_reply", "template": "Hi {fan_name!r}"}, "takes no format"),
        ({"type": "send_to_approval", "template": "Hi {fan_name.__class__}"}, "unknown"),
        ({"type": "send_to_approval", "template": "Hi {fan_name"}, "malformed"),
        ({"type": "auto_reply", "template": "   "}, "cannot be blank"),
        ({"type": "set_priority", "priority": 101}, "less than or equal to 100"),
        ({"type": "delete_everything"}, "does not match any of the expected tags"),
    ],
)
def test_invalid_actions_are_explained(action: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkflowDefinition.model_validate({"actions": [action]})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a" * 513, "513 characters long; the limit is 512"),
        ("(unclosed", r"invalid regex: missing \)"),
        (r"(\w+) \1", r"backreferences like \\1 are not supported"),
        ("(?P<w>a)(?P=w)", r"backreferences like \(\?P=name\)"),
        ("price(?= now)", r"lookahead \(\?=...\) is not supported"),
        ("(?<!un)happy", r"negative lookbehind \(\?<!...\) is not supported"),
        ("(?>atomic)", "atomic groups"),
        ("a++", "possessive quantifiers"),
        (r"end\Z", r"\\Z is written \\z"),
        ("x{1001}", "repetition count is above 1000"),
    ],
)
def test_patterns_re2_cannot_run_are_rejected_with_the_reason(pattern: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        WorkflowDefinition.model_validate(
            {"conditions": [{"type": "regex", "pattern": pattern}], "actions": LABEL}
        )
    assert caught.value.errors()[0]["loc"] == ("conditions", 0, "regex", "pattern")


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(\d{3}-){2}\d{4}", "call 555-123-4567"),
        # Nested repetition was refused while `re` ran the patterns; RE2 runs it in linear time.
        (r"(a+)+$", "baaaa"),
        (r"^(\w+\s?)*$", "just some words"),
        ("(.|.)*~", "so ~ there"),
        ("x" * 512, "x" * 600),
    ],
)
def test_patterns_re2_runs_are_accepted_and_match(env: Env, pattern: str, text: str) -> None:
    add_workflow(env, [{"type": "regex", "pattern": pattern}], LABEL)
    hit = add_interaction(env, text=text)
    apply(env, hit)
    assert load(env, hit).labels == ["hit"]


CATASTROPHIC_CHECK = """
import time

from socialpulse.inbox.models import Interaction
from socialpulse.inbox.workflows import engine
from socialpulse.inbox.workflows import schemas as workflow_schemas

condition = workflow_schemas.RegexCondition(type="regex", pattern="(.|.)*~")
ctx = engine._Context(Interaction(text="a" * 100_000), None, "")
started = time.perf_counter()
matched, _reason = engine.evaluate_condition(condition, ctx)
print(matched, time.perf_counter() - started)
"""


def test_a_catastrophic_pattern_on_a_long_text_finishes_in_linear_time() -> None:
    """`(.|.)*~` on 100,000 characters without a "~": about 2**100,000 paths for a
    backtracking engine, one pass for RE2. It runs in a child process with a hard timeout:
    Python's `re` holds the GIL while it backtracks, so neither a thread's join(timeout) nor a
    signal could stop it, and this test would hang rather than fail if `re` came back."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        done = subprocess.run(
            [sys.executable, "-c", CATASTROPHIC_CHECK],
            capture_output=True,
            text=True,
            timeout=60,  # interpreter start and imports on a loaded machine; RE2 needs ~1 ms
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("evaluating (.|.)*~ did not finish within 60 s: the matcher backtracks")
    assert done.returncode == 0, done.stderr
    matched, seconds = done.stdout.split()
    assert matched == "False"
    assert float(seconds) < 2.0


def test_the_whole_text_is_searched_not_only_its_start(env: Env) -> None:
    add_workflow(env, [{"type": "regex", "pattern": r"order #\d+"}], LABEL)
    hit = add_interaction(env, text="x" * 5000 + " where is order #4821?")
    apply(env, hit)
    assert load(env, hit).labels == ["hit"]


# Unicode case folding like `re.IGNORECASE`, except Turkish dotless/dotted i (ı, İ), which
# RE2's simple folding keeps apart and `re` matches with i and I (documented in the README).
CASED = "aAbBkKKſsSßẞσςΣéÉøØǅǄǆΩΩµμΜçÇ .~"


@settings(max_examples=200, deadline=None)
@given(needle=st.text(alphabet=CASED, min_size=1, max_size=4), text=st.text(CASED, max_size=12))
def test_ignore_case_matches_what_re_ignorecase_matched(needle: str, text: str) -> None:
    before = re.search(re.escape(needle), text, re.IGNORECASE) is not None
    condition = workflow_schemas.RegexCondition(type="regex", pattern=re.escape(needle))
    ctx = engine._Context(Interaction(text=text), None, "")
    assert engine.evaluate_condition(condition, ctx)[0] is before


def test_case_sensitive_regex_stays_case_sensitive() -> None:
    condition = workflow_schemas.RegexCondition(type="regex", pattern="Café", ignore_case=False)
    assert engine.evaluate_condition(condition, _ctx("un café"))[0] is False
    assert engine.evaluate_condition(condition, _ctx("un Café"))[0] is True


WORDY = "ab é_1-$+ \n日"


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.text(WORDY, min_size=1, max_size=4).filter(str.strip), min_size=1, max_size=4
    ),
    text=st.text(WORDY, max_size=20),
)
def test_keywords_match_as_whole_words_like_the_lookaround_regex_did(
    words: list[str], text: str
) -> None:
    """Keywords run on RE2 (no lookarounds) with the same answer as the `re` pattern
    (?<!\\w)(?:words)(?!\\w) they used to compile to, Unicode word characters included."""
    cleaned = [w.strip() for w in words]
    alternatives = "|".join(re.escape(w) for w in sorted(cleaned, key=len, reverse=True))
    old = re.search(rf"(?<!\w)(?:{alternatives})(?!\w)", text, re.IGNORECASE)
    condition = workflow_schemas.KeywordsCondition(type="keywords", words=words)
    ok, reason = engine.evaluate_condition(condition, _ctx(text))
    assert ok is (old is not None)
    if old is not None:
        assert reason == f'keyword "{old.group(0)}"'


def _ctx(text: str) -> Any:
    return engine._Context(Interaction(text=text), None, "")


def test_a_stored_pattern_re2_cannot_run_is_skipped_and_its_dry_run_says_why(env: Env) -> None:
    """A workflow saved while patterns ran on `re` may hold a lookahead: it no longer runs
    (logged), and previewing it answers a 422 naming the condition, never a 500."""
    with env.db.session() as session:
        legacy = Workflow(
            workspace_id=env.ws.workspace_id,
            name="legacy",
            conditions=[{"type": "regex", "pattern": "refund(?! policy)"}],
            actions=LABEL,
            created_at=T0,
            updated_at=T0,
        )
        session.add(legacy)
        session.flush()
        legacy_id = legacy.id
    interaction_id = add_interaction(env, text="refund please")
    apply(env, interaction_id)
    assert load(env, interaction_id).labels == []
    with (
        env.db.session() as session,
        pytest.raises(InvalidInput, match=r"conditions\.0\.regex\.pattern.*negative lookahead"),
    ):
        workflows.dry_run_saved(session, env.ws.subject, legacy_id)


def test_dry_run_needs_the_editor_role(env: Env) -> None:
    definition = WorkflowDefinition.model_validate({"actions": LABEL})
    viewer = Subject(workspace_id=env.ws.workspace_id, role=Role.viewer)
    with env.db.session() as session, pytest.raises(PermissionDenied, match="editor role"):
        workflows.dry_run(session, viewer, definition)


def test_unanswered_for_needs_hours_and_update_is_revalidated(env: Env) -> None:
    with pytest.raises(ValidationError, match="needs trigger_hours"):
        WorkflowDefinition.model_validate({"trigger": "unanswered_for", "actions": LABEL})
    workflow_id = add_workflow(env, [], LABEL)
    with env.db.session() as session, pytest.raises(InvalidInput, match="needs trigger_hours"):
        workflows.update_workflow(
            session, env.ws.subject, workflow_id, WorkflowUpdate(trigger="unanswered_for")
        )


def test_template_variables_fall_back_to_the_comment_author(env: Env) -> None:
    add_workflow(
        env,
        [],
        [{"type": "send_to_approval", "template": "{fan_name}|{fan_handle}|{platform}|{post_url}"}],
    )
    interaction_id = add_interaction(env, platform="bluesky", author_display_name=None)
    apply(env, interaction_id)
    assert load(env, interaction_id).suggested_reply == "ana_gardens|@ana_gardens|Bluesky|"


# --------------------------------------------------------------------------- dry run


def test_dry_run_reports_without_changing_anything(env: Env) -> None:
    workflow_id = add_workflow(
        env,
        [{"type": "sentiment", "values": ["negative"]}],
        [{"type": "flag"}, {"type": "send_to_approval", "template": "Sorry {fan_name}"}],
    )
    negative = add_interaction(env, ai_sentiment="negative", ai_sentiment_confidence=0.8)
    positive = add_interaction(env, posted_at=T0 + dt.timedelta(minutes=1))

    def snapshot() -> list[tuple[Any, ...]]:
        with env.db.session(readonly=True) as session:
            rows = session.execute(select(Interaction).order_by(Interaction.id)).scalars()
            state = [tuple(getattr(r, c.key) for c in Interaction.__table__.columns) for r in rows]
            wf = session.get(Workflow, workflow_id)
            assert wf is not None
            state.append((wf.triggered_count, wf.flagged_count, wf.updated_at))
            state.append((session.scalar(select(func.count()).select_from(WorkflowMatch)),))
            return state

    before = snapshot()
    with env.db.session() as session:
        workflow = workflows.get_workflow(session, env.ws.subject, workflow_id)
        results = workflows.dry_run(
            session, env.ws.subject, workflows.definition_of(workflow), workflow_id=workflow_id
        )
    assert snapshot() == before
    by_id = {r.interaction_id: r for r in results}
    assert [r.interaction_id for r in results] == [positive, negative]  # newest first
    assert by_id[negative].matched is True
    assert by_id[negative].reason == "sentiment is negative (0.80)"
    assert by_id[negative].actions == ["flag", 'send_to_approval: "Sorry Ana Souza"']
    assert by_id[positive].matched is False
    assert by_id[positive].reason == "sentiment is positive, not negative"
    assert by_id[positive].actions == []


def test_dry_run_of_a_time_trigger_says_how_long_is_left(env: Env) -> None:
    definition = WorkflowDefinition.model_validate(
        {"trigger": "unanswered_for", "trigger_hours": 6, "actions": [{"type": "flag"}]}
    )
    interaction_id = add_interaction(env)
    with env.db.session() as session:
        early = workflows.dry_run(
            session, env.ws.subject, definition, now=T0 + dt.timedelta(hours=2)
        )
        due = workflows.dry_run(session, env.ws.subject, definition, now=T0 + dt.timedelta(hours=7))
    assert early[0].interaction_id == interaction_id
    assert early[0].matched is False
    assert "waiting 2.0 h of 6 h" in early[0].reason
    assert due[0].matched is True


# --------------------------------------------------------------------------- suggestions


def test_suggestion_needs_the_workspace_confidence_threshold(env: Env) -> None:
    below = add_interaction(env, ai_intent="praise", ai_intent_confidence=0.84)
    at = add_interaction(env, ai_intent="praise", ai_intent_confidence=0.85)
    apply(env, below, at)
    assert load(env, below).suggested_reply is None
    suggested = load(env, at)
    assert suggested.suggested_reply == (
        "Thank you so much, Ana Souza! Comments like yours make our day."
    )
    assert suggested.suggested_reply_source == "intent:praise"
    assert suggested.status == InteractionStatus.unread
    with env.db.session() as session:
        session.add(InboxSettings(workspace_id=env.ws.workspace_id, suggestion_min_confidence=0.6))
    lower = add_interaction(env, ai_intent="question", ai_intent_confidence=0.65)
    apply(env, lower)
    assert load(env, lower).suggested_reply_source == "intent:question"


@pytest.mark.parametrize(
    ("intent", "language", "expected"),
    [
        ("praise", "es", "¡Muchas gracias, Ana Souza!"),
        ("question", "pt", "Ótima pergunta, Ana Souza!"),
        ("complaint", "fr", "Nous sommes vraiment désolés, Ana Souza."),
        ("purchase_intent", "de", "Danke für dein Interesse, Ana Souza!"),
        ("complaint", "en", "We're really sorry about this, Ana Souza."),
        ("question", "it", "Ottima domanda, Ana Souza!"),
        ("question", "nl", "Great question, Ana Souza!"),
        ("praise", None, "Thank you so much, Ana Souza!"),
    ],
)
def test_suggestion_speaks_the_commenters_language_or_english(
    env: Env, intent: str, language: str | None, expected: str
) -> None:
    interaction_id = add_interaction(
        env, ai_intent=intent, ai_language=language, ai_intent_confidence=0.95
    )
    apply(env, interaction_id)
    assert (load(env, interaction_id).suggested_reply or "").startswith(expected)


def test_no_suggestion_for_intents_without_a_template(env: Env) -> None:
    interaction_id = add_interaction(env, ai_intent="spam", ai_intent_confidence=0.99)
    apply(env, interaction_id)
    assert load(env, interaction_id).suggested_reply is None


def test_a_workflow_draft_is_never_replaced_by_an_intent_suggestion(env: Env) -> None:
    add_workflow(env, [], [{"type": "send_to_approval", "template": "Custom {fan_name}"}])
    interaction_id = add_interaction(env, ai_intent_confidence=0.99)
    apply(env, interaction_id)
    assert load(env, interaction_id).suggested_reply == "Custom Ana Souza"


def test_auto_reply_goes_through_the_real_paced_queue(env: Env) -> None:
    first = add_workflow(
        env, [], [{"type": "auto_reply", "template": "Thanks {fan_name}!"}], stop_processing=False
    )
    second = add_workflow(
        env, [], [{"type": "auto_reply", "template": "Welcome {fan_handle}"}], priority=200
    )
    interaction_id = add_interaction(env)
    apply(env, interaction_id)
    with env.db.session(readonly=True) as session:
        items = session.scalars(select(ReplyQueueItem)).all()
    assert [(i.interaction_id, i.text, i.created_by) for i in items] == [
        (interaction_id, "Thanks Ana Souza!", f"workflow:{first}")
    ]
    assert items[0].status == ReplyStatus.pending
    assert items[0].scheduled_for >= T0
    # The queue refuses a second reply to the same comment: recorded, never sent twice.
    assert (
        matches(env, interaction_id)[1]
        .actions_applied[0]
        .startswith("auto_reply failed: a reply to this interaction is already queued")
    )
    assert load_workflow(env, second).auto_responded_count == 0
    assert load(env, interaction_id).status == InteractionStatus.unread
