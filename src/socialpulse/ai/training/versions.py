"""Model versions named by what the model computes with."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt


def arrays_digest(arrays: Iterable[npt.NDArray[Any]], settings: str) -> str:
    """Hex sha256 of the arrays' bytes, in order, then of `settings` (scalars such as alpha
    and temperature): equal digests mean the same decisions."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(settings.encode())
    return digest.hexdigest()
