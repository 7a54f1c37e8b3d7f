"""interaction hourly counts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 16:00:00.000000

``interaction_hourly_counts`` holds, per workspace and UTC hour of posting, how many
interactions have each (platform, status, sentiment); the inbox analytics read it instead of
every interaction of a period. Database triggers on ``interactions`` keep it exact: statuses
change in many places, some through Core ``update()`` statements and foreign-key cascades
that ORM events never see, and a trigger cannot be forgotten by the next such place.

A group whose count falls to zero is deleted, so the table always equals
``SELECT workspace_id, <hour>, platform, status, coalesce(ai_sentiment, ''), count(*) FROM
interactions GROUP BY ...`` (what ``tests/inbox/test_hourly_counts.py`` checks).

Later migrations: on SQLite, ``op.batch_alter_table("interactions")`` rebuilds the table and
drops these triggers. Such a migration must put them back with this module's helpers (both are
idempotent), loaded through Alembic because a revision file is not an importable module name::

    from alembic import context
    rollup = context.script.get_revision("0006").module
    rollup.create_triggers(op.get_bind())
    rollup.rebuild_counts(op.get_bind())  # only if rows may have changed meanwhile
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "interaction_hourly_counts"
KEY = "workspace_id, hour, platform, status, sentiment"
INSERT_TRIGGER = "interactions_hourly_counts_insert"
DELETE_TRIGGER = "interactions_hourly_counts_delete"
UPDATE_TRIGGER = "interactions_hourly_counts_update"
TRIGGERS = (INSERT_TRIGGER, DELETE_TRIGGER, UPDATE_TRIGGER)
PG_FUNCTION = "interaction_hourly_counts_apply"
# The columns that decide an interaction's group; updates of other columns never fire.
GROUP_COLUMNS = "workspace_id, posted_at, platform, status, ai_sentiment"

# Note: SQL is run with exec_driver_sql, never text(): text() would take the ":00" inside the
# SQLite hour literal for a bind parameter.


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_hour(row: str) -> str:
    # SQLAlchemy stores SQLite datetimes as naive UTC text "YYYY-MM-DD HH:MM:SS.ffffff" (always
    # with microseconds; UTCDateTime converts to UTC first). Cutting the text keeps exactly the
    # format SQLAlchemy binds, so `hour >= :start` compares correctly; strftime() would go
    # through SQLite's millisecond julian days instead.
    return f"substr({row}.posted_at, 1, 13) || ':00:00.000000'"


def _sqlite_values(row: str) -> str:
    return (
        f"{row}.workspace_id, {_sqlite_hour(row)}, {row}.platform, {row}.status, "
        f"coalesce({row}.ai_sentiment, '')"
    )


def _sqlite_match(row: str) -> str:
    return (
        f"workspace_id = {row}.workspace_id AND hour = {_sqlite_hour(row)} "
        f"AND platform = {row}.platform AND status = {row}.status "
        f"AND sentiment = coalesce({row}.ai_sentiment, '')"
    )


def _sqlite_add(row: str) -> str:
    return (
        f"INSERT INTO {TABLE} ({KEY}, count) VALUES ({_sqlite_values(row)}, 1) "
        f"ON CONFLICT ({KEY}) DO UPDATE SET count = count + 1;"
    )


def _sqlite_remove(row: str) -> str:
    return (
        f"UPDATE {TABLE} SET count = count - 1 WHERE {_sqlite_match(row)}; "
        f"DELETE FROM {TABLE} WHERE {_sqlite_match(row)} AND count = 0;"
    )


SQLITE_TRIGGERS = {
    INSERT_TRIGGER: (
        f"CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON interactions "
        f"BEGIN {_sqlite_add('NEW')} END"
    ),
    DELETE_TRIGGER: (
        f"CREATE TRIGGER {DELETE_TRIGGER} AFTER DELETE ON interactions "
        f"BEGIN {_sqlite_remove('OLD')} END"
    ),
    # WHEN: only a move to another group costs anything (not a posted_at edit inside the hour).
    UPDATE_TRIGGER: (
        f"CREATE TRIGGER {UPDATE_TRIGGER} AFTER UPDATE OF {GROUP_COLUMNS} ON interactions "
        "WHEN OLD.workspace_id IS NOT NEW.workspace_id "
        f"OR {_sqlite_hour('OLD')} IS NOT {_sqlite_hour('NEW')} "
        "OR OLD.platform IS NOT NEW.platform OR OLD.status IS NOT NEW.status "
        "OR coalesce(OLD.ai_sentiment, '') IS NOT coalesce(NEW.ai_sentiment, '') "
        f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END"
    ),
}
SQLITE_BACKFILL = (
    f"INSERT INTO {TABLE} ({KEY}, count) "
    f"SELECT {_sqlite_values('interactions')}, count(*) FROM interactions "
    "GROUP BY 1, 2, 3, 4, 5"
)


# --- PostgreSQL --------------------------------------------------------------------------------


def _pg_hour(row: str) -> str:
    # date_trunc() on a timestamptz truncates in the session's time zone (an hour starts at
    # :30 in Asia/Kolkata); going through UTC wall-clock time makes it the UTC hour everywhere.
    return f"(date_trunc('hour', {row}.posted_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


def _pg_values(row: str) -> str:
    return (
        f"{row}.workspace_id, {_pg_hour(row)}, {row}.platform, {row}.status, "
        f"coalesce({row}.ai_sentiment, '')"
    )


def _pg_match(row: str) -> str:
    return (
        f"c.workspace_id = {row}.workspace_id AND c.hour = {_pg_hour(row)} "
        f"AND c.platform = {row}.platform AND c.status = {row}.status "
        f"AND c.sentiment = coalesce({row}.ai_sentiment, '')"
    )


PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    remaining integer;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE {TABLE} AS c SET count = c.count - 1 WHERE {_pg_match("OLD")}
        RETURNING c.count INTO remaining;
        IF remaining = 0 THEN
            DELETE FROM {TABLE} AS c WHERE {_pg_match("OLD")} AND c.count = 0;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO {TABLE} AS c ({KEY}, count) VALUES ({_pg_values("NEW")}, 1)
        ON CONFLICT ({KEY}) DO UPDATE SET count = c.count + 1;
    END IF;
    RETURN NULL;
END
$$
"""
_PG_EXECUTE = f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
PG_TRIGGERS = {
    INSERT_TRIGGER: f"CREATE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON interactions {_PG_EXECUTE}",
    DELETE_TRIGGER: f"CREATE TRIGGER {DELETE_TRIGGER} AFTER DELETE ON interactions {_PG_EXECUTE}",
    UPDATE_TRIGGER: (
        f"CREATE TRIGGER {UPDATE_TRIGGER} AFTER UPDATE OF {GROUP_COLUMNS} ON interactions "
        "FOR EACH ROW WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id "
        f"OR {_pg_hour('OLD')} IS DISTINCT FROM {_pg_hour('NEW')} "
        "OR OLD.platform IS DISTINCT FROM NEW.platform "
        "OR OLD.status IS DISTINCT FROM NEW.status "
        "OR coalesce(OLD.ai_sentiment, '') IS DISTINCT FROM coalesce(NEW.ai_sentiment, '')) "
        f"EXECUTE FUNCTION {PG_FUNCTION}()"
    ),
}
PG_BACKFILL = (
    f"INSERT INTO {TABLE} ({KEY}, count) "
    f"SELECT {_pg_values('interactions')}, count(*) FROM interactions "
    "GROUP BY 1, 2, 3, 4, 5"
)


