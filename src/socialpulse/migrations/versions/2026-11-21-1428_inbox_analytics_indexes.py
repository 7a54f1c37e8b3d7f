"""inbox analytics indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:28:17.126466
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interactions_ws_posted_dims",
            ["workspace_id", "posted_at", "status", "platform", "ai_sentiment"],
            unique=False,
        )

    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reply_queue_account_started", ["account_id", "publish_started_at"], unique=False
        )
        batch_op.create_index(
            "ix_reply_queue_ws_platform_status",
            ["workspace_id", "platform", "status", "scheduled_for"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_queue_ws_platform_status")
        batch_op.drop_index("ix_reply_queue_account_started")

    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_ws_posted_dims")
