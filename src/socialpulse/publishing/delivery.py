"""Publishing one delivery at its time, exactly once (modelled on the reply queue's sender).

Each delivery has a durable job at its exact time (``series.enqueue``); a sweep every minute
catches what a job missed (downtime, a lost nudge, a worker that died). Either one calls
``publish_delivery``, which first claims the row under a lease (compare-and-set through
``kit.leases``): whoever loses the race does nothing. Never a double post:

1. ``publish_started_at`` and ``attempts + 1`` are committed BEFORE the platform call;
2. after it, ``published`` with the platform's ``external_id`` and ``url`` is committed.

A delivery found with ``publish_started_at`` set (the worker died mid-call, or the call timed
out) is not published blindly: the publisher's ``find_post`` looks for our post (same text,
our account) since a little before that attempt. Found → published; not found → published now;
cannot tell → failed with "could not confirm whether the post was published; check on the
platform".

Lateness: a delivery found more than SOCIALPULSE_PUBLISH_MAX_LATENESS_MINUTES after its time
(after downtime) is not published late: it is marked ``missed`` with the reason (a post about
this morning's event must not appear in the evening). Retries: transient failures (429, 5xx,
timeouts, an open circuit) wait ``RETRY_BASE_S`` × 2^(attempt-1) or the platform's
Retry-After when longer, 3 attempts in all, then fail with the platform's message; refused
credentials fail at once and mark the account ``needs_reconnect``; a platform quota or our own
budget waits for its reset without using an attempt. Quota costs (including
``PublishedPost.quota_units``) are charged to the workspace's API budget.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import and_, or_, select

from socialpulse.accounts.budget import BudgetObserver, quota_day, seconds_until_next_quota_day
from socialpulse.accounts.models import AccountStatus, TrackedAccount
from socialpulse.accounts.service import credentials_of, mark_needs_reconnect
from socialpulse.config import get_settings
from socialpulse.db import Database, utcnow
from socialpulse.kit import leases
from socialpulse.kit.security import SecretBox
from socialpulse.media import service as media_service
from socialpulse.providers import base as pb
from socialpulse.providers import registry
from socialpulse.providers.publishing import (
    CannotConfirm,
    MediaItem,
    PostDraft,
    PostPublisher,
    PublishedPost,
)
from socialpulse.publishing import series, service
from socialpulse.publishing.models import (
    Delivery,
    DeliveryStatus,
    Post,
    PostMedia,
    PostStatus,
    PostTarget,
    Upload,
)

log = structlog.get_logger(__name__)

DEFAULT_LEASE_S = 300.0  # a video upload may take minutes; the lease outlives it
RETRY_BASE_S = 60.0  # 1, 2 minutes (or the platform's Retry-After)
FIND_MARGIN = dt.timedelta(minutes=5)  # clocks differ: look a little before our attempt
SWEEP_LIMIT = 500
CANNOT_CONFIRM = "could not confirm whether the post was published; check on the platform"

DELIVERY_LEASE = leases.LeaseColumns(
    Delivery,
    Delivery.id,
    Delivery.status,
    Delivery.locked_by,
    Delivery.lease_expires_at,
    DeliveryStatus.publishing,
)

PublisherFactory = Callable[[TrackedAccount, pb.CallObserver], Any]


class NoPostPublisher(Exception):
    """The account's platform cannot publish posts."""


def _claimable(now: dt.datetime) -> Any:
    return or_(
        and_(Delivery.status == DeliveryStatus.scheduled, Delivery.next_attempt_at <= now),
        leases.expired(DELIVERY_LEASE, now),
    )


def publisher_for(
    account: TrackedAccount, box: SecretBox, observer: pb.CallObserver
) -> PostPublisher:
    """The post publisher of the account's platform, built from its stored credentials."""
    try:
        info = registry.get_provider(account.platform)
    except registry.UnknownPlatformError as exc:
        raise NoPostPublisher(str(exc)) from exc
    if info.publisher is None or not info.supports(registry.Capability.PUBLISH):
        raise NoPostPublisher(
            f"account @{account.handle} cannot publish: {info.display_name} has no publishing"
        )
    publisher = info.publisher(credentials_of(account, box), observer, handle=account.handle)
    if not isinstance(publisher, PostPublisher):
        raise NoPostPublisher(
            f"account @{account.handle} cannot publish: {info.display_name}'s publisher "
            "has no post publishing"
        )
    return publisher


@dataclass
class _Run:
    db: Database
    worker_id: str
    now: dt.datetime
    started: float
    lease_s: float
    delivery_id: int
    workspace_id: int = 0
    post_id: int = 0

    def current(self) -> dt.datetime:
        """``now`` moved on by the real time this run has taken."""
        return self.now + dt.timedelta(seconds=time.monotonic() - self.started)


