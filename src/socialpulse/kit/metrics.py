"""Prometheus metrics shared by the app (per process; scrape each process)."""

from __future__ import annotations

from prometheus_client import Histogram

HTTP_LATENCY = Histogram(
    "socialpulse_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
