"""Nested cross-validation of the multilingual sentiment recipe's choices (issue #18).

    python benchmarks/multilingual_recipe.py [--data ../shared/data] [--c 0.3] [--tried]

`socialpulse ai train` fits the shipped recipe (`socialpulse.ai.training.multi`): the mean of a
linear SVM and an NB-weighted SVM, per-language offsets maximising macro-F1. This script prints
why, what the analyser's emoji and phrase prior adds (offsets are chosen on the scores plus that
prior) and what the English model's vote adds (its weight chosen with the offsets; the shipped
English model, which never saw these labels) and what the static word-vector head adds (over
the shipped word table; its alpha chosen like the vote): each variant's average macro-F1 over
the seven languages' training tweets, out of fold, with the offsets chosen on the other four folds'
out-of-fold scores (nested, so no figure is scored on the tweets its offsets were chosen on).
`val.tsv` is not read. About two minutes on 2 cores.

`--tried` also prints the static-head variants cross-validation chose against, each over the
same table, folds, vote and nested choices as the shipped line (about ten more minutes; the
fine-tuned one needs torch, `make accurate`).

`--features` prints instead how the n-gram line (mean, prior, F1 offsets) moves when its
features are made otherwise: Arabic and accent normalisation, other languages' negation cues,
the English sample's weight, more hash columns, other char n-gram lengths (about 12 minutes).
"""

from __future__ import annotations

import argparse
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from socialpulse.ai import features, polarity
from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.features import F32, FeatureSpec, featurize
from socialpulse.ai.multilingual import EnglishVote, FoldSpec, language_batch, only_docs
from socialpulse.ai.training.datasets import SEED, IntArray, read_sentiment
from socialpulse.ai.training.fit import fit_idf, matrix
from socialpulse.ai.training.metrics import macro_f1, macro_recall, tune_offsets
from socialpulse.ai.training.multi import (
    ENGLISH_VOTE_WEIGHTS,
    _nbsvm_mean,
    _svm,
    choose_english_vote,
    choose_static_alpha,
    foreign_folds,
    read_multilingual,
)
from socialpulse.ai.training.word_vectors import _features, fold_view, head_out_of_fold
from socialpulse.ai.word_vectors import WordTable, mean_vectors, text_words, word_rows

ROOT = Path(__file__).resolve().parents[1]
Metric = Callable[[IntArray, IntArray], float]


def out_of_fold(
    data_dir: Path, c: float, variant: FeatureVariant | None = None
) -> tuple[dict[str, F32], IntArray, np.ndarray, list[IntArray], list[str]]:
    """Out-of-fold decisions of the SVM alone and of the shipped mean, on the seven
    languages' training tweets (the English sample always trains, as in `ai train`), and
    those tweets' texts. With a `variant`, the mean alone, its features made that way."""
    both = variant is None
    variant = variant or FeatureVariant("as shipped")
    data = read_multilingual(data_dir)
    if variant.english_weight is not None:
        data.weights[np.asarray(data.codes) == "en"] = variant.english_weight
    codes = np.asarray(data.codes)
    texts_in = [
        variant.rewrite(text, code) for text, code in zip(data.texts, data.codes, strict=True)
    ]
    with variant.negation_cues():
        batch = language_batch(featurize(texts_in, variant.spec), data.codes, variant.fold)
    foreign = data.foreign
    english = np.flatnonzero(codes == "en")
    folds = foreign_folds(data)
    decisions = {name: np.zeros((len(foreign), 3), dtype=np.float32) for name in ("svm", "mean")}
    started = time.monotonic()
    for number, test in enumerate(folds, 1):
        rows = np.concatenate((foreign[np.setdiff1d(np.arange(len(foreign)), test)], english))
        keep = np.zeros(len(data.texts), dtype=bool)
        keep[rows] = True
        x = matrix(batch, fit_idf(only_docs(batch, keep), len(rows))).tocsr()
        held = x[foreign[test]]
        if both:
            plain = _svm(c).fit(x[rows], data.labels[rows], sample_weight=data.weights[rows])
            decisions["svm"][test] = plain.decision_function(held)
        weights, bias = _nbsvm_mean(x[rows], data.labels[rows], data.weights[rows], c)
        decisions["mean"][test] = np.asarray(held @ weights) + bias
        print(f"fold {number}/{len(folds)} done ({time.monotonic() - started:.0f} s)", flush=True)
    texts = [data.texts[i] for i in foreign]
    return decisions, data.labels[foreign], codes[foreign], folds, texts


