"""The workspace data version: one counter per workspace, bumped by every write to its data in
the same transaction. Cached report responses are keyed by it, so none outlives a write.

Every write path goes through one of two session events installed by ``install()`` (from
``load_tasks()``, at app, CLI, worker and test start):

* ORM flushes (``after_flush``): each new, changed or deleted row names its workspace through
  its ``workspace_id`` or, for the few tables without one (snapshots, post analyses), through
  the foreign key to a parent that has one.
* Core INSERT/UPDATE/DELETE run through ``Session.execute`` (``do_orm_execute``): bulk upserts
  name their workspaces in their parameter rows; an UPDATE or DELETE filtered by
  ``workspace_id = x`` names it in its WHERE clause; any other is asked which workspaces its
  WHERE clause matches, before it runs (a DELETE's rows are gone after). A statement whose
  workspaces cannot be known bumps every workspace: too fresh, never stale.

The workspaces touched are collected per transaction and bumped by one UPDATE just before it
commits, so a transaction holds the workspace rows' locks only for its last moment (PostgreSQL
writers of one workspace would otherwise queue behind each other's whole transactions).

Readers take the version first, then the data, in one transaction: under READ COMMITTED the data
may be newer than the version read, never older, so a cache entry is never older than its key.

Versioned apart (``SEPARATELY_VERSIONED``): interactions bump ``inbox_version`` and the reply
queue's items ``queue_version``, not ``data_version``. The queue commits three times per reply
it sends (claim, lease renewal, outcome) and marks the interaction answered: with one version,
every report of the workspace missed four times per reply, though account analytics read
neither table and only the queue report reads the queue. A cached report learns which of those
tables it read while it is computed (``reading()``: every SQL statement run in its context
meanwhile is looked at, ORM, Core and text alike) and is then checked against their versions
too. Deleting from those tables bumps the data version as well: their rows may take others
with them (ON DELETE CASCADE) unseen, and the data version leads every cached report's key.

Not versioned (``UNVERSIONED``): rows no cached report reads. Jobs (queue bookkeeping changes
on every run; the jobs list is not cached, it is the live view of the queue) and API keys (their
``last_used_at`` is touched by use). Users and dashboard sessions belong to no workspace.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from sqlalchemy import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    Column,
    ColumnElement,
    Engine,
    Table,
    event,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    object_mapper,
)
from sqlalchemy.sql import operators

from socialpulse.workspaces.models import Workspace

UNVERSIONED = frozenset({"jobs", "api_keys"})
DATA_VERSION = "data_version"
INBOX_VERSION = "inbox_version"
QUEUE_VERSION = "queue_version"
# Table -> the workspace column that versions it, for the tables not under DATA_VERSION. A table
# the database's own triggers write when another table changes shares that table's version: the
# session never sees those writes (the hourly rollup, kept by triggers on interactions).
SEPARATELY_VERSIONED: Mapping[str, str] = {
    "interactions": INBOX_VERSION,
    "interaction_hourly_counts": INBOX_VERSION,
    "reply_queue": QUEUE_VERSION,
}
VERSION_COLUMNS = (DATA_VERSION, INBOX_VERSION, QUEUE_VERSION)
# A table's info key for public data the instance shares (creators, their images): it belongs
# to no workspace, and caches of it carry versions of their own.
SHARED_BY_INSTANCE = "shared_by_instance"
WORKSPACE_COLUMN = "workspace_id"
_PENDING = "socialpulse.workspaces.versions.pending"

workspaces: Table = Workspace.__table__  # type: ignore[assignment]


@dataclass
class _Touched:
    """Workspaces whose one version column the transaction must bump."""

    ids: set[int] = field(default_factory=set)
    # parent table -> primary keys in it: resolved to workspaces by the bump itself, after the
    # flushes that may have inserted those parents.
    via: dict[Table, set[Any]] = field(default_factory=dict)
    every: bool = False

    def __bool__(self) -> bool:
        return self.every or bool(self.ids) or bool(self.via)


@dataclass
class _Pending:
    """Workspaces touched by the transaction so far, per version column, bumped together at
    commit."""

    columns: dict[str, _Touched] = field(default_factory=dict)

    def of(self, column: str) -> _Touched:
        return self.columns.setdefault(column, _Touched())

    def every(self) -> None:
        for column in VERSION_COLUMNS:
            self.of(column).every = True


@dataclass(frozen=True)
class _Route:
    """How a table's rows name their workspace: ``column`` holds a workspace id when
    ``parent`` is None, else a primary key of ``parent`` (which has a ``workspace_id``)."""

    column: str
    parent: Table | None = None
    version: str = DATA_VERSION
    # A DELETE from a separately versioned table: its rows may take others with them (ON DELETE
    # CASCADE or SET NULL) out of the session's sight, so it bumps the data version too, which
    # every cached report's key holds.
    cascades: bool = False

    @property
    def versions(self) -> tuple[str, ...]:
        if self.cascades and self.version != DATA_VERSION:
            return (self.version, DATA_VERSION)
        return (self.version,)

    def deleting(self) -> _Route:
        return replace(self, cascades=True)


@cache
def _route(table: Table) -> _Route | None:
    if table.name in UNVERSIONED or table.info.get(SHARED_BY_INSTANCE):
        return None
    version = SEPARATELY_VERSIONED.get(table.name, DATA_VERSION)
    if table is workspaces:
        return _Route("id")
    if WORKSPACE_COLUMN in table.c:
        return _Route(WORKSPACE_COLUMN, version=version)
    for key in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
        parent = key.column.table
        if isinstance(parent, Table) and WORKSPACE_COLUMN in parent.c and key.column.primary_key:
            return _Route(key.parent.name, parent, version)
    return None  # not a workspace's data (users, their sessions)


def versioned_tables(tables: Iterable[Table]) -> dict[str, _Route | None]:
    """Each table's route to its workspace (None: not versioned), for tests and diagnostics."""
    return {table.name: _route(table) for table in tables}


