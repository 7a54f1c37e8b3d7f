from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from socialpulse.workspaces.models import Role


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WorkspaceRead(ORMModel):
    id: int
    slug: str
    name: str
    timezone: str
    created_at: dt.datetime


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


class MemberCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.viewer
    name: str = ""
    password: str | None = Field(
        default=None, description="Creates the user when no account has this email yet."
    )


class MemberUpdate(BaseModel):
    role: Role


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
