"""publishing

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:00:00.000000

Issue #15 part A, per workspace: ``publishing_posts`` (text, zone, time, recurrence by cron or
interval with an end date or count), ``publishing_uploads`` (files stored content-addressed in
the media store, with the facts read from their content), ``publishing_post_media``,
``publishing_targets`` (accounts with per-platform variants), ``publishing_overrides`` (one
occurrence of a series skipped or edited) and ``publishing_deliveries``: one row per target and
occurrence, the unit of exactly-once (lease columns, ``publish_started_at`` committed before the
platform call). Deleted with their workspace.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publishing_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("visibility", sa.String(length=32), nullable=True),
        sa.Column("content_warning", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "scheduled",
                "publishing",
                "published",
                "failed",
                "cancelled",
                "missed",
                name="poststatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cron", sa.String(length=120), nullable=True),
        sa.Column("interval_s", sa.BigInteger(), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("materialised_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("series_done", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "interval_s IS NULL OR interval_s >= 60",
            name=op.f("ck_publishing_posts_interval_at_least_a_minute"),
        ),
        sa.CheckConstraint(
            "max_count IS NULL OR max_count >= 1", name=op.f("ck_publishing_posts_count_positive")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_posts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_posts")),
    )
    with op.batch_alter_table("publishing_posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_publishing_posts_ws_scheduled", ["workspace_id", "scheduled_at"], unique=False
        )
        batch_op.create_index(
            "ix_publishing_posts_ws_status", ["workspace_id", "status"], unique=False
        )

    op.create_table(
        "publishing_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("mime_type", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_uploads_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_uploads")),
        sa.UniqueConstraint(
            "workspace_id", "sha256", name=op.f("uq_publishing_uploads_workspace_id_sha256")
        ),
    )
    op.create_table(
        "publishing_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "action",
            sa.Enum("skip", "edit", name="overrideaction", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["publishing_posts.id"],
            name=op.f("fk_publishing_overrides_post_id_publishing_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_overrides_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_overrides")),
        sa.UniqueConstraint(
            "post_id", "occurrence_at", name=op.f("uq_publishing_overrides_post_id_occurrence_at")
        ),
    )
    with op.batch_alter_table("publishing_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publishing_overrides_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "publishing_post_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("alt_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["publishing_posts.id"],
            name=op.f("fk_publishing_post_media_post_id_publishing_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["publishing_uploads.id"],
            name=op.f("fk_publishing_post_media_upload_id_publishing_uploads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_post_media_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_post_media")),
        sa.UniqueConstraint(
            "post_id", "position", name=op.f("uq_publishing_post_media_post_id_position")
        ),
    )
    with op.batch_alter_table("publishing_post_media", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publishing_post_media_upload_id"), ["upload_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publishing_post_media_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "publishing_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("text_override", sa.Text(), nullable=True),
        sa.Column("title_override", sa.String(length=300), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_publishing_targets_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["publishing_posts.id"],
            name=op.f("fk_publishing_targets_post_id_publishing_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_targets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_targets")),
        sa.UniqueConstraint(
            "post_id", "account_id", name=op.f("uq_publishing_targets_post_id_account_id")
        ),
    )
    with op.batch_alter_table("publishing_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publishing_targets_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_publishing_targets_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "publishing_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "publishing",
                "published",
                "failed",
                "cancelled",
                "missed",
                "skipped",
                name="deliverystatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("text_override", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("publish_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_publishing_deliveries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["publishing_posts.id"],
            name=op.f("fk_publishing_deliveries_post_id_publishing_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["publishing_targets.id"],
            name=op.f("fk_publishing_deliveries_target_id_publishing_targets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_publishing_deliveries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishing_deliveries")),
        sa.UniqueConstraint(
            "idempotency_key", name=op.f("uq_publishing_deliveries_idempotency_key")
        ),
        sa.UniqueConstraint(
            "target_id",
            "occurrence_at",
            name=op.f("uq_publishing_deliveries_target_id_occurrence_at"),
        ),
    )
    with op.batch_alter_table("publishing_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publishing_deliveries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_publishing_deliveries_post_scheduled", ["post_id", "scheduled_for"], unique=False
        )
        batch_op.create_index(
            "ix_publishing_deliveries_status_lease", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_publishing_deliveries_status_next", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_publishing_deliveries_ws_status",
            ["workspace_id", "status", "scheduled_for"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("publishing_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_publishing_deliveries_ws_status")
        batch_op.drop_index("ix_publishing_deliveries_status_next")
        batch_op.drop_index("ix_publishing_deliveries_status_lease")
        batch_op.drop_index("ix_publishing_deliveries_post_scheduled")
        batch_op.drop_index(batch_op.f("ix_publishing_deliveries_account_id"))

    op.drop_table("publishing_deliveries")
    with op.batch_alter_table("publishing_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publishing_targets_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_publishing_targets_account_id"))

    op.drop_table("publishing_targets")
    with op.batch_alter_table("publishing_post_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publishing_post_media_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_publishing_post_media_upload_id"))

    op.drop_table("publishing_post_media")
    with op.batch_alter_table("publishing_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publishing_overrides_workspace_id"))

    op.drop_table("publishing_overrides")
    op.drop_table("publishing_uploads")
    with op.batch_alter_table("publishing_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_publishing_posts_ws_status")
        batch_op.drop_index("ix_publishing_posts_ws_scheduled")

    op.drop_table("publishing_posts")
