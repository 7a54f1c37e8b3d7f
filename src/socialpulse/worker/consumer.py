"""Run the Huey consumer: in a thread of the web process (embedded) or as `socialpulse worker`."""

from __future__ import annotations

from typing import Any

import structlog
from huey.consumer import Consumer

from socialpulse.worker import shutdown
from socialpulse.worker.queue import huey
from socialpulse.worker.schedule import load_tasks

log = structlog.get_logger(__name__)

# An idle worker polls a SQLite queue with backoff up to this (Huey's default, 10 s, would let a
# task wait that long); a poll is one indexed read. Redis queues block instead of polling.
IDLE_POLL_MAX_S = 0.5


class EmbeddedConsumer(Consumer):
    """A consumer that lives inside another process: the host owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        return None


def start_embedded(workers: int = 2, periodic: bool = True) -> EmbeddedConsumer:
    load_tasks()
    consumer = EmbeddedConsumer(
        huey,
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        check_worker_health=True,
        max_delay=IDLE_POLL_MAX_S,
    )
    shutdown.watch(consumer.stop_flag)
    consumer.start()
    log.info("worker.embedded.started", workers=workers, periodic=periodic)
    return consumer


def stop_embedded(consumer: Any) -> None:
    consumer.stop(graceful=True)
    shutdown.forget()
    log.info("worker.embedded.stopped")


def run_worker(workers: int, periodic: bool) -> None:
    """Blocking consumer for `socialpulse worker` (signals handled: SIGTERM graceful)."""
    load_tasks()
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic, max_delay=IDLE_POLL_MAX_S
    )
    shutdown.watch(consumer.stop_flag)
    try:
        consumer.run()
    finally:
        shutdown.forget()
