"""The knobs of the simulated platform, read from an account's credentials and checked.

The credentials of a simulated account are user input (``POST /api/v1/accounts``, the
dashboard's form, ``PATCH`` of an account), so every knob is a finite number in a range that
cannot hurt the server: a ``latency_ms`` of 90 000 on a few dozen parallel adds once held every
worker thread for half a minute, and ``inf``/``nan`` reached ``time.sleep`` and the model as a
500. Numbers may come as JSON numbers or as the strings the dashboard's ``name=value`` form
sends; booleans, unknown knobs and anything non-finite are refused with a message naming the
knob and its range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_LATENCY_MS",
    "MAX_SEED",
    "SETTINGS",
    "SimSettings",
    "check_error_rate",
    "check_latency_ms",
    "read_settings",
]

# A slow platform for a demo or a load test, never long enough to hold a request thread.
MAX_LATENCY_MS = 2_000.0
# The model hashes the seed's decimal form; a bound keeps it a 64-bit value, not a megabyte.
MAX_SEED = 2**63 - 1
SETTINGS = ("seed", "latency_ms", "error_rate")


@dataclass(frozen=True, slots=True)
class SimSettings:
    seed: int = 0
    latency_ms: float = 0.0
    error_rate: float = 0.0


def _text(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _finite(name: str, value: Any, low: float, high: float, unit: str = "") -> float:
    rule = f"{name} must be a number from {low:g} to {high:g}{unit}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{rule}; got {_text(value)}")
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (ValueError, OverflowError):
        raise ValueError(f"{rule}; got {_text(value)}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{rule}; got {_text(value)}")
    return number


def check_latency_ms(value: Any) -> float:
    return _finite("latency_ms", value, 0.0, MAX_LATENCY_MS, " (milliseconds)")


def check_error_rate(value: Any) -> float:
    return _finite("error_rate", value, 0.0, 1.0)


def _seed(value: Any) -> int:
    rule = f"seed must be a whole number from 0 to {MAX_SEED}"
    if isinstance(value, bool):
        raise ValueError(f"{rule}; got {_text(value)}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 19:
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        raise ValueError(f"{rule}; got {_text(value)}")
    if not 0 <= number <= MAX_SEED:
        raise ValueError(f"{rule}; got {_text(value)}")
    return number


def read_settings(credentials: Mapping[str, Any]) -> SimSettings:
    """``SimSettings`` from an account's credentials; ``ValueError`` naming the bad knob."""
    unknown = sorted(str(key) for key in credentials if key not in SETTINGS)
    if unknown:
        raise ValueError(
            f"unknown setting {', '.join(_text(k) for k in unknown)}; "
            f"the simulated platform takes {', '.join(SETTINGS)}"
        )

    def given(name: str) -> Any:
        value = credentials.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    seed, latency, rate = given("seed"), given("latency_ms"), given("error_rate")
    return SimSettings(
        seed=0 if seed is None else _seed(seed),
        latency_ms=0.0 if latency is None else check_latency_ms(latency),
        error_rate=0.0 if rate is None else check_error_rate(rate),
    )
