"""creator intelligence and media

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:42:03.659271

Public creator data shared by the instance (creators, their posts, sampled comments, reports,
related profiles), images (media_objects), what each workspace may read or looked up
(creator_access, creator_searches), and the instance administrator flag on users.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_url", sa.String(length=2048), nullable=False),
        sa.Column(
            "status",
            sa.Enum("stored", "failed", name="mediastatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("original_bytes", sa.BigInteger(), nullable=True),
        sa.Column("small_key", sa.String(length=255), nullable=True),
        sa.Column("large_key", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_objects")),
        sa.UniqueConstraint("source_url", name=op.f("uq_media_objects_source_url")),
    )
    with op.batch_alter_table("media_objects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_objects_sha256"), ["sha256"], unique=False)

    op.create_table(
        "creators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("profile_url", sa.String(length=1024), nullable=True),
        sa.Column("avatar_url", sa.String(length=2048), nullable=True),
        sa.Column("avatar_media_id", sa.Integer(), nullable=True),
        sa.Column("followers_count", sa.BigInteger(), nullable=True),
        sa.Column("following_count", sa.BigInteger(), nullable=True),
        sa.Column("posts_count", sa.BigInteger(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("category_confidence", sa.Float(), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("profile_ai_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("engagement_rate", sa.Float(), nullable=True),
        sa.Column("audience_quality", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "building",
                "ready",
                "failed",
                "not_found",
                "private",
                name="creatorstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column(
            "build_step",
            sa.Enum(
                "profile",
                "posts",
                "comments",
                "media",
                "ai",
                "aggregate",
                "related",
                "done",
                name="buildstep",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("build_job_id", sa.Integer(), nullable=True),
        sa.Column("data_version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("origin", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["avatar_media_id"],
            ["media_objects.id"],
            name=op.f("fk_creators_avatar_media_id_media_objects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["build_job_id"],
            ["jobs.id"],
            name=op.f("fk_creators_build_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creators")),
        sa.UniqueConstraint("platform", "handle", name=op.f("uq_creators_platform_handle")),
    )
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creators_avatar_media_id"), ["avatar_media_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creators_build_job_id"), ["build_job_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_creators_category"), ["category"], unique=False)
        batch_op.create_index("ix_creators_followers", ["followers_count"], unique=False)
        batch_op.create_index(batch_op.f("ix_creators_language"), ["language"], unique=False)
        batch_op.create_index(
            "ix_creators_platform_external", ["platform", "external_id"], unique=False
        )

    op.create_table(
        "creator_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_access_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_user_id"],
            ["users.id"],
            name=op.f("fk_creator_access_granted_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_creator_access_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_access")),
        sa.UniqueConstraint(
            "workspace_id", "creator_id", name=op.f("uq_creator_access_workspace_id_creator_id")
        ),
    )
    with op.batch_alter_table("creator_access", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creator_access_creator_id"), ["creator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creator_access_granted_by_user_id"), ["granted_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creator_access_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "creator_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("hashtags", sa.JSON(), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("comments", sa.BigInteger(), nullable=True),
        sa.Column("shares", sa.BigInteger(), nullable=True),
        sa.Column("saves", sa.BigInteger(), nullable=True),
        sa.Column("thumbnail_url", sa.String(length=2048), nullable=True),
        sa.Column("thumbnail_media_id", sa.Integer(), nullable=True),
        sa.Column("ai_category", sa.String(length=64), nullable=True),
        sa.Column("ai_sentiment", sa.String(length=16), nullable=True),
        sa.Column("ai_sentiment_score", sa.Float(), nullable=True),
        sa.Column("ai_language", sa.String(length=16), nullable=True),
        sa.Column("ai_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comments_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_posts_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thumbnail_media_id"],
            ["media_objects.id"],
            name=op.f("fk_creator_posts_thumbnail_media_id_media_objects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_posts")),
        sa.UniqueConstraint(
            "creator_id", "external_id", name=op.f("uq_creator_posts_creator_id_external_id")
        ),
    )
    with op.batch_alter_table("creator_posts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_creator_posts_creator_posted", ["creator_id", "posted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creator_posts_thumbnail_media_id"), ["thumbnail_media_id"], unique=False
        )

    op.create_table(
        "creator_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("data_version", sa.BigInteger(), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("completeness", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compute_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_reports_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_reports")),
        sa.UniqueConstraint("creator_id", name=op.f("uq_creator_reports_creator_id")),
    )
    with op.batch_alter_table("creator_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creator_reports_complete"), ["complete"], unique=False)

    op.create_table(
        "creator_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("query", sa.String(length=512), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_searches_creator_id_creators"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_creator_searches_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_creator_searches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_searches")),
    )
    with op.batch_alter_table("creator_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creator_searches_creator_id"), ["creator_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_creator_searches_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "ix_creator_searches_workspace_at", ["workspace_id", "searched_at"], unique=False
        )

    op.create_table(
        "related_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("handle", sa.String(length=255), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("followers_hint", sa.BigInteger(), nullable=True),
        sa.Column("related_creator_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "skipped",
                "done",
                "failed",
                name="relatedstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_related_profiles_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["related_creator_id"],
            ["creators.id"],
            name=op.f("fk_related_profiles_related_creator_id_creators"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_related_profiles")),
        sa.UniqueConstraint(
            "creator_id",
            "platform",
            "handle",
            name=op.f("uq_related_profiles_creator_id_platform_handle"),
        ),
    )
    with op.batch_alter_table("related_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_related_profiles_related_creator_id"),
            ["related_creator_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_related_profiles_status", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "creator_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("parent_external_id", sa.String(length=255), nullable=True),
        sa.Column("author_external_id", sa.String(length=255), nullable=False),
        sa.Column("author_handle", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("like_count", sa.Integer(), nullable=True),
        sa.Column("by_creator", sa.Boolean(), nullable=False),
        sa.Column(
            "quality",
            sa.Enum(
                "ok",
                "bot_like",
                "generic",
                "emoji_only",
                "spam",
                name="commentquality",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("ai_sentiment", sa.String(length=16), nullable=True),
        sa.Column("ai_sentiment_score", sa.Float(), nullable=True),
        sa.Column("ai_language", sa.String(length=16), nullable=True),
        sa.Column("ai_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_comments_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["creator_posts.id"],
            name=op.f("fk_creator_comments_post_id_creator_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_comments")),
        sa.UniqueConstraint(
            "post_id", "external_id", name=op.f("uq_creator_comments_post_id_external_id")
        ),
    )
    with op.batch_alter_table("creator_comments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_creator_comments_creator_author", ["creator_id", "author_external_id"], unique=False
        )

    # Plain ADD COLUMN: batch mode would rebuild users on SQLite.
    op.add_column(
        "users",
        sa.Column("is_instance_admin", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_instance_admin")

    with op.batch_alter_table("creator_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_creator_comments_creator_author")

    op.drop_table("creator_comments")
    with op.batch_alter_table("related_profiles", schema=None) as batch_op:
        batch_op.drop_index("ix_related_profiles_status")
        batch_op.drop_index(batch_op.f("ix_related_profiles_related_creator_id"))

    op.drop_table("related_profiles")
    with op.batch_alter_table("creator_searches", schema=None) as batch_op:
        batch_op.drop_index("ix_creator_searches_workspace_at")
        batch_op.drop_index(batch_op.f("ix_creator_searches_user_id"))
        batch_op.drop_index(batch_op.f("ix_creator_searches_creator_id"))

    op.drop_table("creator_searches")
    with op.batch_alter_table("creator_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creator_reports_complete"))

    op.drop_table("creator_reports")
    with op.batch_alter_table("creator_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creator_posts_thumbnail_media_id"))
        batch_op.drop_index("ix_creator_posts_creator_posted")

    op.drop_table("creator_posts")
    with op.batch_alter_table("creator_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creator_access_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_creator_access_granted_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_creator_access_creator_id"))

    op.drop_table("creator_access")
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_index("ix_creators_platform_external")
        batch_op.drop_index(batch_op.f("ix_creators_language"))
        batch_op.drop_index("ix_creators_followers")
        batch_op.drop_index(batch_op.f("ix_creators_category"))
        batch_op.drop_index(batch_op.f("ix_creators_build_job_id"))
        batch_op.drop_index(batch_op.f("ix_creators_avatar_media_id"))

    op.drop_table("creators")
    with op.batch_alter_table("media_objects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_objects_sha256"))

    op.drop_table("media_objects")
