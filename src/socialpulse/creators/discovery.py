"""Discovery: every analysed creator of the instance (one with a built report), filtered,
searched in full text and sorted; categories with counts; lookalikes; a workspace's saved
searches.

Creators are shared by the instance, so browsing reads every workspace's builds; what a row shows
depends on the caller's workspace: the preview for a locked creator, the preview with
``UnlockedDetails`` for one it unlocked. Saved searches are the workspace's own and filtered by
its id here. Pricing (page 1 free, later pages and advanced searches priced) is the route's:
these functions read and never charge.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from socialpulse.billing import pricing as billing_pricing
from socialpulse.billing import usage as billing_usage
from socialpulse.creators import report, search_index, unlocks
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import (
    Creator,
    CreatorAccess,
    CreatorPost,
    CreatorReport,
    SavedSearch,
)
from socialpulse.creators.schemas import (
    CategoryCount,
    CategoryList,
    DiscoveryCriteria,
    DiscoveryDashboard,
    DiscoveryItem,
    DiscoveryPage,
    DiscoveryPrice,
    DiscoveryPricing,
    DiscoveryTotals,
    SavedSearchRead,
    SimilarItem,
    SimilarList,
    UnlockedDetails,
    UnlockedProfile,
)
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, InvalidInput, NotFound

SIMILAR_LIMIT = 12
# A page's total is counted up to here: beyond it nobody pages through, and counting every one
# of 100,000 matches costs more than the page itself. The page says the count stopped.
TOTAL_CAP = 10_000
# Lookalike candidates read per signal before scoring (content, category + tier).
_CANDIDATES = 200
_DETAIL_HASHTAGS = 5


def analysed() -> ColumnElement[bool]:
    """A creator discovery shows: a report was built for it (``refreshed_at`` is set by the
    aggregate step; a rebuild in progress keeps it)."""
    return Creator.refreshed_at.is_not(None)


def check_criteria(criteria: DiscoveryCriteria) -> None:
    """A 422 for a minimum above its maximum (before anything is charged)."""
    for low, high, name in (
        (criteria.followers_min, criteria.followers_max, "followers"),
        (criteria.engagement_rate_min, criteria.engagement_rate_max, "engagement_rate"),
        (criteria.audience_quality_min, criteria.audience_quality_max, "audience_quality"),
    ):
        if low is not None and high is not None and low > high:
            raise InvalidInput(
                f"{name}_min ({low}) is above {name}_max ({high})",
                details=[{"field": f"{name}_min", "message": "above the maximum"}],
            )


def _text_of(criteria: DiscoveryCriteria) -> str:
    return " ".join([criteria.query or "", *(tag.lstrip("#") for tag in criteria.hashtags)])


def _filters(workspace_id: int, criteria: DiscoveryCriteria) -> list[ColumnElement[bool]]:
    # analysed() first: a text search leaves it to the index (see _text_search).
    where: list[ColumnElement[bool]] = [analysed()]
    if criteria.platforms:
        where.append(Creator.platform.in_([p.lower() for p in criteria.platforms]))
    if criteria.categories:
        where.append(Creator.category.in_(criteria.categories))
    if criteria.languages:
        where.append(Creator.language.in_([lang.lower() for lang in criteria.languages]))
    if criteria.followers_min is not None:
        where.append(Creator.followers_count >= criteria.followers_min)
    if criteria.followers_max is not None:
        where.append(Creator.followers_count <= criteria.followers_max)
    if criteria.engagement_rate_min is not None:
        where.append(Creator.engagement_rate >= criteria.engagement_rate_min)
    if criteria.engagement_rate_max is not None:
        where.append(Creator.engagement_rate <= criteria.engagement_rate_max)
    if criteria.audience_quality_min is not None:
        where.append(Creator.audience_quality >= criteria.audience_quality_min)
    if criteria.audience_quality_max is not None:
        where.append(Creator.audience_quality <= criteria.audience_quality_max)
    if criteria.verified is not None:
        # "= true", not "IS true": PostgreSQL uses an index for the one, never the other.
        where.append(Creator.verified == criteria.verified)
    if criteria.has_contact_email is not None:
        has_email = Creator.contact_email.is_not(None) & (Creator.contact_email != "")
        where.append(has_email if criteria.has_contact_email else ~has_email)
    if criteria.unlocked:
        # Driven from the workspace's few access rows, not by a probe per creator.
        where.append(
            Creator.id.in_(select(CreatorAccess.creator_id).where(*unlocks.unexpired(workspace_id)))
        )
    elif criteria.unlocked is False:
        where.append(
            ~exists().where(
                CreatorAccess.creator_id == Creator.id, *unlocks.unexpired(workspace_id)
            )
        )
    return where


def _ordered(
    query: Select[Any], criteria: DiscoveryCriteria, rank: ColumnElement[Any] | None
) -> Select[Any]:
    sort_by = criteria.sort_by or ("relevance" if rank is not None else "followers")
    if sort_by == "relevance":
        if rank is None:
            raise InvalidInput("sort_by relevance needs a query")
        return query.order_by(rank.desc(), Creator.id)
    column = {
        "followers": Creator.followers_count,
        "engagement_rate": Creator.engagement_rate,
        "audience_quality": Creator.audience_quality,
        "recent": Creator.refreshed_at,
    }.get(sort_by)
    if column is None:  # handle: alphabetical
        return query.order_by(Creator.handle, Creator.id)
    return query.order_by(column.desc().nulls_last(), Creator.id)


def search(
    session: Session,
    workspace_id: int,
    criteria: DiscoveryCriteria,
    *,
    page: int = 1,
    page_size: int = 20,
) -> DiscoveryPage:
    """One page of analysed creators matching ``criteria``, with this workspace's access."""
    check_criteria(criteria)
    where = _filters(workspace_id, criteria)
    text = _text_of(criteria)
    offset, relevance = (page - 1) * page_size, dict[int, float]()
    if search_index.terms(text):
        ids, found, cap = _text_search(session, criteria, where, text, offset, page_size, relevance)
    elif criteria.query is not None and criteria.query.strip():
        # Only punctuation: nothing a person could have meant to match.
        raise InvalidInput("the search has no words to look for")
    else:
        # The count stops after TOTAL_CAP + 1 rows (a LIMIT under the count), so that a broad
        # browse reads a bounded number of index entries; the page walks the sort's index.
        cap = TOTAL_CAP
        found = (
            session.scalar(
                select(func.count()).select_from(
                    select(Creator.id).where(*where).limit(TOTAL_CAP + 1).subquery()
                )
            )
            or 0
        )
        ids = list(
            session.scalars(
                _ordered(select(Creator.id).where(*where), criteria, None)
                .offset(offset)
                .limit(page_size)
            )
        )
    total = min(found, cap)
    return DiscoveryPage(
        items=items_for(session, workspace_id, ids, relevance),
        total=total,
        total_capped=found > cap,
        page=page,
        page_size=page_size,
        pages=math.ceil(total / page_size) if total else 0,
        charge=None,
    )


