"""Inbox automation: workflows (when → if → do) and intent-based suggested replies.

A workflow has a trigger (`new_interaction`: applied by ingestion right after new interactions
are stored; `unanswered_for`: applied by the periodic `run_workflow_time_triggers` once an
interaction has waited `trigger_hours` since it arrived in the inbox), conditions that must ALL
hold, and actions applied in order. Workflows run by `priority` (lower first, then id);
a match of a workflow with `stop_processing` stops the lower-priority ones for that interaction
in that pass. A workflow acts at most once per interaction (`WorkflowMatch` is unique per
workflow and interaction).

Status decisions (the `InteractionStatus` enum has no "queued" value):

* `auto_reply` queues the reply through `inbox.replies.enqueue_reply` without approval and
  leaves the interaction's status as it was; the reply queue marks it `answered` when the reply
  is actually sent. Meanwhile the queued item is the in-between state: no intent suggestion is
  drafted for it (nobody should approve a second reply) and `unanswered_for` workflows skip
  interactions with a pending or in-flight reply.
* `send_to_approval` drafts the reply into `suggested_reply` and sets `awaiting_approval`.
* `flag` → `flagged`, `ignore` → `ignored`; the last status-setting action wins.
* `hide` marks the interaction hidden in the inbox where the platform lets an account hide
  comments (YouTube, Instagram, simulated); elsewhere the match records why it was skipped.

Regular expressions (the `regex` condition, and `keywords` built into one) run on RE2
(`google-re2`), whose matching time is linear in the text whatever the pattern: Python's `re`
backtracks, and one pattern like `(.|.)*~` held the GIL, and so every request of the process,
for minutes. RE2 has no backreferences or lookarounds; such patterns are rejected when a
workflow is saved or dry-run (422, saying which condition and why), as are patterns over 512
characters. Unlike `re`, RE2's `\\w`, `\\d`, `\\s` and `\\b` are ASCII-only (`\\p{L}` is a
letter of any script); case-insensitive matching folds Unicode case like `re.IGNORECASE`
(except Turkish dotless and dotted i, which RE2 keeps apart from i and I).
"""

from __future__ import annotations

import datetime as dt
import functools
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import re2
import structlog
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post
from socialpulse.ai.schemas import INTENT_LABELS
from socialpulse.db import Database, get_database, utcnow
from socialpulse.errors import AppError, InvalidInput
from socialpulse.inbox.models import (
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
from socialpulse.kit.params import Count, Id
from socialpulse.providers.base import Platform
from socialpulse.workspaces.models import Membership, Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

MAX_REGEX_LENGTH = 512
REGEX_CACHE_SIZE = 128  # compiled patterns kept per process
MAX_TEMPLATE_LENGTH = 2000
DEFAULT_SUGGESTION_MIN_CONFIDENCE = 0.85
TIME_TRIGGER_BATCH = 500
DRY_RUN_MAX = 500

TEMPLATE_VARIABLES = ("fan_name", "fan_handle", "platform", "post_url")
# Platforms whose API lets the account owner hide a comment under its own post.
HIDE_PLATFORMS = frozenset({Platform.YOUTUBE.value, Platform.INSTAGRAM.value, "simulated"})
PLATFORM_NAMES = {
    "youtube": "YouTube",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "simulated": "Simulated",
}
WAITING_STATUSES = (InteractionStatus.unread, InteractionStatus.awaiting_approval)
LIVE_REPLY_STATUSES = (ReplyStatus.pending, ReplyStatus.processing)

SentimentValue = Literal["positive", "neutral", "negative"]
PlatformValue = Literal["youtube", "instagram", "tiktok", "bluesky", "mastodon", "simulated"]
IntentValue = Literal[
    "question", "complaint", "praise", "purchase_intent", "collaboration", "spam", "other"
]
assert set(get_args(IntentValue)) == set(INTENT_LABELS), "keep in step with socialpulse.ai"
LanguageCode = Annotated[str, Field(pattern=r"^(?:[a-z]{2,3}|und)$")]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


# --------------------------------------------------------------------------- conditions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlatformCondition(_Strict):
    type: Literal["platform"]
    values: list[PlatformValue] = Field(min_length=1)


class AccountCondition(_Strict):
    type: Literal["account_id"]
    values: list[Id] = Field(min_length=1)


class SentimentCondition(_Strict):
    type: Literal["sentiment"]
    values: list[SentimentValue] = Field(min_length=1)
    min_confidence: Confidence | None = None


class IntentCondition(_Strict):
    type: Literal["intent"]
    values: list[IntentValue] = Field(min_length=1)
    min_confidence: Confidence | None = None


class LanguageCondition(_Strict):
    type: Literal["language"]
    values: list[LanguageCode] = Field(min_length=1)


class KeywordsCondition(_Strict):
    """Any of the words or phrases, case-insensitive, as whole words."""

    type: Literal["keywords"]
    words: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=200
    )

    @field_validator("words")
    @classmethod
    def _strip(cls, words: list[str]) -> list[str]:
        cleaned = [w.strip() for w in words]
        if any(not w for w in cleaned):
            raise ValueError("keywords cannot be blank")
        try:
            _keywords_re(tuple(cleaned))  # compiled now, so a set RE2 cannot hold is a 422
        except re2.error as exc:
            raise ValueError(_explain_re2_error("", exc)) from exc
        return cleaned


