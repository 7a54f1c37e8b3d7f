"""Sending one delivery: claim the row, POST the signed payload through the egress policy, write
the outcome, and queue the next attempt.

One attempt is one durable job (``webhooks.deliver_event``). The job claims the delivery row
under a lease before the request and writes the outcome through that lease, so a job that ran
twice (a re-sent nudge, a reaped lease) cannot send one attempt twice, and a worker that died
mid-request leaves a row the next job (or the sweep) takes over. Webhooks are at-least-once:
a receiver that answered but whose answer we never recorded gets the event again, with the same
``webhook-id`` to deduplicate on.

Outcomes (the Standard Webhooks recommendations):

* 2xx: delivered;
* 410 Gone: failed at once, and the subscription is disabled (the receiver said it wants no
  more);
* a refusal of the egress policy (the host now resolves into a private network): failed at
  once, a retry would be refused again;
* anything else (3xx: redirects are not followed; 4xx; 5xx; timeouts; connection errors):
  retried after ``RETRY_DELAYS`` (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h: about 32 h in
  all), never earlier than a ``Retry-After`` (429, 503), then failed.

A subscription whose attempts have all failed for ``AUTO_DISABLE_AFTER`` is disabled, with the
reason shown on it: its events stop piling up, and re-enabling it is one click.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from socialpulse import __version__
from socialpulse.db import Database, utcnow
from socialpulse.kit import egress, leases
from socialpulse.kit.security import SecretBox
from socialpulse.webhooks import signing
from socialpulse.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from socialpulse.worker.jobs import enqueue_job

log = structlog.get_logger(__name__)

DELIVER_JOB = "webhooks.deliver_event"
REQUEST_TIMEOUT_S = 10.0
# The row's lease outlives the request (timeout, plus reading the bounded answer).
LEASE_S = 30.0
# Waits before attempts 2, 3, ...: the spec's example schedule, cut at about a day and a half.
RETRY_DELAYS = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=14),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A Retry-After longer than this is not honoured as such (the attempt waits this long).
MAX_RETRY_AFTER = dt.timedelta(hours=24)
AUTO_DISABLE_AFTER = dt.timedelta(days=5)
RESPONSE_EXCERPT_CHARS = 1024
ERROR_CHARS = 500
ROTATED_SECRET_GRACE = dt.timedelta(hours=24)

DELIVERY_LEASE = leases.LeaseColumns(
    WebhookDelivery,
    WebhookDelivery.id,
    WebhookDelivery.status,
    WebhookDelivery.locked_by,
    WebhookDelivery.lease_expires_at,
    DeliveryStatus.sending,
)


def new_event_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def queue_attempt(session: Session, delivery: WebhookDelivery) -> None:
    """Queue the job for the delivery's next attempt, sent after the caller's commit.

    The dedupe key names the attempt: queuing the same attempt twice (the sweep, a replay
    racing a retry) is one job while that job is unfinished."""
    enqueue_job(
        session,
        DELIVER_JOB,
        {"delivery_id": delivery.id},
        workspace_id=delivery.workspace_id,
        dedupe_key=f"{DELIVER_JOB}:{delivery.id}:{delivery.attempts}",
        run_after=delivery.next_attempt_at,
    )


def retry_delay(attempts: int, retry_after: dt.timedelta | None = None) -> dt.timedelta:
    """The wait after `attempts` failed attempts, at least `retry_after` (bounded)."""
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """``Retry-After`` as seconds or an HTTP date (RFC 9110), None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(dt.timedelta(0), when - now)


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    excerpt: str | None
    error: str | None
    retry_after: str | None
    duration_ms: int
    refused: bool = False  # the egress policy refused the connection


