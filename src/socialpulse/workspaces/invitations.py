"""Invitations: the only way into a workspace. Services flush; the caller's edge commits.

An admin invites an e-mail address with a role. The link carries a random token (256 bits);
the database keeps only its HMAC under the instance's secret key, so neither a database dump
nor a leaked row can be turned into a working link, and rotating the secret key voids every
pending link. A link works once, until it expires or is revoked.

Why not "add a member with a password" (the old way): it let one workspace's admin create
the account of someone who later joined another workspace, with a password that admin
knew. Here nobody sets a password for anyone else: a new person chooses theirs when they
accept, and an existing user accepts only while logged in as the invited address.

The answers of `create_invitation` are the same whether or not the address already has an
account (no account enumeration): the users table is not even read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.config import Settings
from socialpulse.db import Database, utcnow
from socialpulse.errors import AppError, Conflict, InvalidInput, PermissionDenied
from socialpulse.kit.mail import MailError, send_mail
from socialpulse.kit.security import constant_time_equals, new_token
from socialpulse.workspaces import seats
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import (
    DeliveryStatus,
    Invitation,
    InvitationStatus,
    Membership,
    Role,
    User,
    Workspace,
)
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "inv_"
# Kept short in the row: an SMTP error can quote a whole server banner.
MAX_ERROR_LENGTH = 500


class MembersAreInvited(AppError):
    """The removed "create a member with a password" request."""

    status_code = 410
    code = "use_invitations"


class InvitationInvalid(AppError):
    """Unknown, used, revoked or expired link: the holder gets to know which, nobody else."""

    status_code = 410
    code = "invitation_invalid"


@dataclass(frozen=True)
class InvitationSecrets:
    """What the edge hands the service: the key that signs links and how long they live."""

    secret_key: str
    ttl: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> InvitationSecrets:
        return cls(settings.resolved_secret_key(), dt.timedelta(days=settings.invitation_ttl_days))

    def hash(self, token: str) -> str:
        key = hashlib.sha256(b"socialpulse-invitations:" + self.secret_key.encode()).digest()
        return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def invitation_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/invite/{token}"


def _new_token(secrets: InvitationSecrets) -> tuple[str, str]:
    token = TOKEN_PREFIX + new_token(32)
    return token, secrets.hash(token)


# --- admins: invite, list, revoke, resend -----------------------------------------------------


def create_invitation(
    session: Session,
    subject: Subject,
    email: str,
    role: Role,
    *,
    secrets: InvitationSecrets,
    smtp_configured: bool,
) -> tuple[Invitation, str]:
    """A new invitation and its token (shown once, never stored)."""
    subject.require(Role.admin)
    if role == Role.owner and subject.role != Role.owner:
        raise PermissionDenied("only an owner can invite another owner")
    email = workspace_service.normalize_email(email)
    workspace = seats.lock_workspace(session, subject.workspace_id)
    already_member = session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.workspace_id == workspace.id, User.email == email)
    )
    if already_member is not None:
        # Neutral: the admin can see the member list anyway; nothing about other workspaces
        # or about whether the address has an account elsewhere is said.
        raise Conflict(f"{email} is already a member of this workspace")
    now = utcnow()
    pending = session.scalar(
        scoped(select(Invitation.id), subject).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if pending is not None:
        raise Conflict(f"an invitation to {email} is already pending; resend or revoke it")
    seats.require_seats(seats.seat_usage(session, workspace, now))
    token, token_hash = _new_token(secrets)
    invitation = Invitation(
        workspace_id=workspace.id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by_user_id=subject.user_id,
        created_at=now,
        expires_at=now + secrets.ttl,
        delivery_status=DeliveryStatus.sending if smtp_configured else DeliveryStatus.manual,
    )
    session.add(invitation)
    session.flush()
    log.info(
        "workspaces.invitation.created",
        invitation_id=invitation.id,
        workspace_id=workspace.id,
        role=role.value,
        actor=subject.actor,
    )
    return invitation, token


def get_invitation(session: Session, subject: Subject, invitation_id: int) -> Invitation:
    subject.require(Role.admin)
    return get_scoped(session, Invitation, invitation_id, subject)


def list_invitations(session: Session, subject: Subject) -> list[Invitation]:
    subject.require(Role.admin)
    return list(session.scalars(scoped(select(Invitation), subject).order_by(Invitation.id.desc())))


def revoke_invitation(session: Session, subject: Subject, invitation_id: int) -> Invitation:
    subject.require(Role.admin)
    invitation = get_scoped(session, Invitation, invitation_id, subject)
    if invitation.accepted_at is not None:
        raise Conflict("this invitation was already accepted; remove the member instead")
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.flush()
        log.info("workspaces.invitation.revoked", invitation_id=invitation.id, actor=subject.actor)
    return invitation


def resend_invitation(
    session: Session,
    subject: Subject,
    invitation_id: int,
    *,
    secrets: InvitationSecrets,
    smtp_configured: bool,
) -> tuple[Invitation, str]:
    """A fresh link (the old one stops working) and a fresh expiry for a pending or expired
    invitation. The token is new because the old one was never stored."""
    subject.require(Role.admin)
    invitation = get_scoped(session, Invitation, invitation_id, subject)
    if invitation.role == Role.owner and subject.role != Role.owner:
        raise PermissionDenied("only an owner can invite another owner")
    now = utcnow()
    status = invitation.status_at(now)
    if status in (InvitationStatus.accepted, InvitationStatus.revoked):
        raise Conflict(f"this invitation was {status.value}; create a new one instead")
    workspace = seats.lock_workspace(session, subject.workspace_id)
    if status == InvitationStatus.expired:
        # An expired invitation holds no seat; renewing it takes one again.
        seats.require_seats(seats.seat_usage(session, workspace, now))
    token, invitation.token_hash = _new_token(secrets)
    invitation.expires_at = now + secrets.ttl
    invitation.delivery_status = (
        DeliveryStatus.sending if smtp_configured else DeliveryStatus.manual
    )
    invitation.delivery_error = None
    session.flush()
    log.info("workspaces.invitation.resent", invitation_id=invitation.id, actor=subject.actor)
    return invitation, token


# --- invitees: look up and accept --------------------------------------------------------------


@dataclass(frozen=True)
class InvitationView:
    """What the accept page shows to whoever holds the link."""

    email: str
    role: Role
    workspace_name: str
    expires_at: dt.datetime


def _by_token(
    session: Session, token: str, secrets: InvitationSecrets, *, lock: bool = False
) -> Invitation:
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX):
        raise InvitationInvalid("this invitation link is not valid")
    token_hash = secrets.hash(token)
    query = select(Invitation).where(Invitation.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    invitation = session.scalar(query)
    if invitation is None or not constant_time_equals(invitation.token_hash, token_hash):
        raise InvitationInvalid(
            "this invitation link is not valid (a newer link may have replaced it)"
        )
    status = invitation.status_at(utcnow())
    if status == InvitationStatus.accepted:
        raise InvitationInvalid("this invitation was already used")
    if status == InvitationStatus.revoked:
        raise InvitationInvalid("this invitation was withdrawn")
    if status == InvitationStatus.expired:
        raise InvitationInvalid("this invitation has expired; ask for a new one")
    return invitation


def view_invitation(session: Session, token: str, secrets: InvitationSecrets) -> InvitationView:
    invitation = _by_token(session, token, secrets)
    workspace = session.get(Workspace, invitation.workspace_id)
    assert workspace is not None  # the foreign key cascades
    return InvitationView(invitation.email, invitation.role, workspace.name, invitation.expires_at)


@dataclass(frozen=True)
class Acceptance:
    invitation: Invitation
    user: User
    workspace: Workspace
    joined: bool  # False: the user was a member already (the invitation is used up anyway)


def _join(session: Session, invitation: Invitation, user: User) -> Acceptance:
    workspace = seats.lock_workspace(session, invitation.workspace_id)
    existing = session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == invitation.workspace_id, Membership.user_id == user.id
        )
    )
    invitation.accepted_at = utcnow()
    invitation.accepted_user_id = user.id
    if existing is None:
        # The invitation held its seat since it was made; only a limit lowered meanwhile (or
        # members the operator added) can leave no room now.
        seats.require_seats(seats.seat_usage(session, workspace), counting_pending=False)
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=invitation.role))
    session.flush()
    log.info(
        "workspaces.invitation.accepted",
        invitation_id=invitation.id,
        workspace_id=workspace.id,
        user_id=user.id,
        joined=existing is None,
    )
    return Acceptance(invitation, user, workspace, joined=existing is None)


def accept_as_new_user(
    session: Session, token: str, *, name: str, password: str, secrets: InvitationSecrets
) -> Acceptance:
    """Create the invited person's account with the password *they* chose, and join."""
    invitation = _by_token(session, token, secrets, lock=True)
    if session.scalar(select(User.id).where(User.email == invitation.email)) is not None:
        # Never attach (or re-password) an existing account here: its owner must log in.
        raise Conflict(
            f"an account with the e-mail {invitation.email} already exists: log in as "
            "that user on the dashboard and open the invitation link again to accept"
        )
    if not name.strip():
        raise InvalidInput("tell us your name")
    user = workspace_service.create_user(session, invitation.email, password, name)
    return _join(session, invitation, user)


