"""Checks of the settings that need the layers above ``config``, run when a process starts.

``config`` is the bottom layer, so it cannot parse what a higher layer owns (the egress
allow-list, the AI model directory); the app and the CLI call ``check_settings`` before touching
anything, so a typo still stops the start with a ``ConfigError`` naming the setting.
"""

from __future__ import annotations

from socialpulse.ai import backends as ai_backends
from socialpulse.config import ConfigError, Settings
from socialpulse.kit import egress


def check_settings(settings: Settings) -> None:
    try:
        egress.parse_allow(settings.egress_allow)  # a typo must not silently allow nothing
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    ai_backends.check_settings(settings)  # a model directory that cannot load
