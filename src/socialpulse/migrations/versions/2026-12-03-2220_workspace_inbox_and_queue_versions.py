"""workspace inbox and queue versions: interactions and the reply queue bump counters of their own

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 22:20:00.000000

The reply queue commits three times per reply it sends (claim, lease renewal, outcome) and marks
the interaction answered. With one data version per workspace each of those made every cached
report of the workspace miss, though account analytics read neither table. Interactions now bump
``inbox_version`` and queue items ``queue_version`` (``workspaces.versions``); a cached report
that read either table is checked against its version too. Plain ADD COLUMNs with a server
default, as for ``data_version``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("inbox_version", "queue_version")


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column(
            "workspaces", sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    # Not batch mode: rebuilding "workspaces" on SQLite would cascade-delete every child row.
    for column in reversed(COLUMNS):
        op.drop_column("workspaces", column)