def _text_search(
    session: Session,
    criteria: DiscoveryCriteria,
    where: list[ColumnElement[bool]],
    text: str,
    offset: int,
    page_size: int,
    relevance: dict[int, float],
) -> tuple[list[int], int, int]:
    """(the page's ids, how many matched (counted up to the cap + 1), the cap) of a search
    with words; fills ``relevance`` for a relevance sort.

    Sorted by relevance, only the ``search_index.CANDIDATES`` best candidates (handle, name,
    biography and hashtag matches first) are ranked and paged: the total stops there and says
    so. Sorted otherwise, every match is reachable: a word matching at most CANDIDATES
    creators is sorted whole; a more common one is found by reading creators in the sort's
    order (its index) and keeping those that match, so the most followed matches come first
    however many there are; the total is counted up to TOTAL_CAP."""
    limit = search_index.CANDIDATES
    # The index holds analysed creators only: the filters beyond that one (``_filters`` puts
    # it first) are what the index's matches are checked against.
    narrowing = where[1:]
    by_relevance = (criteria.sort_by or "relevance") == "relevance"
    ids = search_index.candidates(
        session, text, narrowing, limit=limit + 1, strong_first=by_relevance
    )
    if by_relevance:
        rows = session.execute(
            search_index.ranked(session, text, ids[:limit]).offset(offset).limit(page_size)
        ).all()
        relevance.update((int(row[0]), float(row[1])) for row in rows)
        return [int(row[0]) for row in rows], len(ids), limit
    if len(ids) <= limit:
        page_ids = session.scalars(
            _ordered(select(Creator.id).where(Creator.id.in_(ids)), criteria, None)
            .offset(offset)
            .limit(page_size)
        )
        return list(page_ids), len(ids), limit
    found = search_index.count(session, text, narrowing, limit=TOTAL_CAP + 1)
    return _walk_sorted(session, criteria, where, text, offset, page_size), found, TOTAL_CAP


