"""Seats: members plus pending invitations, capped per workspace.

The cap is the instance operator's ``workspaces.seat_limit`` when set (an override), else the
seats of the workspace's plan. Plans belong to billing, which sits above this domain: billing
registers the plan's seats here (``set_plan_seats``, from its ``on_load``), so workspaces
never imports billing. Without it (billing not loaded) there is no cap but the operator's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.db import utcnow
from socialpulse.errors import AppError, InvalidInput, NotFound
from socialpulse.workspaces.models import Invitation, Membership, Workspace

# (session, workspace_id) -> the plan's seats, or None for no cap.
PlanSeats = Callable[[Session, int], int | None]
_plan_seats: PlanSeats | None = None


def set_plan_seats(provider: PlanSeats | None) -> PlanSeats | None:
    """Install the seats-per-plan provider (billing's on_load); returns the previous one."""
    global _plan_seats
    previous, _plan_seats = _plan_seats, provider
    return previous


def effective_seat_limit(session: Session, workspace: Workspace) -> int | None:
    """The operator's seat limit if set, else the plan's seats (None: unlimited)."""
    if workspace.seat_limit is not None:
        return workspace.seat_limit
    return None if _plan_seats is None else _plan_seats(session, workspace.id)


class SeatLimitReached(AppError):
    status_code = 409
    code = "seat_limit_reached"


@dataclass(frozen=True)
class SeatUsage:
    seat_limit: int | None
    members: int
    pending_invitations: int

    @property
    def used(self) -> int:
        return self.members + self.pending_invitations

    @property
    def free(self) -> int | None:
        return None if self.seat_limit is None else max(0, self.seat_limit - self.used)


def lock_workspace(session: Session, workspace_id: int) -> Workspace:
    """The workspace row, locked until commit on PostgreSQL, so two concurrent invitations
    cannot both take the last seat (SQLite writers are already serialised by BEGIN
    IMMEDIATE)."""
    workspace = session.scalar(
        select(Workspace).where(Workspace.id == workspace_id).with_for_update()
    )
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


def seat_usage(session: Session, workspace: Workspace, now: dt.datetime | None = None) -> SeatUsage:
    now = now or utcnow()
    members = session.scalar(
        select(func.count()).select_from(Membership).where(Membership.workspace_id == workspace.id)
    )
    pending = session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.workspace_id == workspace.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    return SeatUsage(effective_seat_limit(session, workspace), members or 0, pending or 0)


def require_seats(usage: SeatUsage, needed: int = 1, *, counting_pending: bool = True) -> None:
    """Raise unless `needed` more seats fit. `counting_pending=False` when one of the pending
    invitations is the one being turned into a member (its seat is already held)."""
    if usage.seat_limit is None:
        return
    used = usage.used if counting_pending else usage.members
    if used + needed > usage.seat_limit:
        raise SeatLimitReached(
            f"this workspace has {usage.seat_limit} seats and all are taken "
            f"({usage.members} members, {usage.pending_invitations} pending invitations); "
            "revoke an invitation, remove a member, upgrade the plan, or ask the instance "
            "operator for more seats",
            details={
                "seat_limit": usage.seat_limit,
                "members": usage.members,
                "pending_invitations": usage.pending_invitations,
            },
        )


def set_seat_limit(session: Session, workspace: Workspace, seat_limit: int | None) -> Workspace:
    """Operator only (CLI): there is deliberately no route for a workspace to raise its own.
    Lowering it below what is used removes nobody; it only blocks new invitations."""
    if seat_limit is not None and seat_limit < 1:
        raise InvalidInput("a seat limit must be at least 1 (or none for unlimited)")
    workspace.seat_limit = seat_limit
    session.flush()
    return workspace
