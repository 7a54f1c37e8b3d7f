from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from socialpulse.workspaces.models import DeliveryStatus, InvitationStatus, Role


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WorkspaceRead(ORMModel):
    id: int
    slug: str
    name: str
    timezone: str
    created_at: dt.datetime
    seat_limit: int | None = Field(
        description="Members plus pending invitations allowed; null is unlimited. Set by the "
        "instance operator (`socialpulse set-seat-limit`), not through the API."
    )


class WorkspaceUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, description="IANA zone, e.g. Europe/Berlin")


class MemberRead(ORMModel):
    id: int
    user_id: int
    email: str
    name: str
    role: Role
    created_at: dt.datetime


class MemberUpdate(BaseModel):
    role: Role


class InvitationCreate(BaseModel):
    # forbid: a client still sending the old "password" field is told so, not ignored.
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.viewer


class InvitationRead(ORMModel):
    id: int
    email: str
    role: Role
    status: InvitationStatus
    invited_by_user_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime
    accepted_at: dt.datetime | None
    revoked_at: dt.datetime | None
    delivery_status: DeliveryStatus = Field(
        description="manual: no SMTP configured, pass the link on yourself; sending; sent; "
        "failed (see delivery_error, then resend)."
    )
    delivery_error: str | None


class InvitationCreated(InvitationRead):
    token: str = Field(description="The secret token. Shown once; only its keyed hash is stored.")
    link: str = Field(description="The accept page for the invitee, with the token in it.")


class InvitationAccept(BaseModel):
    # Secrets: redacted in reprs, validation errors and tracebacks.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    token: SecretStr = Field(min_length=1, max_length=200)
    name: str = Field(default="", max_length=200)
    password: SecretStr = Field(
        min_length=1,
        max_length=1024,
        description="The new account's password, chosen by the invitee. An address that "
        "already has an account cannot accept here: log in on the dashboard and open the link.",
    )


class InvitationAccepted(BaseModel):
    workspace_id: int
    workspace_name: str
    email: str
    role: Role
    login_url: str


class ApiKeyRead(ORMModel):
    id: int
    name: str
    prefix: str
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.admin


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once; only its hash is stored.")