def _walk_sorted(
    session: Session,
    criteria: DiscoveryCriteria,
    where: list[ColumnElement[bool]],
    text: str,
    offset: int,
    page_size: int,
) -> list[int]:
    """The page of creators matching ``text`` in the criteria's sort order, read from the sort's
    index in growing chunks (the word is common: most chunks hold many matches)."""
    matched: list[int] = []
    read, chunk = 0, search_index.SORT_CHUNK
    while len(matched) < offset + page_size:
        ids = list(
            session.scalars(
                _ordered(select(Creator.id).where(*where), criteria, None).offset(read).limit(chunk)
            )
        )
        if not ids:
            break
        hits = search_index.among(session, text, ids)
        matched.extend(cid for cid in ids if cid in hits)
        read += len(ids)
        chunk = min(chunk * 2, 10_000)
    return matched[offset : offset + page_size]


def items_for(
    session: Session,
    workspace_id: int,
    creator_ids: Sequence[int],
    relevance: dict[int, float] | None = None,
) -> list[DiscoveryItem]:
    """Rows for these creators, in this order: preview for all, details for unlocked ones."""
    creators = {
        creator.id: creator
        for creator in session.scalars(select(Creator).where(Creator.id.in_(creator_ids)))
    }
    states = unlocks.access_states(session, workspace_id, creator_ids)
    unlocked = [cid for cid in creator_ids if states[cid].state == "unlocked"]
    details = _details(session, [creators[cid] for cid in unlocked if cid in creators])
    relevance = relevance or {}
    return [
        DiscoveryItem(
            creator=creators_service.preview(session, creators[cid]),
            access=states[cid],
            relevance=round(relevance[cid], 6) if cid in relevance else None,
            details=details.get(cid),
        )
        for cid in creator_ids
        if cid in creators
    ]


def _details(session: Session, creators: Sequence[Creator]) -> dict[int, UnlockedDetails]:
    if not creators:
        return {}
    sections: dict[int, dict[str, Any]] = dict(
        session.execute(
            select(CreatorReport.creator_id, CreatorReport.sections).where(
                CreatorReport.creator_id.in_([c.id for c in creators])
            )
        ).all()
    )
    found: dict[int, UnlockedDetails] = {}
    for creator in creators:
        stored = sections.get(creator.id) or {}
        overview = stored.get("overview") or {}
        content = stored.get("content") or {}
        found[creator.id] = UnlockedDetails(
            bio=creator.bio or "",
            posts_per_week=overview.get("posts_per_week"),
            top_hashtags=[tag["tag"] for tag in (content.get("top_hashtags") or [])][
                :_DETAIL_HASHTAGS
            ],
            has_contact_email=bool(creator.contact_email),
        )
    return found


