"""Which jobs exist is decided by load_tasks() alone, never by what happens to be imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from socialpulse.worker import jobs
from socialpulse.worker.schedule import PERIODIC

ROOT = Path(__file__).resolve().parents[2]

# Every durable job kind the product runs. A new handler is added here on purpose: queued rows
# name their kind, so renaming or dropping one strands work already in the queue.
PRODUCT_JOB_KINDS = {
    "accounts.delete_account",
    "accounts.fetch_account",
    "ai.analyze_posts",
    "alerts.evaluate_account",  # performance alerts after each fetch (issue #16)
    "creators.build_report",
    "creators.crawl_tick",
    "inbox.hide_interaction",
    "inbox.poll_account_mentions",
    "inbox.poll_comments",
    "inbox.unhide_interaction",
    "publishing.publish_delivery",
    "webhooks.deliver_event",  # outbound webhooks (issue #15)
    "worker.apply_retention",
}


def test_load_tasks_registers_every_product_job_kind() -> None:
    product = {kind for kind in jobs.registered_kinds() if not kind.startswith("test.")}
    assert product == PRODUCT_JOB_KINDS


def test_importing_a_task_module_registers_nothing() -> None:
    code = (
        "import socialpulse.accounts.tasks, socialpulse.inbox.tasks, socialpulse.ai.tasks\n"
        "from socialpulse.worker import jobs\n"
        "assert jobs.registered_kinds() == [], jobs.registered_kinds()\n"
        "from socialpulse.worker.schedule import load_tasks\n"
        "load_tasks()\n"
        "print(','.join(jobs.registered_kinds()))\n"
    )
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.strip().split(",")) == PRODUCT_JOB_KINDS


def test_every_periodic_task_resolves_to_a_function() -> None:
    import importlib

    for periodic in PERIODIC:
        module, _, attr = periodic.target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), periodic.name
