"""Mentions and direct messages: polling them from the platforms that expose them (Mastodon
today) into the inbox as `Interaction` rows of kind `mention` / `direct_message`.

What is read (https://docs.joinmastodon.org/methods/notifications/ and
https://docs.joinmastodon.org/methods/conversations/): notifications of type `mention` (a
mention whose status has `visibility: direct` is a direct message) and the last status of each
direct conversation. Both need a user access token, so only accounts whose credentials hold an
`access_token` are polled; the others are skipped with the reason in the result.

The cursor. There is no column for it, and the platform's `since_id` cannot be derived from
what is stored: notification ids are not status ids, and we store status ids (so that a mention
that is also a reply on one of the account's posts, read by the comment poll as well, is one
interaction). The cursor is therefore the newest stored mention / DM of the account (its status
id, see `newest_stored_id`). Both listings are read newest first, and the walk stops at the page
that reaches the cursor or brings nothing new, or after `MAX_PAGES` pages.

Like comment polling, no database transaction is held across a platform call.

On demand: `request_mention_poll` (the API's "check now") queues the durable job
`inbox.poll_account_mentions` for one account, deduplicated while one is pending; the periodic
task and the CLI (`socialpulse inbox poll-mentions`) call `poll_account_mentions` directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, Post, TrackedAccount
from socialpulse.accounts.service import (
    SourceFactory,
    build_source,
    credentials_of,
    get_account,
)
from socialpulse.ai.schemas import TextAnalysis
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import Interaction, InteractionKind, InteractionStatus
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.mastodon import parse as mastodon_parse
from socialpulse.worker.jobs import JobContext, enqueue_job, job_handler
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

log = structlog.get_logger(__name__)

POLL_JOB = "inbox.poll_account_mentions"
# Platforms whose API lets an application read the mentions and DMs of a connected account.
MENTION_PLATFORMS = frozenset({"mastodon"})
# Pages read per listing per poll at most (40 to 80 items a page).
MAX_PAGES = 5
MENTION_KINDS = (InteractionKind.mention, InteractionKind.direct_message)
NEEDS_TOKEN = (
    "mentions and direct messages need the account connected with an access token "
    "(scopes read:notifications and read:statuses)"
)


@dataclass
class MentionPollResult:
    account_id: int
    status: str  # completed | skipped | failed | retry
    seen: int = 0
    new: int = 0
    reason: str | None = None


@dataclass
class _Listing:
    items: list[pb.Comment] = field(default_factory=list)
    error: pb.ProviderError | None = None


def newest_stored_id(session: Session, account_id: int) -> str | None:
    """The account's cursor: the external id of its newest stored mention or DM."""
    return session.scalar(
        select(Interaction.external_id)
        .where(Interaction.account_id == account_id, Interaction.kind.in_(MENTION_KINDS))
        .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
        .limit(1)
    )


def _read_newest_first(
    fetch: Callable[[str | None], pb.Page[pb.Comment]],
    stop_at: str | None,
    is_known: Callable[[Sequence[pb.Comment]], int],
) -> _Listing:
    """Pages until one reaches `stop_at`, brings nothing new, or the listing ends. A failure
    keeps what was read before it."""
    listing = _Listing()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        try:
            page = fetch(cursor)
        except pb.ProviderError as exc:
            listing.error = exc
            return listing
        listing.items.extend(page.items)
        if not page.next_cursor or page.next_cursor == cursor:
            break
        if stop_at is not None and any(c.external_id == stop_at for c in page.items):
            break
        if page.items and is_known(page.items) == len(page.items):
            break
        cursor = page.next_cursor
    return listing


def _kind(comment: pb.Comment, from_conversations: bool) -> InteractionKind:
    if from_conversations or mastodon_parse.is_direct(comment):
        return InteractionKind.direct_message
    return InteractionKind.mention


