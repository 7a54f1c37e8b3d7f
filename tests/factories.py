"""Test data builders: a workspace with an owner and keys of each role; accounts, posts and
inbox interactions built directly (`make_*` in the caller's session, `add_*` in their own)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.inbox.models import Interaction, InteractionKind, InteractionStatus
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role
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


# --- accounts, posts and inbox interactions ---------------------------------------------------

_serial = itertools.count(1)


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
    account = TrackedAccount(workspace_id=workspace_id, platform=platform, handle=handle, **fields)
    session.add(account)
    session.flush()
    return account


def make_post(
    session: Session,
    account: TrackedAccount,
    external_id: str,
    *,
    posted_at: dt.datetime | None = None,
    **fields: Any,
) -> Post:
    fields.setdefault("caption", f"post {external_id}")
    post = Post(
        workspace_id=account.workspace_id,
        account_id=account.id,
        external_id=external_id,
        posted_at=posted_at or utcnow() - dt.timedelta(hours=2),
        **fields,
    )
    session.add(post)
    session.flush()
    return post


def make_interaction(session: Session, account: TrackedAccount, **fields: Any) -> Interaction:
    """An unread comment on ``account`` from a fan; any column can be given."""
    n = next(_serial)
    values: dict[str, Any] = {
        "workspace_id": account.workspace_id,
        "account_id": account.id,
        "platform": account.platform,
        "kind": InteractionKind.comment,
        "external_id": f"c{n}",
        "author_external_id": f"a{n}",
        "author_handle": f"fan{n}",
        "text": "hello",
        "posted_at": utcnow() - dt.timedelta(hours=1),
        "status": InteractionStatus.unread,
    }
    values.update(fields)
    row = Interaction(**values)
    session.add(row)
    session.flush()
    return row


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