def _pending(session: Session) -> _Pending:
    found: _Pending | None = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


def _note(session: Session, route: _Route, values: Iterable[Any]) -> None:
    present = {value for value in values if value is not None}
    if not present:
        return
    for version in route.versions:
        touched = _pending(session).of(version)
        if route.parent is None:
            touched.ids.update(present)
        else:
            touched.via.setdefault(route.parent, set()).update(present)


def _every(session: Session, route: _Route) -> None:
    """The route's workspaces cannot be known: every workspace's versions of the route."""
    for version in route.versions:
        _pending(session).of(version).every = True


def _note_objects(session: Session, objects: Iterable[Any], *, deleting: bool = False) -> None:
    for obj in objects:
        mapper = object_mapper(obj)
        table = mapper.local_table
        route = _route(table) if isinstance(table, Table) else None
        if route is None:
            continue
        if deleting:
            route = route.deleting()
        attribute = mapper.get_property_by_column(table.c[route.column]).key
        _note(session, route, [getattr(obj, attribute)])


def _before_flush(session: Session, _context: UOWTransaction, _instances: object) -> None:
    # Deleted rows are read now, while they can still be loaded if expired.
    _note_objects(session, list(session.deleted), deleting=True)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    # New rows are read after the flush: a workspace_id set through a relationship is only
    # copied into the column by the flush itself.
    changed = [obj for obj in session.dirty if session.is_modified(obj)]
    _note_objects(session, [*session.new, *changed])


def _equals(where: ColumnElement[Any] | None, column: Column[Any]) -> Any | None:
    """The value of a top-level ``column = value`` condition of ``where``, if there is one."""
    terms: Sequence[Any]
    if isinstance(where, BooleanClauseList) and where.operator is operators.and_:
        terms = where.clauses
    else:
        terms = [where]
    for term in terms:
        if (
            isinstance(term, BinaryExpression)
            and term.operator is operators.eq
            and isinstance(term.right, BindParameter)
            and isinstance(term.left, Column)
            and term.left.table is column.table
            and term.left.name == column.name
        ):
            return term.right.effective_value
    return None


def _rows(parameters: object) -> list[Mapping[str, Any]] | None:
    if parameters is None:
        return []
    if isinstance(parameters, Mapping):
        return [parameters] if parameters else []
    if isinstance(parameters, Sequence) and all(isinstance(row, Mapping) for row in parameters):
        return list(parameters)
    return None


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    statement: Any = state.statement
    table = statement.table
    session = state.session
    if not isinstance(table, Table):
        _pending(session).every()
        return
    route = _route(table)
    if route is None:
        return  # not a workspace's data
    if state.is_delete:
        route = route.deleting()
    rows = _rows(state.parameters)
    if rows is None:
        _every(session, route)
    elif state.is_insert:
        _note_insert(session, route, rows)
    elif statement.whereclause is None and rows:
        _note_bulk_update(session, table, route, rows)
    elif statement.whereclause is None or rows:
        _every(session, route)
    else:
        _note_where(session, table, route, statement.whereclause)


def _note_insert(session: Session, route: _Route, rows: list[Mapping[str, Any]]) -> None:
    values = [row.get(route.column) for row in rows]
    if rows and None not in values:
        _note(session, route, values)
    else:  # INSERT ... SELECT, or values inside the statement: not worth parsing
        _every(session, route)