def accept_as_user(
    session: Session, token: str, user: User, *, secrets: InvitationSecrets
) -> Acceptance:
    """A logged-in user accepts; only the invited address may."""
    invitation = _by_token(session, token, secrets, lock=True)
    if user.email != invitation.email:
        raise PermissionDenied(
            f"this invitation is for {invitation.email}, and you are logged in as "
            f"{user.email}; log out and log in as {invitation.email} to accept it"
        )
    return _join(session, invitation, user)


# --- e-mail delivery ---------------------------------------------------------------------------


def record_delivery(
    session: Session, invitation_id: int, token_hash: str, error: str | None
) -> None:
    invitation = session.get(Invitation, invitation_id)
    # A resend meanwhile replaced the token: this result is about a link that no longer works.
    if invitation is None or invitation.token_hash != token_hash:
        return
    if error is None:
        invitation.delivery_status = DeliveryStatus.sent
        invitation.delivery_error = None
    else:
        invitation.delivery_status = DeliveryStatus.failed
        invitation.delivery_error = error[:MAX_ERROR_LENGTH]
    session.flush()


def invite_and_send(
    db: Database, settings: Settings, subject: Subject, email: str, role: Role
) -> tuple[int, str]:
    """Invite in a unit of work of its own, then e-mail the link (see deliver_invitation): a
    rolled-back invitation must never have been mailed. Returns the id and the token, which
    the caller shows once."""
    with db.session() as session:
        invitation, token = create_invitation(
            session,
            subject,
            email,
            role,
            secrets=InvitationSecrets.from_settings(settings),
            smtp_configured=settings.smtp_url is not None,
        )
        invitation_id = invitation.id
    deliver_invitation(db, settings, invitation_id, token)
    return invitation_id, token


