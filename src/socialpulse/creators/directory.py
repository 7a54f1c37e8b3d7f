"""The creators a workspace has reports of: the list under the dashboard's search box (the
demo's 60 creators on a fresh install)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from socialpulse.creators import service
from socialpulse.creators.models import Creator, CreatorAccess
from socialpulse.creators.schemas import CreatorPreview
from socialpulse.db import utcnow


def workspace_creators(
    session: Session, workspace_id: int, *, limit: int = 100, offset: int = 0
) -> tuple[list[CreatorPreview], int]:
    """Creators this workspace may read in full, most followed first, and how many there are."""
    now = utcnow()
    granted = (
        CreatorAccess.workspace_id == workspace_id,
        or_(CreatorAccess.expires_at.is_(None), CreatorAccess.expires_at > now),
    )
    total = session.scalar(select(func.count()).select_from(CreatorAccess).where(*granted)) or 0
    creators = session.scalars(
        select(Creator)
        .join(CreatorAccess, CreatorAccess.creator_id == Creator.id)
        .where(*granted)
        .order_by(Creator.followers_count.desc().nulls_last(), Creator.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [service.preview(session, creator) for creator in creators], total