class RegexCondition(_Strict):
    type: Literal["regex"]
    pattern: str = Field(min_length=1)
    ignore_case: bool = True

    @field_validator("pattern")
    @classmethod
    def _safe(cls, pattern: str) -> str:
        check_regex(pattern)
        return pattern


class ToxicCondition(_Strict):
    type: Literal["toxic"]
    value: bool = True


class SuperfanCondition(_Strict):
    type: Literal["superfan"]
    value: bool = True


class FanFollowersCondition(_Strict):
    type: Literal["fan_followers"]
    min: Count | None = None
    max: Count | None = None

    @model_validator(mode="after")
    def _bounds(self) -> FanFollowersCondition:
        if self.min is None and self.max is None:
            raise ValueError("fan_followers needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"fan_followers min ({self.min}) is greater than max ({self.max})")
        return self


Condition = Annotated[
    PlatformCondition
    | AccountCondition
    | SentimentCondition
    | IntentCondition
    | LanguageCondition
    | KeywordsCondition
    | RegexCondition
    | ToxicCondition
    | SuperfanCondition
    | FanFollowersCondition,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- actions


def template_variables(template: str) -> list[str]:
    """The variable names a template uses; raises ValueError for anything but plain names."""
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"template is malformed ({exc}); write literal braces as {{{{ }}}}"
        ) from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_VARIABLES:
            known = ", ".join("{" + v + "}" for v in TEMPLATE_VARIABLES)
            raise ValueError(f"unknown template variable {{{name}}}; use {known}")
        if spec or conversion:
            raise ValueError(f"template variable {{{name}}} takes no format or conversion")
        names.append(name)
    return names


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute the known variables (no attribute access, no format specs: never str.format
    on user templates with objects)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out).strip()


TemplateText = Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_LENGTH)]


class _TemplateAction(_Strict):
    template: TemplateText

    @field_validator("template")
    @classmethod
    def _variables(cls, template: str) -> str:
        if not template.strip():
            raise ValueError("template cannot be blank")
        template_variables(template)
        return template


class AutoReplyAction(_TemplateAction):
    """Queue the reply without approval (paced by the reply queue)."""

    type: Literal["auto_reply"]


class SendToApprovalAction(_TemplateAction):
    """Draft the reply for a human to approve."""

    type: Literal["send_to_approval"]


class FlagAction(_Strict):
    type: Literal["flag"]


class LabelAction(_Strict):
    type: Literal["label"]
    name: str = Field(min_length=1, max_length=50)

    @field_validator("name")
    @classmethod
    def _strip(cls, name: str) -> str:
        name = name.strip()
        if not name:
            raise ValueError("label name cannot be blank")
        return name


