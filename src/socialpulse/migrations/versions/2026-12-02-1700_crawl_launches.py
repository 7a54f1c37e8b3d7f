"""crawl launches

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:00:00.000000

``crawl_launches``: one row per build the related-profiles crawl queued. The crawl's limits
(builds in flight, per rolling hour, per rolling day) are counted from it inside the tick's
transaction, so they hold with any number of workers; a related profile's own row cannot
count them (a retry overwrites its ``queued_at``, and one profile may be related to many).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crawl_launches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_crawl_launches_creator_id_creators"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_crawl_launches_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crawl_launches")),
    )
    with op.batch_alter_table("crawl_launches") as batch_op:
        batch_op.create_index("ix_crawl_launches_open", ["finished_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crawl_launches_creator_id"), ["creator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_crawl_launches_job_id"), ["job_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crawl_launches_queued_at"), ["queued_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("crawl_launches")
