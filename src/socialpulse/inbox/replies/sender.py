"""Sending due replies: the tick, and the publisher of each platform (from the provider
registry).

The tick (every minute)
-----------------------
Due items are claimed under a lease (compare-and-set through ``kit.leases``, as jobs are), at most
``InboxSettings.max_replies_per_tick`` per account. Never a double send:

1. ``publish_started_at`` is committed (with ``attempts + 1``) BEFORE the platform call;
2. after it, ``sent`` + ``external_reply_id`` + the interaction ``answered`` are committed.

An item found with ``publish_started_at`` set (a worker died mid-send, or the call timed out)
is not re-sent blindly: the publisher's ``find_existing`` looks for our reply (same text, our
account) under the comment. Found → sent; not found → sent now; cannot tell → failed with
"could not confirm whether the reply was sent; check on the platform".

Failures: transient ones are retried after 1, 2, 4 minutes up to ``max_attempts`` (3), then
failed with the platform's message; auth errors fail at once and mark the account
``needs_reconnect``; a call that would cross the platform's daily API budget is never made:
the item stays pending until the next quota day. Before each send the account's actual recent
sends are checked against its limits too, so retries, manual retries and late ticks cannot
burst past them.

A worker that is asked to stop (Ctrl-C on ``serve``) does not wait out its tick's window: the
replies it claimed but has not started go back to the queue with their planned second, and a
send already under way finishes first.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import and_, or_, select, update

from socialpulse.accounts.budget import BudgetObserver
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.accounts.service import credentials_of, mark_needs_reconnect
from socialpulse.config import get_settings
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import (
    InboxSettings,
    Interaction,
    InteractionStatus,
    ReplyQueueItem,
    ReplyStatus,
)
from socialpulse.inbox.replies.pacing import ReplyLimits, limits_for, pacing_wait, send_jitter
from socialpulse.kit import leases
from socialpulse.kit.security import SecretBox
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import CannotConfirm, Publisher
from socialpulse.providers.registry import MissingCredentialsError
from socialpulse.webhooks import service as webhooks

log = structlog.get_logger(__name__)

DEFAULT_LEASE_S = 120.0
DEFAULT_MAX_PER_TICK = 10
RETRY_BASE_S = 60.0  # 1, 2, 4 minutes
CANNOT_CONFIRM = "could not confirm whether the reply was sent; check on the platform"


# --- publishers --------------------------------------------------------------------------------


class NoPublisher(Exception):
    """The platform has no reply API in socialpulse."""


PublisherFactory = Callable[[TrackedAccount, pb.CallObserver], Publisher]


def _writes(info: registry.ProviderInfo) -> bool:
    return info.publisher is not None and (
        info.supports(registry.Capability.REPLY) or info.supports(registry.Capability.HIDE)
    )


def _reply_platforms() -> str:
    """ "YouTube, Instagram and Mastodon": the platforms replies work on, for messages."""
    names = sorted(
        info.display_name
        for info in registry.all_providers().values()
        if info.publisher is not None and info.supports(registry.Capability.REPLY)
    )
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def publisher_for(
    account: TrackedAccount,
    box: SecretBox,
    *,
    observer: pb.CallObserver | None = None,
    http_client: Any = None,
) -> Publisher:
    """The publisher of the account's platform, built from its stored credentials."""
    try:
        info: registry.ProviderInfo | None = registry.get_provider(account.platform)
    except registry.UnknownPlatformError:
        info = None
    if info is None or info.publisher is None or not _writes(info):
        raise NoPublisher(
            f"socialpulse cannot reply on {account.platform}: the platform offers no reply API "
            f"we support (replies work on {_reply_platforms()})"
        )
    credentials = credentials_of(account, box)
    return info.publisher(credentials, observer, http_client, handle=account.handle)


# --- the tick ----------------------------------------------------------------------------------


@dataclass
class TickResult:
    claimed: int = 0
    sent: int = 0
    recovered: int = 0  # found on the platform after a crash: marked sent, not re-sent
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # budget or pacing: back to pending, later
    skipped: int = 0  # lease lost to another worker
    released: int = 0  # not started when the worker began to stop: back to pending, as planned
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: str) -> None:
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def as_dict(self) -> dict[str, int]:
        return {
            key: getattr(self, key)
            for key in (
                "claimed",
                "sent",
                "recovered",
                "retried",
                "failed",
                "deferred",
                "skipped",
                "released",
            )
        }


