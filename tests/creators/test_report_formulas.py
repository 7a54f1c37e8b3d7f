"""The report's figures on a small creator computed by hand, and the comment quality rules."""

from __future__ import annotations

import datetime as dt

import pytest

from socialpulse.creators import quality
from socialpulse.creators.models import CommentQuality
from socialpulse.creators.report import (
    CommentRow,
    CreatorFacts,
    PostRow,
    ReportInputs,
    compute_sections,
)

UTC = dt.UTC


def _post(
    post_id: int,
    at: dt.datetime,
    likes: int,
    comments: int,
    views: int,
    *,
    shares: int | None = None,
    tags: list[str] | None = None,
    category: str = "food",
) -> PostRow:
    return PostRow(
        post_id, f"p{post_id}", None, "caption", at, "image", tags or [], views, likes,
        comments, shares, None, "/static/img/placeholder.svg", category, "positive", 0.5, "en",
    )  # fmt: skip


def _comment(
    post_id: int,
    external_id: str,
    author: str,
    sentiment: str,
    score: float,
    language: str,
    kind: CommentQuality,
    *,
    parent: str | None = None,
    by_creator: bool = False,
) -> CommentRow:
    return CommentRow(
        post_id, external_id, parent, author, by_creator, kind.value, sentiment, score, language
    )


@pytest.fixture
def inputs() -> ReportInputs:
    facts = CreatorFacts(
        "simulated", "chef", "Chef", "I cook", None, "/a.png", 1000, 10, 4, False,
        "food", 0.75, "en",
    )  # fmt: skip
    posts = [
        _post(1, dt.datetime(2026, 11, 2, 10, tzinfo=UTC), 10, 5, 100, shares=5, tags=["Food"]),
        _post(2, dt.datetime(2026, 11, 9, 10, tzinfo=UTC), 20, 0, 200, tags=["food", "travel"]),
        _post(3, dt.datetime(2026, 11, 11, 18, tzinfo=UTC), 30, 10, 300, category="travel"),
        _post(4, dt.datetime(2026, 11, 16, 10, tzinfo=UTC), 40, 0, 400),
    ]
    comments = [
        _comment(1, "c1", "a", "positive", 0.8, "en", CommentQuality.ok),
        _comment(1, "c2", "chef", "positive", 0.9, "en", CommentQuality.ok, parent="c1",
                 by_creator=True),
        _comment(1, "c3", "b", "negative", -0.6, "en", CommentQuality.spam),
        _comment(2, "c4", "a", "neutral", 0.0, "fr", CommentQuality.generic),
    ]  # fmt: skip
    return ReportInputs(facts, posts, comments, peer_rates=[0.01, 0.05, 0.02])


def test_engagement_figures(inputs: ReportInputs) -> None:
    report = compute_sections(inputs, now=dt.datetime(2026, 12, 1, tzinfo=UTC))
    # (likes + comments + shares + saves) / followers: 0.02, 0.02, 0.04, 0.04
    assert [p.engagement_rate for p in report.posts] == [0.02, 0.02, 0.04, 0.04]
    assert report.overview.engagement_rate == 0.03
    assert report.overview.follower_tier == "1k-10k"
    assert report.overview.tier_median_engagement_rate == 0.02
    assert report.overview.tier_sample_size == 3
    assert report.overview.posts_per_week == 1.5  # 3 gaps over 14 days
    engagement = report.engagement
    assert (engagement.avg_likes, engagement.median_likes) == (25.0, 25.0)
    assert engagement.median_views == 250.0
    # Views 100..400: inclusive quartiles 175 and 325, IQR 150, over the median 250.
    assert engagement.consistency.metric == "views"
    assert engagement.consistency.iqr == 150.0
    assert engagement.consistency.iqr_to_median == 0.6
    assert engagement.reply_rate == pytest.approx(0.3333)  # c1 of c1, c3, c4 was answered
    sentiment = engagement.comment_sentiment
    assert (sentiment.positive, sentiment.neutral, sentiment.negative) == (1, 1, 1)
    assert sentiment.average_score == pytest.approx(0.0667)
    assert [p.engagement_rate for p in engagement.over_time] == [0.02, 0.02, 0.04, 0.04]


