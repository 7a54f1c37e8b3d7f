"""Content items and their post mappings. Reads for every role; changes need editor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status
from sqlalchemy.orm import Session

from socialpulse.accounts import content
from socialpulse.accounts.models import ContentMapping, Post
from socialpulse.accounts.schemas import (
    AutoMapRead,
    ContentItemCreate,
    ContentItemRead,
    ContentMappingRead,
    ManualMapping,
    MappedPost,
)
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession
from socialpulse.workspaces.tenancy import Subject, get_scoped

router = api_router(prefix="/api/v1", tags=["content"], responses=error_responses(403, 404))


def _read(mapping: ContentMapping, post: Post) -> ContentMappingRead:
    return ContentMappingRead(
        id=mapping.id,
        content_item_id=mapping.content_item_id,
        post_id=mapping.post_id,
        method=mapping.method,
        confidence=mapping.confidence,
        confirmed=mapping.confirmed,
        details=mapping.details,
        created_at=mapping.created_at,
        post=MappedPost.model_validate(post),
    )


def _read_one(session: Session, subject: Subject, mapping: ContentMapping) -> ContentMappingRead:
    return _read(mapping, get_scoped(session, Post, mapping.post_id, subject))


@router.get("/content-items", response_model=list[ContentItemRead])
def list_items(session: DbSession, subject: CurrentSubject) -> object:
    return content.list_content_items(session, subject)


@router.post("/content-items", response_model=ContentItemRead, status_code=status.HTTP_201_CREATED)
def create_item(body: ContentItemCreate, session: DbSession, subject: CurrentSubject) -> object:
    return content.create_content_item(
        session, subject, title=body.title, url=body.url, body=body.body
    )


@router.get("/content-items/{item_id}", response_model=ContentItemRead)
def read_item(item_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return content.get_content_item(session, subject, item_id)


@router.get("/content-items/{item_id}/mappings", response_model=list[ContentMappingRead])
def list_item_mappings(
    item_id: Id, session: DbSession, subject: CurrentSubject
) -> list[ContentMappingRead]:
    return [_read(m, p) for m, p in content.list_mappings(session, subject, item_id)]


@router.post("/content-items/{item_id}/auto-map", response_model=AutoMapRead)
def auto_map(
    item_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    threshold: Annotated[float, Query(gt=0, le=1)] = content.CAPTION_MATCH_THRESHOLD,
    account_id: Annotated[Id | None, Query(description="Only this account's posts.")] = None,
) -> AutoMapRead:
    """Map posts to the item by URL id (confidence 1.0) or caption similarity
    (score / 100, at least `threshold`). Confirmed mappings are never changed."""
    result = content.auto_map(session, subject, item_id, threshold=threshold, account_id=account_id)
    return AutoMapRead(
        threshold=result.threshold,
        created=len(result.created),
        updated=len(result.updated),
        removed=result.removed,
        kept_confirmed=result.kept_confirmed,
        skipped_confirmed_elsewhere=result.skipped_confirmed_elsewhere,
        mappings=[_read(m, p) for m, p in content.list_mappings(session, subject, item_id)],
    )


@router.post(
    "/content-items/{item_id}/mappings",
    response_model=ContentMappingRead,
    status_code=status.HTTP_201_CREATED,
)
def map_post(
    item_id: Id, body: ManualMapping, session: DbSession, subject: CurrentSubject
) -> ContentMappingRead:
    """Map a post by hand (method manual, confidence 1.0, confirmed), replacing any
    automatic mapping of that post to this item."""
    mapping = content.map_post(session, subject, item_id, body.post_id)
    return _read_one(session, subject, mapping)


@router.post("/content-mappings/{mapping_id}/confirm", response_model=ContentMappingRead)
def confirm_mapping(
    mapping_id: Id, session: DbSession, subject: CurrentSubject
) -> ContentMappingRead:
    mapping = content.confirm_mapping(session, subject, mapping_id)
    return _read_one(session, subject, mapping)


@router.delete("/content-mappings/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_mapping(mapping_id: Id, session: DbSession, subject: CurrentSubject) -> None:
    content.delete_mapping(session, subject, mapping_id)