# --------------------------------------------------------------------------- outcomes


def _settle(run: _Run, outcome: str, *, event: str | None = None, **values: Any) -> str:
    """Write the delivery's outcome if this worker still holds it (with the post's status,
    the event, and the next deliveries of its series); "lost" when it no longer does."""
    values.setdefault("locked_by", None)
    values.setdefault("lease_expires_at", None)
    with run.db.session() as session:
        if not leases.release(session, DELIVERY_LEASE, run.delivery_id, run.worker_id, **values):
            log.warning("publishing.delivery.lease_lost", delivery_id=run.delivery_id)
            return "lost"
        delivery = session.get(Delivery, run.delivery_id)
        post = session.get(Post, run.post_id)
        assert delivery is not None and post is not None
        session.refresh(delivery)
        if values.get("status") == DeliveryStatus.scheduled:
            series.enqueue(session, delivery)
        if values.get("status") == DeliveryStatus.published:
            series.materialise(session, post, run.current())
        series.refresh_status(session, post)
        if event is not None:
            service._emit(
                session,
                post.workspace_id,
                event,
                {
                    "post_id": post.id,
                    "delivery_id": delivery.id,
                    "account_id": delivery.account_id,
                    "platform": delivery.platform,
                    "status": str(delivery.status),
                    "scheduled_for": delivery.scheduled_for.isoformat(),
                    "external_id": delivery.external_id,
                    "url": delivery.url,
                    "error": delivery.last_error,
                },
            )
    return outcome


def _published(run: _Run, found: PublishedPost, outcome: str) -> str:
    log.info(
        "publishing.delivery.published",
        delivery_id=run.delivery_id,
        external_id=found.external_id,
        outcome=outcome,
    )
    return _settle(
        run,
        outcome,
        event="post.published",
        status=DeliveryStatus.published,
        external_id=found.external_id,
        url=found.url,
        published_at=run.current(),
        last_error=None,
    )


def _fail(run: _Run, message: str) -> str:
    log.warning("publishing.delivery.failed", delivery_id=run.delivery_id, error=message)
    return _settle(
        run, "failed", event="post.failed", status=DeliveryStatus.failed, last_error=message[:4000]
    )


def _missed(run: _Run, message: str) -> str:
    log.warning("publishing.delivery.missed", delivery_id=run.delivery_id, reason=message)
    return _settle(
        run, "missed", event="post.failed", status=DeliveryStatus.missed, last_error=message
    )


def _later(run: _Run, outcome: str, when: dt.datetime, message: str, **extra: Any) -> str:
    log.info(
        "publishing.delivery.later", delivery_id=run.delivery_id, at=when.isoformat(), why=message
    )
    return _settle(
        run,
        outcome,
        status=DeliveryStatus.scheduled,
        next_attempt_at=when,
        last_error=message[:4000],
        **extra,
    )


def _backoff(attempts: int, retry_after: float | None) -> dt.timedelta:
    return dt.timedelta(seconds=max(RETRY_BASE_S * 2 ** max(0, attempts - 1), retry_after or 0))


def _needs_reconnect(run: _Run, account_id: int, message: str) -> None:
    with run.db.session() as session:
        mark_needs_reconnect(session, account_id, message)


# --------------------------------------------------------------------------- one delivery


@dataclass
class _Loaded:
    account: TrackedAccount
    draft: PostDraft
    attempts: int
    max_attempts: int
    started: dt.datetime | None
    due: dt.datetime
    scheduled_for: dt.datetime
    last_error: str | None
    cancelled: bool


def _load(run: _Run) -> _Loaded | None:
    with run.db.session(readonly=True) as session:
        delivery = session.get(Delivery, run.delivery_id)
        if (
            delivery is None
            or delivery.locked_by != run.worker_id
            or delivery.status != DeliveryStatus.publishing
        ):
            return None
        post = session.get(Post, delivery.post_id)
        target = session.get(PostTarget, delivery.target_id)
        account = session.get(TrackedAccount, delivery.account_id)
        assert post is not None and target is not None and account is not None
        run.workspace_id, run.post_id = delivery.workspace_id, post.id
        media = [
            _media_item(upload, link.alt_text)
            for link, upload in session.execute(
                select(PostMedia, Upload)
                .join(Upload, Upload.id == PostMedia.upload_id)
                .where(PostMedia.post_id == post.id)
                .order_by(PostMedia.position)
            )
        ]
        text = delivery.text_override
        if text is None:
            text = target.text_override if target.text_override is not None else post.text
        draft = PostDraft(
            text=series.compose_text(text, post.hashtags or []),
            idempotency_key=delivery.idempotency_key,
            media=tuple(media),
            title=target.title_override if target.title_override is not None else post.title,
            language=post.language,
            visibility=post.visibility,
            content_warning=post.content_warning,
            options=dict(target.options or {}),
        )
        session.expunge(account)
        return _Loaded(
            account=account,
            draft=draft,
            attempts=delivery.attempts,
            max_attempts=delivery.max_attempts,
            started=delivery.publish_started_at,
            due=delivery.next_attempt_at,
            scheduled_for=delivery.scheduled_for,
            last_error=delivery.last_error,
            cancelled=post.status == PostStatus.cancelled,
        )