def categories(session: Session, workspace_id: int) -> CategoryList:
    """Analysed creators per category, most first, with how many this workspace unlocked."""
    counted = session.execute(
        select(Creator.category, func.count())
        .where(analysed())
        .group_by(Creator.category)
        .order_by(func.count().desc(), Creator.category)
    ).all()
    unlocked = dict(
        session.execute(
            select(Creator.category, func.count())
            .join(CreatorAccess, CreatorAccess.creator_id == Creator.id)
            .where(analysed(), *unlocks.unexpired(workspace_id))
            .group_by(Creator.category)
        ).all()
    )
    items = [
        CategoryCount(category=category, creators=count, unlocked=unlocked.get(category, 0))
        for category, count in counted
        if category is not None
    ]
    uncategorised = next((count for category, count in counted if category is None), 0)
    return CategoryList(
        items=items, uncategorised=uncategorised, total=sum(count for _, count in counted)
    )


# --------------------------------------------------------------------------- lookalikes


def _hashtags_of(session: Session, creator_id: int) -> list[str]:
    """The creator's top hashtags from its report, else from its stored posts."""
    stored = session.scalar(
        select(CreatorReport.sections).where(CreatorReport.creator_id == creator_id)
    )
    tags = [tag["tag"] for tag in ((stored or {}).get("content") or {}).get("top_hashtags") or []]
    if tags:
        return tags
    counts: dict[str, int] = {}
    for hashtags in session.scalars(
        select(CreatorPost.hashtags).where(CreatorPost.creator_id == creator_id).limit(100)
    ):
        for tag in hashtags or []:
            key = str(tag).lstrip("#").lower()
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: (-counts[key], key))


def _tier_index(followers: int | None) -> int:
    name = report.tier_of(followers)[0]
    return next(i for i, tier in enumerate(report.TIERS) if tier[0] == name)


def similar(
    session: Session, workspace_id: int, creator_id: int, *, limit: int = SIMILAR_LIMIT
) -> SimilarList:
    """Analysed creators most like this one: shared content words (its top hashtags searched
    in the full-text index), the same category, the same language, the same or a neighbouring
    follower tier. Scored 0..10; each item says why."""
    source = creators_service.get_creator(session, creator_id)
    tier = _tier_index(source.followers_count)
    tags = _hashtags_of(session, creator_id)[:8]
    content: dict[int, float] = {}
    if tags:
        # Ranked among a bounded set (top hashtags are common words: ranking all their matches
        # would cost what an unbounded search does).
        words = " ".join(tags)
        ids = search_index.candidates(session, words, any_term=True)
        ranked = search_index.ranked(session, words, ids, any_term=True).limit(_CANDIDATES)
        content = {row[0]: float(row[1]) for row in session.execute(ranked) if row[0] != creator_id}
    candidates = set(content)
    if source.category is not None:
        low, high = (
            report.TIERS[max(tier - 1, 0)][1],
            report.TIERS[min(tier + 1, len(report.TIERS) - 1)][2],
        )
        same = select(Creator.id).where(
            analysed(), Creator.category == source.category, Creator.id != creator_id
        )
        same = same.where(Creator.followers_count >= low)
        if high is not None:
            same = same.where(Creator.followers_count < high)
        candidates.update(
            session.scalars(
                same.order_by(Creator.followers_count.desc(), Creator.id).limit(_CANDIDATES)
            )
        )
    if not candidates:
        return SimilarList(creator_id=creator_id, items=[])
    creators = list(session.scalars(select(Creator).where(Creator.id.in_(candidates), analysed())))
    best = max(content.values(), default=0.0) or 1.0
    scored: list[tuple[float, list[str], Creator]] = []
    for creator in creators:
        score, reasons = 0.0, []
        if creator.id in content:
            score += 3.0 * content[creator.id] / best
            reasons.append("shared hashtags and topics")
        if source.category is not None and creator.category == source.category:
            score += 3.0
            reasons.append(f"same category ({source.category})")
        if source.language is not None and creator.language == source.language:
            score += 2.0
            reasons.append(f"same language ({source.language})")
        distance = abs(_tier_index(creator.followers_count) - tier)
        if distance == 0:
            score += 2.0
            reasons.append(f"same follower tier ({report.TIERS[tier][0]})")
        elif distance == 1:
            score += 1.0
            reasons.append("neighbouring follower tier")
        scored.append((score, reasons, creator))
    scored.sort(key=lambda item: (-item[0], -(item[2].followers_count or 0), item[2].id))
    top = scored[:limit]
    states = unlocks.access_states(session, workspace_id, [item[2].id for item in top])
    return SimilarList(
        creator_id=creator_id,
        items=[
            SimilarItem(
                creator=creators_service.preview(session, creator),
                access=states[creator.id],
                score=round(score, 3),
                reasons=reasons,
            )
            for score, reasons, creator in top
        ],
    )


