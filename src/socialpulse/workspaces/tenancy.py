"""The auth subject and the one scoping helper every query goes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from socialpulse.errors import NotFound, PermissionDenied
from socialpulse.workspaces.models import Role

M = TypeVar("M")
SelectT = TypeVar("SelectT", bound=Select)


@dataclass(frozen=True)
class Subject:
    """Who is acting, in which workspace, with which role."""

    workspace_id: int
    role: Role
    user_id: int | None = None
    api_key_id: int | None = None

    def require(self, role: Role) -> None:
        if not self.role.at_least(role):
            raise PermissionDenied(
                f"this action needs the {role.value} role or higher; you are {self.role.value}"
            )

    @property
    def actor(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"api_key:{self.api_key_id}"


def scoped(stmt: SelectT, subject: Subject) -> SelectT:
    """Restrict a select to the subject's workspace.

    Every entity in the columns that has a `workspace_id` is filtered, so a join cannot leak
    rows from another workspace through its second table. Aggregates without an entity
    (`select(func.count()).select_from(Post)`) are filtered through their FROM tables.
    """
    filtered = False
    seen: set[Any] = set()
    for description in stmt.column_descriptions:
        entity = description.get("entity")
        if entity is not None and hasattr(entity, "workspace_id") and entity not in seen:
            seen.add(entity)
            stmt = stmt.where(entity.workspace_id == subject.workspace_id)
            filtered = True
    if not filtered:
        for table in stmt.get_final_froms():
            column = getattr(table, "c", {}).get("workspace_id")
            if column is not None:
                stmt = stmt.where(column == subject.workspace_id)
                filtered = True
    if not filtered:
        raise TypeError("scoped() needs a select over a workspace-owned model")
    return stmt


def get_scoped(session: Session, model: type[M], object_id: int, subject: Subject) -> M:
    """Load one row by id, or 404 when it does not exist *in this workspace*."""
    obj = session.get(model, object_id)
    if obj is None or getattr(obj, "workspace_id", None) != subject.workspace_id:
        raise NotFound(f"{getattr(model, '__name__', 'object')} {object_id} not found")
    return obj
