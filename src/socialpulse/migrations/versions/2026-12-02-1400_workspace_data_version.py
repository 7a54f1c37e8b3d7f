"""workspace data version: a counter every write to a workspace's data bumps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:00:00.000000

Cached report responses are keyed by it (``workspaces.versions``), so a cached report is never
served after a write that changes it. A plain ADD COLUMN with a server default: no table rebuild
on SQLite, no rewrite on PostgreSQL 11+.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    # Not batch mode: rebuilding "workspaces" on SQLite would cascade-delete every child row.
    op.drop_column("workspaces", "data_version")
