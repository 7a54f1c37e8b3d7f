"""Saved creator lists: CRUD, the creators on a list, and the list's export.

Reads need any role; changes need editor. Another workspace's list answers 404 on every route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from socialpulse.creators import lists
from socialpulse.creators.lists_schemas import (
    CreatorListCreate,
    CreatorListPage,
    CreatorListRead,
    CreatorListUpdate,
    ListItemPage,
    ListItemRead,
    ListItemsAdd,
    ListItemsAdded,
    ListItemUpdate,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession
from socialpulse.workspaces.models import Role

router = api_router(prefix="/api/v1/lists", tags=["lists"], responses=error_responses(403, 404))

Offset = Annotated[int, Query(ge=0, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("", response_model=CreatorListPage)
def list_lists(
    session: DbSession, subject: CurrentSubject, offset: Offset = 0, limit: Limit = 50
) -> CreatorListPage:
    """The workspace's saved lists, by name, with how many creators each holds."""
    return lists.list_lists(session, subject.workspace_id, offset=offset, limit=limit)


@router.post(
    "",
    response_model=CreatorListRead,
    status_code=201,
    responses=error_responses(409),
)
def create_list(
    body: CreatorListCreate, session: DbSession, subject: CurrentSubject
) -> CreatorListRead:
    """A new list; its name must be free in the workspace (409 otherwise)."""
    subject.require(Role.editor)
    return lists.create_list(session, subject.workspace_id, body, user_id=subject.user_id)


@router.get("/{list_id}", response_model=CreatorListRead)
def read_list(list_id: Id, session: DbSession, subject: CurrentSubject) -> CreatorListRead:
    return lists.read_list(session, subject.workspace_id, list_id)


@router.patch("/{list_id}", response_model=CreatorListRead, responses=error_responses(409))
def update_list(
    list_id: Id, body: CreatorListUpdate, session: DbSession, subject: CurrentSubject
) -> CreatorListRead:
    subject.require(Role.editor)
    return lists.update_list(session, subject.workspace_id, list_id, body)


@router.delete("/{list_id}", status_code=204)
def delete_list(list_id: Id, session: DbSession, subject: CurrentSubject) -> Response:
    """Delete the list (the creators stay; only the list and its notes go)."""
    subject.require(Role.editor)
    lists.delete_list(session, subject.workspace_id, list_id)
    return Response(status_code=204)


@router.get("/{list_id}/creators", response_model=ListItemPage)
def list_items(
    list_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ListItemPage:
    """The creators on the list, latest added first: their preview, whether the workspace may
    read their full report, and the note."""
    return lists.list_items(session, subject.workspace_id, list_id, offset=offset, limit=limit)


@router.post("/{list_id}/creators", response_model=ListItemsAdded)
def add_creators(
    list_id: Id, body: ListItemsAdd, session: DbSession, subject: CurrentSubject
) -> ListItemsAdded:
    """Add creators (up to 500 at once); an unknown creator id refuses the whole request."""
    subject.require(Role.editor)
    return lists.add_creators(session, subject.workspace_id, list_id, body, user_id=subject.user_id)


@router.patch("/{list_id}/creators/{creator_id}", response_model=ListItemRead)
def update_item(
    list_id: Id,
    creator_id: Id,
    body: ListItemUpdate,
    session: DbSession,
    subject: CurrentSubject,
) -> ListItemRead:
    subject.require(Role.editor)
    return lists.update_item(session, subject.workspace_id, list_id, creator_id, body.note)


@router.delete("/{list_id}/creators/{creator_id}", status_code=204)
def remove_creator(
    list_id: Id, creator_id: Id, session: DbSession, subject: CurrentSubject
) -> Response:
    subject.require(Role.editor)
    lists.remove_creator(session, subject.workspace_id, list_id, creator_id)
    return Response(status_code=204)