_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")  # harakat, dagger alif, tatweel
# Hamza and madda forms of alif to alif, alif maqsura to ya, ta marbuta to ha, hamza seats to
# their letter: the spellings tweets mix freely.
_ARABIC_LETTERS = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي"}
)
ACCENTED = frozenset({"de", "es", "fr", "it", "pt"})
# Negation cues of the seven languages, beside the default spec's English ones.
FOREIGN_NEGATORS = frozenset(
    "non pas ne jamais rien personne nicht kein keine keinen keiner nie niemals nichts nunca "
    "nada ni tampoco jamás não nao nem nenhum nenhuma nessuno niente nahi nahin nhi nai mat "
    "لا ما لم لن ليس مش مو غير".split()
)


@dataclass(frozen=True)
class FeatureVariant:
    """One way of making the multilingual model's features, measured against the shipped one
    (`--features`): text rewritten before featurising, negation cues, spec and fold, and the
    English sample's weight."""

    label: str
    arabic: bool = False
    accents: bool = False
    nfkc: bool = False
    negators: bool = False
    english_weight: float | None = None
    spec: FeatureSpec = FeatureSpec()
    fold: FoldSpec = FoldSpec()

    def rewrite(self, text: str, code: str) -> str:
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.arabic and code == "ar":
            text = _ARABIC_MARKS.sub("", text).translate(_ARABIC_LETTERS)
        if self.accents and code in ACCENTED:
            parts = unicodedata.normalize("NFKD", text)
            text = unicodedata.normalize(
                "NFC", "".join(ch for ch in parts if not unicodedata.combining(ch))
            )
        return text

    @contextmanager
    def negation_cues(self) -> Iterator[None]:
        shipped = features._NEGATORS
        if self.negators:
            features._NEGATORS = shipped | FOREIGN_NEGATORS
        try:
            yield
        finally:
            features._NEGATORS = shipped


FEATURE_VARIANTS = (
    FeatureVariant("Arabic letters and marks normalised", arabic=True),
    FeatureVariant("accents folded (de, es, fr, it, pt)", accents=True),
    FeatureVariant("both", arabic=True, accents=True),
    FeatureVariant("both, and NFKC for every language", arabic=True, accents=True, nfkc=True),
    FeatureVariant("negation cues of the seven languages too", negators=True),
    FeatureVariant("English sample weighted 0.15 (shipped 0.3)", english_weight=0.15),
    FeatureVariant("English sample weighted 0.6", english_weight=0.6),
    FeatureVariant("2^19 word + 2^20 char columns (shipped 2^17 + 2^18)", fold=FoldSpec(19, 20)),
    FeatureVariant("char n-grams 1-6 (shipped 2-5)", spec=FeatureSpec(char_min=1, char_max=6)),
)


