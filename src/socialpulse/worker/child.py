"""The task consumer as a child process of `socialpulse serve`.

On the embedded default the consumer used to run as threads of the web process, where every
task's Python competed with the requests for the one GIL. As `socialpulse worker` in a process
of its own it has its own interpreter, and `serve` stays one command: it starts the child
first and stops it last.

The child runs in a session of its own, so a Ctrl-C in the terminal reaches `serve` alone,
which then asks the child once for a graceful stop (Huey: SIGINT lets running tasks finish; a
second one would abandon them). Should `serve` die without stopping it (SIGKILL), the kernel
sends the child SIGTERM (Linux), so no consumer outlives its server.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import threading
import time

import structlog

log = structlog.get_logger(__name__)

# How long running tasks get to finish once `serve` stops, before they are interrupted; an
# interrupted job's lease expires and it runs again (see worker/jobs.py).
GRACEFUL_STOP_S = 30.0
# An unexpected exit is restarted, but no more often than this.
RESTART_DELAY_S = 5.0
_PR_SET_PDEATHSIG = 1
# Looked up here, not in the forked child: a lookup there could wait forever on a loader lock
# another thread of the parent held at the fork.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: one foreign call, nothing that takes a lock.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_command(threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "socialpulse",
        "worker",
        "--threads",
        str(threads),
        "--scheduler",
    ]


class WorkerProcess:
    """`socialpulse worker --scheduler` in a child process, restarted if it exits on its own."""

    def __init__(self, threads: int) -> None:
        self.command = worker_command(threads)
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="worker-watch", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(
                self.command, start_new_session=True, preexec_fn=_die_with_parent
            )
        log.info("worker.process.started", pid=self._process.pid)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error("worker.process.exited", pid=process.pid, code=code)
            if self._stopping.wait(RESTART_DELAY_S):
                return
            self._spawn()

    def stop(self, timeout_s: float = GRACEFUL_STOP_S) -> int | None:
        """Graceful stop (running tasks finish), interrupted after `timeout_s`; the exit code."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None:
            return None
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + timeout_s
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: stop now
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
        code = process.wait()
        log.info("worker.process.stopped", pid=process.pid, code=code)
        return code
