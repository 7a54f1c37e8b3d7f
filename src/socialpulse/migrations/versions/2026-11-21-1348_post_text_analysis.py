"""post text analysis

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 13:48:28.340465
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "post_analyses",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_post_analyses_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_analyses")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ai_model_version", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("ai_analysed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ai_category", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("ai_category_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ai_sentiment", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("ai_sentiment_score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ai_sentiment_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ai_language", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("ai_language_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ai_intent", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("ai_toxic", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_posts_ai_model_version", ["ai_model_version"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_ai_model_version")
        batch_op.drop_column("ai_toxic")
        batch_op.drop_column("ai_intent")
        batch_op.drop_column("ai_language_confidence")
        batch_op.drop_column("ai_language")
        batch_op.drop_column("ai_sentiment_confidence")
        batch_op.drop_column("ai_sentiment_score")
        batch_op.drop_column("ai_sentiment")
        batch_op.drop_column("ai_category_confidence")
        batch_op.drop_column("ai_category")
        batch_op.drop_column("ai_analysed_at")
        batch_op.drop_column("ai_model_version")

    op.drop_table("post_analyses")
