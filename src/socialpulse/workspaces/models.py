from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import BigInteger, Enum, ForeignKey, String, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from socialpulse.db import Base, str_enum, utcnow


class Role(enum.StrEnum):
    """Ordered from most to least privileged."""

    owner = "owner"
    admin = "admin"
    editor = "editor"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return {"owner": 4, "admin": 3, "editor": 2, "viewer": 1}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


def _first_version() -> int:
    # Random, not 0: a workspace created under the id of a deleted one (SQLite reuses the
    # highest id) must not meet the deleted one's cached reports under the same version.
    return secrets.randbits(48)


def _role_enum() -> Enum:
    return Enum(Role, native_enum=False, length=16, validate_strings=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # An instance administrator (granted by the CLI only): repairs and crawl settings that
    # concern the whole instance, not any one workspace.
    is_instance_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", lazy="raise", cascade="all, delete-orphan"
    )


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    # Members plus pending invitations may not exceed it; None is unlimited. Set by the
    # instance operator (CLI), never by the workspace's own admins.
    seat_limit: Mapped[int | None] = mapped_column(default=None)
    # Bumped in the transaction of every write to the workspace's data (workspaces.versions);
    # cached reports are keyed by it. Read and written with Core only: the ORM attribute of a
    # loaded Workspace is not refreshed by the bump.
    data_version: Mapped[int] = mapped_column(
        BigInteger, default=_first_version, server_default="0"
    )
    # The same for interactions and for the reply queue's items (versions.SEPARATELY_VERSIONED):
    # the queue commits four times per reply sent, and most reports read neither table.
    inbox_version: Mapped[int] = mapped_column(
        BigInteger, default=_first_version, server_default="0"
    )
    queue_version: Mapped[int] = mapped_column(
        BigInteger, default=_first_version, server_default="0"
    )

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="workspace", lazy="raise", cascade="all, delete-orphan"
    )


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_role_enum())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())

    user: Mapped[User] = relationship(back_populates="memberships", lazy="raise")
    workspace: Mapped[Workspace] = relationship(back_populates="memberships", lazy="raise")


class DeliveryStatus(enum.StrEnum):
    """What became of an invitation's e-mail. `manual`: no SMTP configured, the admin passes
    the link on; `failed` keeps the invitation (resend it), with the error beside it."""

    manual = "manual"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class InvitationStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    revoked = "revoked"
    expired = "expired"


class Invitation(Base):
    """An offer to join a workspace with a role, redeemed once through a secret link.

    Only the link token's keyed hash is stored. Accepting never sets an existing user's
    password: a new person chooses their own, an existing user must be logged in as the
    invited address."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(_role_enum())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    accepted_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, length=16), default=DeliveryStatus.manual
    )
    delivery_error: Mapped[str | None] = mapped_column(String(500), default=None)

    @property
    def status(self) -> InvitationStatus:
        return self.status_at(utcnow())

    def status_at(self, now: dt.datetime) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.accepted
        if self.revoked_at is not None:
            return InvitationStatus.revoked
        if self.expires_at <= now:
            return InvitationStatus.expired
        return InvitationStatus.pending


class ApiKey(Base):
    """A workspace credential for the JSON API: only its SHA-256 is stored, shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_role_enum(), default=Role.admin)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UserSession(Base):
    """A dashboard login, kept server-side so it can be ended: the signed cookie carries only
    a random token, and this row (found by the token's SHA-256) says whether it still counts."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
