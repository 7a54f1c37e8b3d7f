"""A creator's report, computed from its stored rows: the five sections of ``ReportSections``.

``load_inputs`` reads what the report needs in three column-only SELECTs; ``compute_sections``
is pure (same rows, same report) and does the arithmetic. Definitions, as served:

* **Engagement rate** of a post: (likes + comments + shares + saves) / followers, counters the
  platform hides counting 0; the creator's rate is the mean over its stored posts. Unknown
  (null) when the follower count is hidden or 0.
* **Follower tier**: <1k, 1k-10k, 10k-100k, 100k-1M, 1M+; its median engagement rate is taken
  over the other creators of that tier in this instance's database, with their number.
* **Consistency**: inter-quartile range (Q3 - Q1, inclusive quartiles) of views per post, or of
  likes where the platform shows no views for most posts, divided by its median.
* **Reply rate**: top-level fan comments with a reply by the creator in the sample / top-level
  fan comments sampled; null when the platform shows no replies.
* **Audience quality score** and **content quality score**: see ``AUDIENCE_QUALITY_FORMULA``
  and ``CONTENT_QUALITY_FORMULA``.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.creators.models import (
    CommentQuality,
    Creator,
    CreatorComment,
    CreatorPost,
    CreatorStatus,
)
from socialpulse.creators.schemas import (
    AudienceSection,
    CommentQualityShares,
    Consistency,
    ContentSection,
    EngagementPoint,
    EngagementSection,
    HashtagStat,
    OverviewSection,
    PostItem,
    ReportSections,
    SentimentBreakdown,
    Share,
    TimeSlot,
)

ENGAGEMENT_RATE_DEFINITION = (
    "(likes + comments + shares + saves) / followers per post, hidden counters as 0; "
    "the creator's rate is the mean over the posts analysed"
)
# A 3 % engagement rate is what social media benchmarks commonly call "good" (as in the ai
# domain's account quality score): at or above it the engagement part of a score is full.
GOOD_ENGAGEMENT_RATE = 0.03
# A fifth of commenters coming back is a loyal core: the repeat part of the score is full there.
GOOD_REPEAT_SHARE = 0.2
AUDIENCE_QUALITY_FORMULA = (
    "clamp(1, 100, round(100 x (0.7 x genuine + 0.15 x min(1, repeat_commenter_share / 0.2) "
    "+ 0.15 x min(1, engagement_rate / 0.03)))), where genuine = ok share + 0.5 x (generic "
    "share + emoji-only share) of sampled fan comments (bot-like and spam count 0); "
    "null without sampled fan comments"
)
CONTENT_QUALITY_FORMULA = (
    "clamp(1, 100, round(100 x (0.4 x min(1, engagement_rate / 0.03) + 0.2 x (average comment "
    "sentiment + 1) / 2 + 0.2 x 1 / (1 + consistency IQR / median) + 0.2 x primary category "
    "share of posts))); a missing part counts 0.5; null without posts"
)
DEMOGRAPHICS_NOTE = (
    "Age, gender and location of the audience are not available from public data; this "
    "section shows only what public comments tell."
)
TIERS: tuple[tuple[str, int, int | None], ...] = (
    ("<1k", 0, 1_000),
    ("1k-10k", 1_000, 10_000),
    ("10k-100k", 10_000, 100_000),
    ("100k-1M", 100_000, 1_000_000),
    ("1M+", 1_000_000, None),
)
TOP_HASHTAGS = 20


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    external_id: str
    url: str | None
    caption: str
    posted_at: dt.datetime
    media_type: str
    hashtags: list[str]
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    thumbnail: str
    ai_category: str | None
    ai_sentiment: str | None
    ai_sentiment_score: float | None
    ai_language: str | None


@dataclass(frozen=True, slots=True)
class CommentRow:
    post_id: int
    external_id: str
    parent_external_id: str | None
    author: str
    by_creator: bool
    quality: str | None
    ai_sentiment: str | None
    ai_sentiment_score: float | None
    ai_language: str | None


@dataclass(frozen=True, slots=True)
class CreatorFacts:
    platform: str
    handle: str
    display_name: str
    bio: str
    profile_url: str | None
    avatar: str
    followers: int | None
    following: int | None
    posts_count: int | None
    verified: bool
    category: str | None
    category_confidence: float | None
    language: str | None


@dataclass(frozen=True, slots=True)
class ReportInputs:
    creator: CreatorFacts
    posts: list[PostRow]
    comments: list[CommentRow]
    peer_rates: list[float]  # engagement rates of the other creators in the same tier


def tier_of(followers: int | None) -> tuple[str, int, int | None]:
    count = followers or 0
    for tier in TIERS:
        if count >= tier[1] and (tier[2] is None or count < tier[2]):
            return tier
    return TIERS[0]


ImageUrl = Callable[[int | None], str]
_POST_COLUMNS = (
    "id external_id url caption posted_at media_type hashtags views likes comments shares saves "
    "thumbnail_media_id ai_category ai_sentiment ai_sentiment_score ai_language"
).split()


def post_row(post: Any, thumbnail: str) -> PostRow:
    """A ``CreatorPost`` (or a row of its columns) as the report reads it."""
    return PostRow(
        post.id,
        post.external_id,
        post.url,
        post.caption,
        post.posted_at,
        post.media_type,
        list(post.hashtags or []),
        post.views,
        post.likes,
        post.comments,
        post.shares,
        post.saves,
        thumbnail,
        post.ai_category,
        post.ai_sentiment,
        post.ai_sentiment_score,
        post.ai_language,
    )


def comment_rows(session: Session, *where: Any) -> list[CommentRow]:
    """The comments matching ``where`` as the report reads them."""
    columns = (
        CreatorComment.post_id,
        CreatorComment.external_id,
        CreatorComment.parent_external_id,
        CreatorComment.author_external_id,
        CreatorComment.by_creator,
        CreatorComment.quality,
        CreatorComment.ai_sentiment,
        CreatorComment.ai_sentiment_score,
        CreatorComment.ai_language,
    )
    return [CommentRow(*row) for row in session.execute(select(*columns).where(*where))]


def load_inputs(session: Session, creator: Creator, image_url: ImageUrl) -> ReportInputs:
    """What the report reads, in column-only SELECTs (no ORM objects for 2,500 comments).
    ``image_url(media_id)`` gives a stored image's URL (the placeholder for None)."""
    posts = [
        post_row(r, image_url(r.thumbnail_media_id))
        for r in session.execute(
            select(*(getattr(CreatorPost, name) for name in _POST_COLUMNS))
            .where(CreatorPost.creator_id == creator.id)
            .order_by(CreatorPost.posted_at.desc(), CreatorPost.id.desc())
        )
    ]
    comments = comment_rows(session, CreatorComment.creator_id == creator.id)
    _, low, high = tier_of(creator.followers_count)
    peers = select(Creator.engagement_rate).where(
        Creator.id != creator.id,
        Creator.engagement_rate.is_not(None),
        Creator.status == CreatorStatus.ready,
        Creator.followers_count >= low,
    )
    if high is not None:
        peers = peers.where(Creator.followers_count < high)
    facts = CreatorFacts(
        creator.platform,
        creator.handle,
        creator.display_name,
        creator.bio,
        creator.profile_url,
        image_url(creator.avatar_media_id),
        creator.followers_count,
        creator.following_count,
        creator.posts_count,
        creator.verified,
        creator.category,
        creator.category_confidence,
        creator.language,
    )
    return ReportInputs(
        facts, posts, comments, [r for r in session.scalars(peers) if r is not None]
    )


