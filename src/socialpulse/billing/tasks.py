"""Billing's periodic sweep and its hook into workspaces' seat limits (thin: logic in
``service``)."""

from __future__ import annotations

from socialpulse.billing import service
from socialpulse.db import get_database
from socialpulse.workspaces import service as workspace_service


def on_load() -> None:
    """Seats per plan: a workspace without an operator's seat limit gets its plan's seats."""
    workspace_service.set_plan_seats(service.plan_seats)


def release_expired() -> dict[str, int]:
    """Every minute: release reservations whose action never settled nor released them (the
    process died, a job was lost). They already count nothing once expired."""
    released = 0
    while True:
        with get_database().session() as session:
            batch = service.release_expired(session)
        released += batch
        if batch < 1000:
            return {"released": released}
