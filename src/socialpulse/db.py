"""Engine, sessions and the declarative base.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the web process and the
embedded worker threads can share one file. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from socialpulse.kit.clock import utcnow as utcnow  # re-exported: domains read the clock here

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes on every backend.

    SQLite has no time zone type, so values are stored as naive UTC and given their zone back
    on load; naive datetimes are rejected on the way in because their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given where an aware one is required")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def str_enum(enum_cls: type[enum.Enum], length: int = 24) -> Enum:
    """A string enum column: stored as VARCHAR (no native type to migrate), validated on load."""
    return Enum(enum_cls, native_enum=False, length=length, validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # pysqlite's default deferred BEGIN lets two writers both read then fail to upgrade to a
    # write lock ("database is locked"); taking the write lock up front serialises them.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    # Read-only units of work: WAL readers never block writers or each other.
    conn.exec_driver_sql("BEGIN")


def private_sqlite_file(path: Path) -> None:
    """Make the SQLite file at `path` readable by its owner only (0600), in a 0700 directory.

    SQLite creates a database 0644, and its -wal and -shm files copy the database file's
    mode: so creating the (empty, hence valid) database file 0600 before the first connection
    keeps all three private. Files left 0644 by an older version are tightened."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for existing in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if existing.stat().st_mode & 0o077:
                existing.chmod(0o600)
        except (FileNotFoundError, PermissionError):
            continue  # not there yet, or another user's file: not ours to change


def make_engine(url: str, *, pool_size: int = 10, sqlite_write: bool = True) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(
            url,
            # isolation_level=None hands transaction control to the "begin" hook below.
            connect_args={"check_same_thread": False, "timeout": 15, "isolation_level": None},
            pool_size=pool_size,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(
            engine, "begin", _sqlite_begin_immediate if sqlite_write else _sqlite_begin_deferred
        )
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


class ChangeCounter:
    """SQLite's ``PRAGMA data_version`` on a connection of its own, which never writes: the
    number changes whenever any other connection, of this process or another (the worker),
    commits. Equal numbers mean the database file holds exactly what it held before, which is
    what a cache may trust without asking anything else (keys, users, reports)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def read(self) -> int:
        with self._lock:
            return self._read_locked()

    def _read_locked(self) -> int:
        if self._connection is None or self._pid != os.getpid():
            # A forked child must not share its parent's connection.
            self._connection = sqlite3.connect(
                self._path, check_same_thread=False, isolation_level=None, timeout=15
            )
            self._pid = os.getpid()
        row = self._connection.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def read_then_query(self, sql: str, parameters: tuple[Any, ...]) -> tuple[int, Any]:
        """The counter, then the first row of ``sql``: the row is read from a database at
        least as new as the counter says (this connection never writes, so each statement
        reads the latest commit)."""
        with self._lock:
            generation = self._read_locked()
            assert self._connection is not None
            row = self._connection.execute(sql, parameters).fetchone()
            return generation, row

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def change_counter_for(url: str) -> ChangeCounter | None:
    """A counter for a SQLite file; None for other databases (and in-memory SQLite), which
    offer no such cheap, whole-database change number."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return None
    return ChangeCounter(parsed.database)


class Database:
    """One engine and its session factory; the app and the worker each hold one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite takes its single write lock at BEGIN for writers; reads get their own engine
        # so dashboards and GET endpoints never queue behind a write.
        self.read_engine = (
            make_engine(url, sqlite_write=False) if self.engine.dialect.name == "sqlite" else None
        )
        self.read_sessionmaker = (
            sessionmaker(self.read_engine, expire_on_commit=False)
            if self.read_engine is not None
            else self.sessionmaker
        )
        self.change_counter = change_counter_for(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on error (the edge owns the transaction).

        `readonly=True` is for units that only read; on SQLite a write inside one may fail
        with "database is locked" instead of waiting its turn."""
        session = (self.read_sessionmaker if readonly else self.sessionmaker)()
        session.info["readonly"] = readonly
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if self.change_counter is not None:
            self.change_counter.close()
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()


_database: Database | None = None
# Asked of every database `init_database` opens, before anyone uses it; it raises to refuse.
# The CLI sets it while a command runs, so every command that touches the database first
# checks its schema (`cli._start`); the web app reports that in /api/health instead.
_open_check: Callable[[Database], None] | None = None


def set_open_check(check: Callable[[Database], None] | None) -> None:
    global _open_check
    _open_check = check


def init_database(url: str) -> Database:
    global _database
    if _database is not None and _database.url == url:
        return _database
    if _database is not None:
        _database.dispose()
        _database = None
    database = Database(url)
    if _open_check is not None:
        try:
            _open_check(database)
        except BaseException:
            database.dispose()
            raise
    _database = database
    return _database


def get_database() -> Database:
    if _database is None:
        from socialpulse.config import get_settings

        return init_database(get_settings().effective_database_url)
    return _database


def created_on(item: object, dialect: str) -> bool:
    """Whether ``create_all`` makes this schema item on ``dialect``: an index or constraint
    declared with ``.ddl_if(dialect=...)`` exists on that database only. Alembic's comparison
    does not know ``ddl_if``; its ``include_object`` hook asks here."""
    condition = getattr(item, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    wanted = condition.dialect
    return dialect == wanted if isinstance(wanted, str) else dialect in wanted
