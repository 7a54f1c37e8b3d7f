"""Simulated platform: a deterministic fake social network for the demo and load tests.

No credentials. Settings (all optional, passed where credentials go): ``seed`` (whole number,
default 0), ``latency_ms`` (0-2000) and ``error_rate`` (0-1), checked by ``settings``. Profile
URLs look like
``https://simulated.invalid/@handle``; handles starting with ``missing`` or ``unknown`` do not
exist. See ``client`` for the API and ``model`` for how the numbers are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from socialpulse.providers.base import CallObserver, Platform
from socialpulse.providers.creators import CREATOR_SOURCE
from socialpulse.providers.images import LOCAL_IMAGES
from socialpulse.providers.registry import Capability, ProviderInfo, ReplyLimits
from socialpulse.providers.simulated.client import (
    SIMULATED_HOST,
    SimulatedPlatform,
    parse_profile_url,
    profile_url,
)
from socialpulse.providers.simulated.creators import build_creator_source
from socialpulse.providers.simulated.images import render_image
from socialpulse.providers.simulated.model import SimSnapshot
from socialpulse.providers.simulated.publish import DRY_RUN_POST_RULES, build_publisher
from socialpulse.providers.simulated.settings import SETTINGS, read_settings

__all__ = ["PROVIDER", "SimSnapshot", "SimulatedPlatform", "build"]


def build(
    credentials: Mapping[str, Any],
    observer: CallObserver | None = None,
    http_client: httpx.Client | None = None,
) -> SimulatedPlatform:
    """A ``SimulatedPlatform`` from settings; ``http_client`` is unused (nothing goes online)."""
    settings = read_settings(credentials)  # ValueError naming the knob and its range
    return SimulatedPlatform(
        seed=settings.seed,
        latency_ms=settings.latency_ms,
        error_rate=settings.error_rate,
        observer=observer,
    )


def check_credentials(credentials: Mapping[str, Any]) -> None:
    """Refuse settings ``build`` would refuse, without building anything (account updates)."""
    read_settings(credentials)


PROVIDER = ProviderInfo(
    platform=Platform.SIMULATED,
    display_name="Simulated",
    needs_credentials=False,
    capabilities=frozenset(
        {
            Capability.PROFILE,
            Capability.POSTS,
            Capability.COMMENTS,
            Capability.REPLY,
            Capability.HIDE,
            Capability.PUBLISH,
            Capability.CREATOR_DISCOVERY,
        }
    ),
    parse_profile_url=parse_profile_url,
    build=build,
    url_forms=(profile_url("demo_account"),),
    check_credentials=check_credentials,
    publisher=build_publisher,
    reply_limits=ReplyLimits(120, 10, 2.0, 0.0, 3.0),  # the demo moves quickly
    post_rules=DRY_RUN_POST_RULES,
    extra={
        "settings": SETTINGS,
        CREATOR_SOURCE: build_creator_source,
        LOCAL_IMAGES: {SIMULATED_HOST: render_image},
    },
)