def resend_and_send(db: Database, settings: Settings, subject: Subject, invitation_id: int) -> str:
    """A new link for the invitation (the old one stops working), committed, then mailed."""
    with db.session() as session:
        _invitation, token = resend_invitation(
            session,
            subject,
            invitation_id,
            secrets=InvitationSecrets.from_settings(settings),
            smtp_configured=settings.smtp_url is not None,
        )
    deliver_invitation(db, settings, invitation_id, token)
    return token


def deliver_invitation(db: Database, settings: Settings, invitation_id: int, token: str) -> None:
    """Send the invitation e-mail, after the invitation's own transaction committed, and
    record the outcome in a unit of work of its own: a failed delivery never loses the
    invitation, it shows as failed with the reason and can be resent."""
    if settings.smtp_url is None:
        return
    secrets = InvitationSecrets.from_settings(settings)
    with db.session(readonly=True) as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            return
        workspace = session.get(Workspace, invitation.workspace_id)
        inviter = (
            session.get(User, invitation.invited_by_user_id)
            if invitation.invited_by_user_id is not None
            else None
        )
        to, role, expires_at = invitation.email, invitation.role, invitation.expires_at
        workspace_name = workspace.name if workspace is not None else "a workspace"
        who = (inviter.name or inviter.email) if inviter is not None else "An administrator"
    link = invitation_link(settings.base_url, token)
    body = (
        f"{who} invited you to join {workspace_name} on socialpulse as {role.value}.\n\n"
        f"Accept the invitation here (the link works once, until "
        f"{expires_at:%Y-%m-%d %H:%M} UTC):\n\n{link}\n\n"
        "If you did not expect this, ignore this e-mail.\n"
    )
    error: str | None = None
    try:
        send_mail(
            settings.smtp_url.get_secret_value(),
            settings.smtp_from,
            to,
            f"You are invited to {workspace_name} on socialpulse",
            body,
            timeout=settings.smtp_timeout_s,
        )
        log.info("workspaces.invitation.mail_sent", invitation_id=invitation_id)
    except MailError as exc:
        error = str(exc)
        log.warning("workspaces.invitation.mail_failed", invitation_id=invitation_id, error=error)
    except Exception as exc:
        # The invitation is committed and its link is about to be shown once to the admin:
        # a bug in delivery must cost the e-mail, not the link.
        error = f"unexpected error while sending: {type(exc).__name__}"
        log.exception("workspaces.invitation.mail_failed", invitation_id=invitation_id)
    with db.session() as session:
        record_delivery(session, invitation_id, secrets.hash(token), error)