def _note_bulk_update(
    session: Session, table: Table, route: _Route, rows: list[Mapping[str, Any]]
) -> None:
    """update(Model) with a list of rows, by primary key: the rows stay, so the bump finds
    their workspaces through them at commit."""
    key = next(iter(table.primary_key.columns)).name
    if route.parent is not None:
        # No such statement on a table without workspace_id.
        _every(session, route)
        return
    _note(session, _Route(key, table, route.version), [row.get(key) for row in rows])


def _note_where(session: Session, table: Table, route: _Route, where: ColumnElement[Any]) -> None:
    value = _equals(where, table.c[route.column])
    if value is not None:
        _note(session, route, [value])
        return
    # Asked before the statement runs: a DELETE's rows are gone after it. The session's
    # connection, so this SELECT neither flushes nor comes back through this hook.
    matched = session.connection().execute(select(table.c[route.column]).where(where).distinct())
    _note(session, route, matched.scalars())


def _before_commit(session: Session) -> None:
    session.flush()  # the last changes are collected by the flush that commit would run next
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    # Columns touched in the same workspaces share one UPDATE (a comment's ingest writes
    # interactions and fans of one workspace: its data and inbox versions in one statement).
    left = [(column, touched) for column, touched in sorted(pending.columns.items()) if touched]
    while left:
        touched = left[0][1]
        bump(session, [column for column, other in left if other == touched], touched)
        left = [(column, other) for column, other in left if other != touched]


def bump(session: Session, columns: Sequence[str], touched: _Touched) -> None:
    """Add one to each of ``columns`` of every workspace in ``touched`` (all of them if
    ``every``)."""
    statement = update(workspaces).values(
        {workspaces.c[column]: workspaces.c[column] + 1 for column in columns}
    )
    if not touched.every:
        conditions: list[ColumnElement[bool]] = []
        if touched.ids:
            conditions.append(workspaces.c.id.in_(sorted(touched.ids)))
        for parent, keys in touched.via.items():
            key = next(iter(parent.primary_key.columns))
            conditions.append(
                workspaces.c.id.in_(
                    select(parent.c[WORKSPACE_COLUMN]).where(key.in_(sorted(keys, key=str)))
                )
            )
        statement = statement.where(or_(false(), *conditions))
    # The session's connection, not session.execute: this UPDATE must not be collected itself.
    session.connection().execute(statement)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # a rolled-back transaction bumps nothing
        session.info.pop(_PENDING, None)


@dataclass
class Reads:
    """The version columns, besides ``data_version``, that a computation's reads depend on."""

    versions: set[str] = field(default_factory=set)


_reading: ContextVar[Reads | None] = ContextVar("socialpulse_versions_reading", default=None)


@contextmanager
def reading() -> Iterator[Reads]:
    """Note which separately versioned tables the SQL run in this context names, until the
    block ends. Run the computation in the block's own thread (as routes do)."""
    reads = Reads()
    token = _reading.set(reads)
    try:
        yield reads
    finally:
        _reading.reset(token)


def _before_cursor_execute(
    _connection: object,
    _cursor: object,
    statement: str,
    _parameters: object,
    _context: object,
    _executemany: bool,
) -> None:
    reads = _reading.get()
    if reads is None:
        return
    # The SQL text, not the ORM statement: it sees Core, text() and lazy loads alike. A table
    # name inside another name or a literal only makes the entry stricter, never stale.
    for table, column in SEPARATELY_VERSIONED.items():
        if table in statement:
            reads.versions.add(column)


def install() -> None:
    """Listen to every Session and Engine (idempotent): called by ``load_tasks()``."""
    for name, listener in (
        ("before_flush", _before_flush),
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("before_commit", _before_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)


def current(session: Session, workspace_id: int) -> int:
    """The workspace's data version, read in the caller's transaction (a primary-key lookup)."""
    version = session.execute(
        select(workspaces.c.data_version).where(workspaces.c.id == workspace_id)
    ).scalar_one_or_none()
    return int(version or 0)


@dataclass(frozen=True)
class Versions:
    """Every version column of a workspace (``VERSION_COLUMNS``), read in one statement."""

    values: Mapping[str, int]

    @property
    def data(self) -> int:
        return self.values[DATA_VERSION]

    def of(self, column: str) -> int:
        return self.values[column]


def current_versions(session: Session, workspace_id: int) -> Versions:
    """``current`` for every version column (a primary-key lookup): a cached report reads
    them before its data, as ``current``."""
    row = session.execute(
        select(*(workspaces.c[column] for column in VERSION_COLUMNS)).where(
            workspaces.c.id == workspace_id
        )
    ).one_or_none()
    found = row or (0,) * len(VERSION_COLUMNS)
    return Versions(dict(zip(VERSION_COLUMNS, (int(value or 0) for value in found), strict=True)))
