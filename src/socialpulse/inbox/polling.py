"""Polling: what to poll when, within each workspace's API budget, and the polls themselves:
the comments of one post (`poll_post_comments`) and the mentions and direct messages of one
account (`poll_account_mentions`). Provider failures are classified once
(`classify_failure`) for both.

Polling never holds a database transaction across a platform call: the poll is read in one
short transaction, the platform is called, the items are analysed, and everything is written
in a second one (on SQLite an open write transaction would hold the lock for the whole call).

Mentions and DMs (https://docs.joinmastodon.org/methods/notifications/ and
https://docs.joinmastodon.org/methods/conversations/), on platforms with `Capability.MENTIONS`:
notifications of type `mention` (one with `visibility: direct` is a DM) and the last status of
each direct conversation. Both need a user access token, so accounts without an `access_token`
are skipped with the reason. Both listings are read newest first down to the cursor
(`ingest.newest_stored_id`), a page with nothing new, or `MAX_MENTION_PAGES` pages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, Post, TrackedAccount
from socialpulse.accounts.service import (
    SourceFactory,
    build_source,
    credentials_of,
    get_account,
    mark_needs_reconnect,
    platform_name,
)
from socialpulse.db import Database, utcnow
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.inbox.ingest import (
    IngestKind,
    analyse_comments,
    ingest_interactions,
    known_external_ids,
    newest_stored_id,
    stored_reply_ids,
)
from socialpulse.inbox.models import CommentPoll
from socialpulse.inbox.reading import (
    Listing,
    ReplyReading,
    read_comments,
    read_missing_replies,
    read_newest_first,
)
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.mastodon import parse as mastodon_parse
from socialpulse.worker.jobs import enqueue_job
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, scoped

log = structlog.get_logger(__name__)

# Posts older than this are no longer polled: comments on old posts are rare, and the budget is
# better spent on fresh ones.
POLL_MAX_POST_AGE_DAYS = 30
# Quota units of one comments page (YouTube commentThreads.list costs 1 unit; the others have
# no unit quota and their budget, if any, counts calls).
UNITS_PER_POLL = 1

MINUTE_S = 60.0
HOUR_S = 3600.0
DAY_S = 86_400.0
# The interval ladder: (post younger than, interval while active). A post without a new comment
# in the last day moves one rung slower. 15 min → 1 h → 6 h → 24 h.
POLL_LADDER: tuple[tuple[float, float], ...] = (
    (1 * DAY_S, 15 * MINUTE_S),
    (3 * DAY_S, 1 * HOUR_S),
    (7 * DAY_S, 6 * HOUR_S),
    (POLL_MAX_POST_AGE_DAYS * DAY_S, 24 * HOUR_S),
)
MAX_INTERVAL_S = 24 * HOUR_S
ACTIVE_WITHIN_S = DAY_S
# After provider failures.
TRANSIENT_RETRY_S = 10 * MINUTE_S
PERMANENT_RETRY_S = DAY_S
AUTH_RETRY_S = DAY_S
GONE_RETRY_S = 7 * DAY_S


# --- the interval formula and the budget plan (pure) -------------------------------------------


def poll_interval_s(post_age_s: float, active: bool) -> float:
    """Seconds until the next poll of a post: by age, 15 min (< 1 day), 1 h (< 3 days),
    6 h (< 7 days), 24 h (older); one rung slower when the post had no new comment in the last
    day (`active` False)."""
    rungs = [interval for _, interval in POLL_LADDER]
    index = next(
        (i for i, (younger_than, _) in enumerate(POLL_LADDER) if post_age_s < younger_than),
        len(rungs) - 1,
    )
    if not active:
        index = min(index + 1, len(rungs) - 1)
    return rungs[index]


def poll_priority(post_age_s: float, active: bool) -> float:
    """Higher first: fresh and active posts before old and quiet ones."""
    return (100.0 if active else 0.0) + 100.0 / (1.0 + post_age_s / DAY_S)


@dataclass(frozen=True)
class PollDemand:
    poll_id: int
    interval_s: float
    priority: float


@dataclass(frozen=True)
class PollPlan:
    poll_id: int
    interval_s: float | None  # None: skipped until the next quota day
    units: int  # what this poll is expected to use until the quota day ends


def units_until(horizon_s: float, interval_s: float, units_per_poll: int) -> int:
    return units_per_poll * max(1, math.ceil(horizon_s / interval_s))


def fit_polls_to_budget(
    demands: Sequence[PollDemand],
    *,
    remaining_units: int,
    horizon_s: float,
    units_per_poll: int = UNITS_PER_POLL,
    max_interval_s: float = MAX_INTERVAL_S,
) -> list[PollPlan]:
    """Fit the wanted polls into what is left of today's budget.

    Each poll would use ``units_per_poll x ceil(horizon / interval)`` units until the quota day
    ends (``horizon_s``). When the sum exceeds ``remaining_units``, every interval is stretched
    by the same factor ``sum / remaining`` (capped at ``max_interval_s``); if that still does not
    fit (the cap), polls are kept by priority, highest first, and the rest skipped until the next
    quota day. Returned in priority order."""
    ordered = sorted(demands, key=lambda d: (-d.priority, d.poll_id))
    needed = sum(units_until(horizon_s, d.interval_s, units_per_poll) for d in ordered)
    factor = 1.0 if needed <= remaining_units else needed / max(remaining_units, 1)
    plans: list[PollPlan] = []
    left = remaining_units
    for demand in ordered:
        interval = min(max_interval_s, demand.interval_s * factor)
        interval = max(interval, demand.interval_s)
        units = units_until(horizon_s, interval, units_per_poll)
        if units <= left:
            plans.append(PollPlan(demand.poll_id, interval, units))
            left -= units
        else:
            plans.append(PollPlan(demand.poll_id, None, 0))
    return plans


# --- polling one post --------------------------------------------------------------------------


@dataclass
class PollResult:
    poll_id: int
    status: str  # completed | deferred | retry | failed | skipped
    comments_seen: int = 0
    interactions_new: int = 0
    api_calls: int = 0
    error: str | None = None
    next_poll_at: dt.datetime | None = None


def supports_comments(platform: str) -> bool:
    try:
        return registry.get_provider(platform).supports(registry.Capability.COMMENTS)
    except registry.UnknownPlatformError:
        return False


def _no_comments_reason(platform: str) -> str:
    return (
        f"{platform_name(platform)} does not let applications read comments, so socialpulse "
        "cannot poll them"
    )


def poll_post_comments(
    db: Database,
    poll_id: int,
    *,
    box: SecretBox,
    source_factory: SourceFactory | None = None,
    now: dt.datetime | None = None,
) -> PollResult:
    """Read the new comments of one post and store them; schedule the next poll.

    On platforms whose thread listing carries only some replies of a long thread (a
    `ReplySource`: YouTube), the replies it left out are read thread by thread afterwards.

    Outcomes users see on the poll (`last_error`) and the account: budget → deferred to the
    platform's next quota day; rejected credentials → the account needs reconnecting; platform
    down → retried in 10 min (or its Retry-After); a post gone → polled again in a week."""
    now = now or utcnow()
    with db.session(readonly=True) as session:
        poll = session.get(CommentPoll, poll_id)
        if poll is None:
            raise NotFound(f"comment poll {poll_id} not found")
        account = session.get(TrackedAccount, poll.account_id)
        post = session.get(Post, poll.post_id)
        assert account is not None and post is not None
        session.expunge_all()
    bound = log.bind(poll_id=poll_id, account_id=account.id, platform=account.platform)
    if not supports_comments(account.platform):
        reason = _no_comments_reason(account.platform)
        return _finish_poll(db, poll_id, "skipped", reason, now + dt.timedelta(days=365))
    info = registry.get_provider(account.platform)
    observer = BudgetObserver(db, account.workspace_id)
    newest_first = info.newest_first_comments

    def is_known(items: Sequence[pb.Comment]) -> int:
        with db.session(readonly=True) as session:
            ids = [c.external_id for c in items]
            return len(known_external_ids(session, account.workspace_id, account.platform, ids))

    def stored_replies(parent_external_ids: Sequence[str]) -> dict[str, set[str]]:
        with db.session(readonly=True) as session:
            return stored_reply_ids(
                session, account.workspace_id, account.platform, parent_external_ids
            )

    try:
        source = (source_factory or build_source)(info, credentials_of(account, box), observer)
    except InvalidInput as exc:
        return _finish_poll(
            db, poll_id, "failed", str(exc), now + dt.timedelta(seconds=AUTH_RETRY_S)
        )
    pages = read_comments(source, post.external_id, poll.cursor, newest_first, is_known)
    replies = ReplyReading()
    # After a failed listing the platform is refusing or failing: no reply calls on top of it.
    if pages.error is None and isinstance(source, pb.ReplySource):
        replies = read_missing_replies(source, post.external_id, pages, stored_replies)
    # Analyse outside any transaction: only what is not stored yet.
    with db.session(readonly=True) as session:
        known = known_external_ids(
            session, account.workspace_id, account.platform, [c.external_id for c in pages.comments]
        )
    fresh = [
        c for c in {c.external_id: c for c in pages.comments}.values() if c.external_id not in known
    ]
    analyses = analyse_comments(fresh)
    with db.session() as session:
        observer.flush(session)
        fresh_account = session.get(TrackedAccount, account.id)
        assert fresh_account is not None
        outcome = ingest_interactions(
            session, fresh_account, pages.comments, post_id=post.id, analyses=analyses, now=now
        )
        stored = session.get(CommentPoll, poll_id)
        assert stored is not None
        stored.cursor = pages.resume_cursor
        stored.last_polled_at = now
        stored.interactions_seen += len(outcome.new_ids)
        if outcome.new_ids:
            stored.last_new_at = now
        status, message, next_at = "completed", None, None
        error = pages.error
        if error is None:
            active = stored.last_new_at is not None and (
                (now - stored.last_new_at).total_seconds() < ACTIVE_WITHIN_S
            )
            age = (now - post.posted_at).total_seconds()
            next_at = now + dt.timedelta(seconds=poll_interval_s(age, active))
        else:
            status, message, next_at = classify_failure(info.display_name, error, now)
            if isinstance(error, pb.AuthError):
                mark_needs_reconnect(session, account.id, message)
        stored.last_error = message
        stored.next_poll_at = next_at
        session.flush()
    level = bound.info if error is None else bound.warning
    level(
        "inbox.poll.finished",
        status=status,
        seen=len(pages.comments),
        new=len(outcome.new_ids),
        reply_threads_read=replies.threads_read,
        reply_threads_left=replies.threads_left,
        error=message,
    )
    return PollResult(
        poll_id=poll_id,
        status=status,
        comments_seen=len(pages.comments),
        interactions_new=len(outcome.new_ids),
        api_calls=observer.calls,
        error=message,
        next_poll_at=next_at,
    )


def classify_failure(
    name: str, error: pb.ProviderError, now: dt.datetime
) -> tuple[str, str, dt.datetime]:
    """(status, message for the user, next poll) of a provider failure."""
    if isinstance(error, pb.BudgetDeferredError):
        wait = error.retry_after or budget_service.seconds_until_next_quota_day(error.platform, now)
        return "deferred", str(error), now + dt.timedelta(seconds=wait)
    if isinstance(error, pb.AuthError):
        message = f"{name} rejected the stored credentials ({error}); reconnect the account"
        return "failed", message, now + dt.timedelta(seconds=AUTH_RETRY_S)
    if isinstance(error, pb.NotFoundError):
        return (
            "failed",
            f"{name} no longer has this post ({error})",
            now + dt.timedelta(seconds=GONE_RETRY_S),
        )
    if isinstance(error, pb.TransientError | pb.QuotaExhaustedError | pb.CircuitOpenError):
        wait = max(TRANSIENT_RETRY_S, float(error.retry_after or 0))
        return (
            "retry",
            f"{name} did not answer ({error}); retrying later",
            now + dt.timedelta(seconds=wait),
        )
    return (
        "failed",
        f"{name} refused the request: {error}",
        now + dt.timedelta(seconds=PERMANENT_RETRY_S),
    )


def _finish_poll(
    db: Database, poll_id: int, status: str, message: str, next_at: dt.datetime
) -> PollResult:
    with db.session() as session:
        poll = session.get(CommentPoll, poll_id)
        assert poll is not None
        poll.last_error, poll.next_poll_at = message, next_at
    log.info("inbox.poll.finished", poll_id=poll_id, status=status, error=message)
    return PollResult(poll_id=poll_id, status=status, error=message, next_poll_at=next_at)


# --- the polling schedule ----------------------------------------------------------------------


def ensure_polls(
    session: Session, now: dt.datetime, *, account_id: int | None = None, own_only: bool = True
) -> int:
    """Create a `CommentPoll` (due now) for every recent post of active, connected accounts
    whose platform exposes comments. Only your own accounts are polled on schedule (replying to
    a competitor's audience is not what the inbox is for); `account_id` polls any one account."""
    platforms = [
        name for name, info in registry.all_providers().items() if info.supports("comments")
    ]
    query = (
        select(Post.id, Post.account_id, Post.workspace_id)
        .join(TrackedAccount, TrackedAccount.id == Post.account_id)
        .outerjoin(CommentPoll, CommentPoll.post_id == Post.id)
        .where(
            CommentPoll.id.is_(None),
            Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
            TrackedAccount.platform.in_(platforms),
        )
    )
    if account_id is not None:
        query = query.where(TrackedAccount.id == account_id)
    else:
        query = query.where(
            TrackedAccount.active.is_(True),
            TrackedAccount.status != AccountStatus.needs_reconnect,
        )
        if own_only:
            query = query.where(TrackedAccount.is_own.is_(True))
    rows = session.execute(query).all()
    for post_id, acct_id, workspace_id in rows:
        session.add(
            CommentPoll(
                workspace_id=workspace_id, account_id=acct_id, post_id=post_id, next_poll_at=now
            )
        )
    session.flush()
    return len(rows)


def _enqueue_poll(session: Session, poll: CommentPoll, run_after: dt.datetime | None = None) -> int:
    job = enqueue_job(
        session,
        "inbox.poll_comments",
        {"poll_id": poll.id},
        workspace_id=poll.workspace_id,
        dedupe_key=f"inbox.poll:{poll.id}",
        run_after=run_after,
    )
    return job.id


def schedule_polls(db: Database, now: dt.datetime | None = None) -> int:
    """Create polls for new posts and queue the polls that are due, within each workspace's
    daily budget per platform. Returns how many poll jobs were queued.

    Per (workspace, platform) with a budget, the wanted interval of each recent post is fitted
    into the units left today by `fit_polls_to_budget`: a poll is due when its `next_poll_at`
    has come *and* its (possibly stretched) interval has passed since the last poll; polls the
    budget cannot carry wait for the next quota day."""
    now = now or utcnow()
    queued = 0
    with db.session() as session:
        ensure_polls(session, now)
        rows = session.execute(
            select(CommentPoll, Post.posted_at, TrackedAccount.platform)
            .join(Post, Post.id == CommentPoll.post_id)
            .join(TrackedAccount, TrackedAccount.id == CommentPoll.account_id)
            .where(
                TrackedAccount.active.is_(True),
                TrackedAccount.is_own.is_(True),
                TrackedAccount.status != AccountStatus.needs_reconnect,
                Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
            )
            .order_by(CommentPoll.id)
        ).all()
        groups: dict[tuple[int, str], list[tuple[CommentPoll, dt.datetime]]] = {}
        for poll, posted_at, platform in rows:
            groups.setdefault((poll.workspace_id, platform), []).append((poll, posted_at))
        for (workspace_id, platform), polls in groups.items():
            queued += _schedule_group(session, workspace_id, platform, polls, now)
    if queued:
        log.info("inbox.polls.scheduled", queued=queued)
    return queued


def _schedule_group(
    session: Session,
    workspace_id: int,
    platform: str,
    polls: list[tuple[CommentPoll, dt.datetime]],
    now: dt.datetime,
) -> int:
    by_id = {poll.id: poll for poll, _ in polls}
    demands = []
    for poll, posted_at in polls:
        age = max(0.0, (now - posted_at).total_seconds())
        active = poll.last_new_at is not None and (
            (now - poll.last_new_at).total_seconds() < ACTIVE_WITHIN_S
        )
        demands.append(
            PollDemand(poll.id, poll_interval_s(age, active), poll_priority(age, active))
        )
    limit = budget_service.budget_for(session, workspace_id, platform)
    if limit is None:
        plans = [PollPlan(d.poll_id, d.interval_s, 0) for d in demands]
        left: int | None = None
    else:
        day = budget_service.quota_day(platform, now)
        left = max(
            0, limit.usable_units - budget_service.units_used(session, workspace_id, platform, day)
        )
        plans = fit_polls_to_budget(
            demands,
            remaining_units=left,
            horizon_s=budget_service.seconds_until_next_quota_day(platform, now),
        )
    queued = 0
    next_day = now + dt.timedelta(
        seconds=budget_service.seconds_until_next_quota_day(platform, now)
    )
    for plan in plans:
        poll = by_id[plan.poll_id]
        if plan.interval_s is None:
            if poll.next_poll_at <= now:
                poll.next_poll_at = next_day
                poll.last_error = (
                    f"{budget_service.deferral_prefix(platform)}waits for the next quota day so "
                    "fresher posts can be polled"
                )
            continue
        due = poll.next_poll_at <= now and (
            poll.last_polled_at is None
            or (now - poll.last_polled_at).total_seconds() >= plan.interval_s
        )
        if not due:
            continue
        if left is not None:
            if left < UNITS_PER_POLL:
                break
            left -= UNITS_PER_POLL
        _enqueue_poll(session, poll)
        queued += 1
    session.flush()
    return queued


def request_account_poll(
    session: Session, subject: Subject, account_id: int, now: dt.datetime | None = None
) -> list[int]:
    """Poll every recent post of one account now (editor). Returns the poll ids queued."""
    subject.require(Role.editor)
    now = now or utcnow()
    account = get_account(session, subject, account_id)
    if not supports_comments(account.platform):
        raise InvalidInput(_no_comments_reason(account.platform))
    ensure_polls(session, now, account_id=account.id)
    polls = session.scalars(
        scoped(select(CommentPoll), subject)
        .join(Post, Post.id == CommentPoll.post_id)
        .where(
            CommentPoll.account_id == account.id,
            Post.posted_at >= now - dt.timedelta(days=POLL_MAX_POST_AGE_DAYS),
        )
        .order_by(Post.posted_at.desc())
    ).all()
    for poll in polls:
        _enqueue_poll(session, poll)
    return [poll.id for poll in polls]


# --- mentions and direct messages --------------------------------------------------------------

POLL_JOB = "inbox.poll_account_mentions"
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


def _kind(comment: pb.Comment, from_conversations: bool) -> IngestKind:
    if from_conversations or mastodon_parse.is_direct(comment):
        return "dm"
    return "mention"


def mention_platforms() -> list[str]:
    """Platforms whose API lets an application read the mentions and DMs of an account."""
    return sorted(
        name
        for name, info in registry.all_providers().items()
        if info.supports(registry.Capability.MENTIONS)
    )


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
            return len(known_external_ids(session, account.workspace_id, account.platform, ids))

    mentions = read_newest_first(source.list_mentions, stop_at, is_known)
    conversations = Listing()
    if mentions.error is None:
        conversations = read_newest_first(source.list_conversations, stop_at, is_known)
    items = [(c, _kind(c, False)) for c in mentions.items]
    items += [(c, _kind(c, True)) for c in conversations.items]
    with db.session(readonly=True) as session:
        known = known_external_ids(
            session, account.workspace_id, account.platform, [c.external_id for c, _ in items]
        )
    fresh = list({c.external_id: c for c, _ in items if c.external_id not in known}.values())
    analyses = analyse_comments(fresh)
    error = mentions.error or conversations.error
    status, message = "completed", None
    with db.session() as session:
        observer.flush(session)
        stored_account = session.get(TrackedAccount, account_id)
        assert stored_account is not None
        outcome = ingest_interactions(session, stored_account, items, analyses=analyses, now=now)
        if error is not None:
            status, message, _ = classify_failure(info.display_name, error, now)
            if isinstance(error, pb.AuthError):
                mark_needs_reconnect(session, account_id, message)
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
                    TrackedAccount.platform.in_(mention_platforms()),
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
    platforms = mention_platforms()
    if platform in platforms:
        return None
    supported = ", ".join(platforms)
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
