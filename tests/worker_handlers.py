"""Job handlers used by the worker tests (imported by the test process and by the worker
subprocesses it kills)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from socialpulse.worker.jobs import JobContext, enqueue_job, job_handler


@job_handler("test.effect")
def effect(ctx: JobContext) -> dict[str, Any]:
    return {"seen": ctx.payload}


@job_handler("test.crashable", lease_s=1, max_attempts=3)
def crashable(ctx: JobContext) -> None:
    """Writes its effect (a child job) and its completion in one transaction. On the first
    attempt it stops mid-transaction and announces it, so the test can kill the process."""
    with ctx.db.session() as session:
        enqueue_job(session, "test.effect", {"parent": ctx.job_id}, workspace_id=ctx.workspace_id)
        if ctx.attempt == 1:
            Path(ctx.payload["marker"]).write_text(str(os.getpid()))
            time.sleep(600)
        ctx.finish(session, {"attempt": ctx.attempt})


@job_handler("test.flaky", max_attempts=2)
def flaky(ctx: JobContext) -> None:
    raise RuntimeError(f"upstream said no (attempt {ctx.attempt})")


@job_handler("test.slow_unsafe", lease_s=1)
def slow_unsafe(ctx: JobContext) -> None:
    """Holds the job past its lease without heartbeating."""
    time.sleep(float(ctx.payload.get("sleep", 1.5)))
