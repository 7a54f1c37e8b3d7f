"""Creator exports: a saved list or the workspace's unlocked creators as CSV or JSON.

One row per creator. Preview fields (what anyone may see: ``PREVIEW_COLUMNS``) for every
creator; the report's fields (``FULL_COLUMNS``: biography, averages, sentiment, scores) only
for creators the workspace holds unexpired access to. A locked creator's full columns are
empty in the CSV and absent from its JSON item: an export never reveals what an unlock sells.

CSV cells are formula-injection safe (OWASP "CSV injection"): text a spreadsheet would run as a
formula gets a leading quote (``csv_cell``); the ``csv`` module quotes delimiters and newlines.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from socialpulse.creators import lists
from socialpulse.creators.models import Creator, CreatorAccess, CreatorListItem, CreatorReport
from socialpulse.db import utcnow

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | bool

PREVIEW_COLUMNS = (
    "creator_id",
    "platform",
    "handle",
    "display_name",
    "profile_url",
    "followers_count",
    "following_count",
    "posts_count",
    "verified",
    "category",
    "language",
    "engagement_rate",
    "audience_quality",
    "access",
)
FULL_COLUMNS = (
    "bio",
    "follower_tier",
    "posts_per_week",
    "avg_likes",
    "avg_comments",
    "avg_views",
    "comment_positive_share",
    "comment_negative_share",
    "content_quality_score",
    "top_hashtags",
    "report_computed_at",
)


def csv_cell(value: Cell) -> Cell:
    """Text a spreadsheet would run as a formula gets a leading quote; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


@dataclass
class Export:
    """Rows ready to write: ``columns`` in order, each row a dict over (some of) them."""

    source: str  # e.g. "list:3", "unlocked-profiles"
    filename_stem: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    exported_at: dt.datetime = field(default_factory=utcnow)


def _unlocked(session: Session, workspace_id: int, creator_ids: Sequence[int]) -> set[int]:
    now = utcnow()
    return set(
        session.scalars(
            select(CreatorAccess.creator_id).where(
                CreatorAccess.workspace_id == workspace_id,
                CreatorAccess.creator_id.in_(creator_ids),
                or_(CreatorAccess.expires_at.is_(None), CreatorAccess.expires_at > now),
            )
        )
    )


def _full_fields(sections: dict[str, Any], computed_at: dt.datetime) -> dict[str, Any]:
    overview = sections.get("overview") or {}
    engagement = sections.get("engagement") or {}
    sentiment = engagement.get("comment_sentiment") or {}
    content = sections.get("content") or {}
    return {
        "bio": overview.get("bio"),
        "follower_tier": overview.get("follower_tier"),
        "posts_per_week": overview.get("posts_per_week"),
        "avg_likes": engagement.get("avg_likes"),
        "avg_comments": engagement.get("avg_comments"),
        "avg_views": engagement.get("avg_views"),
        "comment_positive_share": sentiment.get("positive_share"),
        "comment_negative_share": sentiment.get("negative_share"),
        "content_quality_score": content.get("content_quality_score"),
        "top_hashtags": " ".join(
            f"#{tag['tag']}" for tag in (content.get("top_hashtags") or [])[:10]
        ),
        "report_computed_at": computed_at.isoformat(),
    }


def creator_rows(
    session: Session, workspace_id: int, creator_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """One row per creator, in the order given: preview fields, plus the report's fields when
    the workspace may read the full report (and one was built)."""
    if not creator_ids:
        return []
    creators = {
        c.id: c for c in session.scalars(select(Creator).where(Creator.id.in_(creator_ids)))
    }
    unlocked = _unlocked(session, workspace_id, creator_ids)
    reports = (
        {
            creator_id: (sections, computed_at)
            for creator_id, sections, computed_at in session.execute(
                select(
                    CreatorReport.creator_id, CreatorReport.sections, CreatorReport.computed_at
                ).where(CreatorReport.creator_id.in_(unlocked))
            )
        }
        if unlocked
        else {}
    )
    rows = []
    for creator_id in creator_ids:
        creator = creators.get(creator_id)
        if creator is None:  # deleted meanwhile (shared data is pruned by the instance)
            continue
        full = creator_id in unlocked
        row: dict[str, Any] = {
            "creator_id": creator.id,
            "platform": creator.platform,
            "handle": creator.handle,
            "display_name": creator.display_name,
            "profile_url": creator.profile_url,
            "followers_count": creator.followers_count,
            "following_count": creator.following_count,
            "posts_count": creator.posts_count,
            "verified": creator.verified,
            "category": creator.category,
            "language": creator.language,
            "engagement_rate": creator.engagement_rate,
            "audience_quality": creator.audience_quality,
            "access": "full" if full else "preview",
        }
        if full:
            stored = reports.get(creator_id)
            if stored is not None and stored[0]:
                row.update(_full_fields(stored[0], stored[1]))
            else:
                row["bio"] = creator.bio
        rows.append(row)
    return rows


def list_export(session: Session, workspace_id: int, list_id: int) -> Export:
    """The list's creators in the order they were added, with the list's note on each."""
    row = lists.get_list(session, workspace_id, list_id)
    items = session.execute(
        select(CreatorListItem.creator_id, CreatorListItem.note, CreatorListItem.added_at)
        .where(CreatorListItem.list_id == row.id)
        .order_by(CreatorListItem.added_at, CreatorListItem.id)
    ).all()
    extra = {
        creator_id: {"note": note, "added_at": added_at.isoformat()}
        for creator_id, note, added_at in items
    }
    rows = creator_rows(session, workspace_id, [item.creator_id for item in items])
    for found in rows:
        found.update(extra[found["creator_id"]])
    return Export(
        source=f"list:{row.id}",
        filename_stem=f"list-{row.id}",
        columns=[*PREVIEW_COLUMNS, "note", "added_at", *FULL_COLUMNS],
        rows=rows,
    )


def unlocked_export(session: Session, workspace_id: int) -> Export:
    """Every creator the workspace holds unexpired access to, the latest granted first."""
    now = utcnow()
    grants = session.execute(
        select(CreatorAccess.creator_id, CreatorAccess.granted_at, CreatorAccess.expires_at)
        .where(
            CreatorAccess.workspace_id == workspace_id,
            or_(CreatorAccess.expires_at.is_(None), CreatorAccess.expires_at > now),
        )
        .order_by(CreatorAccess.granted_at.desc(), CreatorAccess.id.desc())
    ).all()
    extra = {
        creator_id: {
            "access_granted_at": granted_at.isoformat(),
            "access_expires_at": expires_at.isoformat() if expires_at is not None else None,
        }
        for creator_id, granted_at, expires_at in grants
    }
    rows = creator_rows(session, workspace_id, [grant.creator_id for grant in grants])
    for found in rows:
        found.update(extra[found["creator_id"]])
    return Export(
        source="unlocked-profiles",
        filename_stem="unlocked-profiles",
        columns=[*PREVIEW_COLUMNS, "access_granted_at", "access_expires_at", *FULL_COLUMNS],
        rows=rows,
    )


def to_csv(export: Export) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(export.columns)
    for row in export.rows:
        writer.writerow(
            [csv_cell("" if (value := row.get(name)) is None else value) for name in export.columns]
        )
    return buffer.getvalue()


def to_json(export: Export) -> str:
    return json.dumps(
        {
            "source": export.source,
            "exported_at": export.exported_at.isoformat(),
            "count": len(export.rows),
            "items": [
                {name: row[name] for name in export.columns if name in row} for row in export.rows
            ],
        },
        ensure_ascii=False,
    )
