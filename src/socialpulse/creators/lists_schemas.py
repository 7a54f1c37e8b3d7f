"""Request and response schemas of saved creator lists (issue #14 part D).

Kept beside ``schemas.py`` rather than in it: the lists, campaigns and exports were built in
parallel with discovery, which edits that module."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from socialpulse.creators.schemas import Access, CreatorPreview
from socialpulse.kit.params import Id

ListName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=5_000)]
Note = Annotated[str, Field(max_length=2_000)]


class CreatorListCreate(BaseModel):
    name: ListName = Field(description="Unique in the workspace.")
    description: Description = ""


class CreatorListUpdate(BaseModel):
    name: ListName | None = None
    description: Description | None = None


class CreatorListRead(BaseModel):
    id: int
    name: str
    description: str
    creators_count: int
    created_by_user_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CreatorListPage(BaseModel):
    items: list[CreatorListRead]
    total: int
    offset: int
    limit: int


class ListItemsAdd(BaseModel):
    creator_ids: list[Id] = Field(min_length=1, max_length=500)
    note: Note = ""


class ListItemsAdded(BaseModel):
    added: list[int] = Field(description="Creators added to the list by this request.")
    already_listed: list[int] = Field(description="Creators that were on it already (unchanged).")


class ListItemUpdate(BaseModel):
    note: Note


class ListItemRead(BaseModel):
    creator: CreatorPreview
    access: Access = Field(description="Whether the workspace may read the full report now.")
    note: str
    added_at: dt.datetime
    added_by_user_id: int | None


class ListItemPage(BaseModel):
    items: list[ListItemRead]
    total: int
    offset: int
    limit: int