def store_mentions(
    session: Session,
    account: TrackedAccount,
    items: Sequence[tuple[pb.Comment, InteractionKind]],
    *,
    analyses: dict[str, TextAnalysis] | None = None,
    now: dt.datetime | None = None,
) -> inbox_service.IngestOutcome:
    """Store mentions / DMs of one account, deduplicated by (workspace, platform, external id).

    Like `inbox.service.ingest_comments` (analysis, fans, threads, workflows, fan scores) but
    with the kind given per item, and `post_id` set when the status replies to one of the
    account's stored posts. A status already stored (e.g. read by the comment poll as a reply)
    is left as it is."""
    now = now or utcnow()
    outcome = inbox_service.IngestOutcome(seen=len(items))
    unique = list({c.external_id: (c, kind) for c, kind in items}.values())
    if not unique:
        return outcome
    platform = account.platform
    known = inbox_service.known_external_ids(
        session, account.workspace_id, platform, [c.external_id for c, _ in unique]
    )
    fresh = [(c, kind) for c, kind in unique if c.external_id not in known]
    if not fresh:
        return outcome
    comments = [c for c, _ in fresh]
    analyses = dict(analyses or {})
    analyses.update(
        inbox_service.analyse_comments([c for c in comments if c.external_id not in analyses])
    )
    replied_to = sorted({c.parent_external_id for c in comments if c.parent_external_id})
    posts: dict[str, int] = (
        dict(
            session.execute(
                select(Post.external_id, Post.id).where(
                    Post.account_id == account.id, Post.external_id.in_(replied_to)
                )
            ).all()
        )
        if replied_to
        else {}
    )
    others = [c for c in comments if c.author_external_id != account.external_id]
    fan_ids = fan_service.upsert_fans(session, account.workspace_id, others, now=now)
    rows = []
    for comment, kind in fresh:
        analysis = analyses[comment.external_id]
        own = comment.author_external_id == account.external_id
        post_id = posts.get(comment.parent_external_id or "")
        rows.append(
            {
                "workspace_id": account.workspace_id,
                "account_id": account.id,
                "post_id": post_id,
                "fan_id": None if own else fan_ids.get(comment.author_external_id),
                "platform": platform,
                "kind": kind,
                "external_id": comment.external_id,
                # A reply to the post itself is top-level in the inbox, as for comments.
                "parent_external_id": None if post_id else comment.parent_external_id,
                "author_external_id": comment.author_external_id,
                "author_handle": comment.author_handle,
                "author_display_name": comment.author_display_name,
                "text": comment.text or "",
                "url": comment.url,
                "like_count": comment.like_count,
                "posted_at": comment.posted_at,
                "ingested_at": now,
                "status": InteractionStatus.answered if own else InteractionStatus.unread,
                "answered_at": comment.posted_at if own else None,
                "labels": [],
                "priority": inbox_service.base_priority(analysis),
                "hidden": False,
                **inbox_service.ai_columns(analysis),
            }
        )
    stored = inbox_service.store_interaction_rows(
        session, account.workspace_id, platform, rows, [c.external_id for c in comments], now
    )
    threaded = [c for c in comments if posts.get(c.parent_external_id or "") is None]
    inbox_service._link_threads(session, account.workspace_id, platform, threaded)
    outcome.new_ids = [stored[c.external_id] for c in comments if c.external_id in stored]
    for_workflows = [
        stored[c.external_id]
        for c in comments
        if c.external_id in stored and c.author_external_id != account.external_id
    ]
    if for_workflows:
        from socialpulse.inbox.workflows import apply_new_interaction_workflows

        apply_new_interaction_workflows(session, for_workflows)
    outcome.fan_ids = sorted(set(fan_ids.values()))
    counts = fan_service.refresh_fans(session, account.workspace_id, outcome.fan_ids, now=now)
    outcome.promoted, outcome.demoted = counts.promoted, counts.demoted
    session.flush()
    return outcome


def _with_instance(account: TrackedAccount, credentials: dict[str, Any]) -> dict[str, Any]:
    """Mastodon ids are instance-local: ask the instance of the account's handle unless the
    credentials name one."""
    if credentials.get("instance"):
        return credentials
    _, host = mastodon_parse.split_handle(account.handle)
    return {**credentials, "instance": host} if host else credentials


def poll_account_mentions(
    db: Database,
    account_id: int,
    *,
    box: SecretBox,
    source_factory: SourceFactory | None = None,
    now: dt.datetime | None = None,
) -> MentionPollResult:
    """Read the account's new mentions and DMs and store them.

    Skipped (nothing called) when the platform has no such API or the account has no access
    token; rejected credentials mark the account as needing a reconnect; a failure after some
    pages keeps what was read."""
    now = now or utcnow()
    with db.session(readonly=True) as session:
        account = session.get(TrackedAccount, account_id)
        if account is None:
            raise NotFound(f"account {account_id} not found")
        stop_at = newest_stored_id(session, account_id)
        session.expunge(account)
    bound = log.bind(account_id=account_id, platform=account.platform)
    unsupported = unsupported_reason(account.platform)
    if unsupported is not None:
        return MentionPollResult(account_id, "skipped", reason=unsupported)
    credentials = credentials_of(account, box)
    if not credentials.get("access_token"):
        bound.info("inbox.mentions.skipped", reason=NEEDS_TOKEN)
        return MentionPollResult(account_id, "skipped", reason=NEEDS_TOKEN)
    info = registry.get_provider(account.platform)
    observer = BudgetObserver(db, account.workspace_id)
    try:
        source = (source_factory or build_source)(
            info, _with_instance(account, credentials), observer
        )
    except InvalidInput as exc:
        return MentionPollResult(account_id, "failed", reason=str(exc))

    def is_known(items: Sequence[pb.Comment]) -> int:
        with db.session(readonly=True) as session:
            ids = [c.external_id for c in items]
            return len(
                inbox_service.known_external_ids(
                    session, account.workspace_id, account.platform, ids
                )
            )

    mentions = _read_newest_first(source.list_mentions, stop_at, is_known)
    conversations = _Listing()
    if mentions.error is None:
        conversations = _read_newest_first(source.list_conversations, stop_at, is_known)
    items = [(c, _kind(c, False)) for c in mentions.items]
    items += [(c, _kind(c, True)) for c in conversations.items]
    with db.session(readonly=True) as session:
        known = inbox_service.known_external_ids(
            session, account.workspace_id, account.platform, [c.external_id for c, _ in items]
        )
    fresh = list({c.external_id: c for c, _ in items if c.external_id not in known}.values())
    analyses = inbox_service.analyse_comments(fresh)
    error = mentions.error or conversations.error
    status, message = "completed", None
    with db.session() as session:
        observer.flush(session)
        stored_account = session.get(TrackedAccount, account_id)
        assert stored_account is not None
        outcome = store_mentions(session, stored_account, items, analyses=analyses, now=now)
        if error is not None:
            status, message, _ = inbox_service._classify(info.display_name, error, now)
            if isinstance(error, pb.AuthError):
                session.execute(
                    update(TrackedAccount)
                    .where(TrackedAccount.id == account_id)
                    .values(status=AccountStatus.needs_reconnect, status_message=message)
                )
    (bound.info if error is None else bound.warning)(
        "inbox.mentions.polled", status=status, seen=len(items), new=len(outcome.new_ids)
    )
    return MentionPollResult(
        account_id, status, seen=len(items), new=len(outcome.new_ids), reason=message
    )