def _excerpt(response: httpx.Response) -> str:
    """The start of the body, read no further than needed (a receiver may answer a lot)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_EXCERPT_CHARS * 4:
            break
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return text[:RESPONSE_EXCERPT_CHARS]


def _post(url: str, body: bytes, signed: dict[str, str]) -> _Answer:
    request_headers = {
        "content-type": "application/json",
        "user-agent": f"socialpulse-webhooks/{__version__}",
        **signed,
    }
    began = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - began) * 1000)

    try:
        with (
            egress.client(
                timeout=httpx.Timeout(REQUEST_TIMEOUT_S), follow_redirects=False
            ) as client,
            client.stream("POST", url, content=body, headers=request_headers) as response,
        ):
            excerpt = _excerpt(response)
            return _Answer(
                response.status_code,
                excerpt,
                None,
                response.headers.get("retry-after"),
                elapsed(),
            )
    except egress.EgressRefused as exc:
        return _Answer(None, None, str(exc), None, elapsed(), refused=True)
    except httpx.TimeoutException:
        return _Answer(None, None, f"no answer within {REQUEST_TIMEOUT_S:g} s", None, elapsed())
    except httpx.HTTPError as exc:
        return _Answer(None, None, f"{type(exc).__name__}: {exc}", None, elapsed())


def _status_error(answer: _Answer, location: str | None) -> str:
    code = answer.status_code
    assert code is not None
    if 300 <= code < 400:
        where = f" to {location}" if location else ""
        return f"HTTP {code}: redirect{where} not followed; point the subscription at that URL"
    return f"HTTP {code}"


@dataclass(frozen=True)
class AttemptResult:
    outcome: str  # delivered | retry | failed | skipped
    delivery_id: int
    status_code: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "delivery_id": self.delivery_id,
            "status_code": self.status_code,
            "error": self.error,
        }


def _claimable(delivery_id: int, now: dt.datetime) -> Any:
    return and_(
        WebhookDelivery.id == delivery_id,
        or_(
            and_(
                WebhookDelivery.status == DeliveryStatus.pending,
                or_(
                    WebhookDelivery.next_attempt_at.is_(None),
                    WebhookDelivery.next_attempt_at <= now,
                ),
            ),
            leases.expired(DELIVERY_LEASE, now),
        ),
    )


def signing_secrets(
    subscription: WebhookSubscription, box: SecretBox, now: dt.datetime
) -> list[str]:
    """The current secret, then a rotated-out one while its grace period lasts."""
    found = [box.decrypt(subscription.secret_encrypted)]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret_encrypted and expires is not None and expires > now:
        found.append(box.decrypt(subscription.previous_secret_encrypted))
    return found


def attempt(
    db: Database, delivery_id: int, *, box: SecretBox, worker_id: str | None = None
) -> AttemptResult:
    """One attempt of one delivery, if it is due and no other worker holds it."""
    owner = worker_id or f"webhooks:{uuid.uuid4().hex[:10]}"
    now = utcnow()
    with db.session() as session:
        claimed = leases.claim(
            session,
            DELIVERY_LEASE,
            _claimable(delivery_id, now),
            owner=owner,
            until=now + dt.timedelta(seconds=LEASE_S),
            attempts=WebhookDelivery.attempts + 1,
            last_attempt_at=now,
        )
        if not claimed:
            return AttemptResult("skipped", delivery_id)
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        subscription = session.get(WebhookSubscription, delivery.subscription_id)
        assert subscription is not None  # the delivery cascades with it
        if not subscription.enabled:
            reason = subscription.disabled_reason or "disabled by a member"
            message = f"not sent: the subscription is disabled ({reason})"
            _release(session, delivery_id, owner, status=DeliveryStatus.failed, last_error=message)
            return AttemptResult("failed", delivery_id, error=message)
        url = subscription.url
        event_id, attempts = delivery.event_id, delivery.attempts
        max_attempts = delivery.max_attempts
        body = body_of(delivery.payload)
        keys = signing_secrets(subscription, box, now)

    # Outside any transaction: the receiver may take up to the timeout.
    signed = signing.headers(event_id, int(now.timestamp()), body, keys)
    answer = _post(url, body, signed)
    done = utcnow()
    recorded: dict[str, Any] = {
        "last_status_code": answer.status_code,
        "response_excerpt": answer.excerpt,
        "duration_ms": answer.duration_ms,
    }
    bound = log.bind(delivery_id=delivery_id, event_id=event_id, attempt=attempts)
    code = answer.status_code
    with db.session() as session:
        if code is not None and 200 <= code < 300:
            if not _release(
                session,
                delivery_id,
                owner,
                status=DeliveryStatus.delivered,
                delivered_at=done,
                last_error=None,
                **recorded,
            ):
                return AttemptResult("skipped", delivery_id, code)
            _subscription_succeeded(session, delivery_id)
            bound.info("webhooks.delivery.delivered", status_code=code, ms=answer.duration_ms)
            return AttemptResult("delivered", delivery_id, code)

        error = answer.error or _status_error(answer, None)
        final = answer.refused or code == 410 or attempts >= max_attempts
        if final:
            if code == 410:
                error = "HTTP 410 Gone: the receiver wants no more events; subscription disabled"
            elif not answer.refused:
                error = f"{error} (gave up after {attempts} attempts)"
            if not _release(
                session,
                delivery_id,
                owner,
                status=DeliveryStatus.failed,
                next_attempt_at=None,
                last_error=error[:ERROR_CHARS],
                **recorded,
            ):
                return AttemptResult("skipped", delivery_id, code, error)
            _subscription_failed(session, delivery_id, done, error, gone=code == 410)
            bound.warning("webhooks.delivery.failed", status_code=code, error=error)
            return AttemptResult("failed", delivery_id, code, error)

        wait = retry_delay(attempts, parse_retry_after(answer.retry_after, done))
        next_at = done + wait
        if not _release(
            session,
            delivery_id,
            owner,
            status=DeliveryStatus.pending,
            next_attempt_at=next_at,
            last_error=error[:ERROR_CHARS],
            **recorded,
        ):
            return AttemptResult("skipped", delivery_id, code, error)
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        queue_attempt(session, delivery)
        _subscription_failed(session, delivery_id, done, error, gone=False)
        bound.info(
            "webhooks.delivery.retry", status_code=code, error=error, next_at=next_at.isoformat()
        )
        return AttemptResult("retry", delivery_id, code, error)


def _release(session: Session, delivery_id: int, owner: str, **values: Any) -> bool:
    values.setdefault("locked_by", None)
    values.setdefault("lease_expires_at", None)
    return leases.release(session, DELIVERY_LEASE, delivery_id, owner, **values)


def _subscription_of(session: Session, delivery_id: int) -> WebhookSubscription:
    subscription = session.scalar(
        select(WebhookSubscription)
        .join(WebhookDelivery, WebhookDelivery.subscription_id == WebhookSubscription.id)
        .where(WebhookDelivery.id == delivery_id)
    )
    assert subscription is not None
    return subscription


def _subscription_succeeded(session: Session, delivery_id: int) -> None:
    subscription = _subscription_of(session, delivery_id)
    if subscription.failing_since is not None:
        subscription.failing_since = None


def _subscription_failed(
    session: Session, delivery_id: int, now: dt.datetime, error: str, *, gone: bool
) -> None:
    """Note the run of failures; disable the subscription when the receiver is gone or has
    failed every attempt for AUTO_DISABLE_AFTER."""
    subscription = _subscription_of(session, delivery_id)
    if subscription.failing_since is None:
        subscription.failing_since = now
    reason = None
    if gone:
        reason = "the receiver answered 410 Gone"
    elif now - subscription.failing_since >= AUTO_DISABLE_AFTER:
        days = AUTO_DISABLE_AFTER.days
        reason = f"every delivery failed for {days} days (last error: {error[:200]})"
    if reason is not None and subscription.enabled:
        subscription.enabled = False
        subscription.disabled_reason = f"disabled automatically: {reason}"
        subscription.updated_at = now
        log.warning(
            "webhooks.subscription.disabled", subscription_id=subscription.id, reason=reason
        )


def sweep(db: Database, *, limit: int = 500) -> dict[str, int]:
    """Queue a job for deliveries whose attempt is overdue or whose worker died: a job the
    engine failed (its lease reaped too often) must not leave its delivery waiting for ever."""
    now = utcnow()
    overdue = now - dt.timedelta(minutes=2)
    with db.session() as session:
        stuck = session.scalars(
            select(WebhookDelivery)
            .where(
                or_(
                    and_(
                        WebhookDelivery.status == DeliveryStatus.pending,
                        WebhookDelivery.next_attempt_at <= overdue,
                    ),
                    leases.expired(DELIVERY_LEASE, now),
                )
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        ).all()
        for delivery in stuck:
            # A row whose worker died is claimable again (its lease expired): the job takes it
            # over, its interrupted attempt counted as made.
            queue_attempt(session, delivery)
    return {"queued": len(stuck)}
