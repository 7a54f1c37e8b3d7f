"""What the AI domain stores of its own: language-model usage, per call, with its cost; each
workspace's AI settings and its own wording of the intent-based response templates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.db import Base, utcnow
from socialpulse.workspaces import models as _workspace_models  # noqa: F401  (workspaces.id)


class AiUsage(Base):
    """One language-model call: tokens and what they cost (ROI counts AI generation costs).

    Appended, never updated, like a ledger: a call happened and was paid for whatever came of
    it."""

    __tablename__ = "ai_usage"
    __table_args__ = (Index("ix_ai_usage_workspace_created", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    purpose: Mapped[str] = mapped_column(String(40))  # e.g. draft, rewrite, shorten
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_cents: Mapped[int] = mapped_column(default=0)


class AiSettings(Base):
    """A workspace's AI settings; no row means the defaults (`ai.responses`)."""

    __tablename__ = "ai_settings"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    auto_response_threshold: Mapped[float] = mapped_column(Float, default=0.85)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ResponseTemplate(Base):
    """A workspace's own reply for one intent in one language, replacing the built-in one."""

    __tablename__ = "ai_response_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "intent", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    intent: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
