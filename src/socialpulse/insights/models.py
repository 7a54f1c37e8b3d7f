"""What ROI needs besides the analytics it reads: the workspace's values per engagement unit and
the costs it recorded by hand (tools, ads, anything else). Money is integer cents of a currency
(ISO 4217), never floats; a value per unit is integer millicents (1/1000 cent) because a fair
value per impression is a fraction of a cent."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.creators import models as _creator_models  # noqa: F401  (campaigns.id)
from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)

# The metrics a workspace puts a value on, in the order the ROI breakdown lists them.
VALUE_METRICS = ("likes", "comments", "shares", "followers", "clicks", "impressions")


class CostCategory(enum.StrEnum):
    tools = "tools"  # software subscriptions (schedulers, design tools, this instance's hosting)
    ads = "ads"  # paid promotion
    other = "other"


class RoiSettings(Base):
    """A workspace's ROI currency and value per unit of each metric (no row: the defaults)."""

    __tablename__ = "roi_settings"
    __table_args__ = tuple(
        CheckConstraint(
            f"value_per_{metric}_millicents >= 0", name=f"value_per_{metric}_not_negative"
        )
        for metric in VALUE_METRICS
    )

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    value_per_likes_millicents: Mapped[int] = mapped_column(BigInteger)
    value_per_comments_millicents: Mapped[int] = mapped_column(BigInteger)
    value_per_shares_millicents: Mapped[int] = mapped_column(BigInteger)
    value_per_followers_millicents: Mapped[int] = mapped_column(BigInteger)
    value_per_clicks_millicents: Mapped[int] = mapped_column(BigInteger)
    value_per_impressions_millicents: Mapped[int] = mapped_column(BigInteger)
    updated_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WorkspaceCost(Base):
    """A cost recorded by the team (a tool subscription, an ad spend), on the day it was
    incurred; tagged with a campaign when it belongs to one."""

    __tablename__ = "workspace_costs"
    __table_args__ = (
        Index("ix_workspace_costs_workspace_incurred", "workspace_id", "incurred_on"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    category: Mapped[CostCategory] = mapped_column(str_enum(CostCategory))
    label: Mapped[str] = mapped_column(String(200))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    incurred_on: Mapped[dt.date] = mapped_column(Date)
    # Deleting the campaign keeps the cost (it was still paid); it is then no campaign's.
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None, index=True
    )
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
