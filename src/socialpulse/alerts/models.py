"""Alert rules (per account) and the alerts they fired.

A rule fires once per *episode*: ``active_since`` is set when its condition starts to hold
(and an alert is written), stays set while it keeps holding, and is cleared (re-armed) the
first evaluation it no longer does. An alert is open until someone acknowledges it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.accounts import models as _account_models  # noqa: F401  (accounts.id)
from socialpulse.db import Base, str_enum, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (users.id)


class AlertKind(enum.StrEnum):
    follower_drop = "follower_drop"
    engagement_drop = "engagement_drop"
    negative_spike = "negative_spike"


class EmailStatus(enum.StrEnum):
    not_configured = "not_configured"  # no SMTP: the alert is on the overview and webhooks only
    pending = "pending"  # fired; the e-mail goes out once the alert is committed
    sent = "sent"
    failed = "failed"  # see email_error; the alert itself is kept


class AlertRule(Base):
    """What to watch on one account. The parameters mean, per kind (see alerts.schemas):
    follower_drop: ``percent`` and/or ``count`` followers lost over ``days``;
    engagement_drop: ``percent`` below the average of the previous ``days``;
    negative_spike: ``count`` negative comments in 24 h and ``multiplier`` × the daily average
    of the previous ``days``."""

    __tablename__ = "alert_rules"
    __table_args__ = (Index("ix_alert_rules_workspace_account", "workspace_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    percent: Mapped[float | None] = mapped_column(Float, default=None)
    count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    multiplier: Mapped[float | None] = mapped_column(Float, default=None)
    days: Mapped[int] = mapped_column(default=7)
    enabled: Mapped[bool] = mapped_column(default=True)
    # Start of the episode in progress (the condition held at the last evaluation); NULL: armed.
    active_since: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_evaluated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


class Alert(Base):
    """One episode of a rule's condition: what was measured against which threshold."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_workspace_open", "workspace_id", "acknowledged_at", "fired_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # Kept (without its rule) when the rule is deleted: the history stays readable.
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), default=None, index=True
    )
    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind))
    fired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    measured_value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    baseline_value: Mapped[float | None] = mapped_column(Float, default=None)
    unit: Mapped[str] = mapped_column(String(16))  # percent | followers | comments
    message: Mapped[str] = mapped_column(Text)
    # When the condition stopped holding (the rule re-armed); NULL while it still holds.
    cleared_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    email_status: Mapped[EmailStatus] = mapped_column(
        str_enum(EmailStatus), default=EmailStatus.not_configured
    )
    email_error: Mapped[str | None] = mapped_column(Text, default=None)
