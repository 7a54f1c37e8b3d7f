"""Hiding and unhiding comments on the platform: what the durable jobs behind the workflow action
``hide`` and the inbox's Hide / Unhide buttons do (their handlers are in ``inbox.tasks``).

The inbox flag ``Interaction.hidden`` is what the user wants and changes at once; the jobs
``inbox.hide_interaction`` and ``inbox.unhide_interaction`` then make the platform agree (YouTube:
held for review / published again, Instagram: hidden / shown, the simulated platform: recorded).

The platform's side is written on the interaction as labels, in the same transaction that
completes the job (so a worker that lost its lease never records twice):

* ``hidden-on-platform``: the platform confirmed the comment is hidden; a retried or duplicate
  hide stops there, and an unhide removes it once the platform confirms;
* ``hide-failed`` / ``unhide-failed``: the platform refused for good (the job's ``result`` and
  ``failure_details`` say why). Asking again removes the label and tries again.

A job only acts while the flag still asks for it: a hide that is still pending when the user
unhides is skipped, and vice versa. A job already talking to the platform when the user changes
their mind finishes, and then queues the opposite job in the transaction that records it, so
the platform always ends up where the flag says.

Both calls are idempotent on every supported platform, so a crash between the call and the
commit only costs one repeated call. Failures worth another try raise ``RetryAt``: a throttle's
``Retry-After`` (or the circuit breaker's cool-down) is honoured and counts as one of the
``MAX_ATTEMPTS`` attempts; a used-up platform quota or workspace budget waits for its reset
without using an attempt (nothing was tried). The last attempt, or a wait longer than the job
engine allows (``MAX_RETRY_WAIT``), records the ``-failed`` label. Rejected credentials mark the
account ``needs_reconnect`` and are not retried.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.budget import BudgetObserver, seconds_until_next_quota_day
from socialpulse.accounts.models import TrackedAccount
from socialpulse.accounts.service import mark_needs_reconnect
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox.models import Interaction, InteractionKind
from socialpulse.inbox.replies.sender import NoPublisher, publisher_for
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import CommentHider, Publisher
from socialpulse.providers.registry import MissingCredentialsError
from socialpulse.worker.jobs import RetryAt, enqueue_job, retry_refusal
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

__all__ = [
    "FAILED_LABEL",
    "HIDDEN_LABEL",
    "HIDE_JOB",
    "UNHIDE_FAILED_LABEL",
    "UNHIDE_JOB",
    "can_hide",
    "HideResult",
    "HideState",
    "enqueue_hide",
    "enqueue_unhide",
    "failure_details",
    "hide_on_platform",
    "hide_state",
    "request_hide",
    "request_unhide",
    "unhide_on_platform",
]

log = structlog.get_logger(__name__)

HIDE_JOB = "inbox.hide_interaction"
UNHIDE_JOB = "inbox.unhide_interaction"
HIDDEN_LABEL = "hidden-on-platform"
FAILED_LABEL = "hide-failed"
UNHIDE_FAILED_LABEL = "unhide-failed"
MAX_ATTEMPTS = 5
# Only comments sit under the account's own posts; mentions and DMs cannot be hidden by it.
HIDEABLE_KINDS = frozenset({InteractionKind.comment, InteractionKind.reply})

Action = Literal["hide", "unhide"]
HideState = Literal["hidden", "hide_pending", "hide_failed", "unhide_pending", "unhide_failed"]
PublisherFactory = Callable[[TrackedAccount, pb.CallObserver], Publisher]
# Worth another try later: the platform (or our budget) said "not now".
RETRYABLE = (
    pb.TransientError,
    pb.QuotaExhaustedError,
    pb.CircuitOpenError,
    pb.BudgetDeferredError,
)
# Waits for a quota or budget reset: nothing was tried, so they do not use up an attempt.
QUOTA_WAITS = (pb.QuotaExhaustedError, pb.BudgetDeferredError)


@dataclass(frozen=True)
class HideResult:
    """The outcome of one hide or unhide job.

    ``status``: hidden | unhidden | already_hidden | already_visible | skipped | failed;
    ``detail`` says why."""

    status: str
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail}


def can_hide(platform: str) -> bool:
    """Whether the platform lets an account hide a comment under its own post."""
    try:
        return registry.get_provider(platform).supports(registry.Capability.HIDE)
    except registry.UnknownPlatformError:
        return False


# --- the state shown to the user ---------------------------------------------------------------


def hide_state(hidden: bool, labels: Iterable[str] | None) -> HideState | None:
    """Where the platform stands compared with what the inbox asks (None: visible, settled)."""
    present = set(labels or ())
    if hidden:
        if HIDDEN_LABEL in present:
            return "hidden"
        return "hide_failed" if FAILED_LABEL in present else "hide_pending"
    if UNHIDE_FAILED_LABEL in present:
        return "unhide_failed"
    return "unhide_pending" if HIDDEN_LABEL in present else None


def failure_details(
    session: Session, subject: Subject, interactions: Iterable[Interaction]
) -> dict[int, str]:
    """Why the last hide / unhide of each interaction in a failed state failed, by id.

    The reason lives on the job (its ``result``, or ``last_error`` when the engine gave up), not
    on the interaction; only interactions that show a failure are looked up."""
    wanted = {
        it.id: HIDE_JOB if state == "hide_failed" else UNHIDE_JOB
        for it in interactions
        if (state := hide_state(it.hidden, it.labels)) in ("hide_failed", "unhide_failed")
    }
    if not wanted:
        return {}
    rows = session.execute(
        scoped(select(Job), subject)
        .where(
            Job.kind.in_([HIDE_JOB, UNHIDE_JOB]),
            Job.status.in_([JobStatus.completed, JobStatus.failed]),
            Job.payload["interaction_id"].as_integer().in_(sorted(wanted)),
        )
        .order_by(Job.id.desc())
    ).scalars()
    details: dict[int, str] = {}
    seen: set[int] = set()
    for job in rows:  # newest first: only the last finished job of the failed kind counts
        interaction_id = int(job.payload["interaction_id"])
        if interaction_id in seen or wanted[interaction_id] != job.kind:
            continue
        seen.add(interaction_id)
        result = job.result or {}
        if job.status == JobStatus.failed:
            details[interaction_id] = job.last_error or "the job failed"
        elif result.get("status") == "failed":
            details[interaction_id] = str(result.get("detail") or "the platform refused")
    return details


# --- what the user asks for --------------------------------------------------------------------


def _enqueue(session: Session, kind: str, interaction: Interaction) -> None:
    if interaction.id is None:  # a comment being ingested in this very transaction
        session.flush()
    prefix = "hide" if kind == HIDE_JOB else "unhide"
    enqueue_job(
        session,
        kind,
        {"interaction_id": interaction.id},
        workspace_id=interaction.workspace_id,
        dedupe_key=f"{prefix}:{interaction.id}",
    )


def enqueue_hide(session: Session, interaction: Interaction) -> None:
    """Queue the platform hide of ``interaction`` (once: a pending job is reused)."""
    _enqueue(session, HIDE_JOB, interaction)


def enqueue_unhide(session: Session, interaction: Interaction) -> None:
    """Queue the platform unhide of ``interaction`` (once: a pending job is reused)."""
    _enqueue(session, UNHIDE_JOB, interaction)


def _without(labels: list[str] | None, *remove: str) -> list[str]:
    return [label for label in (labels or []) if label not in remove]


def request_hide(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    """Hide the interaction in the inbox now and on the platform after commit (editor).

    Idempotent: an interaction hidden on the platform, or with a hide pending, stays as it is;
    one whose hide failed is tried again."""
    subject.require(Role.editor)
    it = get_scoped(session, Interaction, interaction_id, subject)
    if not can_hide(it.platform):
        raise InvalidInput(f"{it.platform} does not let accounts hide comments")
    if it.kind not in HIDEABLE_KINDS:
        raise InvalidInput(f"only comments can be hidden, not a {it.kind.value.replace('_', ' ')}")
    it.hidden = True
    if FAILED_LABEL in (it.labels or []) or UNHIDE_FAILED_LABEL in (it.labels or []):
        # A new request: the old failure no longer describes what is happening.
        it.labels = _without(it.labels, FAILED_LABEL, UNHIDE_FAILED_LABEL)
    if HIDDEN_LABEL not in (it.labels or []):
        enqueue_hide(session, it)
    session.flush()
    return it


def request_unhide(session: Session, subject: Subject, interaction_id: int) -> Interaction:
    """Show the interaction in the inbox again now, and on the platform after commit if it was
    hidden there (editor). Idempotent; a pending hide is then skipped."""
    subject.require(Role.editor)
    it = get_scoped(session, Interaction, interaction_id, subject)
    it.hidden = False
    if FAILED_LABEL in (it.labels or []) or UNHIDE_FAILED_LABEL in (it.labels or []):
        it.labels = _without(it.labels, FAILED_LABEL, UNHIDE_FAILED_LABEL)
    if HIDDEN_LABEL in (it.labels or []):
        enqueue_unhide(session, it)
    session.flush()
    return it


# --- the jobs ----------------------------------------------------------------------------------


def _load(
    db: Database, interaction_id: int, workspace_id: int | None, action: Action
) -> tuple[Interaction, TrackedAccount] | HideResult:
    with db.session(readonly=True) as session:
        query = select(Interaction).where(Interaction.id == interaction_id)
        if workspace_id is not None:
            query = query.where(Interaction.workspace_id == workspace_id)
        it = session.scalar(query)
        if it is None:
            return HideResult("skipped", f"interaction {interaction_id} no longer exists")
        on_platform = HIDDEN_LABEL in (it.labels or [])
        if action == "hide":
            if on_platform:
                return HideResult("already_hidden")
            if not it.hidden:
                return HideResult("skipped", "the interaction was unhidden in the inbox since")
        else:
            if not on_platform:
                return HideResult("already_visible")
            if it.hidden:
                return HideResult("skipped", "the interaction was hidden again in the inbox since")
        account = session.get(TrackedAccount, it.account_id)
        if account is None:  # pragma: no cover - the foreign key cascades
            return HideResult("skipped", f"account {it.account_id} no longer exists")
        session.expunge(it)
        session.expunge(account)
        return it, account


def _needs_reconnect(db: Database, account_id: int, message: str) -> None:
    with db.session() as session:
        mark_needs_reconnect(session, account_id, message)


def _record(
    db: Database,
    interaction_id: int,
    action: Action,
    result: HideResult,
    finish: Callable[[Session, dict[str, Any]], None] | None,
) -> HideResult:
    with db.session() as session:
        it = session.get(Interaction, interaction_id)
        if it is not None:
            _apply(session, it, action, result)
        if finish is not None:
            finish(session, result.as_dict())
    event = f"inbox.{action}.{result.status}"
    if result.status == "failed":
        log.warning(event, interaction_id=interaction_id, detail=result.detail)
    else:
        log.info(event, interaction_id=interaction_id, detail=result.detail)
    return result


def _apply(session: Session, it: Interaction, action: Action, result: HideResult) -> None:
    """Write the platform's answer on the interaction (new lists: JSON columns track rebinds)."""
    wants_hidden = action == "hide"
    if result.status == "failed":
        # A failure the user no longer cares about (they changed their mind meanwhile) is moot.
        if it.hidden == wants_hidden:
            label = FAILED_LABEL if wants_hidden else UNHIDE_FAILED_LABEL
            it.labels = [*_without(it.labels, label), label]
        return
    if result.status not in ("hidden", "unhidden"):
        return
    if wants_hidden:
        it.labels = [*_without(it.labels, FAILED_LABEL, HIDDEN_LABEL), HIDDEN_LABEL]
    else:
        it.labels = _without(it.labels, HIDDEN_LABEL, UNHIDE_FAILED_LABEL)
    if it.hidden != wants_hidden:
        # The user changed their mind while the platform was being called: undo after commit.
        (enqueue_hide if it.hidden else enqueue_unhide)(session, it)


