"""Running workflows: evaluating conditions on an interaction, applying actions, the two
triggers (`apply_new_interaction_workflows` from ingestion, `run_time_triggers` periodic), and
intent-based suggested replies. See the package docstring for the status decisions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import ValidationError
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post
from socialpulse.ai import service as ai_service
from socialpulse.db import Database, utcnow
from socialpulse.errors import AppError
from socialpulse.inbox import corrections, moderation
from socialpulse.inbox.models import (
    AiLabelCorrection,
    Fan,
    InboxSettings,
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
    Workflow,
    WorkflowMatch,
    WorkflowStatus,
    WorkflowTrigger,
)
from socialpulse.inbox.replies import service as replies
from socialpulse.inbox.workflows.rules import compiled_regex, keywords_regex
from socialpulse.inbox.workflows.schemas import (
    ACTIONS,
    CONDITIONS,
    AccountCondition,
    Action,
    AssignAction,
    AutoReplyAction,
    Condition,
    FanFollowersCondition,
    FlagAction,
    HideAction,
    IgnoreAction,
    IntentCondition,
    KeywordsCondition,
    LabelAction,
    LanguageCondition,
    PlatformCondition,
    RegexCondition,
    SendToApprovalAction,
    SentimentCondition,
    SetPriorityAction,
    SuperfanCondition,
    ToxicCondition,
)
from socialpulse.kit.templates import render_template
from socialpulse.providers import registry
from socialpulse.workspaces.models import Membership, Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

DEFAULT_SUGGESTION_MIN_CONFIDENCE = 0.85
TIME_TRIGGER_BATCH = 500
WAITING_STATUSES = (InteractionStatus.unread, InteractionStatus.awaiting_approval)
LIVE_REPLY_STATUSES = (ReplyStatus.pending, ReplyStatus.processing)


def platform_display_name(platform: str) -> str:
    """What templates say for a platform ("YouTube"); an unregistered one is title-cased."""
    try:
        return registry.get_provider(platform).display_name
    except registry.UnknownPlatformError:
        return platform.title()


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Context:
    """What conditions and templates read about one interaction (loaded once per pass)."""

    interaction: Interaction
    fan: Fan | None
    post_url: str
    # The workspace's response templates (for suggestions, and reply actions written without
    # a template); None: the built-in ones.
    templates: ai_service.ResponseTemplates | None = None
    # A person's "wrong label" correction: it wins over the model's labels in conditions,
    # suggestions and templates (inbox.corrections).
    correction: AiLabelCorrection | None = None

    @property
    def labels(self) -> corrections.Labels:
        return corrections.labels_of(self.interaction, self.correction)

    @property
    def fan_name(self) -> str:
        if self.fan is not None and self.fan.display_name:
            return self.fan.display_name
        return self.interaction.author_display_name or self.interaction.author_handle

    @property
    def fan_handle(self) -> str:
        handle = self.fan.handle if self.fan is not None else self.interaction.author_handle
        return handle if handle.startswith("@") else f"@{handle}"

    def variables(self) -> dict[str, str]:
        platform = self.interaction.platform
        return {
            "fan_name": self.fan_name,
            "fan_handle": self.fan_handle,
            "platform": platform_display_name(platform),
            "post_url": self.post_url,
        }

    def reply_text(self, template: str | None) -> str | None:
        """The reply a template gives; without one, the workspace's response template for the
        interaction's intent and language (None when its intent is not answered)."""
        it = self.interaction
        if template is None:
            templates = self.templates or ai_service.ResponseTemplates.builtin(it.workspace_id)
            template = templates.text_for(self.labels.intent, it.ai_language)
            if template is None:
                return None
        return render_template(template, self.variables())

    def no_template_words(self, action: str) -> str:
        intent = self.labels.intent
        if intent is None:
            return f"{action} skipped: the intent is not analysed yet"
        return f"{action} skipped: {intent} has no response template"


