"""account snapshot totals, alert rules and alerts

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 09:27:00.000000

Issue #16, items 9 and 10:

* ``account_snapshots`` gets ``total_likes``, ``total_comments``, ``total_shares``,
  ``total_views`` (sums over the account's tracked posts) and ``engagement_rate`` (their
  average per-post rate), written with each snapshot from now on. Existing rows stay NULL
  ("unknown"), not backfilled: the post metric history would give the sums, but not the
  follower count each post's rate was computed with, so a rebuilt engagement rate would not
  agree with the one analytics shows. Trends start with the first fetch after the upgrade.
* ``alert_rules``: per-account rules (follower_drop, engagement_drop, negative_spike) with
  their parameters and episode state; ``alerts``: one row per episode of a rule's condition.

The integrator re-chains: written on a branch whose newest revision was 0023.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTALS = ("total_likes", "total_comments", "total_shares", "total_views")
KINDS = ("follower_drop", "engagement_drop", "negative_spike")
EMAIL_STATUSES = ("not_configured", "pending", "sent", "failed")


def _kind() -> sa.Enum:
    return sa.Enum(*KINDS, name="alertkind", native_enum=False, length=24)


def upgrade() -> None:
    with op.batch_alter_table("account_snapshots") as batch:
        for name in TOTALS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("engagement_rate", sa.Float(), nullable=True))

    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("percent", sa.Float(), nullable=True),
        sa.Column("count", sa.BigInteger(), nullable=True),
        sa.Column("multiplier", sa.Float(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("active_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_alert_rules_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_alert_rules_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    with op.batch_alter_table("alert_rules") as batch:
        batch.create_index(batch.f("ix_alert_rules_account_id"), ["account_id"], unique=False)
        batch.create_index(
            batch.f("ix_alert_rules_created_by_user_id"), ["created_by_user_id"], unique=False
        )
        batch.create_index(
            "ix_alert_rules_workspace_account", ["workspace_id", "account_id"], unique=False
        )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("kind", _kind(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("baseline_value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "email_status",
            sa.Enum(*EMAIL_STATUSES, name="emailstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("email_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_alerts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_user_id"],
            ["users.id"],
            name=op.f("fk_alerts_acknowledged_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alerts_rule_id_alert_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alerts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.create_index(batch.f("ix_alerts_account_id"), ["account_id"], unique=False)
        batch.create_index(
            batch.f("ix_alerts_acknowledged_by_user_id"), ["acknowledged_by_user_id"], unique=False
        )
        batch.create_index(batch.f("ix_alerts_rule_id"), ["rule_id"], unique=False)
        batch.create_index(
            "ix_alerts_workspace_open",
            ["workspace_id", "acknowledged_at", "fired_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("alert_rules")
    with op.batch_alter_table("account_snapshots") as batch:
        batch.drop_column("engagement_rate")
        for name in TOTALS:
            batch.drop_column(name)
