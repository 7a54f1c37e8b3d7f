"""first response time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00.000000

``interactions.first_response_us`` holds ``answered_at - posted_at`` in whole microseconds
(NULL while unanswered), so the inbox overview's median first response is an index-only read
of integers, its middle values picked in SQL, instead of decoding 2,000 timestamp pairs in
Python on every request. Database triggers keep it, like the hourly counts of migration 0006:
``answered_at`` is written by the ORM, by a Core ``update()`` in the reply sender and at
ingest, and a trigger cannot be forgotten by the next such place.

Microseconds are what both databases store, so the value is exact: Python's
``timedelta.total_seconds()`` is the same integer divided by 10**6, and the overview's
figures are unchanged (``tests/inbox/test_first_response.py``).

The status index swaps ``answered_at`` (which only the median read) for the new column, so the
median stays index-only. Plain ADD COLUMN and index DDL, no batch mode: on SQLite
``batch_alter_table("interactions")`` would rebuild the table and drop every trigger on it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "first_response_us"
INSERT_TRIGGER = "interactions_first_response_insert"
UPDATE_TRIGGER = "interactions_first_response_update"
PG_FUNCTION = "interactions_first_response_apply"
INDEX = "ix_interactions_ws_status_posted"

# Note: SQL is run with exec_driver_sql, never text(): text() would take "%s" and ":" for
# parameters.


def _sqlite_micros(row: str) -> str:
    # SQLite datetimes are naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (SQLAlchemy always
    # writes the microseconds; see migration 0006). The whole seconds go through strftime('%s')
    # with the fraction cut off first: SQLite rounds a time to milliseconds, so ":00.999999"
    # would count as a second later. The microseconds are cut from the text.
    def stamp(column: str) -> str:
        return (
            f"(CAST(strftime('%s', substr({row}.{column}, 1, 19)) AS INTEGER) * 1000000 "
            f"+ CAST(substr({row}.{column}, 21, 6) AS INTEGER))"
        )

    return f"({stamp('answered_at')} - {stamp('posted_at')})"


_SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {INSERT_TRIGGER} AFTER INSERT ON interactions "
    f"WHEN NEW.answered_at IS NOT NULL BEGIN "
    f"UPDATE interactions SET {COLUMN} = {_sqlite_micros('NEW')} WHERE id = NEW.id; END",
    f"CREATE TRIGGER IF NOT EXISTS {UPDATE_TRIGGER} AFTER UPDATE OF answered_at, posted_at "
    f"ON interactions BEGIN "
    f"UPDATE interactions SET {COLUMN} = {_sqlite_micros('NEW')} WHERE id = NEW.id; END",
)
_SQLITE_BACKFILL = (
    f"UPDATE interactions SET {COLUMN} = {_sqlite_micros('interactions')} "
    f"WHERE answered_at IS NOT NULL"
)


def _pg_micros(row: str) -> str:
    # extract() of an interval is numeric (exact) since PostgreSQL 14.
    return f"(extract(epoch FROM {row}.answered_at - {row}.posted_at) * 1000000)::bigint"


_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.{COLUMN} := {_pg_micros("NEW")};
    RETURN NEW;
END
$$
"""
_PG_TRIGGERS = (
    f"CREATE TRIGGER {INSERT_TRIGGER} BEFORE INSERT ON interactions "
    f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
    f"CREATE TRIGGER {UPDATE_TRIGGER} BEFORE UPDATE OF answered_at, posted_at ON interactions "
    f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
)
_PG_BACKFILL = (
    f"UPDATE interactions SET {COLUMN} = {_pg_micros('interactions')} WHERE answered_at IS NOT NULL"
)


def create_triggers(bind: sa.Connection) -> None:
    """Idempotent; for later migrations that rebuild ``interactions`` on SQLite."""
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_PG_FUNCTION_SQL)
        for name, sql in zip((INSERT_TRIGGER, UPDATE_TRIGGER), _PG_TRIGGERS, strict=True):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON interactions")
            bind.exec_driver_sql(sql)
    else:
        for sql in _SQLITE_TRIGGERS:
            bind.exec_driver_sql(sql)


def drop_triggers(bind: sa.Connection) -> None:
    postgres = bind.dialect.name == "postgresql"
    for name in (INSERT_TRIGGER, UPDATE_TRIGGER):
        suffix = " ON interactions" if postgres else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{suffix}")
    if postgres:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")


def upgrade() -> None:
    op.add_column("interactions", sa.Column(COLUMN, sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    create_triggers(bind)
    bind.exec_driver_sql(_PG_BACKFILL if bind.dialect.name == "postgresql" else _SQLITE_BACKFILL)
    op.drop_index(INDEX, table_name="interactions")
    op.create_index(INDEX, "interactions", ["workspace_id", "status", "posted_at", COLUMN])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="interactions")
    op.create_index(INDEX, "interactions", ["workspace_id", "status", "posted_at", "answered_at"])
    drop_triggers(op.get_bind())
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode, which would drop the other triggers.
    op.drop_column("interactions", COLUMN)