# --------------------------------------------------------------------------- arithmetic


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return round(value, digits) if value is not None else None


def post_engagement_rate(post: PostRow, followers: int | None) -> float | None:
    if not followers:
        return None
    interactions = sum(v or 0 for v in (post.likes, post.comments, post.shares, post.saves))
    return interactions / followers


def shares(counter: Counter[str], total: int) -> list[Share]:
    if not total:
        return []
    return [
        Share(label=label, count=count, share=round(count / total, 4))
        for label, count in sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    ]


def sentiment_breakdown(comments: Iterable[CommentRow]) -> SentimentBreakdown:
    labels: Counter[str] = Counter()
    scores: list[float] = []
    for comment in comments:
        if comment.ai_sentiment is not None:
            labels[comment.ai_sentiment] += 1
        if comment.ai_sentiment_score is not None:
            scores.append(comment.ai_sentiment_score)
    total = sum(labels.values())

    def share(label: str) -> float | None:
        return round(labels[label] / total, 4) if total else None

    return SentimentBreakdown(
        positive=labels["positive"],
        neutral=labels["neutral"],
        negative=labels["negative"],
        positive_share=share("positive"),
        neutral_share=share("neutral"),
        negative_share=share("negative"),
        average_score=_round(_mean(scores)),
        sample_size=total,
    )


