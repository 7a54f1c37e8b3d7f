"""Test data builders: a workspace with an owner, keys of each role."""

from __future__ import annotations

from dataclasses import dataclass

from socialpulse.db import Database
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