# --------------------------------------------------------------------------- saved searches


def _saved_read(row: SavedSearch) -> SavedSearchRead:
    return SavedSearchRead(
        id=row.id,
        name=row.name,
        criteria=DiscoveryCriteria.model_validate(row.criteria),
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        last_run_at=row.last_run_at,
    )


def save_search(
    session: Session,
    workspace_id: int,
    *,
    name: str,
    criteria: DiscoveryCriteria,
    user_id: int | None,
) -> SavedSearchRead:
    check_criteria(criteria)
    name = name.strip()
    if not name:
        raise InvalidInput("give the saved search a name")
    taken = session.scalar(
        select(SavedSearch.id).where(
            SavedSearch.workspace_id == workspace_id, SavedSearch.name == name
        )
    )
    if taken is not None:
        raise Conflict(f"this workspace already has a saved search named {name!r}")
    row = SavedSearch(
        workspace_id=workspace_id,
        name=name,
        criteria=criteria.model_dump(mode="json", exclude_defaults=True),
        created_by_user_id=user_id,
    )
    session.add(row)
    session.flush()
    return _saved_read(row)


def _saved_row(session: Session, workspace_id: int, search_id: int) -> SavedSearch:
    row = session.scalar(
        select(SavedSearch).where(
            SavedSearch.id == search_id, SavedSearch.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFound(f"no saved search {search_id}")
    return row


def get_saved_search(session: Session, workspace_id: int, search_id: int) -> SavedSearchRead:
    return _saved_read(_saved_row(session, workspace_id, search_id))


def list_saved_searches(session: Session, workspace_id: int) -> list[SavedSearchRead]:
    rows = session.scalars(
        select(SavedSearch)
        .where(SavedSearch.workspace_id == workspace_id)
        .order_by(SavedSearch.name, SavedSearch.id)
    )
    return [_saved_read(row) for row in rows]


def delete_saved_search(session: Session, workspace_id: int, search_id: int) -> None:
    session.delete(_saved_row(session, workspace_id, search_id))
    session.flush()


def mark_saved_search_run(session: Session, workspace_id: int, search_id: int) -> None:
    _saved_row(session, workspace_id, search_id).last_run_at = utcnow()
    session.flush()


def count_saved_searches(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SavedSearch)
            .where(SavedSearch.workspace_id == workspace_id)
        )
        or 0
    )


# --------------------------------------------------------------------------- dashboard, pricing

DISCOVERY_ACTIONS = (
    unlocks.UNLOCK_ACTION,
    unlocks.EMAIL_ACTION,
    unlocks.POST_ACTION,
    "discovery_pagination",
    "advanced_search",
)
SUGGESTIONS = 6
RECENT_UNLOCKS = 5
EXPIRING_SOON = dt.timedelta(days=7)


