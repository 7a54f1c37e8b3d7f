"""The English model's vote on romanised Hindi's sentiment (`multilingual.EnglishVote`)."""

from __future__ import annotations

import numpy as np
import pytest

from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.base import Analyzer, TextAnalysis
from socialpulse.ai.features import featurize
from socialpulse.ai.multilingual import EnglishVote, MultiSentiment
from socialpulse.ai.training.multi import ENGLISH_VOTE_WEIGHTS, choose_english_vote

SAD = "so sad yaar, worst movie ever"
HAPPY = "best day ever bhai"


def _multi(bundle: ModelBundle) -> MultiSentiment:
    assert bundle.multi is not None
    return bundle.multi


def test_the_shipped_model_lets_the_english_model_vote_on_hindi_alone(bundle: ModelBundle) -> None:
    vote = _multi(bundle).english
    assert vote is not None
    assert set(vote.weights) == {"hi"}
    assert vote.weights["hi"] in ENGLISH_VOTE_WEIGHTS
    assert vote.weights["hi"] > 0


def test_the_vote_is_the_weighted_english_log_probabilities_of_the_voting_rows(
    bundle: ModelBundle,
) -> None:
    english = bundle.sentiment
    texts = [SAD, SAD, HAPPY]
    batch = featurize(texts, bundle.spec)
    got = EnglishVote(english, {"hi": 1.5}).of(batch, ["hi", "es", "hi"])
    probabilities = english.probabilities(english.decision(batch, english.values(batch)))
    np.testing.assert_allclose(got[0], 1.5 * np.log(probabilities[0]), rtol=1e-5)
    assert not got[1].any()  # Spanish takes no vote
    assert got[0].argmax() == 0  # the English model reads "so sad ... worst" as negative
    assert got[2].argmax() == 2


def test_the_multilingual_scores_carry_the_vote(bundle: ModelBundle) -> None:
    multi = _multi(bundle)
    texts, codes = [SAD, HAPPY, SAD], ["hi", "hi", "fr"]
    _, _, voted = multi.scores_of(texts, codes, bundle.spec)
    unvoted = MultiSentiment(multi.model, multi.fold, multi.offsets, static=multi.static)
    _, _, plain = unvoted.scores_of(texts, codes, bundle.spec)
    expected = multi.english_vote(featurize(texts, bundle.spec), codes)
    np.testing.assert_allclose(voted - plain, expected, atol=1e-4)
    assert expected[:2].any()
    assert not expected[2].any()


def test_a_model_trained_before_the_vote_scores_without_it(bundle: ModelBundle) -> None:
    multi = _multi(bundle)
    meta = dict(bundle.metadata["models"]["sentiment_multi"])
    meta.pop("english_vote")
    assert MultiSentiment.of(multi.model, meta, english=bundle.sentiment).english is None


def test_the_vote_weight_is_chosen_where_the_english_model_helps() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    decision = rng.normal(size=(300, 3)).astype(np.float32)  # a model that knows nothing
    knowing = np.log(np.where(np.eye(3)[labels] == 1, 0.8, 0.1)).astype(np.float32)
    chosen, tried = choose_english_vote(decision, labels, ["hi"] * 300, knowing)
    assert chosen["hi"] > 0
    assert set(tried["hi"]) == {str(weight) for weight in ENGLISH_VOTE_WEIGHTS}
    assert tried["hi"][str(chosen["hi"])] > tried["hi"]["0.0"]
    # A vote that says nothing is left out (the smallest weight wins a tie)...
    silent = np.zeros_like(knowing)
    assert choose_english_vote(decision, labels, ["hi"] * 300, silent)[0] == {"hi": 0.0}
    # ...and a language outside ENGLISH_VOTE_LANGUAGES gets none.
    assert choose_english_vote(decision, labels, ["es"] * 300, knowing) == ({}, {})


def one(analyzer: Analyzer, text: str) -> TextAnalysis:
    (result,) = analyzer.analyze([text])
    return result


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("yaar ye movie bahut boring thi, total waste of time", "negative"),
        ("bhai kya mast video hai, loved it", "positive"),
    ],
)
def test_romanised_hindi_reads_its_english_words_and_says_so(
    analyzer: Analyzer, text: str, label: str
) -> None:
    result = one(analyzer, text)
    assert result.language.code == "hi"
    assert result.sentiment.label == label
    evidence = [(item.source, item.value) for item in result.sentiment.evidence]
    assert evidence[0] == ("model", "sentiment_multi:hi")
    assert ("model", "english_vote") in evidence


def test_other_languages_get_no_english_vote(analyzer: Analyzer) -> None:
    result = one(analyzer, "Ce film était vraiment nul, quelle perte de temps")
    assert result.language.code == "fr"
    assert "english_vote" not in [item.value for item in result.sentiment.evidence]
