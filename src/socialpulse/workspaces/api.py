from __future__ import annotations

from typing import Any

from fastapi import Request, status

from socialpulse.config import Settings
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces import invitations, service
from socialpulse.workspaces.deps import AppSettings, CurrentSubject, DbSession, get_db
from socialpulse.workspaces.models import Invitation, Membership, User
from socialpulse.workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    MemberRead,
    MemberUpdate,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = api_router(prefix="/api/v1", tags=["workspace"], responses=error_responses(403, 404, 409))

_ADMIN: dict[int | str, dict[str, Any]] = {403: {"description": "Needs the admin role"}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such invitation in this workspace"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "Already a member, already invited, or no free seat "
        "(code seat_limit_reached)"
    }
}


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


@router.post("/members", include_in_schema=False)
def add_member_removed() -> None:
    # Kept only to answer old clients clearly: creating a member with a password let one
    # workspace's admin pick the password of someone another workspace would later add.
    raise invitations.MembersAreInvited(
        "members are no longer created directly: invite them with POST /api/v1/invitations "
        "(email, role); they accept the link and choose their own password"
    )


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


# --- invitations ------------------------------------------------------------------------------


def _created(invitation: Invitation, token: str, settings: Settings) -> InvitationCreated:
    return InvitationCreated(
        **InvitationRead.model_validate(invitation).model_dump(),
        token=token,
        link=invitations.invitation_link(settings.base_url, token),
    )


@router.get("/invitations", response_model=list[InvitationRead], responses=_ADMIN)
def list_invitations(session: DbSession, subject: CurrentSubject) -> object:
    return invitations.list_invitations(session, subject)


# The invitation commits in its own unit of work before the e-mail goes out (a rolled-back
# invitation must not have been mailed), and the delivery outcome in another one after.
@router.post("/invitations", response_model=InvitationCreated, status_code=status.HTTP_201_CREATED)
def create_invitation(
    body: InvitationCreate, request: Request, subject: CurrentSubject, settings: AppSettings
) -> InvitationCreated:
    db = get_db(request)
    invitation_id, token = invitations.invite_and_send(db, settings, subject, body.email, body.role)
    with db.session(readonly=True) as session:
        return _created(
            invitations.get_invitation(session, subject, invitation_id), token, settings
        )


@router.post(
    "/invitations/{invitation_id}/resend",
    response_model=InvitationCreated,
    responses={**_ADMIN, **_NOT_FOUND, **_CONFLICT},
)
def resend_invitation(
    invitation_id: Id, request: Request, subject: CurrentSubject, settings: AppSettings
) -> InvitationCreated:
    db = get_db(request)
    token = invitations.resend_and_send(db, settings, subject, invitation_id)
    with db.session(readonly=True) as session:
        return _created(
            invitations.get_invitation(session, subject, invitation_id), token, settings
        )


@router.delete(
    "/invitations/{invitation_id}",
    response_model=InvitationRead,
    responses={**_ADMIN, **_NOT_FOUND, 409: {"description": "Already accepted"}},
)
def revoke_invitation(invitation_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return invitations.revoke_invitation(session, subject, invitation_id)


@router.post(
    "/invitations/accept",
    response_model=InvitationAccepted,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "The address has an account (accept on the dashboard) or no seat"},
        410: {"description": "Unknown, used, revoked or expired link"},
    },
    openapi_extra={"security": []},
)
def accept_invitation(
    body: InvitationAccept, session: DbSession, settings: AppSettings
) -> InvitationAccepted:
    """For a new person: the token from the link, and the name and password they choose.
    No API key: the token is the credential. Existing users accept on the dashboard."""
    accepted = invitations.accept_as_new_user(
        session,
        body.token.get_secret_value(),
        name=body.name,
        password=body.password.get_secret_value(),
        secrets=invitations.InvitationSecrets.from_settings(settings),
    )
    return InvitationAccepted(
        workspace_id=accepted.workspace.id,
        workspace_name=accepted.workspace.name,
        email=accepted.user.email,
        role=accepted.invitation.role,
        login_url=f"{settings.base_url.rstrip('/')}/login",
    )


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
