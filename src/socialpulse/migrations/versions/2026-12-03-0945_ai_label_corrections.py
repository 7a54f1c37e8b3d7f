"""ai label corrections and the auto-reply warning

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 09:45:00.000000

Per workspace: people's "wrong label" corrections of an interaction's sentiment or intent
(they win over the model's labels in the inbox and in workflow conditions), and the inbox
setting from which the reply queue warns that one workflow auto-replied too often in a day.

The integrator re-chains: written on a branch whose newest revision was 0027 (issue #17 A).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_label_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("sentiment", sa.String(length=10), nullable=True),
        sa.Column("intent", sa.String(length=24), nullable=True),
        sa.Column("model_sentiment", sa.String(length=10), nullable=True),
        sa.Column("model_intent", sa.String(length=24), nullable=True),
        sa.Column("corrected_by_user_id", sa.Integer(), nullable=True),
        sa.Column("corrected_by", sa.String(length=100), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ai_label_corrections_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_ai_label_corrections_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_user_id"],
            ["users.id"],
            name=op.f("fk_ai_label_corrections_corrected_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_label_corrections")),
        sa.UniqueConstraint(
            "workspace_id",
            "interaction_id",
            name=op.f("uq_ai_label_corrections_workspace_id_interaction_id"),
        ),
    )
    op.create_index(
        op.f("ix_ai_label_corrections_interaction_id"),
        "ai_label_corrections",
        ["interaction_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ai_label_corrections_corrected_by_user_id"),
        "ai_label_corrections",
        ["corrected_by_user_id"],
        unique=False,
    )
    op.add_column(
        "inbox_settings",
        sa.Column("auto_reply_daily_warning", sa.Integer(), server_default="50", nullable=False),
    )


def downgrade() -> None:
    # drop_column rebuilds inbox_settings on SQLite; it has no triggers to lose.
    with op.batch_alter_table("inbox_settings") as batch:
        batch.drop_column("auto_reply_daily_warning")
    op.drop_index(op.f("ix_ai_label_corrections_interaction_id"), table_name="ai_label_corrections")
    op.drop_index(
        op.f("ix_ai_label_corrections_corrected_by_user_id"), table_name="ai_label_corrections"
    )
    op.drop_table("ai_label_corrections")