def consistency(posts: Sequence[PostRow]) -> Consistency:
    views = [float(p.views) for p in posts if p.views is not None]
    metric: Any = "views"
    values = views
    if len(views) * 2 < len(posts) or not views:
        metric, values = "likes", [float(p.likes) for p in posts if p.likes is not None]
    if not values:
        return Consistency(metric=None, median=None, iqr=None, iqr_to_median=None, sample_size=0)
    median = float(statistics.median(values))
    iqr = None
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        iqr = q3 - q1
    ratio = iqr / median if iqr is not None and median else None
    return Consistency(
        metric=metric,
        median=_round(median, 2),
        iqr=_round(iqr, 2),
        iqr_to_median=_round(ratio),
        sample_size=len(values),
    )


def reply_rate(comments: Sequence[CommentRow]) -> tuple[float | None, bool]:
    """(reply rate, whether replies are visible at all in the sample)."""
    visible = any(c.parent_external_id is not None for c in comments)
    if not visible:
        return None, False
    replied = {(c.post_id, c.parent_external_id) for c in comments if c.by_creator}
    top = [c for c in comments if c.parent_external_id is None and not c.by_creator]
    if not top:
        return None, True
    answered = sum(1 for c in top if (c.post_id, c.external_id) in replied)
    return round(answered / len(top), 4), True


def _clamp_score(value: float) -> int:
    return max(1, min(100, round(100 * value)))


def audience_quality(
    quality: CommentQualityShares, repeat_share: float | None, engagement_rate: float | None
) -> int | None:
    """1-100: see ``AUDIENCE_QUALITY_FORMULA``."""
    if not quality.sample_size:
        return None
    genuine = quality.ok + 0.5 * (quality.generic + quality.emoji_only)
    repeat = min(1.0, (repeat_share or 0.0) / GOOD_REPEAT_SHARE)
    engagement = min(1.0, (engagement_rate or 0.0) / GOOD_ENGAGEMENT_RATE)
    return _clamp_score(0.7 * genuine + 0.15 * repeat + 0.15 * engagement)


def content_quality(
    posts: Sequence[PostRow],
    engagement_rate: float | None,
    comment_sentiment: float | None,
    iqr_to_median: float | None,
) -> int | None:
    """1-100: see ``CONTENT_QUALITY_FORMULA``."""
    if not posts:
        return None
    categories = Counter(p.ai_category for p in posts if p.ai_category)
    parts = [
        min(1.0, engagement_rate / GOOD_ENGAGEMENT_RATE) if engagement_rate is not None else 0.5,
        (comment_sentiment + 1) / 2 if comment_sentiment is not None else 0.5,
        1 / (1 + iqr_to_median) if iqr_to_median is not None else 0.5,
        categories.most_common(1)[0][1] / len(posts) if categories else 0.5,
    ]
    return _clamp_score(0.4 * parts[0] + 0.2 * parts[1] + 0.2 * parts[2] + 0.2 * parts[3])