def poll_all_mentions(
    db: Database,
    *,
    box: SecretBox,
    source_factory: SourceFactory | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Poll every active own account on a platform with mentions, not awaiting a reconnect."""
    with db.session(readonly=True) as session:
        account_ids = list(
            session.scalars(
                select(TrackedAccount.id)
                .where(
                    TrackedAccount.platform.in_(sorted(MENTION_PLATFORMS)),
                    TrackedAccount.active.is_(True),
                    TrackedAccount.is_own.is_(True),
                    TrackedAccount.status != AccountStatus.needs_reconnect,
                )
                .order_by(TrackedAccount.id)
            )
        )
    counts = {"accounts": len(account_ids), "new": 0, "completed": 0, "skipped": 0, "failed": 0}
    for account_id in account_ids:
        result = poll_account_mentions(
            db, account_id, box=box, source_factory=source_factory, now=now
        )
        counts["new"] += result.new
        key = result.status if result.status in ("completed", "skipped") else "failed"
        counts[key] += 1
    return counts


def unsupported_reason(platform: str) -> str | None:
    """Why mentions of an account on ``platform`` cannot be read; None when they can."""
    if platform in MENTION_PLATFORMS:
        return None
    supported = ", ".join(sorted(MENTION_PLATFORMS))
    return (
        f"socialpulse cannot read mentions or direct messages on {platform}; it can on {supported}"
    )


def request_mention_poll(session: Session, subject: Subject, account_id: int) -> int:
    """Queue a poll of one account's mentions and DMs now (editor); returns the job id.

    A poll of the account still pending is reused, so pressing "check now" twice polls once."""
    subject.require(Role.editor)
    account = get_account(session, subject, account_id)
    reason = unsupported_reason(account.platform)
    if reason is not None:
        raise InvalidInput(reason)
    if account.credentials_encrypted is None:  # the poll would only be skipped
        raise InvalidInput(NEEDS_TOKEN)
    job = enqueue_job(
        session,
        POLL_JOB,
        {"account_id": account.id},
        workspace_id=account.workspace_id,
        dedupe_key=f"mentions:{account.id}",
    )
    return job.id


@job_handler(POLL_JOB, lease_s=300, max_attempts=3)
def poll_account_mentions_job(ctx: JobContext) -> dict[str, Any]:
    """The on-demand poll. Provider failures are part of the result (the periodic poll tries
    again within 5 minutes); only a crash is retried by the job engine."""
    from socialpulse.config import get_settings

    account_id = int(ctx.payload["account_id"])
    with ctx.db.session(readonly=True) as session:
        owner = session.scalar(
            select(TrackedAccount.workspace_id).where(TrackedAccount.id == account_id)
        )
    if owner is None or (ctx.workspace_id is not None and owner != ctx.workspace_id):
        reason = f"account {account_id} no longer exists"
        return asdict(MentionPollResult(account_id, "skipped", reason=reason))
    result = poll_account_mentions(
        ctx.db, account_id, box=SecretBox(get_settings().resolved_secret_key())
    )
    return asdict(result)


def poll_mentions() -> dict[str, int]:
    """Periodic (every 5 minutes): new mentions and DMs of the connected Mastodon accounts."""
    from socialpulse.config import get_settings
    from socialpulse.db import get_database

    return poll_all_mentions(get_database(), box=SecretBox(get_settings().resolved_secret_key()))