REPLY_LEASE = leases.LeaseColumns(
    ReplyQueueItem,
    ReplyQueueItem.id,
    ReplyQueueItem.status,
    ReplyQueueItem.locked_by,
    ReplyQueueItem.lease_expires_at,
    ReplyStatus.processing,
)


def _claimable(now: dt.datetime, horizon: dt.datetime) -> Any:
    return or_(
        and_(ReplyQueueItem.status == ReplyStatus.pending, ReplyQueueItem.scheduled_for <= horizon),
        leases.expired(REPLY_LEASE, now),
    )


def _claim(
    db: Database,
    *,
    now: dt.datetime,
    horizon: dt.datetime,
    worker_id: str,
    lease_until: dt.datetime,
    max_per_account: int | None,
) -> dict[int, list[int]]:
    """Claim due items (and items whose worker died) per account; {account_id: [item ids]}."""
    with db.session() as session:
        rows = session.execute(
            select(ReplyQueueItem.id, ReplyQueueItem.account_id, ReplyQueueItem.workspace_id)
            .join(TrackedAccount, TrackedAccount.id == ReplyQueueItem.account_id)
            .where(
                _claimable(now, horizon),
                # A removed account (being deleted) sends nothing more.
                TrackedAccount.status.not_in(
                    [AccountStatus.needs_reconnect, AccountStatus.deleting]
                ),
            )
            .order_by(ReplyQueueItem.account_id, ReplyQueueItem.scheduled_for, ReplyQueueItem.id)
            .limit(5000)
        ).all()
        caps: dict[int, int] = {}
        if max_per_account is None:
            workspaces = {row.workspace_id for row in rows}
            caps = (
                dict(
                    session.execute(
                        select(
                            InboxSettings.workspace_id, InboxSettings.max_replies_per_tick
                        ).where(InboxSettings.workspace_id.in_(workspaces))
                    ).all()
                )
                if workspaces
                else {}
            )
        per_account: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            cap = max_per_account or caps.get(row.workspace_id, DEFAULT_MAX_PER_TICK)
            if len(per_account[row.account_id]) >= cap:
                continue
            claimable = and_(ReplyQueueItem.id == row.id, _claimable(now, horizon))
            if leases.claim(session, REPLY_LEASE, claimable, owner=worker_id, until=lease_until):
                per_account[row.account_id].append(row.id)
    return {account: ids for account, ids in per_account.items() if ids}


@dataclass
class _Run:
    db: Database
    worker_id: str
    now: dt.datetime
    started: float
    lease_s: float
    lookahead_s: float
    sleep: Callable[[float], None]
    result: TickResult
    stop: threading.Event | None = None

    def current(self) -> dt.datetime:
        """`now` moved forward by the real time this tick has taken."""
        return self.now + dt.timedelta(seconds=time.monotonic() - self.started)

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Wait `seconds`; False, at once, when the worker is stopping."""
        if self.stop is None:
            self.sleep(max(0.0, seconds))
            return True
        return not self.stop.wait(max(0.0, seconds))


def _settle(
    run: _Run, item_id: int, outcome: str, interaction_answered: bool = False, **values: Any
) -> None:
    """Write the item's outcome if this worker still holds it."""
    values.setdefault("locked_by", None)
    values.setdefault("lease_expires_at", None)
    with run.db.session() as session:
        if not leases.release(session, REPLY_LEASE, item_id, run.worker_id, **values):
            run.result.add("skipped")
            return
        if interaction_answered:
            item = session.execute(
                select(
                    ReplyQueueItem.interaction_id,
                    ReplyQueueItem.workspace_id,
                    ReplyQueueItem.account_id,
                    ReplyQueueItem.platform,
                    ReplyQueueItem.text,
                ).where(ReplyQueueItem.id == item_id)
            ).one()
            session.execute(
                update(Interaction)
                .where(Interaction.id == item.interaction_id)
                .values(status=InteractionStatus.answered, answered_at=values["sent_at"])
                .execution_options(synchronize_session=False)
            )
            # In the transaction that records the send: emitted once, even when a crash made
            # the next attempt find the reply on the platform instead ("recovered").
            webhooks.emit_event(
                session,
                item.workspace_id,
                "reply.sent",
                {
                    "queue_item_id": item_id,
                    "interaction_id": item.interaction_id,
                    "account_id": item.account_id,
                    "platform": item.platform,
                    "external_reply_id": values.get("external_reply_id"),
                    "text": item.text,
                    "sent_at": values["sent_at"].isoformat(),
                },
            )
    run.result.add(outcome)


