from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from socialpulse.db import Base, str_enum, utcnow

# Table options of public data shared by the instance: no workspace's data version covers it
# (workspaces.versions reads the key by name, not by import: it sits below this domain).
SHARED = {"info": {"shared_by_instance": True}}


class MediaStatus(enum.StrEnum):
    stored = "stored"
    failed = "failed"  # broken, too large, refused by egress: the placeholder is shown


class MediaObject(Base):
    """One image from a source URL, stored content-addressed in two WebP sizes.

    Public data shared by the instance, like the creators it illustrates. A failed download is
    a row too (status failed, with the reason), so a report says why it shows the placeholder
    and the next refresh knows what was tried."""

    __tablename__ = "media_objects"
    __table_args__ = SHARED

    id: Mapped[int] = mapped_column(primary_key=True)
    source_url: Mapped[str] = mapped_column(String(2048), unique=True)
    status: Mapped[MediaStatus] = mapped_column(str_enum(MediaStatus))
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # sha256 of the original bytes; the stored files are named after it.
    sha256: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    width: Mapped[int | None] = mapped_column(default=None)
    height: Mapped[int | None] = mapped_column(default=None)
    original_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    small_key: Mapped[str | None] = mapped_column(String(255), default=None)
    large_key: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
