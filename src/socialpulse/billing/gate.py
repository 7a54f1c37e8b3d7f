"""The credit gate: one FastAPI dependency for every priced route.

```python
@router.post("/discovery/unlock-profile")
def unlock(body: UnlockRequest, credits: Credits, session: DbSession, subject: CurrentSubject):
    with credits.spend("influencer_unlock", reference=f"creator:{body.creator_id}") as hold:
        if hold.replayed:            # a retried request (same Idempotency-Key): charged once
            return previous_result(...)
        result = do_the_work(session, ...)
        hold.settle(session)         # the charge commits with the work's writes, or not at all
        return result
```

Entering ``spend`` before the route has used its session reserves the price in a unit of work of
its own, committed at once, so parallel requests see the hold (402 when short: the price, the
balance and the top-ups in the error's details). The route settles in its own transaction. A
hold left by an exception, without settling, or whose settling transaction rolled back is
released in another unit of work once the route's transaction has ended: a failed action charges
nothing. When the route has already used its writer session (its transaction holds SQLite's
write lock, or maybe the wallet row), the hold is taken inside that transaction instead and
lives or dies with it (the wallet row stays locked until it ends, so parallel spenders queue
rather than overspend). A GET route (read-only session) settles in a writer unit of work it
opens: ``with get_db(request).session() as writer: hold.settle(writer)``. A hold never settled
nor released (the process died) expires after ten minutes and is released by
``billing.release_expired``.

``Idempotency-Key`` (header, at most 200 characters): a request retried with the key of one
already charged gets ``hold.replayed`` and is charged nothing; the same key for another action
or reference is a 409. Jobs use the service directly: ``reserve`` in the request, ``settle`` or
``release`` by reservation id in the job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated

import anyio
import structlog
from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from socialpulse.billing import ledger, service
from socialpulse.billing.models import LedgerEntry
from socialpulse.db import Database
from socialpulse.errors import InvalidInput
from socialpulse.workspaces.deps import CurrentSubject, DbSession, get_db
from socialpulse.workspaces.tenancy import Subject

log = structlog.get_logger(__name__)


@dataclass
class Hold:
    """Credits held for one action in progress (or, replayed, the earlier charge)."""

    replayed: bool
    reservation_id: int | None = None
    entry_id: int | None = None
    settled: bool = field(default=False, repr=False)

    def settle(self, session: Session) -> LedgerEntry:
        """Charge the hold in `session`'s transaction (a writer: the route's own)."""
        if self.replayed or self.settled:
            assert self.entry_id is not None
            entry = session.get(LedgerEntry, self.entry_id)
            assert entry is not None
            return entry
        assert self.reservation_id is not None
        entry = service.settle(session, self.reservation_id)
        self.settled = True
        self.entry_id = entry.id
        return entry


class CreditGate:
    """The request's spender: its workspace, its user and its Idempotency-Key."""

    def __init__(
        self,
        db: Database,
        subject: Subject,
        idempotency_key: str | None,
        deferred: list[int] | None = None,
        route_session: Session | None = None,
    ) -> None:
        self.db = db
        self.subject = subject
        self.idempotency_key = idempotency_key
        # In a request: reservations to release after the route's transaction has ended.
        self._deferred = deferred
        self._route_session = route_session

    def _in_route_transaction(self) -> Session | None:
        """The route's writer session if its transaction has begun (it queried or wrote
        before `spend`): a reservation in a unit of work of its own would then wait on locks
        the route holds (SQLite's one write lock from the route's first query; the wallet
        row if the route locked it), so the hold is taken in the route's transaction."""
        session = self._route_session
        if session is None or session.info.get("readonly") or not session.in_transaction():
            return None
        return session

    @contextmanager
    def spend(self, action: str, *, reference: str, quantity: int = 1) -> Iterator[Hold]:
        workspace_id = self.subject.workspace_id
        key = self.idempotency_key
        if key is not None:
            with self.db.session(readonly=True) as session:
                earlier = service.find_charge(session, workspace_id, key)
                if earlier is not None:
                    if earlier.action != action or earlier.reference != reference:
                        raise service.key_reused(key, earlier.action, earlier.reference)
            if earlier is not None:
                yield Hold(replayed=True, entry_id=earlier.id)
                return
        route = self._in_route_transaction()
        if route is not None:
            yield from self._spend_in(route, action, reference, quantity)
            return
        with self.db.session() as session:
            hold = self._reserve(session, action, reference, quantity)
        if hold.replayed:
            # Charged by an earlier request with this key (between our read and reserve).
            yield hold
            return
        assert hold.reservation_id is not None
        if self._deferred is not None:
            # The route's transaction may hold the locks a release needs (SQLite's write
            # lock, the wallet row after settle): release once it has ended, whether it
            # committed (then a settled hold is charged and stays so) or rolled back.
            self._deferred.append(hold.reservation_id)
            yield hold
            return
        try:
            yield hold
        except BaseException as exc:
            release_unsettled(self.db, [hold.reservation_id], f"failed: {type(exc).__name__}")
            raise
        if not hold.settled:
            release_unsettled(self.db, [hold.reservation_id], "finished without charging")

    def _reserve(self, session: Session, action: str, reference: str, quantity: int) -> Hold:
        reservation = service.reserve(
            session,
            self.subject.workspace_id,
            action,
            quantity=quantity,
            reference=reference,
            actor_user_id=self.subject.user_id,
            idempotency_key=self.idempotency_key,
            actor_api_key_id=self.subject.api_key_id,
        )
        return Hold(
            replayed=reservation.ledger_entry_id is not None,
            reservation_id=reservation.id,
            entry_id=reservation.ledger_entry_id,
        )

    def _spend_in(
        self, route: Session, action: str, reference: str, quantity: int
    ) -> Iterator[Hold]:
        # The hold commits or rolls back with the route's transaction, which keeps the wallet
        # row locked until then (PostgreSQL): parallel spenders wait for it instead of seeing
        # the hold, so nothing is ever promised twice.
        hold = self._reserve(route, action, reference, quantity)
        if hold.replayed:
            yield hold
            return
        assert hold.reservation_id is not None
        try:
            yield hold
        except BaseException:
            # Usually the route's transaction rolls back and takes the hold with it; a route
            # that catches the error and commits must not leave it held.
            _release_quietly(route, hold.reservation_id, "the action failed")
            raise
        if not hold.settled:
            _release_quietly(route, hold.reservation_id, "the action finished without charging")


