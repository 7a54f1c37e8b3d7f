from __future__ import annotations

from fastapi import APIRouter, status

from socialpulse.deps import CurrentSubject, DbSession
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Membership, User
from socialpulse.workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["workspace"], responses=error_responses(403, 404, 409))


def _member(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        id=membership.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        created_at=membership.created_at,
    )


@router.get("/workspace", response_model=WorkspaceRead)
def read_workspace(session: DbSession, subject: CurrentSubject) -> object:
    return service.get_workspace(session, subject)


@router.patch("/workspace", response_model=WorkspaceRead)
def update_workspace(body: WorkspaceUpdate, session: DbSession, subject: CurrentSubject) -> object:
    return service.update_workspace(session, subject, name=body.name, timezone=body.timezone)


@router.get("/members", response_model=list[MemberRead])
def list_members(session: DbSession, subject: CurrentSubject) -> list[MemberRead]:
    return [_member(m, u) for m, u in service.list_members(session, subject)]


@router.post("/members", response_model=MemberRead, status_code=status.HTTP_201_CREATED)
def add_member(body: MemberCreate, session: DbSession, subject: CurrentSubject) -> MemberRead:
    membership, user = service.add_member(
        session, subject, body.email, body.role, name=body.name, password=body.password
    )
    return _member(membership, user)


@router.patch("/members/{member_id}", response_model=MemberRead)
def change_member(
    member_id: Id, body: MemberUpdate, session: DbSession, subject: CurrentSubject
) -> MemberRead:
    service.change_member_role(session, subject, member_id, body.role)
    for membership, user in service.list_members(session, subject):
        if membership.id == member_id:
            return _member(membership, user)
    raise AssertionError("membership vanished inside its own transaction")


@router.delete("/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(member_id: Id, session: DbSession, subject: CurrentSubject) -> None:
    service.remove_member(session, subject, member_id)


@router.get("/api-keys", response_model=list[ApiKeyRead])
def list_api_keys(session: DbSession, subject: CurrentSubject) -> object:
    return service.list_api_keys(session, subject)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyCreate, session: DbSession, subject: CurrentSubject) -> object:
    api_key, plaintext = service.create_api_key(session, subject, body.name, body.role)
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=plaintext)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRead)
def revoke_api_key(key_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.revoke_api_key(session, subject, key_id)
