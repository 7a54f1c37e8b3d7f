"""Load test of a real `socialpulse serve` on loopback.

Prints requests/s and p50/p99 latency for `/api/health` and an authenticated list endpoint
(`/api/v1/jobs`, 50 rows of 1,000), on SQLite and, when a URL is given, PostgreSQL.
Bounded: a fixed number of requests per endpoint, and a time cap.

    python benchmarks/http_load.py [--requests 2000] [--concurrency 16]
    SOCIALPULSE_BENCH_POSTGRES_URL=postgresql+psycopg://... python benchmarks/http_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from socialpulse.db import init_database
from socialpulse.kit.liveserver import live_server
from socialpulse.migrations import runner
from socialpulse.worker.models import Job
from socialpulse.workspaces import service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject


def prepare(database_url: str) -> str:
    db = init_database(database_url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    runner.upgrade(db)
    with db.session() as session:
        user = service.create_user(session, "bench@socialpulse.test", "bench-password")
        workspace = service.create_workspace(session, "bench", "Bench", user)
        subject = Subject(workspace_id=workspace.id, role=Role.owner, user_id=user.id)
        _, key = service.create_api_key(session, subject, "bench")
        session.add_all(
            Job(workspace_id=workspace.id, kind="bench.row", payload={"i": i}) for i in range(1000)
        )
    db.dispose()
    return key


async def hammer(
    url: str, headers: dict[str, str], total: int, concurrency: int, time_cap_s: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    remaining = total
    deadline = time.monotonic() + time_cap_s

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining, errors
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            started = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await client.get(url, headers=headers)  # warm up
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, errors


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def run_backend(name: str, database_url: str, args: argparse.Namespace) -> None:
    key = prepare(database_url)
    with tempfile.TemporaryDirectory() as tmp, live_server(database_url, Path(tmp)) as base_url:
        for label, path, headers in [
            ("GET /api/health", "/api/health", {}),
            (
                "GET /api/v1/jobs (auth, 50 rows)",
                "/api/v1/jobs?limit=50",
                {"Authorization": f"Bearer {key}"},
            ),
        ]:
            elapsed, latencies, errors = asyncio.run(
                hammer(base_url + path, headers, args.requests, args.concurrency, args.time_cap)
            )
            print(
                f"{name:<10} {label:<34} {len(latencies) / elapsed:8.0f} req/s   "
                f"p50 {quantile(latencies, 0.50) * 1000:6.1f} ms   "
                f"p99 {quantile(latencies, 0.99) * 1000:6.1f} ms   "
                f"n={len(latencies)} errors={errors}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per endpoint")
    args = parser.parse_args()
    print(
        f"socialpulse HTTP load: {args.requests} requests/endpoint, concurrency "
        f"{args.concurrency}, one uvicorn process, {os.cpu_count()} CPUs shared with the client"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_backend("sqlite", f"sqlite:///{tmp}/bench.db", args)
    pg_url = os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL") or os.environ.get(
        "SOCIALPULSE_TEST_POSTGRES_URL"
    )
    if pg_url:
        run_backend("postgresql", pg_url, args)
    else:
        print("postgresql: skipped (set SOCIALPULSE_BENCH_POSTGRES_URL to measure it)")


if __name__ == "__main__":
    main()
