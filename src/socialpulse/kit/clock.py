"""The one clock: every "now" in socialpulse is timezone-aware UTC and comes from here."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
