"""api usage per endpoint; fetches waiting for a budget

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 09:00:00.000000

``api_usage_endpoints``: the per-endpoint breakdown of ``api_usage`` (requests and quota units
per workspace, platform, quota day and endpoint), written in the same transaction as the totals.
``fetch_runs.budget_platform``: set on a fetch queued after a budget deferral, so that raising
that platform's budget makes it due at once.

The integrator re-chains: written on a branch whose newest revision was 0023 (issue #16 item 8).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_usage_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("quota_units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_usage_endpoints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_usage_endpoints")),
        sa.UniqueConstraint(
            "workspace_id",
            "platform",
            "day",
            "endpoint",
            name=op.f("uq_api_usage_endpoints_workspace_id_platform_day_endpoint"),
        ),
    )
    with op.batch_alter_table("fetch_runs") as batch:
        batch.add_column(sa.Column("budget_platform", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fetch_runs") as batch:
        batch.drop_column("budget_platform")
    op.drop_table("api_usage_endpoints")
