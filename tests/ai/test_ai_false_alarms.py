"""False alarms users reported (issue #16, item 6), through the public `analyze` API: polite
requests and thanks are not spam, praise idioms are neither complaints nor negative, and a
creator's own promotional captions are not spam, while real spam still is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from factories import make_account, make_post, make_workspace
from socialpulse.accounts.models import Post
from socialpulse.ai import analyze
from socialpulse.ai import service as ai_service
from socialpulse.ai.base import Analyzer
from socialpulse.db import Database
from socialpulse.demo import DEMO_ACCOUNTS, DEMO_HISTORY_DAYS, DEMO_SEED
from socialpulse.providers.simulated.model import SimulationModel


def test_a_polite_request_for_a_tutorial_is_not_spam() -> None:
    result = analyze(["Can you do a full tutorial video please?"])[0]
    assert not result.intents["spam"].fired
    assert result.intent == "question"
    # The model alone would have said spam; the evidence says why it did not count.
    assert any(e.value == "no_spam_marker_gate" for e in result.intents["spam"].evidence)


def test_thank_you_for_sharing_is_not_spam() -> None:
    result = analyze(["thank you for sharing"])[0]
    assert not result.intents["spam"].fired
    assert result.intent != "spam"
    assert result.sentiment.label == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "Could you please do a video about budgeting for students?",
        "Can you share the recipe please?",
        "Thanks for the video",
        "Just subscribed, love your channel!",
        "Your channel helped me so much, thank you",
        "Would love a follow-up video on this",
    ],
)
def test_ordinary_fan_comments_are_not_spam(text: str) -> None:
    result = analyze([text])[0]
    assert not result.intents["spam"].fired
    assert result.intent != "spam"


def test_you_never_miss_is_praise_not_a_complaint() -> None:
    result = analyze(["you never miss"])[0]
    assert not result.intents["complaint"].fired
    assert result.intent != "complaint"
    assert result.sentiment.label == "positive"
    assert any(e.value == "positive_idiom: you never miss" for e in result.sentiment.evidence)


@pytest.mark.parametrize("text", ["take my money", "Shut up and take my money!"])
def test_take_my_money_is_eager_to_buy_not_negative(text: str) -> None:
    result = analyze([text])[0]
    assert result.sentiment.label != "negative"
    assert result.intent == "purchase_intent"
    assert not result.intents["spam"].fired
    assert not result.intents["complaint"].fired


@pytest.mark.parametrize(
    "text",
    [
        "Check out my channel! http://bit.ly/2xYz9",
        "subscribe to my channel for free iPhone giveaway",
        "Earn $500 a day from home, WhatsApp me +1 415 555 0134",
        "sub4sub? subscribe to me and I will subscribe back",
        "DM @growth_king5122 to get featured 💰",
        "Nice pic! Send it to @promo_boost3699 for a shoutout",
        "I made $3k this week trading crypto, ask me how 📈",
    ],
)
def test_real_comment_spam_still_fires(text: str) -> None:
    result = analyze([text])[0]
    assert result.intents["spam"].fired
    assert result.intent == "spam"


PROMOTIONAL_CAPTIONS = [
    "Grab yours — link in bio!",
    "Perfect for your morning routine",
    "Use code SUMMER for 20% off",
    "New drop for your weekend 🛍️ Shop now, link in bio",
    "Made for your skin. Check out my new video for the full routine!",
    "5 tricks for your home office",
]


@pytest.mark.parametrize("caption", PROMOTIONAL_CAPTIONS)
def test_ordinary_promotional_captions_are_not_spam(caption: str) -> None:
    result = analyze([caption], kind="caption")[0]
    assert not result.intents["spam"].fired
    assert result.intent != "spam"
    assert result.intents["spam"].evidence[0].value == "own_caption_scam_only"


def test_the_same_words_as_a_comment_can_be_spam() -> None:
    """Self-promotion is a caption's job but spam in somebody else's comment section."""
    text = "Check out my new video for the full routine! http://bit.ly/abc"
    comment, caption = analyze([text])[0], analyze([text], kind="caption")[0]
    assert comment.intents["spam"].fired
    assert not caption.intents["spam"].fired


@pytest.mark.parametrize(
    "caption",
    [
        "Double your bitcoin in 24 hours, DM me",
        "Get free followers now, 10k in a day",
        "I earn $800 a day from my phone, WhatsApp +44 7700 900123",
    ],
)
def test_a_scam_caption_is_still_spam(caption: str) -> None:
    result = analyze([caption], kind="caption")[0]
    assert result.intents["spam"].fired
    assert any(e.value.startswith("scam:") for e in result.intents["spam"].evidence)


def test_an_unknown_kind_is_refused(analyzer: Analyzer) -> None:
    with pytest.raises(ValueError, match="kind must be 'comment' or 'caption'"):
        analyzer.analyze(["hello"], kind="tweet")  # type: ignore[arg-type]


def test_promotional_captions_do_not_lower_the_content_quality_score(db: Database) -> None:
    """An account whose captions promote (as captions do) keeps the full "not spam" part of its
    content quality score; one scam caption takes its share off."""
    ws = make_workspace(db, "promo-captions")
    captions = [*PROMOTIONAL_CAPTIONS, "Double your bitcoin in 24 hours, DM me"]
    with db.session() as session:
        account = make_account(session, ws.workspace_id, handle="glow_shop")
        for n, caption in enumerate(captions):
            make_post(session, account, f"p{n}", caption=caption, engagement_rate=0.03)
        account_id = account.id
    assert ai_service.analyze_pending_posts(db, workspace_id=ws.workspace_id) == len(captions)
    with db.session(readonly=True) as session:
        spam = session.scalars(
            select(Post.caption).where(Post.account_id == account_id, Post.ai_intent == "spam")
        ).all()
        profile = ai_service.account_profile(session, ws.subject, account_id)
    assert spam == ["Double your bitcoin in 24 hours, DM me"]
    # The formula with one unsafe caption out of seven, and nothing else taken off for spam.
    total = profile["posts_analysed"]
    primary = max(profile["category_distribution"].values())
    expected = 100 * (
        0.4 * 1.0
        + 0.2 * (profile["average_sentiment"] + 1) / 2
        + 0.2 * primary
        + 0.2 * (1 - 1 / total)
    )
    assert total == len(captions)
    assert profile["content_quality_score"] == pytest.approx(expected, abs=0.06)


def test_no_caption_of_the_demo_accounts_is_spam() -> None:
    """The demo accounts' captions ("9 rules for your budget", "bread that changed my
    weeknights") were tagged spam by the dozen; none is a scam."""
    sim = SimulationModel(seed=DEMO_SEED)
    now = datetime(2026, 12, 3, tzinfo=UTC)
    captions = [
        sim.post_text(post)[0]
        for handle, _ in DEMO_ACCOUNTS
        for post in sim.posts_between(handle, now - timedelta(days=DEMO_HISTORY_DAYS), now)
    ]
    assert len(captions) > 300
    tagged = [r.text for r in analyze(captions, kind="caption") if r.intents["spam"].fired]
    assert tagged == []
