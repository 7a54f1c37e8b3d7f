"""post reach metrics, ROI settings and workspace costs

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 06:20:00.000000

Issue #15 part D (workspace analytics overview and ROI):

* ``posts`` and ``post_metric_snapshots`` get ``impressions``, ``reach`` and ``clicks``
  (nullable: NULL is "the platform does not provide it", never zero).
* ``roi_settings``: one row per workspace, its currency and value per unit of each metric in
  millicents (no row: the documented defaults).
* ``workspace_costs``: costs the team records (tools, ads, other), optionally tagged with a
  campaign; deleted with their workspace, kept (untagged) when the campaign is deleted.

The integrator re-chains: written on a branch whose newest revision was 0019.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRIC_TABLES = ("posts", "post_metric_snapshots")
NEW_METRICS = ("impressions", "reach", "clicks")
VALUE_METRICS = ("likes", "comments", "shares", "followers", "clicks", "impressions")


def upgrade() -> None:
    for table in METRIC_TABLES:
        with op.batch_alter_table(table) as batch:
            for name in NEW_METRICS:
                batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))

    op.create_table(
        "roi_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *[
            sa.Column(f"value_per_{metric}_millicents", sa.BigInteger(), nullable=False)
            for metric in VALUE_METRICS
        ],
        sa.Column("updated_by_user_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *[
            sa.CheckConstraint(
                f"value_per_{metric}_millicents >= 0",
                name=op.f(f"ck_roi_settings_value_per_{metric}_not_negative"),
            )
            for metric in VALUE_METRICS
        ],
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"],
            ["users.id"],
            name=op.f("fk_roi_settings_updated_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_roi_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_roi_settings")),
    )
    with op.batch_alter_table("roi_settings") as batch:
        batch.create_index(
            batch.f("ix_roi_settings_updated_by_user_id"), ["updated_by_user_id"], unique=False
        )

    op.create_table(
        "workspace_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum("tools", "ads", "other", name="costcategory", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_cents >= 0", name=op.f("ck_workspace_costs_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_workspace_costs_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_workspace_costs_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_costs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_costs")),
    )
    with op.batch_alter_table("workspace_costs") as batch:
        batch.create_index(
            "ix_workspace_costs_workspace_incurred", ["workspace_id", "incurred_on"], unique=False
        )
        batch.create_index(batch.f("ix_workspace_costs_campaign_id"), ["campaign_id"], unique=False)
        batch.create_index(
            batch.f("ix_workspace_costs_created_by_user_id"), ["created_by_user_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("workspace_costs")
    op.drop_table("roi_settings")
    for table in METRIC_TABLES:
        with op.batch_alter_table(table) as batch:
            for name in NEW_METRICS:
                batch.drop_column(name)
