"""creator lists and campaigns

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-02 20:30:00.000000

Issue #14 part D, per workspace: ``creator_lists`` and ``creator_list_items`` (saved lists of
creators), ``campaigns`` with ``campaign_creators`` (fees), ``campaign_posts`` (posts attached
by hand) and ``campaign_costs`` (other costs). Deleted with their workspace. Money is integer
cents of the campaign's currency; CHECK constraints keep amounts non-negative and dates in
order (the service refuses both first, with a clear message).

The integrator re-chains: this file was written on a branch whose newest revision was 0014
(billing core merged); its place in the chain is after 0016.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "completed",
                "archived",
                name="campaignstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "budget_cents IS NULL OR budget_cents >= 0",
            name=op.f("ck_campaigns_budget_not_negative"),
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_campaigns_dates_in_order")),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_campaigns_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_campaigns_workspace_id_name")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaigns_created_by_user_id"), ["created_by_user_id"], unique=False
        )

    op.create_table(
        "creator_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_creator_lists_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_creator_lists_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_lists")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_creator_lists_workspace_id_name")
        ),
    )
    with op.batch_alter_table("creator_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creator_lists_created_by_user_id"), ["created_by_user_id"], unique=False
        )

    op.create_table(
        "campaign_costs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_campaign_costs_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_costs_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_costs")),
    )
    with op.batch_alter_table("campaign_costs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_costs_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "campaign_creators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("fee_cents >= 0", name=op.f("ck_campaign_creators_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_creators_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_campaign_creators_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_creators")),
        sa.UniqueConstraint(
            "campaign_id", "creator_id", name=op.f("uq_campaign_creators_campaign_id_creator_id")
        ),
    )
    with op.batch_alter_table("campaign_creators", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_creators_creator_id"), ["creator_id"], unique=False
        )

    op.create_table(
        "creator_list_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_user_id"],
            ["users.id"],
            name=op.f("fk_creator_list_items_added_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["creators.id"],
            name=op.f("fk_creator_list_items_creator_id_creators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["creator_lists.id"],
            name=op.f("fk_creator_list_items_list_id_creator_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_list_items")),
        sa.UniqueConstraint(
            "list_id", "creator_id", name=op.f("uq_creator_list_items_list_id_creator_id")
        ),
    )
    with op.batch_alter_table("creator_list_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creator_list_items_added_by_user_id"), ["added_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creator_list_items_creator_id"), ["creator_id"], unique=False
        )

    op.create_table(
        "campaign_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("creator_post_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_posts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_post_id"],
            ["creator_posts.id"],
            name=op.f("fk_campaign_posts_creator_post_id_creator_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_posts")),
        sa.UniqueConstraint(
            "campaign_id",
            "creator_post_id",
            name=op.f("uq_campaign_posts_campaign_id_creator_post_id"),
        ),
    )
    with op.batch_alter_table("campaign_posts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_posts_creator_post_id"), ["creator_post_id"], unique=False
        )


def downgrade() -> None:
    for table in (
        "campaign_posts",
        "creator_list_items",
        "campaign_creators",
        "campaign_costs",
        "creator_lists",
        "campaigns",
    ):
        op.drop_table(table)