def _mark_sent(run: _Run, item_id: int, published_id: str, outcome: str) -> None:
    _settle(
        run,
        item_id,
        outcome,
        interaction_answered=True,
        status=ReplyStatus.sent,
        external_reply_id=published_id,
        sent_at=run.current(),
        last_error=None,
    )
    log.info("inbox.queue.sent", item_id=item_id, external_id=published_id, outcome=outcome)


def _fail(run: _Run, item_id: int, message: str) -> None:
    _settle(run, item_id, "failed", status=ReplyStatus.failed, last_error=message[:4000])
    log.warning("inbox.queue.failed", item_id=item_id, error=message)


def _later(
    run: _Run, item_id: int, outcome: str, when: dt.datetime, message: str, **extra: Any
) -> None:
    _settle(
        run,
        item_id,
        outcome,
        status=ReplyStatus.pending,
        scheduled_for=when,
        last_error=message[:4000],
        **extra,
    )


def _release(run: _Run, item_id: int) -> None:
    """Hand a claimed item back untouched (same planned second, no attempt counted): the
    worker is stopping, and the next tick, here or elsewhere, sends it."""
    _settle(run, item_id, "released", status=ReplyStatus.pending)


def _needs_reconnect(run: _Run, account_id: int, message: str) -> None:
    with run.db.session() as session:
        mark_needs_reconnect(session, account_id, message)


def _backoff(attempts: int, retry_after: float | None) -> dt.timedelta:
    return dt.timedelta(seconds=max(RETRY_BASE_S * 2 ** max(0, attempts - 1), retry_after or 0))


def _process(
    run: _Run, item_id: int, account: TrackedAccount, publisher: Publisher, limits: ReplyLimits
) -> None:
    with run.db.session(readonly=True) as session:
        item = session.get(ReplyQueueItem, item_id)
        if item is None or item.locked_by != run.worker_id or item.status != ReplyStatus.processing:
            run.result.add("skipped")
            return
        interaction = session.get(Interaction, item.interaction_id)
        assert interaction is not None
        session.expunge(interaction)
        text, key, attempts = item.text, item.idempotency_key, item.attempts
        max_attempts, scheduled, started = (
            item.max_attempts,
            item.scheduled_for,
            item.publish_started_at,
        )
        last_error = item.last_error

    if run.stopping():
        _release(run, item_id)
        return
    wait = (scheduled - run.current()).total_seconds()
    # Claimed ahead within the tick's window: leave at the planned second.
    if wait > 0 and not run.wait(wait):
        _release(run, item_id)
        return

    if started is not None:
        # A previous attempt may have reached the platform: look before sending again.
        try:
            found = publisher.find_existing(account, interaction, text)
        except CannotConfirm as exc:
            _fail(run, item_id, f"{CANNOT_CONFIRM} ({exc})")
            return
        except pb.AuthError as exc:
            _needs_reconnect(run, account.id, str(exc))
            _fail(run, item_id, f"{CANNOT_CONFIRM}; the platform refused our credentials: {exc}")
            return
        except pb.ProviderError as exc:
            retry_after = getattr(exc, "retry_after", None)
            _later(run, item_id, "retried", run.current() + _backoff(1, retry_after), str(exc))
            return
        if found is not None:
            _mark_sent(run, item_id, found.external_id, "recovered")
            return
        if attempts >= max_attempts:
            _fail(run, item_id, last_error or "the reply could not be sent")
            return

    with run.db.session(readonly=True) as session:
        allowed = pacing_wait(
            session, item_id, account.id, limits, run.current(), send_jitter(limits, key)
        )
    window_end = run.now + dt.timedelta(seconds=run.lookahead_s)
    if allowed is not None and allowed <= window_end:  # within this tick's window: wait for it
        if not run.wait((allowed - run.current()).total_seconds()):
            _release(run, item_id)
            return
        allowed = None
    if allowed is not None:
        _later(run, item_id, "deferred", allowed, "waiting for the account's reply limits")
        return

    # 1. Record that we are about to call the platform, with a fresh lease, BEFORE the call.
    begin = run.current()
    with run.db.session() as session:
        renewed = leases.renew(
            session,
            REPLY_LEASE,
            item_id,
            run.worker_id,
            until=begin + dt.timedelta(seconds=run.lease_s),
            publish_started_at=begin,
            attempts=ReplyQueueItem.attempts + 1,
        )
        if not renewed:
            run.result.add("skipped")
            return
    attempts += 1

    # 2. The platform call.
    try:
        published = publisher.reply(account, interaction, text, idempotency_key=key)
    except pb.BudgetDeferredError as exc:
        # Refused by our budget guard before any request: not an attempt, nothing was sent.
        when = begin + dt.timedelta(seconds=exc.retry_after or 3600)
        _later(
            run,
            item_id,
            "deferred",
            when,
            str(exc),
            publish_started_at=started,
            attempts=attempts - 1,
        )
        return
    except pb.AuthError as exc:
        _needs_reconnect(run, account.id, str(exc))
        _fail(run, item_id, f"the platform refused our credentials; reconnect the account: {exc}")
        return
    except pb.NotFoundError as exc:
        _fail(run, item_id, f"the comment is gone from the platform: {exc}")
        return
    except (pb.TransientError, pb.QuotaExhaustedError, pb.CircuitOpenError) as exc:
        # 429s, quota and open circuits never reached the platform's write path; timeouts and
        # 5xx might have: keep publish_started_at so the next attempt looks first.
        not_sent = isinstance(exc, pb.QuotaExhaustedError | pb.CircuitOpenError) or (
            exc.status_code == 429
        )
        if attempts >= max_attempts and not_sent:
            _fail(run, item_id, str(exc))
            return
        when = begin + _backoff(attempts, exc.retry_after)
        extra: dict[str, Any] = {"publish_started_at": None} if not_sent else {}
        _later(run, item_id, "retried", when, str(exc), **extra)
        return
    except pb.ProviderError as exc:
        _fail(run, item_id, str(exc))
        return
    except Exception as exc:  # a bug or an unknown failure: it may have been sent; look first
        log.exception("inbox.queue.publish_crashed", item_id=item_id)
        _later(
            run,
            item_id,
            "retried",
            begin + _backoff(attempts, None),
            f"{type(exc).__name__}: {exc}",
        )
        return

    # 3. Record the outcome.
    _mark_sent(run, item_id, published.external_id, "sent")


