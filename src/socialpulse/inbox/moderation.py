"""Hiding comments on the platform: the durable job behind the workflow action ``hide``.

The workflow marks the interaction ``hidden`` in the inbox at once and enqueues
``inbox.hide_interaction``; this job then hides the comment where the platform allows it
(YouTube: held for review, Instagram: hidden, the simulated platform: recorded).

The outcome is written on the interaction as a label, in the same transaction that completes
the job (so a worker that lost its lease never records twice):

* ``hidden-on-platform``: the platform confirmed; a retried or duplicate job stops there;
* ``hide-failed``: the platform refused for good (the log and the job's ``result`` say why).

Hiding is idempotent on every supported platform, so a crash between the call and the commit
only costs one repeated call. Transient failures (timeouts, 5xx, throttles, the workspace's
API budget) raise, and the job engine retries with backoff; the last attempt records
``hide-failed``. Rejected credentials mark the account ``needs_reconnect`` and are not retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.db import Database
from socialpulse.inbox.models import Interaction
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers.publishing import CommentHider, Publisher
from socialpulse.providers.registry import MissingCredentialsError
from socialpulse.worker.jobs import JobContext, job_handler

__all__ = [
    "FAILED_LABEL",
    "HIDDEN_LABEL",
    "HIDE_JOB",
    "HideResult",
    "enqueue_hide",
    "hide_on_platform",
]

log = structlog.get_logger(__name__)

HIDE_JOB = "inbox.hide_interaction"
HIDDEN_LABEL = "hidden-on-platform"
FAILED_LABEL = "hide-failed"
MAX_ATTEMPTS = 5

PublisherFactory = Callable[[TrackedAccount, pb.CallObserver], Publisher]
# Worth another try later: the platform (or our budget) said "not now".
RETRYABLE = (
    pb.TransientError,
    pb.QuotaExhaustedError,
    pb.CircuitOpenError,
    pb.BudgetDeferredError,
)


@dataclass(frozen=True)
class HideResult:
    """``status``: hidden | already_hidden | skipped | failed; ``detail`` says why."""

    status: str
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail}


def enqueue_hide(session: Session, interaction: Interaction) -> None:
    """Queue the platform hide of ``interaction`` (once: a pending job is reused)."""
    from socialpulse.worker.jobs import enqueue_job

    if interaction.id is None:  # a comment being ingested in this very transaction
        session.flush()
    enqueue_job(
        session,
        HIDE_JOB,
        {"interaction_id": interaction.id},
        workspace_id=interaction.workspace_id,
        dedupe_key=f"hide:{interaction.id}",
    )


def _load(
    db: Database, interaction_id: int, workspace_id: int | None
) -> tuple[Interaction, TrackedAccount] | HideResult:
    with db.session(readonly=True) as session:
        query = select(Interaction).where(Interaction.id == interaction_id)
        if workspace_id is not None:
            query = query.where(Interaction.workspace_id == workspace_id)
        it = session.scalar(query)
        if it is None:
            return HideResult("skipped", f"interaction {interaction_id} no longer exists")
        if HIDDEN_LABEL in (it.labels or []):
            return HideResult("already_hidden")
        if not it.hidden:
            return HideResult("skipped", "the interaction was unhidden in the inbox since")
        account = session.get(TrackedAccount, it.account_id)
        if account is None:  # pragma: no cover - the foreign key cascades
            return HideResult("skipped", f"account {it.account_id} no longer exists")
        session.expunge(it)
        session.expunge(account)
        return it, account


def _needs_reconnect(db: Database, account_id: int, message: str) -> None:
    with db.session() as session:
        session.execute(
            update(TrackedAccount)
            .where(TrackedAccount.id == account_id)
            .values(status=AccountStatus.needs_reconnect, status_message=message[:4000])
            .execution_options(synchronize_session=False)
        )


def _record(
    db: Database,
    interaction_id: int,
    result: HideResult,
    finish: Callable[[Session, dict[str, Any]], None] | None,
) -> HideResult:
    with db.session() as session:
        it = session.get(Interaction, interaction_id)
        if it is not None and result.status in ("hidden", "failed"):
            labels = [label for label in (it.labels or []) if label != FAILED_LABEL]
            label = HIDDEN_LABEL if result.status == "hidden" else FAILED_LABEL
            it.labels = [*labels, label]  # a new list: JSON columns track rebinds
        if finish is not None:
            finish(session, result.as_dict())
    if result.status == "failed":
        log.warning("inbox.hide.failed", interaction_id=interaction_id, detail=result.detail)
    else:
        log.info(f"inbox.hide.{result.status}", interaction_id=interaction_id, detail=result.detail)
    return result


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
) -> HideResult:
    """Hide the interaction's comment on its platform and record the outcome.

    Raises a retryable ``ProviderError`` while ``attempt < max_attempts`` (the caller retries);
    ``finish(session, result)`` runs inside the transaction that records the outcome."""
    loaded = _load(db, interaction_id, workspace_id)
    if isinstance(loaded, HideResult):
        return _record(db, interaction_id, loaded, finish)
    it, account = loaded
    from socialpulse.inbox.replies import NoPublisher, publisher_for  # lazy: imports the inbox

    observer = BudgetObserver(db, account.workspace_id)
    try:
        if publisher_factory is not None:
            publisher = publisher_factory(account, observer)
        else:
            publisher = publisher_for(account, box, observer=observer)
    except MissingCredentialsError as exc:
        _needs_reconnect(db, account.id, str(exc))
        return _record(db, interaction_id, HideResult("failed", str(exc)), finish)
    except (NoPublisher, pb.ProviderError, ValueError) as exc:  # ValueError: undecryptable
        return _record(db, interaction_id, HideResult("failed", str(exc)), finish)
    if not (getattr(publisher, "can_hide", False) and isinstance(publisher, CommentHider)):
        detail = f"{account.platform} does not let socialpulse hide comments"
        return _record(db, interaction_id, HideResult("failed", detail), finish)
    try:
        publisher.hide(account, it)
    except pb.AuthError as exc:
        _needs_reconnect(db, account.id, str(exc))
        return _record(db, interaction_id, HideResult("failed", str(exc)), finish)
    except RETRYABLE as exc:
        if attempt < max_attempts:
            log.info("inbox.hide.retry", interaction_id=interaction_id, error=str(exc))
            raise
        detail = f"gave up after {attempt} attempts: {exc}"
        return _record(db, interaction_id, HideResult("failed", detail), finish)
    except pb.ProviderError as exc:  # not found, permanent
        return _record(db, interaction_id, HideResult("failed", str(exc)), finish)
    finally:
        with db.session() as session:
            observer.flush(session)
    return _record(db, interaction_id, HideResult("hidden"), finish)


@job_handler(HIDE_JOB, lease_s=120, max_attempts=MAX_ATTEMPTS)
def hide_interaction(ctx: JobContext) -> dict[str, Any]:
    from socialpulse.config import get_settings

    result = hide_on_platform(
        ctx.db,
        int(ctx.payload["interaction_id"]),
        box=SecretBox(get_settings().resolved_secret_key()),
        workspace_id=ctx.workspace_id,
        attempt=ctx.attempt,
        finish=lambda session, outcome: ctx.finish(session, outcome),
    )
    return result.as_dict()
