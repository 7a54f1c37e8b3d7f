"""Test data builders: a workspace with an owner and keys of each role (`make_workspace`), a
flushed row of any model with plausible defaults and its parents (`make`), shorthands for
accounts, posts and interactions (`make_*` in the caller's session, `add_*` in their own), and
data written the way ingestion writes it (`Builder`)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Column, select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import AccountSnapshot, Post, PostAnalysis, TrackedAccount
from socialpulse.accounts.service import ingest_posts
from socialpulse.billing.models import Reservation, Wallet
from socialpulse.creators.models import Creator, CreatorComment, CreatorPost
from socialpulse.db import Base, Database, utcnow
from socialpulse.inbox.models import (
    Fan,
    Interaction,
    InteractionHourlyCount,
    InteractionKind,
    InteractionStatus,
    ReplyLimit,
    ReplyQueueItem,
)
from socialpulse.providers import base as pb
from socialpulse.publishing.models import Delivery, OccurrenceOverride, OverrideAction
from socialpulse.webhooks.models import WebhookDelivery
from socialpulse.worker.models import Job
from socialpulse.workspaces import service
from socialpulse.workspaces.models import (
    Invitation,
    Membership,
    Role,
    User,
    UserSession,
    Workspace,
)
from socialpulse.workspaces.tenancy import Subject

PASSWORD = "correct horse battery"


@dataclass
class WorkspaceFixture:
    workspace_id: int
    slug: str
    owner_id: int
    owner_email: str
    keys: dict[Role, str]

    def headers(self, role: Role = Role.owner) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    @property
    def subject(self) -> Subject:
        return Subject(workspace_id=self.workspace_id, role=Role.owner, user_id=self.owner_id)


def make_workspace(db: Database, slug: str, email: str | None = None) -> WorkspaceFixture:
    email = email or f"owner@{slug}.test"
    with db.session() as session:
        owner = service.get_user_by_email(session, email) or service.create_user(
            session, email, PASSWORD, f"Owner of {slug}"
        )
        workspace = service.create_workspace(session, slug, slug.title(), owner)
        subject = Subject(workspace_id=workspace.id, role=Role.owner, user_id=owner.id)
        keys = {
            role: service.create_api_key(session, subject, f"{role.value} key", role)[1]
            for role in Role
        }
        return WorkspaceFixture(workspace.id, slug, owner.id, owner.email, keys)


# --------------------------------------------------------------------------- rows of any model

M = TypeVar("M", bound=Base)
_sequence = itertools.count(1)


def _now() -> dt.datetime:
    return utcnow().replace(microsecond=0)


# What a plausible row of each model looks like beyond "any value of the column's type".
# `n` is unique per row built, so unique columns never collide.
MODEL_DEFAULTS: dict[type[Base], Callable[[int], dict[str, Any]]] = {
    User: lambda n: {"email": f"user{n}@example.test", "password_hash": "x", "name": f"User {n}"},
    Workspace: lambda n: {"slug": f"ws-{n}", "name": f"Workspace {n}"},
    Membership: lambda n: {"role": Role.owner},
    TrackedAccount: lambda n: {
        "platform": "simulated",
        "external_id": f"acct-{n}",
        "handle": f"creator{n}",
    },
    Post: lambda n: {
        "external_id": f"post-{n}",
        "caption": f"Post number {n}",
        "posted_at": _now() - dt.timedelta(hours=n),
    },
    Creator: lambda n: {"platform": "simulated", "handle": f"creator-{n}"},
    CreatorPost: lambda n: {
        "external_id": f"cpost-{n}",
        "caption": f"Creator post {n}",
        "posted_at": _now() - dt.timedelta(hours=n),
    },
    CreatorComment: lambda n: {
        "external_id": f"ccomment-{n}",
        "author_external_id": f"fan-{n}",
        "text": f"Comment {n}",
        "posted_at": _now() - dt.timedelta(minutes=n),
    },
    Interaction: lambda n: {
        "platform": "simulated",
        "kind": InteractionKind.comment,
        "external_id": f"c-{n}",
        "author_external_id": f"fan-{n}",
        "author_handle": f"fan{n}",
        "text": f"Comment number {n}",
        "posted_at": _now() - dt.timedelta(minutes=n),
    },
    Fan: lambda n: {"platform": "simulated", "external_id": f"fan-{n}", "handle": f"fan{n}"},
    ReplyQueueItem: lambda n: {
        "platform": "simulated",
        "text": f"Thanks! ({n})",
        "scheduled_for": _now(),
        "idempotency_key": f"reply-{n}",
    },
    ReplyLimit: lambda n: {
        "max_per_hour": 60,
        "max_per_minute": 5,
        "min_interval_s": 10.0,
        "jitter_min_s": 5.0,
        "jitter_max_s": 30.0,
    },
    Invitation: lambda n: {
        "email": f"invitee{n}@example.test",
        "role": Role.editor,
        "expires_at": _now() + dt.timedelta(days=7),
    },
    UserSession: lambda n: {"expires_at": _now() + dt.timedelta(days=1)},
    Reservation: lambda n: {"expires_at": _now() + dt.timedelta(minutes=10)},
    Wallet: lambda n: {"plan_code": "free"},
    Job: lambda n: {"kind": "test.effect"},
    PostAnalysis: lambda n: {"model_version": "test-1", "analysis": {}},
    # Publishing (#15)
    Delivery: lambda n: {
        "platform": "simulated",
        "occurrence_at": _now() + dt.timedelta(hours=n),
        "scheduled_for": _now() + dt.timedelta(hours=n),
        "next_attempt_at": _now() + dt.timedelta(hours=n),
        "idempotency_key": f"delivery-{n}",
    },
    WebhookDelivery: lambda n: {
        "event_id": f"msg_{n}",
        "event_type": "reply.sent",
        "payload": {"type": "reply.sent", "data": {}},
    },
    OccurrenceOverride: lambda n: {
        "occurrence_at": _now() + dt.timedelta(hours=n),
        "action": OverrideAction.skip,
    },
    InteractionHourlyCount: lambda n: {
        "hour": _now().replace(minute=0, second=0) - dt.timedelta(hours=n),
        "platform": "simulated",
        "sentiment": "neutral",
        "status": InteractionStatus.unread,
        "count": 1,
    },
}


def _value_for(column: Column[Any], n: int) -> Any:
    """Any valid value of a required column no default covers."""
    enum_class = getattr(column.type, "enum_class", None)
    if enum_class is not None:
        return next(iter(enum_class))
    python_type = column.type.python_type
    if python_type is str:
        length = getattr(column.type, "length", None) or 64
        return f"{column.name}-{n}"[:length]
    if python_type is int:
        return n
    if python_type is float:
        return 1.0
    if python_type is dt.datetime:
        return _now()
    if python_type is dt.date:
        return _now().date()
    if python_type in (dict, list):
        return python_type()
    raise TypeError(f"no default for {column.table.name}.{column.name} ({python_type})")


def _model_of(table_name: str) -> type[Base]:
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table_name:
            return cast("type[Base]", mapper.class_)
    raise LookupError(table_name)


def make(session: Session, model: type[M], **fields: Any) -> M:
    """A flushed row of `model`: `fields`, then MODEL_DEFAULTS, then any valid value. Required
    parents that are not given are made too, in the same workspace as the row."""
    n = next(_sequence)
    table = model.__table__  # type: ignore[attr-defined]
    values = {**MODEL_DEFAULTS.get(model, lambda _n: {})(n), **fields}
    columns = {column.name: column for column in table.columns}
    if "workspace_id" in columns and "workspace_id" not in values:
        values["workspace_id"] = _workspace_of_parents(session, columns, values) or (
            make(session, Workspace).id
        )
    for name, column in columns.items():
        if name in values or column.nullable or column.default is not None:
            continue
        if column.server_default is not None or column is table.autoincrement_column:
            continue
        if column.foreign_keys:
            parent_model = _model_of(next(iter(column.foreign_keys)).column.table.name)
            scope = {}
            if "workspace_id" in parent_model.__table__.columns and "workspace_id" in values:  # type: ignore[attr-defined]
                scope["workspace_id"] = values["workspace_id"]
            values[name] = make(session, parent_model, **scope).id  # type: ignore[attr-defined]
        else:
            values[name] = _value_for(column, n)
    row = model(**values)
    session.add(row)
    session.flush()
    return row


def _workspace_of_parents(
    session: Session, columns: dict[str, Column[Any]], values: dict[str, Any]
) -> int | None:
    for name, value in values.items():
        column = columns.get(name)
        if column is None or not column.foreign_keys or value is None:
            continue
        parent_model = _model_of(next(iter(column.foreign_keys)).column.table.name)
        parent = session.get(parent_model, value)
        workspace_id = getattr(parent, "workspace_id", None)
        if workspace_id is not None:
            return int(workspace_id)
    return None


# --------------------------------------------------------------------------- shorthands


def make_account(
    session: Session,
    workspace_id: int,
    platform: str = "simulated",
    *,
    handle: str = "brand",
    **fields: Any,
) -> TrackedAccount:
    """A tracked account (own, active), built directly: no platform is asked."""
    fields.setdefault("external_id", f"{platform}-{handle}")
    fields.setdefault("display_name", handle.title())
    return make(
        session,
        TrackedAccount,
        workspace_id=workspace_id,
        platform=platform,
        handle=handle,
        **fields,
    )


def make_post(
    session: Session,
    account: TrackedAccount,
    external_id: str,
    *,
    posted_at: dt.datetime | None = None,
    **fields: Any,
) -> Post:
    fields.setdefault("caption", f"post {external_id}")
    return make(
        session,
        Post,
        workspace_id=account.workspace_id,
        account_id=account.id,
        external_id=external_id,
        posted_at=posted_at or utcnow() - dt.timedelta(hours=2),
        **fields,
    )


def make_interaction(session: Session, account: TrackedAccount, **fields: Any) -> Interaction:
    """An unread comment on ``account`` from a fan; any column can be given."""
    values: dict[str, Any] = {
        "workspace_id": account.workspace_id,
        "account_id": account.id,
        "platform": account.platform,
        "text": "hello",
        "posted_at": utcnow() - dt.timedelta(hours=1),
        "status": InteractionStatus.unread,
    }
    return make(session, Interaction, **{**values, **fields})


def add_account(db: Database, workspace_id: int, platform: str = "simulated", **fields: Any) -> int:
    """`make_account` in its own transaction; returns the id."""
    with db.session() as session:
        return make_account(session, workspace_id, platform, **fields).id


def add_post(db: Database, account_id: int, external_id: str, **fields: Any) -> int:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        return make_post(session, account, external_id, **fields).id


def add_interaction(db: Database, account_id: int, **fields: Any) -> int:
    with db.session() as session:
        account = session.get(TrackedAccount, account_id)
        assert account is not None
        return make_interaction(session, account, **fields).id


# --------------------------------------------------------------------------- ingested data


@dataclass
class Builder:
    """Accounts, snapshots and posts written the way ingestion writes them (posts and their
    metric snapshots through `accounts.service.ingest_posts`)."""

    db: Database

    def set_timezone(self, workspace_id: int, zone: str) -> None:
        with self.db.session() as session:
            session.execute(
                update(Workspace).where(Workspace.id == workspace_id).values(timezone=zone)
            )

    def account(
        self,
        workspace_id: int,
        handle: str = "alice",
        *,
        platform: str = "simulated",
        followers: int | None = 1000,
    ) -> int:
        with self.db.session() as session:
            return make(
                session,
                TrackedAccount,
                workspace_id=workspace_id,
                platform=platform,
                external_id=f"ext-{handle}",
                handle=handle,
                display_name=handle.title(),
                followers_count=followers,
                following_count=10,
                posts_count=0,
            ).id

    def snapshots(
        self,
        account_id: int,
        rows: Sequence[tuple[dt.date, int | None]],
        *,
        following: int | None = 10,
        posts: int | None = 5,
    ) -> None:
        with self.db.session() as session:
            for day, followers in rows:
                make(
                    session,
                    AccountSnapshot,
                    account_id=account_id,
                    day=day,
                    followers_count=followers,
                    following_count=following,
                    posts_count=posts,
                )

    def post(
        self,
        account_id: int,
        external_id: str,
        posted_at: dt.datetime,
        *,
        day: dt.date | None = None,
        views: int | None = None,
        likes: int | None = 0,
        comments: int | None = 0,
        shares: int | None = 0,
        hashtags: Sequence[str] = (),
        caption: str = "",
        url: str | None = None,
    ) -> int:
        """Ingest one post (a metrics snapshot for `day`, default its publication date)."""
        with self.db.session() as session:
            account = session.get(TrackedAccount, account_id)
            assert account is not None
            dto = pb.Post(
                platform=pb.Platform.SIMULATED,
                external_id=external_id,
                account_external_id=account.external_id,
                url=url,
                caption=caption or f"post {external_id}",
                posted_at=posted_at,
                hashtags=tuple(hashtags),
                metrics=pb.PostMetrics(views=views, likes=likes, comments=comments, shares=shares),
            )
            ingest_posts(session, account, [dto], day=day or posted_at.date())
            post_id = session.scalar(
                select(Post.id).where(
                    Post.account_id == account_id, Post.external_id == external_id
                )
            )
            assert post_id is not None
            return post_id
