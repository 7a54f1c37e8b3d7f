"""Users, workspaces, members and API keys. Services flush; the caller's edge commits."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from socialpulse.kit.security import (
    DUMMY_PASSWORD_HASH,
    constant_time_equals,
    hash_password,
    new_token,
    password_needs_rehash,
    sha256_hex,
    verify_password,
)
from socialpulse.workspaces import seats
from socialpulse.workspaces.models import ApiKey, Membership, Role, User, UserSession, Workspace
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
MIN_PASSWORD_LENGTH = 8
API_KEY_PREFIX = "sp"
# Avoid updating last_used_at on every request: one write a minute per key is plenty.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
# Same for a dashboard session's last_seen_at: the list of sessions needs minutes, not requests.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)


def normalize_email(email: str) -> str:
    # Syntax only: self-hosted installs use intranet, .local and localhost addresses that
    # strict validators reject, and no mail is sent to them.
    normalized = email.strip().lower()
    if not EMAIL_RE.match(normalized):
        raise InvalidInput(f"invalid email address {email!r}: expected name@domain")
    return normalized


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        ) from exc
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


# --- users -----------------------------------------------------------------------------------


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, email: str, password: str, name: str = "") -> User:
    email = normalize_email(email)
    _check_password(password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, name=name.strip(), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_password(
    session: Session, user: User, password: str, *, keep_session_id: int | None = None
) -> None:
    """A new password ends every dashboard session of the user but `keep_session_id` (the
    one that changed it): whoever learnt the old password may be logged in elsewhere."""
    _check_password(password)
    user.password_hash = hash_password(password)
    revoke_other_sessions(session, user.id, keep_session_id)
    session.flush()


def set_user_active(session: Session, user: User, active: bool) -> None:
    """Deactivate (or reactivate) a user. A deactivated user cannot log in, their dashboard
    sessions end, and the API keys they created stop working until they are reactivated."""
    user.is_active = active
    if not active:
        revoke_other_sessions(session, user.id, None)
    session.flush()


# --- instance administrators ------------------------------------------------------------------


def instance_admin_user_id(session: Session, subject: Subject) -> int | None:
    """The user acting for `subject` if that user is an instance administrator, else None.
    An API key acts for the user who created it (a key made by the CLI acts for nobody); the
    subject's workspace role plays no part: owning a workspace is not administering the
    instance."""
    if subject.user_id is not None:
        user_id: int | None = subject.user_id
    elif subject.api_key_id is not None:
        user_id = session.scalar(
            select(ApiKey.created_by_user_id).where(ApiKey.id == subject.api_key_id)
        )
    else:
        user_id = None
    if user_id is None:
        return None
    admin = session.scalar(
        select(User.id).where(User.id == user_id, User.is_instance_admin, User.is_active)
    )
    return admin


def set_instance_admin(session: Session, email: str, admin: bool) -> User:
    """Grant or revoke the instance administrator role (the CLI's `admin grant/revoke`)."""
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with email {normalize_email(email)}")
    user.is_instance_admin = admin
    session.flush()
    return user


def list_instance_admins(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.is_instance_admin).order_by(User.email)))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user for these credentials, or None. Unknown emails cost a full hash too."""
    try:
        normalized = normalize_email(email)
    except InvalidInput:
        verify_password(DUMMY_PASSWORD_HASH, password)
        return None
    user = session.scalar(select(User).where(User.email == normalized))
    if user is None or not user.is_active:
        verify_password(DUMMY_PASSWORD_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


# --- workspaces -------------------------------------------------------------------------------


def create_workspace(
    session: Session,
    slug: str,
    name: str,
    owner: User,
    timezone: str = "UTC",
    *,
    seat_limit: int | None = None,
) -> Workspace:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            f"invalid workspace slug {slug!r}: use 3-64 lowercase letters, digits and dashes"
        )
    if session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        raise Conflict(f"workspace {slug!r} already exists")
    if seat_limit is not None and seat_limit < 1:
        raise InvalidInput("a seat limit must be at least 1 (or none for unlimited)")
    workspace = Workspace(
        slug=slug,
        name=name.strip() or slug,
        timezone=validate_timezone(timezone),
        seat_limit=seat_limit,
    )
    session.add(workspace)
    session.flush()
    session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role=Role.owner))
    session.flush()
    return workspace


def get_workspace_by_slug(session: Session, slug: str) -> Workspace:
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        raise NotFound(f"workspace {slug!r} not found")
    return workspace


def get_workspace(session: Session, subject: Subject) -> Workspace:
    workspace = session.get(Workspace, subject.workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


def update_workspace(
    session: Session, subject: Subject, *, name: str | None, timezone: str | None
) -> Workspace:
    subject.require(Role.admin)
    workspace = get_workspace(session, subject)
    if name is not None:
        if not name.strip():
            raise InvalidInput("a workspace needs a name")
        workspace.name = name.strip()
    if timezone is not None:
        workspace.timezone = validate_timezone(timezone)
    session.flush()
    return workspace


def workspaces_for_user(session: Session, user_id: int) -> list[tuple[Workspace, Role]]:
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name)
    ).all()
    return [(workspace, role) for workspace, role in rows]


def subject_for_user(session: Session, user_id: int, workspace_id: int | None) -> Subject | None:
    """The user's subject in `workspace_id`, or in their first workspace; None if no access."""
    query = select(Membership).where(Membership.user_id == user_id)
    if workspace_id is not None:
        query = query.where(Membership.workspace_id == workspace_id)
    membership = session.scalar(query.order_by(Membership.id).limit(1))
    if membership is None:
        return None
    return Subject(workspace_id=membership.workspace_id, role=membership.role, user_id=user_id)


