"""Run `socialpulse serve` for real on a free loopback port (browser tests, load benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    database_url: str, data_dir: Path, tasks_url: str = "", **env: str
) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = os.environ | {
        "SOCIALPULSE_DATABASE_URL": database_url,
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_TASKS_URL": tasks_url,
        "SOCIALPULSE_EMBEDDED_WORKER": "true",
        "SOCIALPULSE_LOG_LEVEL": "WARNING",
        "SOCIALPULSE_SECRET_KEY": "live-server-test-secret-0123456789abcdef",
        **env,
    }
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "socialpulse", "serve", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base_url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become healthy within 30 s")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