def test_audience_figures_and_score(inputs: ReportInputs) -> None:
    audience = compute_sections(inputs, now=dt.datetime(2026, 12, 1, tzinfo=UTC)).audience
    assert audience.commenters == 2
    assert audience.repeat_commenter_share == 0.5  # a on two posts, b on one
    assert [(s.label, s.count) for s in audience.commenter_languages] == [("en", 2), ("fr", 1)]
    shares = audience.comment_quality
    assert (shares.ok, shares.spam, shares.generic) == (0.3333, 0.3333, 0.3333)
    # genuine = 1/3 + 0.5 x 1/3 = 0.5; repeat part min(1, 0.5 / 0.2) = 1; engagement 0.03/0.03
    assert audience.audience_quality_score == round(100 * (0.7 * 0.5 + 0.15 + 0.15))
    assert audience.demographics_available is False


def test_content_figures_and_score(inputs: ReportInputs) -> None:
    content = compute_sections(inputs, now=dt.datetime(2026, 12, 1, tzinfo=UTC)).content
    assert [(s.label, s.count) for s in content.categories] == [("food", 3), ("travel", 1)]
    tags = {t.tag: (t.posts, t.avg_engagement_rate, t.avg_likes) for t in content.top_hashtags}
    assert tags == {"food": (2, 0.02, 15.0), "travel": (1, 0.02, 20.0)}
    best = content.best_times[0]
    assert (best.weekday, best.hour, best.posts, best.avg_engagement_rate) == (2, 18, 1, 0.04)
    monday = content.best_times[1]
    assert (monday.weekday, monday.hour, monday.posts) == (0, 10, 3)
    # 0.4 x 1 + 0.2 x (0.0667 + 1) / 2 + 0.2 x 1 / 1.6 + 0.2 x 3/4
    assert content.content_quality_score == round(
        100 * (0.4 + 0.2 * 1.0667 / 2 + 0.2 / 1.6 + 0.2 * 0.75)
    )


def test_hidden_followers_leave_the_rate_unknown(inputs: ReportInputs) -> None:
    hidden = ReportInputs(
        CreatorFacts(*[None if i == 6 else v for i, v in enumerate(_facts(inputs))]),
        inputs.posts,
        inputs.comments,
        [],
    )
    report = compute_sections(hidden, now=dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert report.overview.engagement_rate is None
    assert report.overview.tier_median_engagement_rate is None
    assert report.overview.tier_sample_size == 0


def _facts(inputs: ReportInputs) -> list[object]:
    c = inputs.creator
    return [
        c.platform, c.handle, c.display_name, c.bio, c.profile_url, c.avatar, c.followers,
        c.following, c.posts_count, c.verified, c.category, c.category_confidence, c.language,
    ]  # fmt: skip


def test_comment_quality_rules() -> None:
    samples = [
        quality.CommentSample("Check my profile for deals!", "s1", 1),
        quality.CommentSample("visit https://spam.test", "s2", 1),
        quality.CommentSample("🔥🔥🔥", "e1", 1),
        quality.CommentSample("Nice pic!", "g1", 1),
        quality.CommentSample("I tried this recipe and it burned, what oven temperature?", "o1", 1),
        quality.CommentSample("Wow this is so great content", "b1", 1),
        quality.CommentSample("wow, this is SO great content!", "b2", 2),
        quality.CommentSample("Wow this is so great content", "b3", 3),
        quality.CommentSample("❤️", "h1", 1),
        quality.CommentSample("❤️", "h2", 2),
        quality.CommentSample("❤️", "h3", 3),
    ]
    classes = quality.classify(samples)
    assert classes == [
        CommentQuality.spam,
        CommentQuality.spam,
        CommentQuality.emoji_only,
        CommentQuality.generic,
        CommentQuality.ok,
        CommentQuality.bot_like,
        CommentQuality.bot_like,
        CommentQuality.bot_like,
        CommentQuality.emoji_only,  # many fans send a heart: not a farm
        CommentQuality.emoji_only,
        CommentQuality.emoji_only,
    ]