def locked_seat_usage(session: Session, workspace_id: int) -> tuple[Workspace, seats.SeatUsage]:
    """The workspace row locked until commit, and its seats in use (billing: a plan must not
    have fewer seats than a workspace without an operator's limit already uses)."""
    workspace = seats.lock_workspace(session, workspace_id)
    return workspace, seats.seat_usage(session, workspace)


def set_plan_seats(provider: seats.PlanSeats | None) -> seats.PlanSeats | None:
    """Billing installs the seats of a workspace's plan as its seat limit (see seats.py)."""
    return seats.set_plan_seats(provider)


# --- members ----------------------------------------------------------------------------------


def list_members(session: Session, subject: Subject) -> list[tuple[Membership, User]]:
    rows = session.execute(
        scoped(select(Membership, User), subject)
        .join(User, User.id == Membership.user_id)
        .order_by(Membership.id)
    ).all()
    return [(membership, user) for membership, user in rows]


def _guard_role_change(subject: Subject, current: Role | None, new: Role | None) -> None:
    subject.require(Role.admin)
    if Role.owner in (current, new) and subject.role != Role.owner:
        raise PermissionDenied("only an owner can grant, change or remove the owner role")


def _owner_count(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.workspace_id == workspace_id, Membership.role == Role.owner)
        )
        or 0
    )


def add_member(session: Session, subject: Subject, email: str, role: Role) -> Membership:
    """Attach an *existing* user directly, for the instance operator and tests only: no route
    calls this. People join through invitations (`workspaces.invitations`), which they accept
    themselves; nobody ever creates an account or sets a password for someone else."""
    _guard_role_change(subject, None, role)
    user = get_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user has the email {normalize_email(email)}")
    exists = session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == subject.workspace_id, Membership.user_id == user.id
        )
    )
    if exists is not None:
        raise Conflict(f"{user.email} is already a member of this workspace")
    workspace = seats.lock_workspace(session, subject.workspace_id)
    seats.require_seats(seats.seat_usage(session, workspace))
    membership = Membership(workspace_id=subject.workspace_id, user_id=user.id, role=role)
    session.add(membership)
    session.flush()
    return membership


def change_member_role(
    session: Session, subject: Subject, membership_id: int, role: Role
) -> Membership:
    membership = get_scoped(session, Membership, membership_id, subject)
    _guard_role_change(subject, membership.role, role)
    if membership.role == Role.owner and role != Role.owner:
        if _owner_count(session, subject.workspace_id) <= 1:
            raise Conflict("a workspace needs at least one owner")
    membership.role = role
    session.flush()
    return membership


def remove_member(session: Session, subject: Subject, membership_id: int) -> None:
    membership = get_scoped(session, Membership, membership_id, subject)
    _guard_role_change(subject, membership.role, None)
    if membership.role == Role.owner and _owner_count(session, subject.workspace_id) <= 1:
        raise Conflict("a workspace needs at least one owner")
    session.delete(membership)
    session.flush()


# --- API keys ---------------------------------------------------------------------------------

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def _split_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], key.strip()


def create_api_key(
    session: Session, subject: Subject, name: str, role: Role = Role.admin
) -> tuple[ApiKey, str]:
    """A new key and its plaintext, which is never stored and cannot be shown again."""
    subject.require(Role.admin)
    if not subject.role.at_least(role):
        raise PermissionDenied(
            f"you cannot create a key with more rights ({role.value}) than yours"
        )
    name = name.strip()
    if not name:
        raise InvalidInput("an API key needs a name")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    plaintext = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        workspace_id=subject.workspace_id,
        name=name,
        prefix=prefix,
        key_hash=sha256_hex(plaintext),
        role=role,
        created_by_user_id=subject.user_id,
    )
    session.add(api_key)
    session.flush()
    return api_key, plaintext


def list_api_keys(session: Session, subject: Subject) -> list[ApiKey]:
    return list(
        session.scalars(
            scoped(select(ApiKey), subject).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id)
        )
    )


def get_api_key(session: Session, subject: Subject, key_id: int) -> ApiKey:
    """One of the workspace's keys (another workspace's is a 404)."""
    return get_scoped(session, ApiKey, key_id, subject)


def revoke_api_key(session: Session, subject: Subject, key_id: int) -> ApiKey:
    subject.require(Role.admin)
    api_key = get_scoped(session, ApiKey, key_id, subject)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        session.flush()
    return api_key


