"""workspace queue version: the reply queue's writes bump a counter of their own

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 22:20:00.000000

The reply queue commits three times per reply it sends (claim, lease renewal, outcome). With
one data version per workspace each of those made every cached report of the workspace miss,
though only the queue report reads the queue. Its items now bump ``queue_version`` instead
(``workspaces.versions``); a cached report that read the queue is checked against it too.
A plain ADD COLUMN with a server default, as for ``data_version``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("queue_version", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    # Not batch mode: rebuilding "workspaces" on SQLite would cascade-delete every child row.
    op.drop_column("workspaces", "queue_version")