def dashboard(session: Session, workspace_id: int) -> DiscoveryDashboard:
    """Totals, the team's recent unlocks and who made them, credit use (billing) and
    suggestions: lookalikes of the latest unlock this workspace has not unlocked yet, else the
    most engaging analysed creators."""
    now = utcnow()
    mine = CreatorAccess.workspace_id == workspace_id
    live = unlocks.unexpired(workspace_id, now)
    soon = session.scalar(
        select(func.count())
        .select_from(CreatorAccess)
        .where(
            *live,
            CreatorAccess.expires_at.is_not(None),
            CreatorAccess.expires_at <= now + EXPIRING_SOON,
        )
    )
    expired = session.scalar(
        select(func.count()).select_from(CreatorAccess).where(mine, CreatorAccess.expires_at <= now)
    )
    totals = DiscoveryTotals(
        analysed_creators=session.scalar(
            select(func.count()).select_from(Creator).where(analysed())
        )
        or 0,
        unlocked=unlocks.count_unlocked(session, workspace_id),
        expiring_within_7_days=soon or 0,
        expired=expired or 0,
        saved_searches=count_saved_searches(session, workspace_id),
    )
    recent = session.execute(
        select(CreatorAccess, Creator)
        .join(Creator, Creator.id == CreatorAccess.creator_id)
        .where(*live)
        .order_by(CreatorAccess.granted_at.desc(), CreatorAccess.id.desc())
        .limit(RECENT_UNLOCKS)
    ).all()
    by_member = session.execute(
        select(CreatorAccess.granted_by_user_id, func.count())
        .where(*live)
        .group_by(CreatorAccess.granted_by_user_id)
    ).all()
    states = unlocks.access_states(session, workspace_id, [creator.id for _, creator in recent])
    return DiscoveryDashboard(
        totals=totals,
        recent_unlocks=[
            UnlockedProfile(
                creator=creators_service.preview(session, creator),
                access=states[creator.id],
                granted_at=row.granted_at,
                granted_by_user_id=row.granted_by_user_id,
            )
            for row, creator in recent
        ],
        unlocks_by_member={
            str(user_id) if user_id is not None else "unknown": count
            for user_id, count in by_member
        },
        balance=billing_usage.balance(session, workspace_id),
        allowances=billing_usage.allowances(session, workspace_id),
        suggestions=_suggestions(session, workspace_id, recent[0][1].id if recent else None),
    )


def _suggestions(session: Session, workspace_id: int, latest: int | None) -> list[SimilarItem]:
    if latest is not None:
        items = similar(session, workspace_id, latest, limit=SUGGESTIONS * 3).items
        return [item for item in items if item.access.state != "unlocked"][:SUGGESTIONS]
    top = session.scalars(
        select(Creator)
        .where(analysed())
        .order_by(Creator.engagement_rate.desc().nulls_last(), Creator.id)
        .limit(SUGGESTIONS)
    ).all()
    states = unlocks.access_states(session, workspace_id, [creator.id for creator in top])
    return [
        SimilarItem(
            creator=creators_service.preview(session, creator),
            access=states[creator.id],
            score=round(creator.engagement_rate or 0.0, 6),
            reasons=["among the most engaging analysed creators"],
        )
        for creator in top
    ]


def pricing(session: Session, workspace_id: int) -> DiscoveryPricing:
    """Each discovery action's price and what would pay for it now (a quote per action)."""
    items: list[DiscoveryPrice] = []
    balance = 0
    for action in DISCOVERY_ACTIONS:
        rule = billing_pricing.get_rule(session, action)
        quote = billing_usage.quote(session, workspace_id, action)
        balance = quote.balance
        items.append(
            DiscoveryPrice(
                action=action,
                credits=rule.credits,
                free_per_month=rule.free_per_month,
                free_remaining=quote.free_remaining if rule.free_per_month else None,
                allowance=str(rule.allowance) if rule.allowance else None,
                allowance_remaining=quote.allowance_remaining,
                access_days=rule.access_days,
                description=rule.description,
                can_perform=quote.can_perform,
                funding=str(quote.funding),
                charge_now=quote.credits,
            )
        )
    return DiscoveryPricing(balance=balance, items=items)