_KEYS = ApiKey.__table__
_USERS = User.__table__
# Table columns, not ORM attributes: a Core statement skips the ORM's compile step too.
_KEY_LOOKUP = (
    select(
        _KEYS.c.id,
        _KEYS.c.workspace_id,
        _KEYS.c.role,
        _KEYS.c.key_hash,
        _KEYS.c.last_used_at,
        _KEYS.c.revoked_at,
        _USERS.c.is_active.label("creator_active"),
    )
    .select_from(_KEYS.outerjoin(_USERS, _USERS.c.id == _KEYS.c.created_by_user_id))
    .where(_KEYS.c.prefix == bindparam("prefix"))
)


def subject_for_api_key(session: Session, key: str) -> tuple[Subject, bool]:
    """Resolve a bearer key; 401 for malformed, unknown or revoked keys.

    Also says whether `last_used_at` is stale enough to be worth a write (see touch_api_key).
    """
    split = _split_key(key)
    if split is None:
        raise NotAuthenticated("malformed API key: expected sp_<prefix>_<secret>")
    prefix, full = split
    # The creator's is_active comes in the same indexed lookup (NULL: a key made by the CLI,
    # or whose creator was deleted; such a key belongs to the workspace alone). Columns, not the
    # entity, through a statement built once: every API request runs it, and building it and
    # loading an ApiKey object cost more than the lookup itself.
    row = session.execute(_KEY_LOOKUP, {"prefix": prefix}).first()
    if row is None or not constant_time_equals(row.key_hash, sha256_hex(full)):
        raise NotAuthenticated("invalid API key")
    if row.revoked_at is not None:
        raise NotAuthenticated("this API key was revoked")
    if row.creator_active is False:
        raise NotAuthenticated("this API key was created by a user who has been deactivated")
    stale = row.last_used_at is None or utcnow() - row.last_used_at > LAST_USED_RESOLUTION
    subject = Subject(workspace_id=row.workspace_id, role=row.role, api_key_id=row.id)
    return subject, stale


def touch_api_key(session: Session, api_key_id: int) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=utcnow()))


# --- dashboard sessions -----------------------------------------------------------------------


class WrongPassword(InvalidInput):
    code = "wrong_password"


@dataclass(frozen=True)
class ActiveSession:
    """A dashboard session that still counts, with its user (both loaded by one query)."""

    id: int
    user: User
    last_seen_at: dt.datetime

    @property
    def stale(self) -> bool:
        """Whether last_seen_at is old enough to be worth a write (see touch_session)."""
        return utcnow() - self.last_seen_at > LAST_SEEN_RESOLUTION


def start_session(
    session: Session, user: User, *, lifetime: dt.timedelta, user_agent: str = "", ip: str = ""
) -> str:
    """Record a new login and return its token, for the signed cookie only: the row keeps the
    token's SHA-256 (the token is 256 random bits, so a fast hash is enough)."""
    now = utcnow()
    # Housekeeping, bounded by one user: their ended sessions go. A replayed cookie of one is
    # refused all the same, because its token is no longer found.
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.expires_at <= now, UserSession.revoked_at.is_not(None)),
        )
    )
    token = new_token(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=sha256_hex(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            user_agent=user_agent[:300],
            ip=ip[:64],
        )
    )
    session.flush()
    return token


def session_for_token(session: Session, token: str) -> ActiveSession | None:
    """The session of this cookie token if it still counts: not revoked, not expired, and its
    user active. One lookup through the unique token index, joined to the user's row."""
    row = session.execute(
        select(UserSession.id, UserSession.last_seen_at, User)
        .join(User, User.id == UserSession.user_id)
        .where(
            UserSession.token_hash == sha256_hex(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.is_active,
        )
    ).first()
    if row is None:
        return None
    session_id, last_seen_at, user = row
    return ActiveSession(id=session_id, user=user, last_seen_at=last_seen_at)


def touch_session(session: Session, session_id: int) -> None:
    session.execute(
        update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow())
    )


def end_session(session: Session, token: str) -> None:
    """Logout: the session of this token stops counting, whoever holds a copy of the cookie."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == sha256_hex(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def list_sessions(session: Session, user_id: int) -> list[UserSession]:
    """The user's sessions that still count, most recently seen first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > utcnow(),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def revoke_session(session: Session, user_id: int, session_id: int) -> None:
    """End one of the user's own sessions; another user's session is a 404."""
    result = session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if getattr(result, "rowcount", 0) == 0:
        raise NotFound(f"session {session_id} not found")


def revoke_other_sessions(session: Session, user_id: int, keep_session_id: int | None) -> int:
    """End every session of the user except `keep_session_id` (None: all); how many ended."""
    query = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    result = session.execute(query.values(revoked_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def change_password(
    session: Session, user_id: int, current: str, new: str, *, keep_session_id: int
) -> None:
    """The user's own password change: needs the current password; ends their other sessions."""
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("your session ended; log in again")
    if not verify_password(user.password_hash, current):
        raise WrongPassword("your current password is not correct")
    if new == current:
        raise InvalidInput("the new password is the same as the current one")
    set_password(session, user, new, keep_session_id=keep_session_id)