def posts_per_week(posts: Sequence[PostRow]) -> float | None:
    if len(posts) < 2:
        return None
    times = sorted(p.posted_at for p in posts)
    span_days = (times[-1] - times[0]).total_seconds() / 86_400
    if span_days <= 0:
        return None
    return round((len(posts) - 1) / (span_days / 7), 2)


def _hashtags(posts: Sequence[PostRow], rates: dict[int, float | None]) -> list[HashtagStat]:
    found: dict[str, list[PostRow]] = defaultdict(list)
    for post in posts:
        for tag in {t.lower() for t in post.hashtags}:
            found[tag].append(post)
    stats = []
    for tag, tagged in found.items():
        tag_rates = [r for p in tagged if (r := rates[p.id]) is not None]
        likes = [float(p.likes) for p in tagged if p.likes is not None]
        stats.append(
            HashtagStat(
                tag=tag,
                posts=len(tagged),
                avg_engagement_rate=_round(_mean(tag_rates), 6),
                avg_likes=_round(_mean(likes), 1),
            )
        )
    stats.sort(key=lambda s: (-s.posts, -(s.avg_engagement_rate or 0.0), s.tag))
    return stats[:TOP_HASHTAGS]


def _best_times(posts: Sequence[PostRow], rates: dict[int, float | None]) -> list[TimeSlot]:
    slots: dict[tuple[int, int], list[PostRow]] = defaultdict(list)
    for post in posts:
        at = post.posted_at.astimezone(dt.UTC) if post.posted_at.tzinfo else post.posted_at
        slots[(at.weekday(), at.hour)].append(post)
    result = [
        TimeSlot(
            weekday=weekday,
            hour=hour,
            posts=len(slot),
            avg_engagement_rate=_round(
                _mean([r for p in slot if (r := rates[p.id]) is not None]), 6
            ),
        )
        for (weekday, hour), slot in slots.items()
    ]
    result.sort(key=lambda s: (-(s.avg_engagement_rate or 0.0), -s.posts, s.weekday, s.hour))
    return result


def _comment_quality(fan: Sequence[CommentRow]) -> CommentQualityShares:
    counts = Counter(c.quality for c in fan if c.quality is not None)
    total = sum(counts.values())
    if not total:
        return CommentQualityShares()
    return CommentQualityShares(
        **{q.value: round(counts[q.value] / total, 4) for q in CommentQuality},
        sample_size=total,
    )


def _repeat_share(fan: Sequence[CommentRow]) -> float | None:
    posts_by_author: dict[str, set[int]] = defaultdict(set)
    for comment in fan:
        posts_by_author[comment.author].add(comment.post_id)
    if not posts_by_author:
        return None
    repeat = sum(1 for posts in posts_by_author.values() if len(posts) >= 2)
    return round(repeat / len(posts_by_author), 4)


def post_item(post: PostRow, followers: int | None, fan: Sequence[CommentRow]) -> PostItem:
    """One post of the POSTS section; ``fan``: its sampled comments not by the creator."""
    return PostItem(
        id=post.id,
        external_id=post.external_id,
        url=post.url,
        caption=post.caption,
        posted_at=post.posted_at,
        media_type=post.media_type,
        thumbnail=post.thumbnail,
        hashtags=post.hashtags,
        views=post.views,
        likes=post.likes,
        comments=post.comments,
        shares=post.shares,
        saves=post.saves,
        engagement_rate=_round(post_engagement_rate(post, followers), 6),
        ai_category=post.ai_category,
        ai_sentiment=post.ai_sentiment,
        ai_sentiment_score=post.ai_sentiment_score,
        ai_language=post.ai_language,
        comments_sentiment=sentiment_breakdown(fan),
    )


