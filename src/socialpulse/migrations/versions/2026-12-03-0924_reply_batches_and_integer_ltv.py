"""reply batches and integer lifetime value

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 09:24:00.000000

Issue #16 (inbox):

* ``reply_queue.batch_id`` (which replies were queued together) is listed with
  ``?batch_id=``: indexed with the workspace, as every read of the queue is scoped to one.
* ``fans.lifetime_value_score`` is an integer from 0 to 100 (it was a float). Existing values
  are rounded here; the nightly superfan batch recomputes them over the window.

On SQLite the column is swapped in place (add, copy, drop, rename; SQLite 3.35 or later)
instead of through ``batch_alter_table``: rebuilding ``fans`` would drop the table while
``interactions.fan_id`` points at it, and with foreign keys on, that drop sets every
interaction's ``fan_id`` to NULL.
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TMP = "lifetime_value_score_new"


def _swap_on_sqlite(sql_type: str, default: str, value: str) -> None:
    if sqlite3.sqlite_version_info < (3, 35, 0):
        raise RuntimeError(
            f"migration 0024 needs SQLite 3.35 or later (ALTER TABLE DROP COLUMN); this Python "
            f"has {sqlite3.sqlite_version}"
        )
    op.execute(f"ALTER TABLE fans ADD COLUMN {_TMP} {sql_type} NOT NULL DEFAULT {default}")
    op.execute(f"UPDATE fans SET {_TMP} = {value}")
    op.execute("ALTER TABLE fans DROP COLUMN lifetime_value_score")
    op.execute(f"ALTER TABLE fans RENAME COLUMN {_TMP} TO lifetime_value_score")


def upgrade() -> None:
    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.create_index("ix_reply_queue_ws_batch", ["workspace_id", "batch_id"], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        _swap_on_sqlite(
            "INTEGER",
            "0",
            "MAX(0, MIN(100, CAST(ROUND(lifetime_value_score) AS INTEGER)))",
        )
    else:
        op.alter_column(
            "fans",
            "lifetime_value_score",
            existing_type=sa.Float(),
            type_=sa.Integer(),
            existing_nullable=False,
            postgresql_using="GREATEST(0, LEAST(100, ROUND(lifetime_value_score)))::integer",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _swap_on_sqlite("FLOAT", "0.0", "CAST(lifetime_value_score AS REAL)")
    else:
        op.alter_column(
            "fans",
            "lifetime_value_score",
            existing_type=sa.Integer(),
            type_=sa.Float(),
            existing_nullable=False,
            postgresql_using="lifetime_value_score::double precision",
        )

    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_queue_ws_batch")
