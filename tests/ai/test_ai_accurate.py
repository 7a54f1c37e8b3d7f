"""The accurate backend (fine-tuned MiniLM and its head). Needs `make accurate` (make test
installs it); without it these tests skip locally and fail under CI=true."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialpulse.ai.backends import get_analyzer

pytestmark = pytest.mark.usefixtures("accurate_backend")


# Ids of the hand-written WordPiece that MiniLM's heads were trained with (before the
# tokenizers package replaced it): accents, CJK, emoji, punctuation, symbols, long words,
# Greek final sigma, control characters and special-token look-alikes.
# fmt: off
TOKENIZED = {
    "": [101, 102],
    "Héllo Wörld! Café naïve façade": [101, 7592, 2088, 999, 7668, 15743, 8508, 102],
    "東京タワーは素晴らしい！我爱你": [
        101, 1879, 1755, 1709, 30262, 30265, 30198, 100, 100, 1685, 30183, 30173, 1986, 1855, 100,
        100, 102,
    ],
    "Best concert ever 🔥🔥 love it😍": [101, 2190, 4164, 2412, 100, 100, 2293, 2009, 100, 102],
    "👍🏽👨\u200d👩\u200d👧 ❤️ 🇫🇷": [101, *[100] * 10, 102],
    "don't stop_believing... #blessed @user http://x.co/a?b=1": [
        101, 2123, 1005, 1056, 2644, 1035, 8929, 1012, 1012, 1012, 1001, 10190, 1030, 5310, 8299,
        1024, 1013, 1013, 1060, 1012, 2522, 1013, 1037, 1029, 1038, 1027, 1015, 102,
    ],
    "a" * 150 + " ok": [101, 100, 7929, 102],
    "supercalifragilisticexpialidocious antidisestablishmentarianism": [
        101, 3565, 9289, 10128, 29181, 24411, 4588, 10288, 19312, 21273, 10085, 6313, 3424, 10521,
        4355, 7875, 13602, 3672, 12199, 2964, 102,
    ],
    "ΟΔΟΣ ΣΟΦΟΣ İstanbul ǅ ß ﬁ": [
        101, 1169, 29722, 15297, 1173, 29730, 29736, 15297, 9960, 100, 1096, 1984, 102,
    ],
    "नमस्ते दुनिया": [101, 1327, 29867, 29874, 29859, 1325, 29863, 1341, 1332, 1340, 102],
    "© 2024 €5 ½ x² — “quoted” «fr» ¿qué?": [
        101, 1075, 16798, 2549, 1574, 1019, 1092, 1060, 10701, 1517, 1523, 9339, 1524, 1077, 10424,
        1090, 1094, 10861, 1029, 102,
    ],
    "tab\tnew\nline\r\x00nul\x7fdel\ufffd\u200bzwsp\u200d": [
        101, 21628, 2047, 2240, 16371, 17920, 2140, 100, 1062, 9333, 2361, 100, 102,
    ],
    "[CLS] [SEP] [UNK] [MASK]": [
        101, 1031, 18856, 2015, 1033, 1031, 19802, 1033, 1031, 4895, 2243, 1033, 1031, 7308, 1033,
        102,
    ],
    "한국어 텍스트 ㅋㅋㅋ": [
        101, 1469, 30006, 30021, 29991, 30014, 30020, 29999, 30008, 1467, 30009, 30020, 29997,
        30017, 30003, 30017, 100, 102,
    ],
    "مرحبا بالعالم": [
        101, 1295, 17149, 29820, 29816, 25573, 1271, 25573, 23673, 29830, 25573, 23673, 22192, 102,
    ],
    "Ünïcödé ÅÆØ ĳ Ŀ": [101, 27260, 1037, 29667, 16415, 100, 100, 102],
}
# fmt: on


def test_the_tokenizer_gives_the_ids_minilm_was_trained_with() -> None:
    from socialpulse.ai.minilm import MAX_TOKENS, model_dir, wordpiece

    tokenizer = wordpiece(model_dir() / "vocab.txt")
    texts = list(TOKENIZED)
    assert [found.ids for found in tokenizer.encode_batch(texts)] == list(TOKENIZED.values())
    long = tokenizer.encode(" ".join(["word"] * 200)).ids
    assert long == [101, *[2773] * (MAX_TOKENS - 2), 102]


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
    assert "/minilm-ft-" in good.model_version
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
    # French goes to the default backend's multilingual model, not to the English encoder.
    assert unsupported.sentiment.evidence[0].value == "sentiment_multi:fr"


def _tuned_copy(layers: list[dict[str, np.ndarray]], which: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    tuned = [dict(layer) for layer in layers]
    tuned[which] = {
        name: value + rng.normal(0.0, 0.01, value.shape).astype(np.float32)
        for name, value in layers[which].items()
    }
    return tuned


def test_encoder_delta_round_trips_through_its_file(tmp_path: Path) -> None:
    from socialpulse.ai.minilm import EncoderDelta, MiniLM

    base = MiniLM(use_onnx=False).layers
    tuned = _tuned_copy(base, 4)
    delta = EncoderDelta.between(base, tuned, base_sha256="abc")
    assert list(delta.layers) == [4]  # untouched layers are not stored
    delta.save(tmp_path / "delta.npz")
    restored = EncoderDelta.load(tmp_path / "delta.npz").apply(base)
    assert restored[0]["qkv_w"] is base[0]["qkv_w"]
    for name, value in tuned[4].items():
        # int8 per column: at most half a step (the column's largest change / 127 / 2) off.
        step = np.abs(value - base[4][name]).max(axis=0) / 127
        assert np.all(np.abs(restored[4][name] - value) <= step / 2 + 1e-6), name


def test_encoder_delta_refuses_other_base_weights(tmp_path: Path) -> None:
    from socialpulse.ai.minilm import EncoderDelta, MiniLM, MiniLMUnavailable

    base = MiniLM(use_onnx=False).layers
    delta = EncoderDelta.between(base, _tuned_copy(base, 5), base_sha256="0" * 64)
    with pytest.raises(MiniLMUnavailable, match="other base weights"):
        MiniLM(use_onnx=False, delta=delta)


def test_shipped_fine_tuned_layers_change_the_embeddings_identically_in_both_runtimes() -> None:
    from socialpulse.ai.accurate import SentimentHead
    from socialpulse.ai.minilm import MiniLM

    head = SentimentHead.load()
    assert head.encoder_delta is not None and len(head.encoder_delta.layers) == 6
    texts = ["worst customer service ever", "what a game last night!"]
    tuned_numpy = MiniLM(use_onnx=False, delta=head.encoder_delta).embed(texts)
    tuned_onnx = MiniLM(quantize=False, delta=head.encoder_delta).embed(texts)
    base = MiniLM(use_onnx=False).embed(texts)
    assert np.abs(tuned_numpy - tuned_onnx).max() < 1e-4
    assert np.abs(tuned_numpy - base).max() > 0.05


def test_head_round_trips_and_drops_stale_encoder_layers(
    tmp_path: Path,
) -> None:
    from socialpulse.ai.accurate import DELTA_FILE, SentimentHead
    from socialpulse.ai.minilm import EncoderDelta, MiniLM

    base = MiniLM(use_onnx=False).layers
    delta = EncoderDelta.between(base, _tuned_copy(base, 5), base_sha256="abc")
    rng = np.random.default_rng(0)
    head = SentimentHead(
        weights=rng.normal(size=(384, 3)).astype(np.float32),
        bias=np.zeros(3, dtype=np.float32),
        alpha=1.5,
        offsets=np.array([0.5, 0.0, 0.25], dtype=np.float32),
        temperature=1.2,
        version="minilm-ft-1+test",
        encoder_delta=delta,
    )
    head.save(tmp_path, {})
    loaded = SentimentHead.load(tmp_path)
    assert loaded.encoder_delta is not None and list(loaded.encoder_delta.layers) == [5]
    embeddings = rng.normal(size=(4, 384)).astype(np.float32)
    assert np.allclose(loaded.logits(embeddings), head.logits(embeddings), atol=1e-6)
    assert np.allclose(np.exp(loaded.logits(embeddings)).sum(axis=1), 1.0, atol=1e-5)

    head.encoder_delta = None
    head.save(tmp_path, {})
    assert not (tmp_path / DELTA_FILE).exists()
    assert SentimentHead.load(tmp_path).encoder_delta is None