def _retry_or_give_up(
    exc: pb.ProviderError,
    platform: str,
    *,
    attempt: int,
    max_attempts: int,
    queued_at: dt.datetime | None = None,
) -> str:
    """Raise ``RetryAt`` for the wait the error asks for, or return why the job gives up."""
    now = utcnow()
    counts_attempt = not isinstance(exc, QUOTA_WAITS)
    wait = getattr(exc, "retry_after", None)
    if wait is None and not counts_attempt:
        wait = seconds_until_next_quota_day(exc.platform or platform, now)
    at = now + dt.timedelta(seconds=float(wait or 0))
    refusal = retry_refusal(
        at,
        attempt=attempt,
        max_attempts=max_attempts,
        counts_attempt=counts_attempt,
        now=now,
        queued_at=queued_at,
    )
    if refusal is None:
        raise RetryAt(str(exc), at=at, counts_attempt=counts_attempt) from exc
    return f"{refusal}: {exc}"


def _on_platform(
    db: Database,
    interaction_id: int,
    action: Action,
    *,
    box: SecretBox,
    workspace_id: int | None,
    attempt: int,
    max_attempts: int,
    publisher_factory: PublisherFactory | None,
    finish: Callable[[Session, dict[str, Any]], None] | None,
    queued_at: dt.datetime | None,
) -> HideResult:
    def record(result: HideResult) -> HideResult:
        return _record(db, interaction_id, action, result, finish)

    loaded = _load(db, interaction_id, workspace_id, action)
    if isinstance(loaded, HideResult):
        return record(loaded)
    it, account = loaded
    observer = BudgetObserver(db, account.workspace_id)
    try:
        if publisher_factory is not None:
            publisher = publisher_factory(account, observer)
        else:
            publisher = publisher_for(account, box, observer=observer)
    except MissingCredentialsError as exc:
        _needs_reconnect(db, account.id, str(exc))
        return record(HideResult("failed", str(exc)))
    except (NoPublisher, pb.ProviderError, ValueError) as exc:  # ValueError: undecryptable
        return record(HideResult("failed", str(exc)))
    if not (getattr(publisher, "can_hide", False) and isinstance(publisher, CommentHider)):
        return record(
            HideResult("failed", f"{account.platform} does not let socialpulse {action} comments")
        )
    try:
        if action == "hide":
            publisher.hide(account, it)
        else:
            publisher.unhide(account, it)
    except pb.AuthError as exc:
        _needs_reconnect(db, account.id, str(exc))
        return record(HideResult("failed", str(exc)))
    except RETRYABLE as exc:
        log.info(f"inbox.{action}.retry", interaction_id=interaction_id, error=str(exc))
        detail = _retry_or_give_up(
            exc, account.platform, attempt=attempt, max_attempts=max_attempts, queued_at=queued_at
        )
        return record(HideResult("failed", detail))
    except pb.ProviderError as exc:  # not found, permanent
        return record(HideResult("failed", str(exc)))
    finally:
        with db.session() as session:
            observer.flush(session)
    return record(HideResult("hidden" if action == "hide" else "unhidden"))


