from __future__ import annotations

from socialpulse.ai import extract, keywords, topics
from socialpulse.ai.features import FeatureSpec, featurize, normalize, tokenize


def test_emoji_clusters_stay_whole() -> None:
    assert extract.emojis("team 👩🏽‍💻 and 🇫🇷 flag 👍🏻!") == ["👩🏽‍💻", "🇫🇷", "👍🏻"]


def test_email_is_not_a_mention() -> None:
    assert extract.mentions("mail me at jo@example.com or ping @jo_doe.") == ["jo_doe"]


def test_urls_lose_trailing_punctuation() -> None:
    assert extract.urls("see https://a.io/x?y=1, or www.b.com.") == [
        "https://a.io/x?y=1",
        "www.b.com",
    ]


def test_numeric_hash_is_not_a_hashtag() -> None:
    assert extract.hashtags("#1 fan of #TacoTuesday #2024") == ["tacotuesday"]


def test_normalisation_masks_handles_urls_and_elongation() -> None:
    assert (
        normalize("Soooo GOOD @bob http://x.co/a &amp; \\u2019")
        == "soo good  @user   <url>  & \u2019"
    )
    assert tokenize("i don't like it :) 😂") == ["i", "don't", "like", "it", ":)", "😂"]


def test_features_are_stable_and_credit_tokens() -> None:
    spec = FeatureSpec(word_bits=12, char_bits=12)
    first = featurize(["love it", "", "hate it"], spec)
    second = featurize(["love it", "", "hate it"], spec)
    assert (first.col == second.col).all()
    assert set(first.doc.tolist()) == {0, 2}
    assert first.term_text(first.n_tokens) == "love it"


def test_topic_without_matches_is_none() -> None:
    assert topics.classify("hmm, okay then").label is None


def test_keywords_prefer_multiword_phrases() -> None:
    assert keywords.extract("Customer service was slow and the delivery driver was rude")[0] in {
        "customer service",
        "delivery driver",
    }
