"""Which analyser answers: the backend named by a call or by ``SOCIALPULSE_AI_BACKEND``.

The factory sits above the backends (`analysis` for default, `accurate`, `hf`), which only
import the shared types of `base` and the default analyser they extend: none of them needs
to know the others exist.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from socialpulse.ai.accurate import AccurateAnalyzer
from socialpulse.ai.analysis import DefaultAnalyzer
from socialpulse.ai.base import BACKENDS, Analyzer, BackendUnavailable, TextAnalysis, TextKind
from socialpulse.ai.hf import HFAnalyzer, HFModelError, check_model_dir
from socialpulse.config import ConfigError, Settings, get_settings

_analyzers: dict[tuple[str, ...], Analyzer] = {}
_analyzers_lock = threading.Lock()


def check_settings(settings: Settings) -> None:
    """Stop the start (app or CLI) on a configured hf model directory the backend cannot run,
    naming the setting and what is wrong, rather than failing the first analysis job later.

    Cheap: the files and config.json are checked, the weights are not read."""
    if settings.ai_hf_model_dir is None:
        return
    try:
        check_model_dir(settings.ai_hf_model_dir)
    except HFModelError as exc:
        raise ConfigError(f"SOCIALPULSE_AI_HF_MODEL_DIR: {exc}") from exc


def _build(backend: str, settings: Settings) -> Analyzer:
    if backend == "default":
        return DefaultAnalyzer()
    if backend == "accurate":
        return AccurateAnalyzer()
    assert settings.ai_hf_model_dir is not None  # checked by get_analyzer
    return HFAnalyzer(settings.ai_hf_model_dir, settings.hf_languages)


def get_analyzer(backend: str | None = None) -> Analyzer:
    """The analyser of `backend`, or of the configured one (``SOCIALPULSE_AI_BACKEND``) when
    None: what ingestion uses, and API and CLI calls that name no backend.

    One instance per backend (and, for hf, per model directory and language list), built once
    per process and shared by all threads: analysers are read-only after construction, and the
    accurate and hf ones take a second or more to build. The lock makes concurrent first calls
    build it once; a failed build (`BackendUnavailable`) is not cached, so installing the
    missing package is picked up by the next call."""
    settings = get_settings()
    name = backend or settings.ai_backend
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    key: tuple[str, ...] = (name,)
    if name == "hf":
        if settings.ai_hf_model_dir is None:
            raise BackendUnavailable(
                "the hf backend needs a local Hugging Face model directory: set "
                "SOCIALPULSE_AI_HF_MODEL_DIR (config.json, model.safetensors, tokenizer.json)"
            )
        key = (name, str(settings.ai_hf_model_dir.resolve()), settings.ai_hf_languages)
    found = _analyzers.get(key)
    if found is not None:
        return found
    with _analyzers_lock:
        found = _analyzers.get(key)
        if found is None:
            found = _analyzers[key] = _build(name, settings)
    return found


def clear_analyzers() -> None:
    """Forget the built analysers (tests that change the settings or the installed models)."""
    with _analyzers_lock:
        _analyzers.clear()


def analyze(
    texts: Sequence[str], backend: str | None = None, kind: TextKind = "comment"
) -> list[TextAnalysis]:
    """Analyse a batch of texts with `backend` (None: the configured one); results come back
    in input order. `kind`: "comment" (somebody's comment), or "caption" (a creator's own
    post, where only scam patterns make a text spam)."""
    if isinstance(texts, str):
        raise TypeError("analyze() takes a sequence of texts; wrap a single text in a list")
    return get_analyzer(backend).analyze(texts, kind)
