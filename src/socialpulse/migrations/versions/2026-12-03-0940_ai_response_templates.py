"""ai settings and response templates

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 09:25:00.000000

Per workspace: the AI settings (the confidence from which `POST /ai/analyze` proposes an
auto-response, 0.85 when no row) and the workspace's own response templates per intent and
language, which replace the built-in ones for analysis auto-responses and inbox suggestions.
Both are deleted with the workspace.

The integrator re-chains: written on a branch whose newest revision was 0023 (issue #16 item 5).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("auto_response_threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ai_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_ai_settings")),
    )
    op.create_table(
        "ai_response_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ai_response_templates_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_response_templates")),
        sa.UniqueConstraint(
            "workspace_id",
            "intent",
            "language",
            name=op.f("uq_ai_response_templates_workspace_id_intent_language"),
        ),
    )


def downgrade() -> None:
    op.drop_table("ai_response_templates")
    op.drop_table("ai_settings")
