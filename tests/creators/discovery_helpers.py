"""Analysed creators for discovery tests, written as a build leaves them (figures, posts, the
full-text index) without running the build: discovery reads rows, not the pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from factories import make
from socialpulse.creators import search_index
from socialpulse.creators.models import Creator, CreatorPost, CreatorReport, CreatorStatus
from socialpulse.db import Database, utcnow


def add_creator(
    session: Session,
    handle: str,
    *,
    captions: Sequence[str] = (),
    hashtags: Sequence[str] = (),
    analysed: bool = True,
    **fields: Any,
) -> Creator:
    now = utcnow()
    values: dict[str, Any] = {
        "platform": "simulated",
        "handle": handle,
        "display_name": handle.title(),
        "followers_count": 10_000,
        "status": CreatorStatus.ready if analysed else CreatorStatus.pending,
        "refreshed_at": now if analysed else None,
    }
    values.update(fields)
    creator = make(session, Creator, **values)
    for index, caption in enumerate(
        captions or ([" ".join(f"#{t}" for t in hashtags)] if hashtags else [])
    ):
        make(
            session,
            CreatorPost,
            creator_id=creator.id,
            external_id=f"{handle}-{index}",
            caption=caption,
            hashtags=list(hashtags),
            posted_at=now - dt.timedelta(days=index),
        )
    if analysed:
        make(
            session,
            CreatorReport,
            creator_id=creator.id,
            sections={
                "overview": {"posts_per_week": 3.5},
                "content": {"top_hashtags": [{"tag": tag} for tag in hashtags]},
            },
        )
        search_index.refresh(session, creator)
    return creator


def add_creators(db: Database, *specs: tuple[str, dict[str, Any]]) -> dict[str, int]:
    with db.session() as session:
        return {handle: add_creator(session, handle, **fields).id for handle, fields in specs}