def nested_score(
    decision: F32, labels: IntArray, codes: np.ndarray, folds: list[IntArray], metric: Metric | None
) -> dict[str, float]:
    """Macro-F1 per language, each fold's offsets chosen (by `metric`, or none) on the others."""
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for number, test in enumerate(folds):
        fold_of[test] = number
    predicted = decision.argmax(axis=1)
    if metric is not None:
        for code in np.unique(codes):
            for number in range(len(folds)):
                chosen = (codes == code) & (fold_of != number)
                scored = (codes == code) & (fold_of == number)
                offsets, _ = tune_offsets(decision[chosen], labels[chosen], metric)
                predicted[scored] = (decision[scored] + offsets).argmax(axis=1)
    return {
        str(code): macro_f1(labels[codes == code], predicted[codes == code])
        for code in np.unique(codes)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("SOCIALPULSE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--c", type=float, default=0.3, help="C of both SVMs (ai train's choice)")
    parser.add_argument(
        "--tried", action="store_true", help="also the static-head variants not shipped"
    )
    parser.add_argument(
        "--features",
        action="store_true",
        help="only the n-gram features' variants not shipped (about 75 s each)",
    )
    args = parser.parse_args()
    if not (args.data / "sentiment-multilingual").is_dir():
        # `make bench` runs every benchmark: without the shared data there is nothing to measure.
        print(f"skipped: {args.data} holds no sentiment-multilingual/ (give --data)")
        return 0
    if args.features:
        return feature_variants(args.data, args.c)
    decisions, labels, codes, folds, texts = out_of_fold(args.data, args.c)
    # What the analyser adds to the scores before the offsets: the emoji part alone, and the
    # whole prior (emojis and the praise and complaint phrases of every language).
    decisions["mean+emoji"] = decisions["mean"] + polarity.prior(texts, phrases=False)[0]
    decisions["mean+prior"] = decisions["mean"] + polarity.prior(texts)[0]
    variants: list[tuple[str, str, Metric | None]] = [
        ("SVM alone", "svm", None),
        ("SVM alone, macro-recall offsets (the recipe before)", "svm", macro_recall),
        ("SVM alone, macro-F1 offsets", "svm", macro_f1),
        ("mean of SVM and NB-SVM", "mean", None),
        ("mean of SVM and NB-SVM, macro-F1 offsets", "mean", macro_f1),
        ("mean, macro-F1 offsets, + emoji prior", "mean+emoji", macro_f1),
        ("mean, macro-F1 offsets, + emoji and phrase prior", "mean+prior", macro_f1),
    ]
    print(f"\nnested 5-fold CV, C={args.c}: average macro-F1 over the seven languages")
    for label, name, metric in variants:
        scores = nested_score(decisions[name], labels, codes, folds, metric)
        per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
        print(f"{np.mean(list(scores.values())):.4f}  {label:<58} {per}")
    # The shipped English model's log-probabilities of every text (a weight of 1 for each of
    # the seven languages); each variant keeps those of the languages it lets vote.
    everyone = dict.fromkeys(np.unique(codes).tolist(), 1.0)
    english = ModelBundle.load().sentiment
    vote = EnglishVote(english, everyone).of(featurize(texts, FeatureSpec()), codes.tolist())
    for label, voting in (
        ("mean, F1 offsets, prior, English vote for Hindi (before)", ("hi",)),
        ("mean, F1 offsets, prior, English vote for all seven", tuple(np.unique(codes))),
    ):
        scores = nested_vote_score(
            decisions["mean+prior"], vote_for(vote, codes, voting), labels, codes, folds
        )
        per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
        print(f"{np.mean(list(scores.values())):.4f}  {label:<58} {per}")
    static = ModelBundle.load().multi
    if static is not None and static.static is not None:
        # The static word-vector head over the shipped word table, out of fold on the same
        # folds (`training.word_vectors.head_out_of_fold`), its one alpha chosen on the other
        # four folds as `ai train` chooses it, then the English vote and the offsets.
        head = head_out_of_fold(static.static.table, texts, labels, codes, folds)
        scores = nested_static_score(
            decisions["mean+prior"], head, vote_for(vote, codes, ("hi",)), labels, codes, folds
        )
        per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
        label = "+ static word vectors, one alpha, vote for Hindi (shipped)"
        print(f"{np.mean(list(scores.values())):.4f}  {label:<58} {per}")
        for label, variant, c in TRIED_STATIC if args.tried else ():
            tried = variant_head(variant, c, static.static.table, texts, labels, codes, folds)
            if tried is None:
                print(f"skipped  {label}: needs torch (make accurate)")
                continue
            scores = nested_static_score(
                decisions["mean+prior"], tried, vote_for(vote, codes, ("hi",)), labels, codes, folds
            )
            per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
            print(f"{np.mean(list(scores.values())):.4f}    {label:<56} {per}", flush=True)
    print(hindi_label_agreement(args.data))
    return 0


def feature_variants(data_dir: Path, c: float) -> int:
    """The mean of SVM and NB-SVM plus the prior, F1 offsets chosen on four folds (the shipped
    n-gram line before the vote and the static head), for each of `FEATURE_VARIANTS`."""
    print(f"\nnested 5-fold CV, C={c}: mean + prior, macro-F1 offsets, by how features are made")
    for variant in (FeatureVariant("as shipped"), *FEATURE_VARIANTS):
        decisions, labels, codes, folds, texts = out_of_fold(data_dir, c, variant)
        decision = decisions["mean"] + polarity.prior(texts)[0]
        scores = nested_score(decision, labels, codes, folds, macro_f1)
        per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
        print(f"{np.mean(list(scores.values())):.4f}  {variant.label:<58} {per}", flush=True)
    return 0


def nested_static_score(
    decision: F32,
    head: F32,
    vote: F32,
    labels: IntArray,
    codes: np.ndarray,
    folds: list[IntArray],
) -> dict[str, float]:
    """Macro-F1 per language of the shipped recipe, every choice made on the other four
    folds' out-of-fold scores: the static head's alpha (`choose_static_alpha`), then the
    English vote's weight (`choose_english_vote`), then each language's offsets."""
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for number, test in enumerate(folds):
        fold_of[test] = number
    predicted = decision.argmax(axis=1)
    for number in range(len(folds)):
        train = fold_of != number
        alpha, _ = choose_static_alpha(
            decision[train], labels[train], codes[train].tolist(), head[train]
        )
        combined = decision + alpha * head
        weights, _ = choose_english_vote(
            combined[train], labels[train], codes[train].tolist(), vote[train]
        )
        combined = combined + np.asarray([weights.get(c, 0.0) for c in codes])[:, None] * vote
        for code in np.unique(codes):
            chosen = (codes == code) & train
            scored = (codes == code) & ~train
            offsets, _ = tune_offsets(combined[chosen], labels[chosen], macro_f1)
            predicted[scored] = (combined[scored] + offsets).argmax(axis=1)
    return {
        str(code): macro_f1(labels[codes == code], predicted[codes == code])
        for code in np.unique(codes)
    }


# Static-head variants measured against the shipped one (idf-weighted mean, linear head, C=1).
TRIED_STATIC = (
    ("instead: unweighted mean of the word vectors", "unweighted", 1.0),
    ("instead: first principal component removed (SIF)", "sif", 1.0),
    ("instead: mean and max pooling, C=1", "mean_max", 1.0),
    ("instead: mean and max pooling, C=0.3", "mean_max", 0.3),
    ("instead: word vectors fine-tuned with the head", "fine_tuned", 1.0),
)


def variant_head(
    variant: str,
    c: float,
    table: WordTable,
    texts: Sequence[str],
    labels: IntArray,
    codes: np.ndarray,
    folds: list[IntArray],
) -> F32 | None:
    """A static-head variant's out-of-fold log-probabilities, each held-out tweet seen as
    `training.word_vectors.head_out_of_fold` sees it (training folds' words and idf); None
    when the variant needs torch and it is not installed."""
    rows_of = word_rows(table.index, [text_words(text) for text in texts])
    dense = table.dense()
    languages = sorted(set(codes.tolist()))
    out = np.zeros((len(texts), 3), dtype=np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(len(texts)), test)
        seen, idf = fold_view(rows_of, train, test, len(table.words))
        if variant == "fine_tuned":
            scores = fine_tuned_scores(dense, seen, idf, labels, codes, languages, train, test)
            if scores is None:
                return None
            out[test] = scores
            continue
        weights = np.ones_like(idf) if variant == "unweighted" else idf
        vectors = mean_vectors(seen, dense, weights)
        if variant == "sif":
            first = np.linalg.svd(vectors[train], full_matrices=False)[2][0]
            vectors = _unit(vectors - np.outer(vectors @ first, first))
        elif variant == "mean_max":
            vectors = np.hstack([vectors, _max_pool(seen, dense)])
        features = _features(vectors, codes, languages)
        model = LogisticRegression(
            C=c, class_weight="balanced", max_iter=3000, random_state=SEED
        ).fit(features[train], labels[train])
        out[test] = model.predict_log_proba(features[test])
    return out


def _unit(vectors: F32) -> F32:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-9)).astype(np.float32)