def hide_on_platform(
    db: Database,
    interaction_id: int,
    *,
    box: SecretBox,
    workspace_id: int | None = None,
    attempt: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
    publisher_factory: PublisherFactory | None = None,
    finish: Callable[[Session, dict[str, Any]], None] | None = None,
    queued_at: dt.datetime | None = None,
) -> HideResult:
    """Hide the interaction's comment on its platform and record the outcome.

    Raises ``RetryAt`` for a failure worth another try, unless this was the last attempt or
    the wait is too long (then the outcome is ``failed``); ``finish(session, result)`` runs
    inside the transaction that records the outcome."""
    return _on_platform(
        db,
        interaction_id,
        "hide",
        box=box,
        workspace_id=workspace_id,
        attempt=attempt,
        max_attempts=max_attempts,
        publisher_factory=publisher_factory,
        finish=finish,
        queued_at=queued_at,
    )


def unhide_on_platform(
    db: Database,
    interaction_id: int,
    *,
    box: SecretBox,
    workspace_id: int | None = None,
    attempt: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
    publisher_factory: PublisherFactory | None = None,
    finish: Callable[[Session, dict[str, Any]], None] | None = None,
    queued_at: dt.datetime | None = None,
) -> HideResult:
    """Show the interaction's comment on its platform again and record the outcome (like
    ``hide_on_platform``)."""
    return _on_platform(
        db,
        interaction_id,
        "unhide",
        box=box,
        workspace_id=workspace_id,
        attempt=attempt,
        max_attempts=max_attempts,
        publisher_factory=publisher_factory,
        finish=finish,
        queued_at=queued_at,
    )