# --- helpers a later migration can re-run ------------------------------------------------------


def drop_triggers(bind: sa.Connection) -> None:
    """Drop the triggers (and the PostgreSQL function); a no-op where they are missing."""
    postgres = bind.dialect.name == "postgresql"
    for name in TRIGGERS:
        bind.exec_driver_sql(
            f"DROP TRIGGER IF EXISTS {name} ON interactions"
            if postgres
            else f"DROP TRIGGER IF EXISTS {name}"
        )
    if postgres:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")


def create_triggers(bind: sa.Connection) -> None:
    """(Re)create the triggers that keep the counts exact; safe to run when they exist.

    On PostgreSQL, CREATE TRIGGER locks ``interactions`` against writes until the migration
    commits, so a ``rebuild_counts()`` after it in the same transaction misses no row."""
    drop_triggers(bind)
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(PG_FUNCTION_SQL)
        statements = PG_TRIGGERS
    else:
        statements = SQLITE_TRIGGERS
    for sql in statements.values():
        bind.exec_driver_sql(sql)


def rebuild_counts(bind: sa.Connection) -> None:
    """Recompute every count from ``interactions`` (the backfill)."""
    bind.exec_driver_sql(f"DELETE FROM {TABLE}")
    bind.exec_driver_sql(PG_BACKFILL if bind.dialect.name == "postgresql" else SQLITE_BACKFILL)


# --- the migration -----------------------------------------------------------------------------


def upgrade() -> None:

    op.create_table(
        TABLE,
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "unread",
                "awaiting_approval",
                "answered",
                "ignored",
                "flagged",
                name="interactionstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("sentiment", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_interaction_hourly_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "hour",
            "platform",
            "status",
            "sentiment",
            name=op.f("pk_interaction_hourly_counts"),
        ),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    create_triggers(bind)
    rebuild_counts(bind)
    # answered_at in the status index: the median first response reads it from the index
    # alone instead of one table lookup per answered interaction. Plain index DDL, no table
    # rebuild, so the triggers above stay.
    op.drop_index("ix_interactions_ws_status_posted", table_name="interactions")
    op.create_index(
        "ix_interactions_ws_status_posted",
        "interactions",
        ["workspace_id", "status", "posted_at", "answered_at"],
    )


def downgrade() -> None:

    op.drop_index("ix_interactions_ws_status_posted", table_name="interactions")
    op.create_index(
        "ix_interactions_ws_status_posted", "interactions", ["workspace_id", "status", "posted_at"]
    )
    drop_triggers(op.get_bind())
    op.drop_table(TABLE)