def _run_account(
    run: _Run,
    account_id: int,
    item_ids: list[int],
    factory: PublisherFactory | None,
) -> None:
    with run.db.session(readonly=True) as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        limits, _ = limits_for(session, account)
        session.expunge(account)
    observer = BudgetObserver(run.db, account.workspace_id)
    try:
        if factory is not None:
            publisher = factory(account, observer)
        else:
            box = SecretBox(get_settings().resolved_secret_key())
            publisher = publisher_for(account, box, observer=observer)
    except (NoPublisher, MissingCredentialsError, pb.ProviderError, ValueError) as exc:
        if isinstance(exc, MissingCredentialsError):
            _needs_reconnect(run, account_id, str(exc))
        for item_id in item_ids:
            _fail(run, item_id, str(exc))
        return
    try:
        for item_id in item_ids:
            _process(run, item_id, account, publisher, limits)
    finally:
        with run.db.session() as session:
            observer.flush(session)


def tick(
    db: Database,
    *,
    now: dt.datetime | None = None,
    publisher_factory: PublisherFactory | None = None,
    max_per_account: int | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    lookahead_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    worker_id: str | None = None,
    stop: threading.Event | None = None,
) -> TickResult:
    """Send the due replies. With `lookahead_s`, items due within that many seconds are claimed
    too and sent at their planned second (the periodic task: smooth pacing, not bursts at the
    top of each minute); accounts then run in parallel threads. Once `stop` is set, waits end
    and every claimed reply not yet being sent goes back to the queue as it was (a send already
    under way finishes)."""
    now = now or utcnow()
    run = _Run(
        db=db,
        worker_id=worker_id or f"replies:{uuid.uuid4().hex[:10]}",
        now=now,
        started=time.monotonic(),
        lease_s=lease_s,
        lookahead_s=lookahead_s,
        sleep=sleep,
        result=TickResult(),
        stop=stop,
    )
    claimed = _claim(
        db,
        now=now,
        horizon=now + dt.timedelta(seconds=lookahead_s),
        worker_id=run.worker_id,
        lease_until=now + dt.timedelta(seconds=lookahead_s + lease_s),
        max_per_account=max_per_account,
    )
    run.result.claimed = sum(len(ids) for ids in claimed.values())
    if lookahead_s > 0 and len(claimed) > 1:
        with ThreadPoolExecutor(max_workers=min(8, len(claimed))) as pool:
            futures = [
                pool.submit(_run_account, run, account_id, ids, publisher_factory)
                for account_id, ids in claimed.items()
            ]
            for future in futures:
                future.result()
    else:
        for account_id, ids in claimed.items():
            _run_account(run, account_id, ids, publisher_factory)
    if run.result.claimed:
        log.info("inbox.queue.tick", **run.result.as_dict())
    return run.result
