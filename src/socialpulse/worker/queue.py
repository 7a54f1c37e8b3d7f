"""The Huey instance, configured from settings, and enqueue-after-commit.

One instance, created at import so task decorators can register on it; `configure_tasks`
points its storage at SQLite (embedded), Redis (distributed workers) or runs tasks
immediately (tests). Task code is the same in every mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from sqlalchemy import event
from sqlalchemy.orm import Session

from socialpulse.config import Settings, get_settings
from socialpulse.db import private_sqlite_file

_AFTER_COMMIT_KEY = "socialpulse.after_commit"


def _storage_for(settings: Settings) -> tuple[type[Any], dict[str, Any], bool]:
    backend = settings.tasks_backend
    if backend == "redis":
        return RedisHuey.storage_class, {"url": settings.tasks_url, "blocking": True}, False
    if backend == "memory":
        return MemoryHuey.storage_class, {}, True
    path = settings.tasks_sqlite_path
    private_sqlite_file(path)  # queued job arguments are private data too
    return SqliteHuey.storage_class, {"filename": str(path), "fsync": False}, False


huey = Huey("socialpulse", results=False, utc=True, immediate=True)


def configure_tasks(settings: Settings | None = None) -> Huey:
    """Point the shared Huey instance at the configured backend."""
    settings = settings or get_settings()
    storage_class, kwargs, immediate = _storage_for(settings)
    # Set the private flag directly: the public setter would build a throwaway storage first.
    huey._immediate = immediate
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    huey.storage = huey.create_storage()
    return huey


def enqueue_after_commit(session: Session, fn: Callable[..., Any], *args: Any) -> None:
    """Send a job only once the session's transaction commits.

    A job enqueued mid-request could otherwise run before the row it names is visible, or
    point at a row that is then rolled back.
    """
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((fn, args))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending = session.info.pop(_AFTER_COMMIT_KEY, [])
    for fn, args in pending:
        fn(*args)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT_KEY, None)
