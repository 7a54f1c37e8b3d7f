"""The simulated platform's publisher: the dry-run publisher, one per file per process.

Replies, new posts and hides on the simulated platform are recorded (``DryRunPublisher``) in the
data directory, so the demo shows its reply queue and its calendar working, and a restarted
process finds them again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver
from socialpulse.providers.publishing import DryRunPublisher, MediaRules, PostRules

MB = 1024 * 1024

# Generous on purpose (the demo's platform), yet real rules: the composer's checks show on it.
DRY_RUN_POST_RULES = PostRules(
    max_chars=1000,
    max_media=4,
    media={
        "image": MediaRules(
            frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
            max_bytes=10 * MB,
            max_width=8192,
            max_height=8192,
        ),
        "video": MediaRules(
            frozenset({"video/mp4", "video/quicktime"}), max_bytes=512 * MB, max_duration_s=600
        ),
    },
    visibilities=("public", "unlisted", "private"),
)

_lock = threading.Lock()
_publishers: dict[Path, DryRunPublisher] = {}


def dry_run_publisher(path: Path | None = None) -> DryRunPublisher:
    """The process-wide dry-run publisher recording into ``path`` (the data dir by default)."""
    if path is None:
        from socialpulse.config import get_settings

        path = get_settings().data_dir / "dry_run_replies.jsonl"
    with _lock:
        publisher = _publishers.get(path)
        if publisher is None:
            publisher = _publishers[path] = DryRunPublisher(path)
        return publisher


def build_publisher(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
    *,
    handle: str = "",
) -> DryRunPublisher:
    """Nothing goes online, so neither credentials nor a client matter."""
    return dry_run_publisher()