def _media_item(upload: Upload, alt_text: str) -> MediaItem:
    key = upload.key
    return MediaItem(
        filename=key.rsplit("/", 1)[-1],
        mime_type=upload.mime_type,
        size_bytes=upload.size_bytes,
        read=lambda: media_service.read_upload(key),
        alt_text=alt_text,
        width=upload.width,
        height=upload.height,
        duration_s=upload.duration_s,
        public_url=media_service.upload_public_url(key),
    )


def _lateness_reason(loaded: _Loaded, now: dt.datetime) -> str | None:
    allowed = dt.timedelta(minutes=get_settings().publish_max_lateness_minutes)
    late = now - loaded.due
    if late <= allowed:
        return None
    minutes = int(late.total_seconds() // 60)
    return (
        f"missed: due {loaded.due:%Y-%m-%d %H:%M} UTC and found {minutes} minutes late "
        f"(more than the {allowed.total_seconds() / 60:g} minutes allowed, "
        "SOCIALPULSE_PUBLISH_MAX_LATENESS_MINUTES), so it was not published late; "
        "retry or reschedule it"
    )


def _account_problem(account: TrackedAccount) -> str | None:
    if account.status == AccountStatus.deleting:
        return f"account @{account.handle} was removed"
    if account.status == AccountStatus.needs_reconnect:
        return f"account @{account.handle} needs reconnecting; reconnect it and retry"
    if not account.active:
        return f"account @{account.handle} is paused; activate it and retry"
    return None


def _process(run: _Run, factory: PublisherFactory | None) -> str:
    loaded = _load(run)
    if loaded is None:
        return "lost"
    if loaded.cancelled:
        return _settle(run, "cancelled", status=DeliveryStatus.cancelled)
    account = loaded.account
    problem = _account_problem(account)
    if problem is not None and loaded.started is None:
        return _fail(run, problem)

    observer = BudgetObserver(run.db, run.workspace_id)
    try:
        try:
            if factory is not None:
                publisher = factory(account, observer)
            else:
                box = SecretBox(get_settings().resolved_secret_key())
                publisher = publisher_for(account, box, observer)
        except registry.MissingCredentialsError as exc:
            _needs_reconnect(run, account.id, str(exc))
            return _fail(run, str(exc))
        except (NoPostPublisher, pb.ProviderError, ValueError) as exc:
            return _fail(run, str(exc))
        return _attempt(run, loaded, publisher, observer)
    finally:
        with run.db.session() as session:
            observer.flush(session)


def _attempt(run: _Run, loaded: _Loaded, publisher: Any, observer: BudgetObserver) -> str:
    account, draft = loaded.account, loaded.draft
    if loaded.started is not None:
        # A previous attempt may have reached the platform: look before publishing again.
        try:
            found = publisher.find_post(account, draft, since=loaded.started - FIND_MARGIN)
        except CannotConfirm as exc:
            return _fail(run, f"{CANNOT_CONFIRM} ({exc})")
        except pb.AuthError as exc:
            _needs_reconnect(run, account.id, str(exc))
            return _fail(run, f"{CANNOT_CONFIRM}; the platform refused our credentials: {exc}")
        except pb.ProviderError as exc:
            retry_after = getattr(exc, "retry_after", None)
            return _later(run, "retried", run.current() + _backoff(1, retry_after), str(exc))
        if found is not None:
            return _published(run, found, "recovered")
        if loaded.attempts >= loaded.max_attempts:
            return _fail(run, loaded.last_error or "the post could not be published")
    reason = _lateness_reason(loaded, run.current())
    if reason is not None:
        return _missed(run, reason)
    problem = _account_problem(account)
    if problem is not None:
        return _fail(run, problem)

    # 1. Record that we are about to call the platform, with a fresh lease, BEFORE the call.
    begin = run.current()
    with run.db.session() as session:
        renewed = leases.renew(
            session,
            DELIVERY_LEASE,
            run.delivery_id,
            run.worker_id,
            until=begin + dt.timedelta(seconds=run.lease_s),
            publish_started_at=begin,
            attempts=Delivery.attempts + 1,
        )
    if not renewed:
        return "lost"
    attempts = loaded.attempts + 1

    # 2. The platform call.
    try:
        published = publisher.publish_post(account, draft)
    except (pb.BudgetDeferredError, pb.QuotaExhaustedError) as exc:
        # Our budget (before any request) or the platform's quota said "not before the reset":
        # nothing was published and no attempt is used.
        wait = exc.retry_after or seconds_until_next_quota_day(account.platform)
        return _later(
            run,
            "deferred",
            begin + dt.timedelta(seconds=wait),
            str(exc),
            publish_started_at=loaded.started,
            attempts=attempts - 1,
        )
    except pb.AuthError as exc:
        _needs_reconnect(run, account.id, str(exc))
        return _fail(run, f"the platform refused our credentials; reconnect the account: {exc}")
    except (pb.TransientError, pb.CircuitOpenError) as exc:
        # 429s and open circuits never reached the platform's write path; timeouts and 5xx
        # might have: keep publish_started_at so the next attempt looks first.
        not_sent = isinstance(exc, pb.CircuitOpenError) or exc.status_code == 429
        if attempts >= loaded.max_attempts and not_sent:
            return _fail(run, str(exc))
        extra: dict[str, Any] = {"publish_started_at": None} if not_sent else {}
        return _later(
            run, "retried", begin + _backoff(attempts, exc.retry_after), str(exc), **extra
        )
    except pb.ProviderError as exc:
        return _fail(run, str(exc))
    except media_service.UploadMissing as exc:  # the store lost a file: nothing was posted
        return _fail(run, f"a media file cannot be read: {exc}")
    except Exception as exc:  # a bug or an unknown failure: it may have been posted; look first
        log.exception("publishing.delivery.publish_crashed", delivery_id=run.delivery_id)
        return _later(
            run, "retried", begin + _backoff(attempts, None), f"{type(exc).__name__}: {exc}"
        )

    # 3. Record the outcome; the platform's extra quota (YouTube's upload units) is charged.
    if published.quota_units:
        observer.pending[
            (account.platform, quota_day(account.platform))
        ].units += published.quota_units
    return _published(run, published, "published")


def publish_delivery(
    db: Database,
    delivery_id: int,
    *,
    now: dt.datetime | None = None,
    publisher_factory: PublisherFactory | None = None,
    lease_s: float = DEFAULT_LEASE_S,
    worker_id: str | None = None,
) -> str:
    """Publish the delivery if it is due (or its worker died) and nobody else holds it.

    Returns the outcome: published, recovered (found on the platform after a crash), retried,
    deferred, failed, missed, cancelled, or not_claimed / lost (nothing to do here)."""
    now = now or utcnow()
    worker_id = worker_id or f"publish:{uuid.uuid4().hex[:10]}"
    with db.session() as session:
        claimed = leases.claim(
            session,
            DELIVERY_LEASE,
            and_(Delivery.id == delivery_id, _claimable(now)),
            owner=worker_id,
            until=now + dt.timedelta(seconds=lease_s),
        )
    if not claimed:
        return "not_claimed"
    run = _Run(db, worker_id, now, time.monotonic(), lease_s, delivery_id)
    outcome = _process(run, publisher_factory)
    log.info("publishing.delivery.done", delivery_id=delivery_id, outcome=outcome)
    return outcome


# --------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    materialised: int = 0
    outcomes: dict[str, int] | None = None

    def as_dict(self) -> dict[str, int]:
        return {"materialised": self.materialised, **(self.outcomes or {})}


def sweep(
    db: Database,
    *,
    now: dt.datetime | None = None,
    publisher_factory: PublisherFactory | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> SweepResult:
    """Every minute: the next deliveries of every running series, then anything due that its
    job did not take (after downtime, a lost nudge) and deliveries whose worker died."""
    now = now or utcnow()
    result = SweepResult(outcomes={})
    horizon = now + dt.timedelta(days=get_settings().publish_horizon_days)
    with db.session(readonly=True) as session:
        post_ids = list(
            session.scalars(
                select(Post.id).where(
                    Post.status.in_(
                        [PostStatus.scheduled, PostStatus.publishing, PostStatus.failed]
                    ),
                    Post.series_done.is_(False),
                    or_(Post.materialised_until.is_(None), Post.materialised_until < horizon),
                )
            )
        )
    for post_id in post_ids:
        with db.session() as session:
            post = session.get(Post, post_id)
            if post is not None:
                result.materialised += series.materialise(session, post, now)
                series.refresh_status(session, post)
    with db.session(readonly=True) as session:
        due = list(
            session.scalars(
                select(Delivery.id)
                .where(_claimable(now))
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(SWEEP_LIMIT)
            )
        )
    outcomes: dict[str, int] = {}
    for delivery_id in due:
        outcome = publish_delivery(
            db, delivery_id, now=now, publisher_factory=publisher_factory, lease_s=lease_s
        )
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    result.outcomes = outcomes
    if due or result.materialised:
        log.info("publishing.sweep", **result.as_dict())
    return result