def _max_pool(rows_of: Sequence[Sequence[int]], dense: F32) -> F32:
    """Each dimension's value of largest magnitude over the text's words."""
    out = np.zeros((len(rows_of), dense.shape[1]), dtype=np.float32)
    for position, rows in enumerate(rows_of):
        if rows:
            block = dense[list(rows)]
            out[position] = block[np.abs(block).argmax(axis=0), np.arange(block.shape[1])]
    return _unit(out)


def fine_tuned_scores(
    dense: F32,
    rows_of: Sequence[Sequence[int]],
    idf: F32,
    labels: IntArray,
    codes: np.ndarray,
    languages: Sequence[str],
    train: IntArray,
    test: IntArray,
    epochs: int = 4,
) -> F32 | None:
    """The table's vectors trained with the head (Adam, 4 epochs, batches of 64, balanced
    cross-entropy, an L2 pull of 0.5/n on the head and of 100/n towards e5's vectors): the
    shipped model's form, its vectors tuned for sentiment. The test tweets' log-probabilities.
    A weaker pull (10/n, or 1/n at a higher rate) did worse in a scratch run."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(SEED)
    language_of = np.asarray([languages.index(code) for code in codes.tolist()])
    start = torch.tensor(dense)
    table = torch.nn.Parameter(start.clone())
    shared = torch.nn.Parameter(torch.zeros(dense.shape[1], 3))
    own = torch.nn.Parameter(torch.zeros(len(languages), dense.shape[1], 3))
    bias = torch.nn.Parameter(torch.zeros(len(languages), 3))
    optimiser = torch.optim.Adam(
        [{"params": [table], "lr": 5e-4}, {"params": [shared, own, bias], "lr": 1e-2}]
    )
    counts = np.bincount(labels[train], minlength=3)
    balance = torch.tensor(len(train) / (3 * counts), dtype=torch.float32)
    word_weight = torch.tensor(idf)

    def logits(batch: np.ndarray) -> Any:
        flat = torch.tensor([row for i in batch for row in rows_of[i]], dtype=torch.long)
        offsets = torch.tensor(np.cumsum([0] + [len(rows_of[i]) for i in batch[:-1]]))
        summed = torch.nn.functional.embedding_bag(
            flat, table, offsets, mode="sum", per_sample_weights=word_weight[flat]
        )
        vectors = summed / torch.clamp(summed.norm(dim=1, keepdim=True), min=1e-9)
        language = torch.tensor(language_of[batch])
        return torch.einsum("nd,ndk->nk", vectors, shared[None] + own[language]) + bias[language]

    order = np.random.default_rng(SEED)
    for _ in range(epochs):
        shuffled = order.permutation(train)
        for begin in range(0, len(shuffled), 64):
            batch = shuffled[begin : begin + 64]
            loss = torch.nn.functional.cross_entropy(
                logits(batch), torch.tensor(labels[batch]), weight=balance
            )
            pull = 0.5 * ((shared**2).sum() + (own**2).sum()) / len(train)
            pull = pull + 100 * ((table - start) ** 2).sum() / len(train)
            optimiser.zero_grad()
            (loss + pull).backward()
            optimiser.step()
    with torch.no_grad():
        scores = torch.cat([logits(test[i : i + 512]) for i in range(0, len(test), 512)])
        return torch.log_softmax(scores, dim=1).numpy().astype(np.float32)


def vote_for(vote: F32, codes: np.ndarray, voting: tuple[str, ...]) -> F32:
    """The English model's log-probabilities of the texts in `voting`, zero elsewhere."""
    return np.where(np.isin(codes, voting)[:, None], vote, 0.0).astype(np.float32)