def compute_sections(inputs: ReportInputs, *, now: dt.datetime) -> ReportSections:
    creator, posts, comments = inputs.creator, inputs.posts, inputs.comments
    followers = creator.followers
    rates = {p.id: post_engagement_rate(p, followers) for p in posts}
    known_rates = [r for r in rates.values() if r is not None]
    engagement_rate = _mean(known_rates)
    fan = [c for c in comments if not c.by_creator]
    fan_by_post: dict[int, list[CommentRow]] = defaultdict(list)
    for comment in fan:
        fan_by_post[comment.post_id].append(comment)
    sentiment = sentiment_breakdown(fan)
    steady = consistency(posts)
    quality = _comment_quality(fan)
    repeat = _repeat_share(fan)
    rate_of_replies, replies_visible = reply_rate(comments)
    tier, _, _ = tier_of(followers)

    def metric(name: str) -> list[float]:
        return [float(v) for p in posts if (v := getattr(p, name)) is not None]

    overview = OverviewSection(
        handle=creator.handle,
        display_name=creator.display_name,
        platform=creator.platform,
        bio=creator.bio,
        profile_url=creator.profile_url,
        avatar=creator.avatar,
        followers_count=followers,
        following_count=creator.following,
        posts_count=creator.posts_count,
        verified=creator.verified,
        engagement_rate=_round(engagement_rate, 6),
        engagement_rate_definition=ENGAGEMENT_RATE_DEFINITION,
        follower_tier=tier,
        tier_median_engagement_rate=_round(_median(inputs.peer_rates), 6),
        tier_sample_size=len(inputs.peer_rates),
        primary_category=creator.category,
        category_confidence=creator.category_confidence,
        language=creator.language,
        posts_per_week=posts_per_week(posts),
        posts_analysed=len(posts),
        comments_analysed=len(comments),
        computed_at=now,
    )
    audience = AudienceSection(
        commenter_languages=shares(
            Counter(c.ai_language for c in fan if c.ai_language),
            sum(1 for c in fan if c.ai_language),
        ),
        commenters=len({c.author for c in fan}),
        repeat_commenter_share=repeat,
        comment_quality=quality,
        audience_quality_score=audience_quality(quality, repeat, engagement_rate),
        audience_quality_formula=AUDIENCE_QUALITY_FORMULA,
        demographics_available=False,
        demographics_note=DEMOGRAPHICS_NOTE,
    )
    engagement = EngagementSection(
        avg_likes=_round(_mean(metric("likes")), 2),
        median_likes=_median(metric("likes")),
        avg_comments=_round(_mean(metric("comments")), 2),
        median_comments=_median(metric("comments")),
        avg_views=_round(_mean(metric("views")), 2),
        median_views=_median(metric("views")),
        engagement_rate=_round(engagement_rate, 6),
        engagement_rate_definition=ENGAGEMENT_RATE_DEFINITION,
        over_time=[
            EngagementPoint(
                post_id=p.id, posted_at=p.posted_at, engagement_rate=_round(rates[p.id], 6)
            )
            for p in sorted(posts, key=lambda p: (p.posted_at, p.id))
        ],
        consistency=steady,
        comment_sentiment=sentiment,
        reply_rate=rate_of_replies,
        replies_visible=replies_visible,
    )
    analysed = [p for p in posts if p.ai_sentiment is not None]
    content = ContentSection(
        categories=shares(Counter(p.ai_category for p in analysed if p.ai_category), len(analysed)),
        languages=shares(Counter(p.ai_language for p in analysed if p.ai_language), len(analysed)),
        top_hashtags=_hashtags(posts, rates),
        best_times=_best_times(posts, rates),
        content_quality_score=content_quality(
            posts, engagement_rate, sentiment.average_score, steady.iqr_to_median
        ),
        content_quality_formula=CONTENT_QUALITY_FORMULA,
    )
    items = [post_item(p, followers, fan_by_post.get(p.id, [])) for p in posts]
    return ReportSections(
        overview=overview, audience=audience, engagement=engagement, content=content, posts=items
    )
