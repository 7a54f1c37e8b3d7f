"""inbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:06:34.563269
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "fans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("avatar_url", sa.String(length=1024), nullable=True),
        sa.Column("followers_count", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("interactions_count", sa.Integer(), nullable=False),
        sa.Column("positive_count", sa.Integer(), nullable=False),
        sa.Column("negative_count", sa.Integer(), nullable=False),
        sa.Column("is_superfan", sa.Boolean(), nullable=False),
        sa.Column("superfan_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifetime_value_score", sa.Float(), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("average_priority", sa.Float(), nullable=False),
        sa.Column("scores_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_fans_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fans")),
        sa.UniqueConstraint(
            "workspace_id",
            "platform",
            "external_id",
            name=op.f("uq_fans_workspace_id_platform_external_id"),
        ),
    )
    with op.batch_alter_table("fans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fans_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "inbox_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("superfan_window_days", sa.Integer(), nullable=False),
        sa.Column("superfan_min_interactions", sa.Integer(), nullable=False),
        sa.Column("superfan_min_positive_ratio", sa.Float(), nullable=False),
        sa.Column("suggestion_min_confidence", sa.Float(), nullable=False),
        sa.Column("max_replies_per_tick", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbox_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_inbox_settings")),
    )
    op.create_table(
        "workflows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "paused", name="workflowstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "trigger",
            sa.Enum(
                "new_interaction",
                "unanswered_for",
                name="workflowtrigger",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("trigger_hours", sa.Float(), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("stop_processing", sa.Boolean(), nullable=False),
        sa.Column("triggered_count", sa.Integer(), nullable=False),
        sa.Column("auto_responded_count", sa.Integer(), nullable=False),
        sa.Column("flagged_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflows_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
    )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflows_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "reply_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("max_per_hour", sa.Integer(), nullable=False),
        sa.Column("max_per_minute", sa.Integer(), nullable=False),
        sa.Column("min_interval_s", sa.Float(), nullable=False),
        sa.Column("jitter_min_s", sa.Float(), nullable=False),
        sa.Column("jitter_max_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_reply_limits_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_reply_limits_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_limits")),
        sa.UniqueConstraint(
            "workspace_id", "account_id", name=op.f("uq_reply_limits_workspace_id_account_id")
        ),
    )
    op.create_table(
        "comment_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.String(length=1024), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interactions_seen", sa.Integer(), nullable=False),
        sa.Column("last_new_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_comment_polls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_comment_polls_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_comment_polls_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_polls")),
        sa.UniqueConstraint("post_id", name=op.f("uq_comment_polls_post_id")),
    )
    with op.batch_alter_table("comment_polls", schema=None) as batch_op:
        batch_op.create_index("ix_comment_polls_next", ["next_poll_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_comment_polls_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("fan_id", sa.Integer(), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "comment",
                "reply",
                "mention",
                "direct_message",
                name="interactionkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("parent_external_id", sa.String(length=255), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_external_id", sa.String(length=255), nullable=False),
        sa.Column("author_handle", sa.String(length=255), nullable=False),
        sa.Column("author_display_name", sa.String(length=255), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ai_model_version", sa.String(length=64), nullable=True),
        sa.Column("ai_sentiment", sa.String(length=10), nullable=True),
        sa.Column("ai_sentiment_score", sa.Float(), nullable=True),
        sa.Column("ai_sentiment_confidence", sa.Float(), nullable=True),
        sa.Column("ai_language", sa.String(length=8), nullable=True),
        sa.Column("ai_intent", sa.String(length=24), nullable=True),
        sa.Column("ai_intent_confidence", sa.Float(), nullable=True),
        sa.Column("ai_toxic", sa.Boolean(), nullable=True),
        sa.Column("ai_evidence", sa.JSON(), nullable=True),
        sa.Column("matched_workflow_id", sa.Integer(), nullable=True),
        sa.Column("matched_reason", sa.Text(), nullable=True),
        sa.Column("suggested_reply", sa.Text(), nullable=True),
        sa.Column("suggested_reply_source", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_interactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_interactions_assignee_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fan_id"], ["fans.id"], name=op.f("fk_interactions_fan_id_fans"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["matched_workflow_id"],
            ["workflows.id"],
            name=op.f("fk_interactions_matched_workflow_id_workflows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["interactions.id"],
            name=op.f("fk_interactions_parent_id_interactions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_interactions_post_id_posts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_interactions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint(
            "workspace_id",
            "platform",
            "external_id",
            name=op.f("uq_interactions_workspace_id_platform_external_id"),
        ),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interactions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_interactions_fan_posted", ["fan_id", "posted_at"], unique=False)
        batch_op.create_index("ix_interactions_post", ["post_id"], unique=False)
        batch_op.create_index(
            "ix_interactions_ws_posted", ["workspace_id", "posted_at"], unique=False
        )
        batch_op.create_index(
            "ix_interactions_ws_status_posted",
            ["workspace_id", "status", "posted_at"],
            unique=False,
        )

    op.create_table(
        "reply_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "processing",
                "sent",
                "failed",
                "cancelled",
                name="replystatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("publish_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_reply_id", sa.String(length=255), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_reply_queue_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_reply_queue_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_reply_queue_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_queue")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reply_queue_idempotency_key")),
    )
    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reply_queue_account_scheduled", ["account_id", "scheduled_for"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_reply_queue_interaction_id"), ["interaction_id"], unique=False
        )
        batch_op.create_index(
            "ix_reply_queue_status_scheduled", ["status", "scheduled_for"], unique=False
        )
        batch_op.create_index("ix_reply_queue_ws_status", ["workspace_id", "status"], unique=False)

    op.create_table(
        "workflow_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actions_applied", sa.JSON(), nullable=False),
        sa.Column("auto_responded", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_workflow_matches_interaction_id_interactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_matches_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workflow_matches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_matches")),
        sa.UniqueConstraint(
            "workflow_id",
            "interaction_id",
            name=op.f("uq_workflow_matches_workflow_id_interaction_id"),
        ),
    )
    with op.batch_alter_table("workflow_matches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_matches_ws_matched", ["workspace_id", "matched_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("workflow_matches", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_matches_ws_matched")

    op.drop_table("workflow_matches")
    with op.batch_alter_table("reply_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_queue_ws_status")
        batch_op.drop_index("ix_reply_queue_status_scheduled")
        batch_op.drop_index(batch_op.f("ix_reply_queue_interaction_id"))
        batch_op.drop_index("ix_reply_queue_account_scheduled")

    op.drop_table("reply_queue")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_ws_status_posted")
        batch_op.drop_index("ix_interactions_ws_posted")
        batch_op.drop_index("ix_interactions_post")
        batch_op.drop_index("ix_interactions_fan_posted")
        batch_op.drop_index(batch_op.f("ix_interactions_account_id"))

    op.drop_table("interactions")
    with op.batch_alter_table("comment_polls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_comment_polls_workspace_id"))
        batch_op.drop_index("ix_comment_polls_next")

    op.drop_table("comment_polls")
    op.drop_table("reply_limits")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflows_workspace_id"))

    op.drop_table("workflows")
    op.drop_table("inbox_settings")
    with op.batch_alter_table("fans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fans_workspace_id"))

    op.drop_table("fans")