def nested_vote_score(
    decision: F32,
    vote: F32,
    labels: IntArray,
    codes: np.ndarray,
    folds: list[IntArray],
    weights: Sequence[float] = ENGLISH_VOTE_WEIGHTS,
) -> dict[str, float]:
    """Like `nested_score` with macro-F1 offsets, the weight of `vote` (the English model's, or
    any other scores added to `decision`) chosen from `weights` with them on the other four
    folds (by default `training.multi.choose_english_vote`'s grid)."""
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for number, test in enumerate(folds):
        fold_of[test] = number
    predicted = decision.argmax(axis=1)
    for code in np.unique(codes):
        for number in range(len(folds)):
            chosen = (codes == code) & (fold_of != number)
            scored = (codes == code) & (fold_of == number)
            best: tuple[float, float, F32] | None = None
            for weight in weights:
                voted = decision[chosen] + weight * vote[chosen]
                offsets, _ = tune_offsets(voted, labels[chosen], macro_f1)
                score = macro_f1(labels[chosen], (voted + offsets).argmax(axis=1))
                if best is None or score > best[0] + 1e-12:
                    best = (score, weight, offsets)
            assert best is not None
            _, weight, offsets = best
            predicted[scored] = (decision[scored] + weight * vote[scored] + offsets).argmax(axis=1)
    return {
        str(code): macro_f1(labels[codes == code], predicted[codes == code])
        for code in np.unique(codes)
    }


def hindi_label_agreement(data_dir: Path) -> str:
    """Why romanised Hindi stays near chance for every model: some of its training tweets are
    English SemEval tweets that `sentiment/train.tsv` holds too (compared lower-cased, letters
    and digits only, as the two sets' preprocessing differs), and their labels disagree."""

    def key(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9]+", text.lower()))

    english: dict[str, set[int]] = {}
    source = read_sentiment(data_dir / "sentiment" / "train.tsv")
    for text, label in zip(source.texts, source.labels.tolist(), strict=True):
        english.setdefault(key(text), set()).add(label)
    hindi = read_sentiment(data_dir / "sentiment-multilingual" / "hi" / "train.tsv")
    shared = [
        (label, english[key(text)])
        for text, label in zip(hindi.texts, hindi.labels.tolist(), strict=True)
        if key(text) in english
    ]
    same = sum(label in labels for label, labels in shared)
    return (
        f"\nhi/train.tsv: {len(shared)} tweets are also in sentiment/train.tsv; "
        f"{same} of them carry the same label in both"
    )


if __name__ == "__main__":
    raise SystemExit(main())
