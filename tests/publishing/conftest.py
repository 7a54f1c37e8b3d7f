"""Publishing fixtures (helpers in tests/publishing_support.py)."""

from __future__ import annotations

from publishing_support import (  # noqa: F401  (fixtures)
    account,
    make_mp4,
    make_png,
    platform,
    read_only_account,
    soon,
    ws,
)
