"""Wallets for unlock tests: a plan without allowances (so every unlock spends credits) and a
given balance, written through the billing service (with their ledger rows)."""

from __future__ import annotations

from sqlalchemy import func, select

from socialpulse.billing import ledger as billing_ledger
from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import service as billing_service
from socialpulse.billing import wallets as billing_wallets
from socialpulse.billing.models import LedgerEntry, LedgerKind
from socialpulse.billing.schemas import PlanUpdate
from socialpulse.db import Database

CREDITS_ONLY_PLAN = "standard"


def credits_only(db: Database, workspace_id: int, credits: int) -> None:
    """The workspace on a plan whose monthly allowances are 0, with ``credits`` to spend."""
    with db.session() as session:
        billing_pricing.update_plan(
            session,
            CREDITS_ONLY_PLAN,
            PlanUpdate(profiles_per_month=0, emails_per_month=0, posts_per_month=0),
        )
        billing_service.set_plan(session, workspace_id, CREDITS_ONLY_PLAN, reason="test")
        if credits:
            billing_service.grant_credits(session, workspace_id, credits, reason="test credits")


def balance(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return billing_wallets.wallet_for(session, workspace_id).balance


def ledger_sum(db: Database, workspace_id: int) -> int:
    with db.session(readonly=True) as session:
        return billing_ledger.ledger_sum(session, workspace_id)


def charges(db: Database, workspace_id: int, action: str) -> int:
    """How many charge rows of ``action`` the workspace's ledger holds."""
    with db.session(readonly=True) as session:
        return (
            session.scalar(
                select(func.count()).where(
                    LedgerEntry.workspace_id == workspace_id,
                    LedgerEntry.kind == LedgerKind.charge,
                    LedgerEntry.action == action,
                )
            )
            or 0
        )