def _release_quietly(session: Session, reservation_id: int, reason: str) -> None:
    try:
        with session.begin_nested():
            if service.reservation_status(session, reservation_id) == "held":
                service.release(session, reservation_id, reason)
    except Exception:  # a failed transaction rolls the hold back anyway
        log.warning("billing.release.skipped", reservation_id=reservation_id)


def release_unsettled(db: Database, reservation_ids: list[int], reason: str) -> None:
    """Release those of the reservations still held: their action failed, never settled, or
    its settling transaction rolled back. Charged ones stay charged."""
    for reservation_id in reservation_ids:
        try:
            with db.session() as session:
                if service.reservation_status(session, reservation_id) == "held":
                    service.release(session, reservation_id, reason)
        except Exception:  # the sweep releases it when it expires; never fail a response
            log.exception("billing.release.failed", reservation_id=reservation_id)


async def _deferred_releases(request: Request) -> AsyncIterator[list[int]]:
    # scope="request": this teardown runs after the route's unit of work (scope "function")
    # committed or rolled back, so the release never waits on the route's own locks.
    held: list[int] = []
    try:
        yield held
    finally:
        # An exception of the route is thrown in at the yield: release in `finally`, shielded
        # so a client that went away cannot cancel it half-way.
        if held:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    release_unsettled,
                    get_db(request),
                    held,
                    "the request ended without charging",
                    limiter=anyio.CapacityLimiter(1),
                )


def credit_gate(
    request: Request,
    subject: CurrentSubject,
    session: DbSession,
    deferred: Annotated[list[int], Depends(_deferred_releases, scope="request")],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=ledger.MAX_KEY_LENGTH,
            description="Any unique string (<= 200 chars): a retried request is charged once.",
        ),
    ] = None,
) -> CreditGate:
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInput("the Idempotency-Key header is empty")
    return CreditGate(get_db(request), subject, idempotency_key, deferred, session)


Credits = Annotated[CreditGate, Depends(credit_gate)]
