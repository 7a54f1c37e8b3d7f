"""Every task module and periodic task, registered in one place by `load_tasks()`.

`load_tasks()` runs at app start, CLI start, worker start and in the tests' conftest: it
imports each module of `TASK_MODULES`, registers its durable job handlers and runs its
`on_load()` if it has one (a domain's reactions to another's events), then registers the
periodic tasks. No module registers anything by being imported.

Which process runs them: in the embedded default, the web process's consumer; with Redis,
only the `socialpulse worker --scheduler` process (run exactly one). Each periodic task also
holds a Huey lock, so an accidental second scheduler cannot run the same task twice at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import crontab

from socialpulse.worker.jobs import register_handlers
from socialpulse.worker.queue import huey

# Every domain's `tasks.py`: its durable job handlers (and, for the worker, its Huey tasks).
TASK_MODULES = [
    "socialpulse.workspaces.tasks",  # first: the data-version hook sees every later write
    "socialpulse.worker.tasks",
    "socialpulse.accounts.tasks",
    "socialpulse.ai.tasks",
    "socialpulse.inbox.tasks",
    "socialpulse.retention.tasks",
    "socialpulse.creators.tasks",
    "socialpulse.creators.crawl_tasks",
    "socialpulse.billing.tasks",
    "socialpulse.publishing.tasks",  # Publishing (#15)
    "socialpulse.webhooks.tasks",  # outbound webhooks (issue #15)
    "socialpulse.alerts.tasks",  # performance alerts, evaluated after each fetch (issue #16)
]


@dataclass(frozen=True)
class Periodic:
    name: str
    schedule: Callable[..., bool]
    target: str  # "module:function", imported lazily so this module stays dependency-free


PERIODIC: list[Periodic] = [
    Periodic(
        "worker.reap_and_dispatch",
        crontab(minute="*"),
        "socialpulse.worker.tasks:reap_and_dispatch",
    ),
    # Every 15 minutes: queues each account once per local day, from 03:00 workspace time.
    Periodic(
        "accounts.schedule_daily_fetches",
        crontab(minute="*/15"),
        "socialpulse.accounts.tasks:schedule_daily_fetches",
    ),
    # Safety net for text analysis: missed jobs, and everything after a model upgrade.
    Periodic(
        "ai.analyze_pending",
        crontab(minute="*/10"),
        "socialpulse.ai.tasks:analyze_pending",
    ),
    # Comment polling: due polls are queued, prioritised by post age and activity within the
    # remaining API budget; each poll is a durable job.
    Periodic(
        "inbox.schedule_comment_polls",
        crontab(minute="*/5"),
        "socialpulse.inbox.tasks:schedule_comment_polls",
    ),
    Periodic(
        "inbox.workflow_time_triggers",
        crontab(minute="*/5"),
        "socialpulse.inbox.tasks:run_workflow_time_triggers",
    ),
    Periodic(
        "inbox.poll_mentions",
        crontab(minute="*/5"),
        "socialpulse.inbox.tasks:poll_mentions",
    ),
    # The reply queue: due replies go out at their planned, human-paced second.
    Periodic(
        "inbox.reply_queue_tick",
        crontab(minute="*"),
        "socialpulse.inbox.tasks:reply_queue_tick",
    ),
    # Every 15 minutes: queues each workspace's retention pass once per local day, from 02:00
    # workspace time (SOCIALPULSE_RETENTION_TIME); old finished rows go in small batches.
    Periodic(
        "worker.schedule_retention",
        crontab(minute="*/15"),
        "socialpulse.retention.tasks:schedule_retention_jobs",
    ),
    # The related-profiles crawl: each minute a tick queues builds within its limits.
    Periodic(
        "creators.schedule_crawl_tick",
        crontab(minute="*"),
        "socialpulse.creators.crawl_tasks:schedule_crawl_tick",
    ),
    # Credits held by actions that never settled nor released them (a dead process).
    Periodic(
        "billing.release_expired",
        crontab(minute="*"),
        "socialpulse.billing.tasks:release_expired",
    ),
    # Publishing (#15): each post is a job at its exact time; this catches what a job missed
    # (downtime: published if not too late, else marked missed) and extends running series.
    Periodic(
        "publishing.sweep",
        crontab(minute="*"),
        "socialpulse.publishing.tasks:sweep",
    ),
    # Outbound webhooks (issue #15): deliveries whose job was lost or whose worker died.
    Periodic(
        "webhooks.sweep_deliveries",
        crontab(minute="*/5"),
        "socialpulse.webhooks.tasks:sweep_deliveries",
    ),
    Periodic(
        "inbox.nightly_superfans",
        crontab(minute="30", hour="2"),
        "socialpulse.inbox.tasks:nightly_superfans",
    ),
]

_loaded = False


def _resolve(target: str) -> Callable[[], Any]:
    module_name, _, attr = target.partition(":")
    fn: Callable[[], Any] = getattr(importlib.import_module(module_name), attr)
    return fn


def load_tasks() -> None:
    """Import every task module and register the periodic tasks (idempotent)."""
    global _loaded
    if _loaded:
        return
    for name in TASK_MODULES:
        module = importlib.import_module(name)
        register_handlers(module)
        # A domain's reactions to a lower domain's events (the inbox cancels the replies of an
        # account being removed) are installed here too, never by an import.
        on_load: Callable[[], None] | None = getattr(module, "on_load", None)
        if on_load is not None:
            on_load()
    for periodic in PERIODIC:
        fn = _resolve(periodic.target)

        def run(fn: Callable[[], Any] = fn, name: str = periodic.name) -> Any:
            with huey.lock_task(f"periodic:{name}"):
                return fn()

        run.__name__ = periodic.name.replace(".", "_")
        huey.periodic_task(periodic.schedule, name=periodic.name)(run)
    _loaded = True