class AssignAction(_Strict):
    type: Literal["assign"]
    user_id: Id


class IgnoreAction(_Strict):
    type: Literal["ignore"]


class HideAction(_Strict):
    type: Literal["hide"]


class SetPriorityAction(_Strict):
    type: Literal["set_priority"]
    priority: int = Field(ge=0, le=100)


Action = Annotated[
    AutoReplyAction
    | SendToApprovalAction
    | FlagAction
    | LabelAction
    | AssignAction
    | IgnoreAction
    | HideAction
    | SetPriorityAction,
    Field(discriminator="type"),
]

_CONDITIONS: TypeAdapter[list[Condition]] = TypeAdapter(list[Condition])
_ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])


# --------------------------------------------------------------------------- schemas


class _TriggerRule(BaseModel):
    @model_validator(mode="after")
    def _trigger_hours(self) -> Any:
        trigger = getattr(self, "trigger", None)
        hours = getattr(self, "trigger_hours", None)
        if trigger == WorkflowTrigger.unanswered_for and hours is None:
            raise ValueError("trigger unanswered_for needs trigger_hours (e.g. 24)")
        if trigger == WorkflowTrigger.new_interaction and hours is not None:
            raise ValueError("trigger_hours only applies to the unanswered_for trigger")
        return self


class WorkflowDefinition(_TriggerRule):
    """A workflow as written by a user; also the body of a dry run (name optional there)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="Draft workflow", min_length=1, max_length=200)
    status: WorkflowStatus = WorkflowStatus.active
    priority: int = Field(default=100, ge=0, le=10_000)
    trigger: WorkflowTrigger = WorkflowTrigger.new_interaction
    trigger_hours: float | None = Field(default=None, gt=0, le=24 * 90)
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    actions: list[Action] = Field(min_length=1, max_length=20)
    stop_processing: bool = True


class WorkflowCreate(WorkflowDefinition):
    name: str = Field(min_length=1, max_length=200)


class WorkflowUpdate(BaseModel):
    """Every field optional: pause/resume with `status`, reorder with `priority`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: WorkflowStatus | None = None
    priority: int | None = Field(default=None, ge=0, le=10_000)
    trigger: WorkflowTrigger | None = None
    trigger_hours: float | None = Field(default=None, gt=0, le=24 * 90)
    conditions: list[Condition] | None = Field(default=None, max_length=50)
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=20)
    stop_processing: bool | None = None


class WorkflowRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: WorkflowStatus
    priority: int
    trigger: WorkflowTrigger
    trigger_hours: float | None
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    stop_processing: bool
    triggered_count: int
    auto_responded_count: int
    flagged_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkflowMatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    workflow_id: int
    interaction_id: int
    matched_at: dt.datetime
    reason: str
    actions_applied: list[str]
    auto_responded: bool
    flagged: bool


class DryRunResult(BaseModel):
    interaction_id: int
    platform: str
    author_handle: str
    excerpt: str
    matched: bool
    reason: str
    actions: list[str] = Field(description="What the workflow would do; empty when not matched.")
    already_applied: bool = False


# --------------------------------------------------------------------------- regex safety

# Word characters as Python's `re` sees them in str patterns (letters and digits of every
# script, and "_"); RE2's own \w is ASCII-only, so the keyword boundary spells them out.
_WORD_CHARS = r"\p{L}\p{N}_"

# What RE2's compile errors mean for someone who wrote a Perl/Python-style pattern.
_RE2_HINTS = (
    ("invalid perl operator: (?=", "lookahead (?=...) is not supported"),
    ("invalid perl operator: (?!", "negative lookahead (?!...) is not supported"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...) is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("bad repetition operator:", "possessive quantifiers (a++, a*+) are not supported"),
    ("invalid escape sequence: \\Z", r"\Z is written \z here (end of text)"),
    ("invalid repetition size:", "a repetition count is above 1000"),
    ("pattern too large", "the pattern is too large once compiled; simplify it"),
)


