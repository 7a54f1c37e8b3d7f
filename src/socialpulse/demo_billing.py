"""The demo's credits and teams (#14): the demo workspace on the Standard plan with part of its
monthly allowance used, a top-up, a few unlocked creators (one about to expire), a saved list
and a campaign, so the discovery, billing, lists and campaigns pages show real-looking data at
first start.

Everything goes through the same services a user's clicks do (the plan change, the grant and
every unlock are ledger rows). One thing is staged: the unlock about to expire is shortened to
two days left, since a real one would take 28 days to get there."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.billing import service as billing_service
from socialpulse.billing.gate import Hold
from socialpulse.billing.models import LedgerEntry, LedgerKind
from socialpulse.creators import campaigns, lists, unlocks
from socialpulse.creators.campaigns_schemas import (
    CampaignCostIn,
    CampaignCreate,
    CampaignCreatorIn,
)
from socialpulse.creators.lists_schemas import CreatorListCreate, ListItemsAdd
from socialpulse.creators.models import Creator, CreatorAccess
from socialpulse.db import Database, utcnow

DEMO_PLAN = "standard"
DEMO_TOPUP_CREDITS = 1_000
DEMO_UNLOCKS = 6
DEMO_LIST_NAME = "Garden & food shortlist"
DEMO_CAMPAIGN_NAME = "Spring planting launch"
EXPIRING_DAYS_LEFT = 2


def _already_seeded(session: Session, workspace_id: int) -> bool:
    return (
        session.scalar(
            select(LedgerEntry.id).where(
                LedgerEntry.workspace_id == workspace_id,
                LedgerEntry.kind == LedgerKind.plan_change,
            )
        )
        is not None
    )


def seed_demo_billing(db: Database, workspace_id: int, owner_id: int) -> bool:
    """Once per workspace (its first plan change marks it done). Returns whether it seeded."""
    with db.session() as session:
        if _already_seeded(session, workspace_id):
            return False
        billing_service.set_plan(
            session, workspace_id, DEMO_PLAN, actor_user_id=owner_id, reason="demo workspace"
        )
        billing_service.grant_credits(
            session,
            workspace_id,
            DEMO_TOPUP_CREDITS,
            reason="demo top-up",
            actor_user_id=owner_id,
            reference="demo",
            idempotency_key=f"demo-topup:{workspace_id}",
        )
        creators = list(
            session.scalars(
                select(Creator)
                .where(Creator.origin == "demo", Creator.followers_count.is_not(None))
                .order_by(Creator.followers_count.desc(), Creator.id)
            )
        )
    if not creators:
        return True
    # A spread of sizes, from the largest down.
    chosen = creators[:: max(1, len(creators) // DEMO_UNLOCKS)][:DEMO_UNLOCKS]
    for creator in chosen:
        with db.session() as session:
            reservation = billing_service.reserve(
                session,
                workspace_id,
                unlocks.UNLOCK_ACTION,
                reference=f"creator:{creator.id}",
                actor_user_id=owner_id,
            )
            unlocks.unlock(
                session,
                workspace_id=workspace_id,
                creator_id=creator.id,
                actor_user_id=owner_id,
                hold=Hold(replayed=False, reservation_id=reservation.id),
            )
    now = utcnow()
    with db.session() as session:
        expiring = session.scalar(
            select(CreatorAccess).where(
                CreatorAccess.workspace_id == workspace_id,
                CreatorAccess.creator_id == chosen[-1].id,
            )
        )
        if expiring is not None:
            expiring.expires_at = now + dt.timedelta(days=EXPIRING_DAYS_LEFT)
        shortlist = lists.create_list(
            session,
            workspace_id,
            CreatorListCreate(
                name=DEMO_LIST_NAME, description="Creators to brief for the spring season"
            ),
            user_id=owner_id,
        )
        lists.add_creators(
            session,
            workspace_id,
            shortlist.id,
            ListItemsAdd(creator_ids=[c.id for c in creators[:8]], note="first look"),
            user_id=owner_id,
        )
        today = now.date()
        campaigns.create_campaign(
            session,
            workspace_id,
            CampaignCreate(
                name=DEMO_CAMPAIGN_NAME,
                description="Seed kits sent to three gardening creators",
                starts_on=today - dt.timedelta(days=30),
                ends_on=today,
                budget_cents=500_000,
                creators=[
                    CampaignCreatorIn(creator_id=c.id, fee_cents=fee)
                    for c, fee in zip(chosen[:3], (150_000, 80_000, 40_000), strict=False)
                ],
                costs=[CampaignCostIn(label="Seed kits and shipping", amount_cents=36_000)],
            ),
            user_id=owner_id,
        )
    return True
