"""`socialpulse serve` on the embedded default: the task consumer runs in a child process,
does the queued work, and stops with the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from factories import make_workspace
from socialpulse.db import Database
from socialpulse.kit.liveserver import free_port
from socialpulse.migrations import runner

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The fields after the command's name (which may hold spaces) end with ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append((int(entry.name), cmdline))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_serve_runs_queued_jobs_in_its_worker_process_and_stops_it(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'socialpulse.db'}"
    db = Database(url)
    runner.upgrade(db)
    ws = make_workspace(db, "acme")
    db.dispose()
    port = free_port()
    # The embedded default: SQLite at <data_dir>/socialpulse.db, Huey on <data_dir>/tasks.db.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")} | {
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_SECRET_KEY": "serve-process-test-secret-0123456789abcdef",
        "SOCIALPULSE_SIMULATED_PLATFORM": "true",
        "SOCIALPULSE_LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "socialpulse", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a stray signal to this test's group never reaches it
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert server.poll() is None, log_path.read_text()
            try:
                return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        _wait_until(healthy, 60, "serve answering /api/health")
        workers = [pid for pid, cmd in _children(server.pid) if " worker " in f"{cmd} "]
        assert len(workers) == 1, _children(server.pid)
        worker_pid = workers[0]

        with httpx.Client(base_url=base, headers=ws.headers(), timeout=30) as client:
            added = client.post(
                "/api/v1/accounts", json={"ref": "https://simulated.invalid/@daily_vlog"}
            )
            assert added.status_code == 201, added.text
            account_id = added.json()["id"]
            queued = client.post(f"/api/v1/accounts/{account_id}/fetch")
            assert queued.status_code == 202, queued.text
            run_id = queued.json()["id"]

            def fetched() -> bool:
                runs = client.get(f"/api/v1/accounts/{account_id}/fetches").json()
                run = next(r for r in runs if r["id"] == run_id)
                assert run["status"] not in ("failed",), run
                return bool(run["status"] == "completed")

            _wait_until(fetched, 60, "the queued fetch completing")

        server.send_signal(stop_signal)
        code = server.wait(timeout=45)
        # SIGTERM is raised again once both stopped (a supervisor sees it); Ctrl-C exits 0.
        expected = -signal.SIGTERM if stop_signal == signal.SIGTERM else 0
        assert code == expected, log_path.read_text()
        _wait_until(lambda: not _alive(worker_pid), 5, "the worker process ending")
        assert "Traceback" not in log_path.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