def load_context(
    session: Session,
    interaction: Interaction,
    templates: ai_service.ResponseTemplates,
    label_corrections: dict[int, AiLabelCorrection] | None = None,
) -> _Context:
    """`label_corrections`: the pass's corrections loaded at once (`corrections_for`); without
    them this interaction's is looked up."""
    fan = session.get(Fan, interaction.fan_id) if interaction.fan_id is not None else None
    post = session.get(Post, interaction.post_id) if interaction.post_id is not None else None
    post_url = (post.url if post is not None else None) or ""
    if label_corrections is None:
        correction = session.scalar(
            select(AiLabelCorrection).where(
                AiLabelCorrection.workspace_id == interaction.workspace_id,
                AiLabelCorrection.interaction_id == interaction.id,
            )
        )
    else:
        correction = label_corrections.get(interaction.id)
    return _Context(interaction, fan, post_url, templates, correction)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _one_of(values: Sequence[object]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else "one of " + ", ".join(items)


def _ai_label(
    name: str,
    label: str | None,
    confidence: float | None,
    values: Sequence[str],
    minimum: float | None,
    verb: str,
) -> tuple[bool, str]:
    """A condition on an AI label: analysed, one of `values`, confident enough."""
    if label is None:
        return False, f"{name} is not analysed yet"
    if label not in values:
        return False, f"{name} is {label}, not {_one_of(values)}"
    if minimum is not None and (confidence is None or confidence < minimum):
        return False, f"{name} {label} confidence {_fmt(confidence)} is below {minimum:.2f}"
    return True, f"{name} {verb}{label} ({_fmt(confidence)})"


def evaluate_condition(condition: Condition, ctx: _Context) -> tuple[bool, str]:
    """Whether one condition holds, and the words that say why (or why not)."""
    it = ctx.interaction
    match condition:
        case PlatformCondition(values=values):
            ok = it.platform in values
            return ok, f"platform is {it.platform}" + ("" if ok else f", not {_one_of(values)}")
        case AccountCondition(values=ids):
            ok = it.account_id in ids
            return ok, f"account {it.account_id}" + ("" if ok else f" is not {_one_of(ids)}")
        case SentimentCondition(values=values, min_confidence=minimum):
            labels = ctx.labels
            ok, words = _ai_label(
                "sentiment", labels.sentiment, labels.sentiment_confidence, values, minimum, "is "
            )
            return ok, words + (" (corrected by a person)" if labels.sentiment_corrected else "")
        case IntentCondition(values=values, min_confidence=minimum):
            labels = ctx.labels
            ok, words = _ai_label(
                "intent", labels.intent, labels.intent_confidence, values, minimum, ""
            )
            return ok, words + (" (corrected by a person)" if labels.intent_corrected else "")
        case LanguageCondition(values=values):
            lang = it.ai_language
            if lang is None:
                return False, "language is not detected yet"
            ok = lang in values
            return ok, f"language is {lang}" + ("" if ok else f", not {_one_of(values)}")
        case KeywordsCondition(words=words):
            found = keywords_regex(tuple(words)).search(it.text or "")
            if found is None:
                return False, f"none of the keywords {', '.join(words)}"
            return True, f'keyword "{found.group(1)}"'
        case RegexCondition(pattern=pattern, ignore_case=ignore_case):
            # The whole text: RE2's time is linear in it, so no prefix cap is needed.
            hit = compiled_regex(pattern, ignore_case).search(it.text or "")
            if hit is None:
                return False, f"text does not match /{pattern}/"
            return True, f'text matches /{pattern}/ ("{hit.group(0)[:60]}")'
        case ToxicCondition(value=wanted):
            if it.ai_toxic is None:
                return False, "toxicity is not analysed yet"
            ok = it.ai_toxic == wanted
            return ok, "toxic" if it.ai_toxic else "not toxic"
        case SuperfanCondition(value=wanted):
            if ctx.fan is None:
                return False, "no fan record for the author"
            ok = ctx.fan.is_superfan == wanted
            return ok, "fan is a superfan" if ctx.fan.is_superfan else "fan is not a superfan"
        case FanFollowersCondition(min=low, max=high):
            followers = ctx.fan.followers_count if ctx.fan is not None else None
            if followers is None:
                return False, "fan follower count is unknown"
            ok = (low is None or followers >= low) and (high is None or followers <= high)
            bounds = " and ".join(
                part
                for part in (
                    f"≥ {low:,}" if low is not None else "",
                    f"≤ {high:,}" if high is not None else "",
                )
                if part
            )
            verdict = "" if ok else " (outside the range)"
            return ok, f"fan has {followers:,} followers, wanted {bounds}{verdict}"
    raise AssertionError(f"unhandled condition {condition!r}")  # pragma: no cover


def evaluate(conditions: Sequence[Condition], ctx: _Context) -> tuple[bool, str]:
    """All conditions must hold. The reason lists every matched condition, or the first
    that failed."""
    reasons = []
    for condition in conditions:
        ok, words = evaluate_condition(condition, ctx)
        if not ok:
            return False, words
        reasons.append(words)
    return True, "; ".join(reasons) if reasons else "no conditions: matches every interaction"


# --------------------------------------------------------------------------- actions


@dataclass
class _Outcome:
    applied: list[str] = field(default_factory=list)
    auto_responded: bool = False
    flagged: bool = False


@dataclass
class _RunBatches:
    """One batch id per workflow per trigger pass: the replies one workflow run queues share
    it (`?batch_id=` lists them together); another workflow, or the next pass, gets its own."""

    ids: dict[int, str] = field(default_factory=dict)

    def of(self, workflow_id: int) -> str:
        return self.ids.setdefault(workflow_id, replies.new_batch_id())


def is_member(session: Session, workspace_id: int, user_id: int) -> bool:
    subject = Subject(workspace_id=workspace_id, role=Role.viewer)
    stmt = scoped(select(Membership.id).where(Membership.user_id == user_id), subject)
    return session.scalar(stmt) is not None


def describe_action(action: Action, ctx: _Context) -> str:
    """The words for an action as it would apply to this interaction (used by dry runs)."""
    it = ctx.interaction
    match action:
        case AutoReplyAction(template=template) | SendToApprovalAction(template=template):
            text = ctx.reply_text(template)
            if text is None:
                return ctx.no_template_words(action.type)
            return f'{action.type}: "{text}"'
        case LabelAction(name=name):
            return f"label: {name}"
        case AssignAction(user_id=user_id):
            return f"assign: user {user_id}"
        case HideAction():
            if not moderation.can_hide(it.platform):
                return f"hide skipped: {it.platform} does not let accounts hide comments"
            return "hide"
        case SetPriorityAction(priority=priority):
            return f"set_priority: {priority}"
        case FlagAction() | IgnoreAction():
            return action.type
    raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover


def _apply_action(
    session: Session,
    workflow: Workflow,
    action: Action,
    ctx: _Context,
    outcome: _Outcome,
    batches: _RunBatches,
) -> None:
    it = ctx.interaction
    match action:
        case AutoReplyAction(template=template):
            text = ctx.reply_text(template)
            if text is None:
                outcome.applied.append(ctx.no_template_words(action.type))
                return
            try:
                # A savepoint: a rejected reply (too long for the platform...) must not undo
                # the rest of the ingest transaction, nor leave half a queue item behind.
                with session.begin_nested():
                    item = replies.enqueue_reply(
                        session,
                        it,
                        text,
                        created_by=f"workflow:{workflow.id}",
                        batch_id=batches.of(workflow.id),
                    )
            except AppError as exc:
                outcome.applied.append(f"auto_reply failed: {exc.message}")
                log.warning(
                    "inbox.workflow.auto_reply_failed",
                    workflow_id=workflow.id,
                    interaction_id=it.id,
                    error=exc.message,
                )
                return
            outcome.auto_responded = True
            outcome.applied.append(f"auto_reply: queued reply {item.id}")
        case SendToApprovalAction(template=template):
            text = ctx.reply_text(template)
            if text is None:
                outcome.applied.append(ctx.no_template_words(action.type))
                return
            it.suggested_reply = text
            it.suggested_reply_source = f"workflow:{workflow.id}"
            it.status = InteractionStatus.awaiting_approval
            outcome.applied.append("send_to_approval")
        case FlagAction():
            it.status = InteractionStatus.flagged
            outcome.flagged = True
            outcome.applied.append("flag")
        case LabelAction(name=name):
            if name not in (it.labels or []):
                it.labels = [*(it.labels or []), name]  # a new list: JSON columns track rebinds
            outcome.applied.append(f"label: {name}")
        case AssignAction(user_id=user_id):
            if is_member(session, it.workspace_id, user_id):
                it.assignee_user_id = user_id
                outcome.applied.append(f"assign: user {user_id}")
            else:
                outcome.applied.append(
                    f"assign skipped: user {user_id} is not a member of the workspace"
                )
        case IgnoreAction():
            it.status = InteractionStatus.ignored
            outcome.applied.append("ignore")
        case HideAction():
            if moderation.can_hide(it.platform):
                it.hidden = True
                moderation.enqueue_hide(session, it)  # the platform call happens after commit
                outcome.applied.append("hide")
            else:
                outcome.applied.append(
                    f"hide skipped: {it.platform} does not let accounts hide comments"
                )
        case SetPriorityAction(priority=priority):
            it.priority = priority
            outcome.applied.append(f"set_priority: {priority}")


@dataclass
class _Compiled:
    workflow: Workflow
    conditions: list[Condition]
    actions: list[Action]


def _compile(workflows: Iterable[Workflow]) -> list[_Compiled]:
    compiled = []
    for wf in workflows:
        try:
            compiled.append(
                _Compiled(
                    wf,
                    CONDITIONS.validate_python(wf.conditions),
                    ACTIONS.validate_python(wf.actions),
                )
            )
        except ValidationError as exc:
            # Rows are validated on create/update; one written another way is skipped, loudly.
            log.error("inbox.workflow.invalid_definition", workflow_id=wf.id, error=str(exc))
    return compiled


def _run_one(
    session: Session, wf: _Compiled, ctx: _Context, now: dt.datetime, batches: _RunBatches
) -> _Outcome | None:
    """Evaluate one workflow on one interaction and apply it; None when it did not match."""
    ok, reason = evaluate(wf.conditions, ctx)
    if not ok:
        return None
    it, workflow = ctx.interaction, wf.workflow
    match = WorkflowMatch(
        workspace_id=it.workspace_id,
        workflow_id=workflow.id,
        interaction_id=it.id,
        matched_at=now,
        reason=reason,
        actions_applied=[],
    )
    try:
        with session.begin_nested():
            session.add(match)
            session.flush()
    except IntegrityError:
        # Another worker recorded this workflow on this interaction first: it never acts twice.
        return None
    outcome = _Outcome()
    for action in wf.actions:
        _apply_action(session, workflow, action, ctx, outcome, batches)
    match.actions_applied = outcome.applied
    match.auto_responded = outcome.auto_responded
    match.flagged = outcome.flagged
    it.matched_workflow_id = workflow.id
    it.matched_reason = reason
    session.execute(
        update(Workflow)
        .where(Workflow.id == workflow.id)
        .values(
            triggered_count=Workflow.triggered_count + 1,
            auto_responded_count=Workflow.auto_responded_count + int(outcome.auto_responded),
            flagged_count=Workflow.flagged_count + int(outcome.flagged),
        )
        .execution_options(synchronize_session=False)
    )
    log.info(
        "inbox.workflow.matched",
        workflow_id=workflow.id,
        interaction_id=it.id,
        actions=outcome.applied,
    )
    return outcome


def existing_matches(
    session: Session, subject: Subject, interaction_ids: Sequence[int]
) -> set[tuple[int, int]]:
    if not interaction_ids:
        return set()
    rows = session.execute(
        scoped(
            select(WorkflowMatch.workflow_id, WorkflowMatch.interaction_id).where(
                WorkflowMatch.interaction_id.in_(interaction_ids)
            ),
            subject,
        )
    ).all()
    return {(row[0], row[1]) for row in rows}


def _active_workflows(
    session: Session, subject: Subject, trigger: WorkflowTrigger
) -> list[_Compiled]:
    stmt = scoped(
        select(Workflow).where(
            Workflow.status == WorkflowStatus.active, Workflow.trigger == trigger
        ),
        subject,
    ).order_by(Workflow.priority, Workflow.id)
    return _compile(session.scalars(stmt).all())


def _system_subject(workspace_id: int) -> Subject:
    """Ingestion and periodic tasks act for the workspace itself, still through `scoped()`."""
    return Subject(workspace_id=workspace_id, role=Role.owner)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --------------------------------------------------------------------------- suggestions


def suggest_reply(ctx: _Context, min_confidence: float) -> tuple[str, str] | None:
    """The intent-based reply for this interaction as (text, source), or None when its intent
    is not answered or the classifier is less confident than `min_confidence`. The text is the
    workspace's response template for the intent in the commenter's language (`ai.responses`:
    its own, else the built-in one, else English)."""
    labels = ctx.labels
    if labels.intent_confidence is None or labels.intent_confidence < min_confidence:
        return None
    text = ctx.reply_text(None)
    if text is None:
        return None
    return text, f"intent:{labels.intent}"


def _suggestion_threshold(session: Session, workspace_id: int) -> float:
    settings = session.get(InboxSettings, workspace_id)
    if settings is None or settings.suggestion_min_confidence is None:
        return DEFAULT_SUGGESTION_MIN_CONFIDENCE
    return settings.suggestion_min_confidence


# --------------------------------------------------------------------------- entry points


def apply_new_interaction_workflows(
    session: Session, interaction_ids: list[int], *, now: dt.datetime | None = None
) -> None:
    """Run the active `new_interaction` workflows, then intent suggestions, on freshly stored
    interactions, inside the caller's transaction (ingestion owns it; this only flushes)."""
    if not interaction_ids:
        return
    now = now or utcnow()
    interactions: list[Interaction] = []
    for chunk in _chunks(sorted(set(interaction_ids))):
        interactions.extend(
            session.scalars(
                select(Interaction).where(Interaction.id.in_(chunk)).order_by(Interaction.id)
            ).all()
        )
    batches = _RunBatches()
    by_workspace: dict[int, list[Interaction]] = defaultdict(list)
    for interaction in interactions:
        by_workspace[interaction.workspace_id].append(interaction)
    for workspace_id, items in by_workspace.items():
        subject = _system_subject(workspace_id)
        workflows = _active_workflows(session, subject, WorkflowTrigger.new_interaction)
        done = existing_matches(session, subject, [it.id for it in items])
        threshold = _suggestion_threshold(session, workspace_id)
        templates = ai_service.response_templates(session, subject)  # once per workspace
        fixed = corrections.corrections_for(session, workspace_id, [it.id for it in items])
        for interaction in items:
            ctx = load_context(session, interaction, templates, fixed)
            auto_replied = False
            for wf in workflows:
                if (wf.workflow.id, interaction.id) in done:
                    continue
                outcome = _run_one(session, wf, ctx, now, batches)
                if outcome is not None:
                    auto_replied = auto_replied or outcome.auto_responded
                    if wf.workflow.stop_processing:
                        break
            _maybe_suggest(interaction, ctx, threshold, auto_replied)
    session.flush()


def _maybe_suggest(
    interaction: Interaction, ctx: _Context, threshold: float, auto_replied: bool
) -> None:
    # No draft over a workflow's own, none when a reply is already queued, none for what a
    # workflow ignored or hid.
    if interaction.suggested_reply is not None or auto_replied:
        return
    if interaction.status == InteractionStatus.ignored or interaction.hidden:
        return
    suggestion = suggest_reply(ctx, threshold)
    if suggestion is not None:
        interaction.suggested_reply, interaction.suggested_reply_source = suggestion


def run_time_triggers(db: Database, now: dt.datetime | None = None) -> dict[str, int]:
    """Apply `unanswered_for` workflows to interactions still unread or awaiting approval
    `trigger_hours` after they were posted on the platform (`posted_at`, not when they were
    imported), with no reply pending in the queue.
    Each workflow acts on an interaction once; at most 500 interactions per workflow per run
    (the next run continues)."""
    now = now or utcnow()
    stats = {"workflows": 0, "checked": 0, "matched": 0}
    batches = _RunBatches()
    with db.session() as session:
        workspace_ids = session.scalars(
            select(Workflow.workspace_id)
            .where(
                Workflow.status == WorkflowStatus.active,
                Workflow.trigger == WorkflowTrigger.unanswered_for,
            )
            .distinct()
        ).all()
        for workspace_id in workspace_ids:
            subject = _system_subject(workspace_id)
            workflows = _active_workflows(session, subject, WorkflowTrigger.unanswered_for)
            stats["workflows"] += len(workflows)
            templates = ai_service.response_templates(session, subject)
            due: dict[int, set[int]] = {}  # interaction id → ids of workflows due on it
            for wf in workflows:
                for interaction_id in _due_interactions(session, subject, wf.workflow, now):
                    due.setdefault(interaction_id, set()).add(wf.workflow.id)
            for interaction_id in sorted(due):
                interaction = get_scoped(session, Interaction, interaction_id, subject)
                ctx = load_context(session, interaction, templates)
                stats["checked"] += 1
                for wf in workflows:
                    if wf.workflow.id not in due[interaction_id]:
                        continue
                    if interaction.status not in WAITING_STATUSES:
                        break  # an earlier workflow in this pass answered, ignored or flagged it
                    if _run_one(session, wf, ctx, now, batches) is not None:
                        stats["matched"] += 1
                        if wf.workflow.stop_processing:
                            break
    log.info("inbox.workflow.time_triggers", **stats)
    return stats


def _due_interactions(
    session: Session, subject: Subject, workflow: Workflow, now: dt.datetime
) -> list[int]:
    hours = workflow.trigger_hours or 0.0
    cutoff = now - dt.timedelta(hours=hours)
    already = exists().where(
        WorkflowMatch.workflow_id == workflow.id,
        WorkflowMatch.interaction_id == Interaction.id,
    )
    reply_live = exists().where(
        ReplyQueueItem.interaction_id == Interaction.id,
        ReplyQueueItem.status.in_(LIVE_REPLY_STATUSES),
    )
    stmt = (
        scoped(select(Interaction.id), subject)
        .where(
            Interaction.status.in_(WAITING_STATUSES),
            # The fan has waited since they posted; a comment imported late (a slow poll, a
            # first import) has waited just as long.
            Interaction.posted_at <= cutoff,
            ~already,
            ~reply_live,
        )
        .order_by(Interaction.posted_at, Interaction.id)
        .limit(TIME_TRIGGER_BATCH)
    )
    return list(session.scalars(stmt).all())
