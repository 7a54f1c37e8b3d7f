"""Simulated platform: a deterministic fake social network for the demo and load tests.

No credentials. Settings (all optional, passed where credentials go): ``seed`` (int, default 0),
``latency_ms`` (float) and ``error_rate`` (0-1). Profile URLs look like
``https://simulated.invalid/@handle``; handles starting with ``missing`` or ``unknown`` do not
exist. See ``client`` for the API and ``model`` for how the numbers are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, Platform
from socialpulse.providers.registry import Capability, ProviderInfo
from socialpulse.providers.simulated.client import (
    SimulatedPlatform,
    parse_profile_url,
    profile_url,
)
from socialpulse.providers.simulated.model import SimSnapshot

__all__ = ["PROVIDER", "SimSnapshot", "SimulatedPlatform", "build"]


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> SimulatedPlatform:
    """A ``SimulatedPlatform`` from settings; ``http_client`` is unused (nothing goes online)."""
    try:
        seed = int(credentials.get("seed", 0) or 0)
        latency_ms = float(credentials.get("latency_ms", 0) or 0)
        error_rate = float(credentials.get("error_rate", 0) or 0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"simulated platform settings are invalid: {exc}") from exc
    return SimulatedPlatform(
        seed=seed, latency_ms=latency_ms, error_rate=error_rate, observer=observer
    )


PROVIDER = ProviderInfo(
    platform=Platform.SIMULATED,
    display_name="Simulated",
    needs_credentials=False,
    capabilities=frozenset({Capability.PROFILE, Capability.POSTS, Capability.COMMENTS}),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=(profile_url("demo_account"),),
    extra={"settings": ("seed", "latency_ms", "error_rate")},
)
