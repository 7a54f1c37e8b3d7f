"""The simulated platform's publisher: the dry-run publisher, one per file per process.

Replies and hides on the simulated platform are recorded (``DryRunPublisher``) in the data
directory, so the demo shows its reply queue working and a restarted process finds them again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver
from socialpulse.providers.publishing import DryRunPublisher

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
