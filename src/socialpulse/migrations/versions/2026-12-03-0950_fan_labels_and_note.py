"""fan labels and a private note

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 09:45:00.000000

Per fan: labels (a JSON list, like an interaction's) and a private note the team writes on the
fan's page; existing fans start with none.

The integrator re-chains: written on a branch whose newest revision was 0027 (issue #17 B).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fans") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("note", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("fans") as batch:
        batch.drop_column("note")
        batch.drop_column("labels")