def _re2_options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    # RE2's (?i) folds case the Unicode way, like `re.IGNORECASE` on str patterns.
    options.case_sensitive = not ignore_case
    # A rejected pattern is answered to its author (422); it is not worth a line on stderr.
    options.log_errors = False
    return options


@functools.lru_cache(maxsize=REGEX_CACHE_SIZE)
def _compiled(pattern: str, ignore_case: bool) -> Any:
    """The pattern compiled by RE2 (linear-time: no backtracking whatever the pattern or text);
    bounded cache, as each RE2 object may hold up to 8 MiB of automaton."""
    return re2.compile(pattern, _re2_options(ignore_case))


def _explain_re2_error(pattern: str, exc: Exception) -> str:
    raw = exc.args[0] if exc.args else str(exc)
    detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    why = None
    if "(?P=" in pattern and detail.startswith("invalid perl operator: (?P"):
        why = "backreferences like (?P=name) are not supported"
    elif detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
        why = f"backreferences like {detail.rpartition(' ')[2]} are not supported"
    else:
        why = next((hint for prefix, hint in _RE2_HINTS if detail.startswith(prefix)), None)
    if why is None:
        return f"invalid regex: {detail}"
    shown = f"/{pattern if len(pattern) <= 60 else pattern[:57] + '...'}/ " if pattern else ""
    return (
        f"regex {shown}cannot be used: {why}; patterns run on RE2, a linear-time engine "
        f"(RE2 says: {detail})"
    )


