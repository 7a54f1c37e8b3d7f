"""Portable bulk upserts (INSERT ... ON CONFLICT) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

# SQLite allows 32,766 bound parameters per statement; PostgreSQL 65,535. SQLAlchemy's
# insertmanyvalues batches for us, this only bounds memory per executemany call.
CHUNK_ROWS = 2000


@lru_cache(maxsize=256)
def _statement(
    dialect: str, table: Table, conflict: tuple[str, ...], update: tuple[str, ...]
) -> Insert:
    """Built once per shape: `excluded` copies the table's columns on every access, which cost
    more than a small upsert's rows (statements are immutable, so sharing one is safe)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    base = insert(table)
    if not update:
        return base.on_conflict_do_nothing(index_elements=list(conflict))
    excluded = base.excluded
    return base.on_conflict_do_update(
        index_elements=list(conflict), set_={column: excluded[column] for column in update}
    )


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> int:
    """Insert `rows`, updating `update` columns where the `conflict` key already exists
    (or leaving the existing row alone when `update` is empty)."""
    if not rows:
        return 0
    stmt = _statement(session.get_bind().dialect.name, table, tuple(conflict), tuple(update))
    for start in range(0, len(rows), CHUNK_ROWS):
        session.execute(stmt, list(rows[start : start + CHUNK_ROWS]))
    return len(rows)