def check_regex(pattern: str) -> None:
    """Raise ValueError with a user-facing message when RE2 cannot run the pattern (invalid
    syntax, or a backtracking-only feature: backreferences, lookarounds) or it is too long."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(
            f"regex is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}"
        )
    try:
        _compiled(pattern, True)
    except re2.error as exc:
        raise ValueError(_explain_re2_error(pattern, exc)) from exc


@functools.lru_cache(maxsize=REGEX_CACHE_SIZE)
def _keywords_re(words: tuple[str, ...]) -> Any:
    # Whole words: the keyword needs a non-word character (or the edge of the text) on both
    # sides, so keywords that start or end with a symbol ("$$$", "c++") work too. RE2 has no
    # lookarounds, so the boundary characters are consumed and the keyword is group 1; for
    # "is there a match" that is the same as Python's (?<!\w)...(?!\w). Longest first: at one
    # position "money back" wins over "money".
    alternatives = "|".join(re2.escape(w) for w in sorted(words, key=len, reverse=True))
    return re2.compile(
        rf"(?:^|[^{_WORD_CHARS}])({alternatives})(?:[^{_WORD_CHARS}]|$)", _re2_options(True)
    )


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Context:
    """What conditions and templates read about one interaction (loaded once per pass)."""

    interaction: Interaction
    fan: Fan | None
    post_url: str

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
            "platform": PLATFORM_NAMES.get(platform, platform.title()),
            "post_url": self.post_url,
        }


def _load_context(session: Session, interaction: Interaction) -> _Context:
    fan = session.get(Fan, interaction.fan_id) if interaction.fan_id is not None else None
    post = session.get(Post, interaction.post_id) if interaction.post_id is not None else None
    post_url = (post.url if post is not None else None) or ""
    return _Context(interaction, fan, post_url)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _one_of(values: Sequence[object]) -> str:
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else "one of " + ", ".join(items)


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
            label, conf = it.ai_sentiment, it.ai_sentiment_confidence
            if label is None:
                return False, "sentiment is not analysed yet"
            if label not in values:
                return False, f"sentiment is {label}, not {_one_of(values)}"
            if minimum is not None and (conf is None or conf < minimum):
                return False, f"sentiment {label} confidence {_fmt(conf)} is below {minimum:.2f}"
            return True, f"sentiment is {label} ({_fmt(conf)})"
        case IntentCondition(values=values, min_confidence=minimum):
            intent, conf = it.ai_intent, it.ai_intent_confidence
            if intent is None:
                return False, "intent is not analysed yet"
            if intent not in values:
                return False, f"intent is {intent}, not {_one_of(values)}"
            if minimum is not None and (conf is None or conf < minimum):
                return False, f"intent {intent} confidence {_fmt(conf)} is below {minimum:.2f}"
            return True, f"intent {intent} ({_fmt(conf)})"
        case LanguageCondition(values=values):
            lang = it.ai_language
            if lang is None:
                return False, "language is not detected yet"
            ok = lang in values
            return ok, f"language is {lang}" + ("" if ok else f", not {_one_of(values)}")
        case KeywordsCondition(words=words):
            found = _keywords_re(tuple(words)).search(it.text or "")
            if found is None:
                return False, f"none of the keywords {', '.join(words)}"
            return True, f'keyword "{found.group(1)}"'
        case RegexCondition(pattern=pattern, ignore_case=ignore_case):
            # The whole text: RE2's time is linear in it, so no prefix cap is needed.
            hit = _compiled(pattern, ignore_case).search(it.text or "")
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


def _is_member(session: Session, workspace_id: int, user_id: int) -> bool:
    subject = Subject(workspace_id=workspace_id, role=Role.viewer)
    stmt = scoped(select(Membership.id).where(Membership.user_id == user_id), subject)
    return session.scalar(stmt) is not None


def describe_action(action: Action, ctx: _Context) -> str:
    """The words for an action as it would apply to this interaction (used by dry runs)."""
    it = ctx.interaction
    match action:
        case AutoReplyAction(template=template):
            return f'auto_reply: "{render_template(template, ctx.variables())}"'
        case SendToApprovalAction(template=template):
            return f'send_to_approval: "{render_template(template, ctx.variables())}"'
        case LabelAction(name=name):
            return f"label: {name}"
        case AssignAction(user_id=user_id):
            return f"assign: user {user_id}"
        case HideAction():
            if it.platform not in HIDE_PLATFORMS:
                return f"hide skipped: {it.platform} does not let accounts hide comments"
            return "hide"
        case SetPriorityAction(priority=priority):
            return f"set_priority: {priority}"
        case FlagAction() | IgnoreAction():
            return action.type
    raise AssertionError(f"unhandled action {action!r}")  # pragma: no cover


def _apply_action(
    session: Session, workflow: Workflow, action: Action, ctx: _Context, outcome: _Outcome
) -> None:
    it = ctx.interaction
    match action:
        case AutoReplyAction(template=template):
            from socialpulse.inbox import replies  # lazy: the queue module imports the inbox

            text = render_template(template, ctx.variables())
            try:
                # A savepoint: a rejected reply (too long for the platform...) must not undo
                # the rest of the ingest transaction, nor leave half a queue item behind.
                with session.begin_nested():
                    item = replies.enqueue_reply(
                        session, it, text, created_by=f"workflow:{workflow.id}"
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
            it.suggested_reply = render_template(template, ctx.variables())
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
            if _is_member(session, it.workspace_id, user_id):
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
            if it.platform in HIDE_PLATFORMS:
                # Imported here: importing the module registers the durable hide job.
                from socialpulse.inbox import moderation

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
                    _CONDITIONS.validate_python(wf.conditions),
                    _ACTIONS.validate_python(wf.actions),
                )
            )
        except ValidationError as exc:
            # Rows are validated on create/update; one written another way is skipped, loudly.
            log.error("inbox.workflow.invalid_definition", workflow_id=wf.id, error=str(exc))
    return compiled


def _run_one(session: Session, wf: _Compiled, ctx: _Context, now: dt.datetime) -> _Outcome | None:
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
        _apply_action(session, workflow, action, ctx, outcome)
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


def _existing_matches(
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

SUGGESTION_LANGUAGES = ("en", "es", "pt", "fr", "de")
SUGGESTION_TEMPLATES: dict[str, dict[str, str]] = {
    "praise": {
        "en": "Thank you so much, {fan_name}! Comments like yours make our day.",
        "es": "¡Muchas gracias, {fan_name}! Comentarios como el tuyo nos alegran el día.",
        "pt": "Muito obrigado, {fan_name}! Comentários como o seu fazem o nosso dia.",
        "fr": "Merci beaucoup, {fan_name} ! Des commentaires comme le vôtre illuminent "
        "notre journée.",
        "de": "Vielen Dank, {fan_name}! Kommentare wie deiner machen uns den Tag.",
    },
    "question": {
        "en": "Great question, {fan_name}! We'll get back to you with the details shortly.",
        "es": "¡Buena pregunta, {fan_name}! Te respondemos con los detalles muy pronto.",
        "pt": "Ótima pergunta, {fan_name}! Vamos te responder com os detalhes em breve.",
        "fr": "Bonne question, {fan_name} ! Nous revenons vers vous très vite avec les détails.",
        "de": "Gute Frage, {fan_name}! Wir melden uns in Kürze mit den Details.",
    },
    "complaint": {
        "en": "We're really sorry about this, {fan_name}. Thank you for telling us: we're "
        "looking into it and will make it right.",
        "es": "Lamentamos mucho lo ocurrido, {fan_name}. Gracias por avisarnos: lo estamos "
        "revisando y lo vamos a solucionar.",
        "pt": "Sentimos muito por isso, {fan_name}. Obrigado por nos avisar: já estamos "
        "verificando e vamos resolver.",
        "fr": "Nous sommes vraiment désolés, {fan_name}. Merci de nous l'avoir signalé : nous "
        "examinons le problème et allons arranger les choses.",
        "de": "Das tut uns wirklich leid, {fan_name}. Danke für den Hinweis: Wir kümmern uns "
        "darum und bringen das in Ordnung.",
    },
    "purchase_intent": {
        "en": "Thanks for your interest, {fan_name}! Send us a message and we'll help you "
        "get yours.",
        "es": "¡Gracias por tu interés, {fan_name}! Escríbenos un mensaje y te ayudamos a "
        "conseguir el tuyo.",
        "pt": "Obrigado pelo interesse, {fan_name}! Manda uma mensagem para a gente e "
        "ajudamos você a garantir o seu.",
        "fr": "Merci pour votre intérêt, {fan_name} ! Envoyez-nous un message et nous vous "
        "aiderons à obtenir le vôtre.",
        "de": "Danke für dein Interesse, {fan_name}! Schreib uns eine Nachricht und wir "
        "helfen dir gerne weiter.",
    },
}


def suggest_reply(ctx: _Context, min_confidence: float) -> tuple[str, str] | None:
    """The intent-based reply for this interaction as (text, source), or None when its intent
    has no template or the classifier is less confident than `min_confidence`."""
    it = ctx.interaction
    templates = SUGGESTION_TEMPLATES.get(it.ai_intent or "")
    if templates is None or it.ai_intent_confidence is None:
        return None
    if it.ai_intent_confidence < min_confidence:
        return None
    language = it.ai_language if it.ai_language in SUGGESTION_LANGUAGES else "en"
    return render_template(templates[language], ctx.variables()), f"intent:{it.ai_intent}"


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
    by_workspace: dict[int, list[Interaction]] = defaultdict(list)
    for interaction in interactions:
        by_workspace[interaction.workspace_id].append(interaction)
    for workspace_id, items in by_workspace.items():
        subject = _system_subject(workspace_id)
        workflows = _active_workflows(session, subject, WorkflowTrigger.new_interaction)
        done = _existing_matches(session, subject, [it.id for it in items])
        threshold = _suggestion_threshold(session, workspace_id)
        for interaction in items:
            ctx = _load_context(session, interaction)
            auto_replied = False
            for wf in workflows:
                if (wf.workflow.id, interaction.id) in done:
                    continue
                outcome = _run_one(session, wf, ctx, now)
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
    `trigger_hours` after they arrived (`ingested_at`), with no reply pending in the queue.
    Each workflow acts on an interaction once; at most 500 interactions per workflow per run
    (the next run continues)."""
    now = now or utcnow()
    stats = {"workflows": 0, "checked": 0, "matched": 0}
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
            due: dict[int, set[int]] = {}  # interaction id → ids of workflows due on it
            for wf in workflows:
                for interaction_id in _due_interactions(session, subject, wf.workflow, now):
                    due.setdefault(interaction_id, set()).add(wf.workflow.id)
            for interaction_id in sorted(due):
                interaction = get_scoped(session, Interaction, interaction_id, subject)
                ctx = _load_context(session, interaction)
                stats["checked"] += 1
                for wf in workflows:
                    if wf.workflow.id not in due[interaction_id]:
                        continue
                    if interaction.status not in WAITING_STATUSES:
                        break  # an earlier workflow in this pass answered, ignored or flagged it
                    if _run_one(session, wf, ctx, now) is not None:
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
            Interaction.ingested_at <= cutoff,
            ~already,
            ~reply_live,
        )
        .order_by(Interaction.ingested_at, Interaction.id)
        .limit(TIME_TRIGGER_BATCH)
    )
    return list(session.scalars(stmt).all())


def run_workflow_time_triggers() -> dict[str, int]:
    """Periodic (every 5 minutes): the `unanswered_for` workflows of every workspace."""
    return run_time_triggers(get_database())


def dry_run(
    session: Session,
    subject: Subject,
    workflow_definition: WorkflowDefinition,
    limit: int = 100,
    *,
    workflow_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[DryRunResult]:
    """What the workflow would do to the workspace's latest `limit` interactions, changing
    nothing: conditions are evaluated and actions described, never applied.

    Editors only, like saving: a dry run evaluates the caller's own patterns over up to 500
    interactions, which is work a read-only key has no reason to ask of the server."""
    subject.require(Role.editor)
    _validate_members(session, subject, workflow_definition.actions)
    now = now or utcnow()
    limit = max(1, min(limit, DRY_RUN_MAX))
    interactions = session.scalars(
        scoped(select(Interaction), subject)
        .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    applied: set[tuple[int, int]] = set()
    if workflow_id is not None:
        applied = _existing_matches(session, subject, [it.id for it in interactions])
    results = []
    for interaction in interactions:
        ctx = _load_context(session, interaction)
        ok, reason = evaluate(workflow_definition.conditions, ctx)
        if ok and workflow_definition.trigger == WorkflowTrigger.unanswered_for:
            ok, reason = _due_words(workflow_definition, interaction, now, reason)
        results.append(
            DryRunResult(
                interaction_id=interaction.id,
                platform=interaction.platform,
                author_handle=interaction.author_handle,
                excerpt=(interaction.text or "")[:200],
                matched=ok,
                reason=reason,
                actions=[describe_action(a, ctx) for a in workflow_definition.actions]
                if ok
                else [],
                already_applied=(workflow_id, interaction.id) in applied,
            )
        )
    return results


def dry_run_saved(
    session: Session, subject: Subject, workflow_id: int, limit: int = 100
) -> list[DryRunResult]:
    """A dry run of a stored workflow (`already_applied` marks what it has acted on)."""
    subject.require(Role.editor)  # before loading: a viewer learns nothing about the workflow
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    return dry_run(session, subject, definition_of(workflow), limit, workflow_id=workflow.id)


def _due_words(
    definition: WorkflowDefinition, interaction: Interaction, now: dt.datetime, reason: str
) -> tuple[bool, str]:
    hours = definition.trigger_hours or 0.0
    if interaction.status not in WAITING_STATUSES:
        return False, f"already {interaction.status.value}"
    waited = (now - interaction.ingested_at).total_seconds() / 3600
    if waited < hours:
        return False, f"{reason}; waiting {waited:.1f} h of {hours:g} h"
    return True, f"{reason}; unanswered for {waited:.1f} h (≥ {hours:g} h)"


# --------------------------------------------------------------------------- CRUD


def _validate_members(session: Session, subject: Subject, actions: Sequence[Action]) -> None:
    for action in actions:
        if isinstance(action, AssignAction) and not _is_member(
            session, subject.workspace_id, action.user_id
        ):
            raise InvalidInput(
                f"assign: user {action.user_id} is not a member of this workspace",
                details={"user_id": action.user_id},
            )


def _dump(items: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def list_workflows(session: Session, subject: Subject) -> list[Workflow]:
    stmt = scoped(select(Workflow), subject).order_by(Workflow.priority, Workflow.id)
    return list(session.scalars(stmt).all())


def get_workflow(session: Session, subject: Subject, workflow_id: int) -> Workflow:
    return get_scoped(session, Workflow, workflow_id, subject)


def create_workflow(session: Session, subject: Subject, body: WorkflowCreate) -> Workflow:
    subject.require(Role.editor)
    _validate_members(session, subject, body.actions)
    now = utcnow()
    workflow = Workflow(
        workspace_id=subject.workspace_id,
        name=body.name,
        status=body.status,
        priority=body.priority,
        trigger=body.trigger,
        trigger_hours=body.trigger_hours,
        conditions=_dump(body.conditions),
        actions=_dump(body.actions),
        stop_processing=body.stop_processing,
        created_at=now,
        updated_at=now,
    )
    session.add(workflow)
    session.flush()
    log.info("inbox.workflow.created", workflow_id=workflow.id, actor=subject.actor)
    return workflow


def update_workflow(
    session: Session, subject: Subject, workflow_id: int, body: WorkflowUpdate
) -> Workflow:
    subject.require(Role.editor)
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    changes = body.model_dump(exclude_unset=True)
    merged: dict[str, Any] = {
        "name": workflow.name,
        "status": workflow.status,
        "priority": workflow.priority,
        "trigger": workflow.trigger,
        "trigger_hours": workflow.trigger_hours,
        "conditions": workflow.conditions,
        "actions": workflow.actions,
        "stop_processing": workflow.stop_processing,
    }
    merged.update(changes)
    if changes.get("trigger") == WorkflowTrigger.new_interaction and "trigger_hours" not in changes:
        merged["trigger_hours"] = None
    try:
        definition = WorkflowDefinition.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc
    _validate_members(session, subject, definition.actions)
    workflow.name = definition.name
    workflow.status = definition.status
    workflow.priority = definition.priority
    workflow.trigger = definition.trigger
    workflow.trigger_hours = definition.trigger_hours
    workflow.conditions = _dump(definition.conditions)
    workflow.actions = _dump(definition.actions)
    workflow.stop_processing = definition.stop_processing
    workflow.updated_at = utcnow()
    session.flush()
    log.info("inbox.workflow.updated", workflow_id=workflow.id, actor=subject.actor)
    return workflow


def delete_workflow(session: Session, subject: Subject, workflow_id: int) -> None:
    subject.require(Role.editor)
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    session.delete(workflow)
    session.flush()
    log.info("inbox.workflow.deleted", workflow_id=workflow_id, actor=subject.actor)


def recent_matches(
    session: Session, subject: Subject, workflow_id: int, limit: int = 50
) -> list[WorkflowMatch]:
    get_scoped(session, Workflow, workflow_id, subject)
    stmt = (
        scoped(select(WorkflowMatch), subject)
        .where(WorkflowMatch.workflow_id == workflow_id)
        .order_by(WorkflowMatch.matched_at.desc(), WorkflowMatch.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt).all())


def definition_of(workflow: Workflow) -> WorkflowDefinition:
    """A stored workflow as a definition (for dry runs of saved workflows). InvalidInput when
    it no longer validates, e.g. a pattern saved before regexes ran on RE2 (a lookahead): such
    a workflow is skipped when it would run, and the message says what to change."""
    try:
        return WorkflowDefinition.model_validate(
            {
                "name": workflow.name,
                "status": workflow.status,
                "priority": workflow.priority,
                "trigger": workflow.trigger,
                "trigger_hours": workflow.trigger_hours,
                "conditions": workflow.conditions,
                "actions": workflow.actions,
                "stop_processing": workflow.stop_processing,
            }
        )
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc


def parse_definition(data: dict[str, Any]) -> WorkflowDefinition:
    """Validate a definition from JSON (dashboard editor); InvalidInput with a clear message."""
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"invalid workflow: {where}: {first['msg']}" if where else first["msg"]
