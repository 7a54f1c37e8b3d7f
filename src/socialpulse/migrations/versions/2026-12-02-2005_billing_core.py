"""billing core: plans, pricing rules, top-up packages, wallets, the credit ledger

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 20:05:00.000000

Shared by the instance: ``plans``, ``pricing_rules``, ``topup_packages``, seeded as issue #14
priced them (this file keeps its own frozen copy of the rows; billing.catalog holds the same,
checked equal by tests/billing/test_catalog.py). Per workspace: ``wallets`` (balance >= 0 by
a CHECK), ``credit_ledger`` (append-only), ``credit_reservations``. Existing workspaces get
their wallet on first use, on SOCIALPULSE_DEFAULT_PLAN.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("profiles_per_month", sa.Integer(), nullable=False),
        sa.Column("emails_per_month", sa.Integer(), nullable=False),
        sa.Column("posts_per_month", sa.Integer(), nullable=False),
        sa.Column("topup_discount_pct", sa.Integer(), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_plans_code")),
        info={"shared_by_instance": True},
    )
    op.create_table(
        "pricing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("free_per_month", sa.Integer(), nullable=False),
        sa.Column(
            "allowance",
            sa.Enum("profiles", "emails", "posts", name="allowance", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("access_days", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pricing_rules")),
        sa.UniqueConstraint("action", name=op.f("uq_pricing_rules_action")),
        info={"shared_by_instance": True},
    )
    op.create_table(
        "topup_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topup_packages")),
        sa.UniqueConstraint("code", name=op.f("uq_topup_packages_code")),
        info={"shared_by_instance": True},
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "charge",
                "grant",
                "topup",
                "refund",
                "plan_change",
                "adjustment",
                name="ledgerkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column(
            "funding",
            sa.Enum(
                "free", "allowance", "credits", "none", name="funding", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "allowance",
            sa.Enum("profiles", "emails", "posts", name="allowance", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_credit_ledger_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_credit_ledger_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_ledger")),
    )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_ledger_actor_user_id"), ["actor_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_credit_ledger_workspace_action_cycle",
            ["workspace_id", "action", "cycle_start"],
            unique=False,
        )
        batch_op.create_index(
            "ix_credit_ledger_workspace_created", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_credit_ledger_workspace_cycle_allowance",
            ["workspace_id", "cycle_start", "allowance"],
            unique=False,
        )
        batch_op.create_index(
            "uq_credit_ledger_workspace_idempotency",
            ["workspace_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )

    op.create_table(
        "wallets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("cycle_anchor", sa.DateTime(timezone=True), nullable=False),
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
        sa.Column("payment_customer_id", sa.String(length=255), nullable=True),
        sa.Column("payment_subscription_id", sa.String(length=255), nullable=True),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_wallets_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_wallets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
        sa.UniqueConstraint("workspace_id", name=op.f("uq_wallets_workspace_id")),
    )
    op.create_table(
        "credit_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column(
            "funding",
            sa.Enum(
                "free", "allowance", "credits", "none", name="funding", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "allowance",
            sa.Enum("profiles", "emails", "posts", name="allowance", native_enum=False, length=16),
            nullable=True,
        ),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "held",
                "charged",
                "released",
                name="reservationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=True),
        sa.Column("released_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_credit_reservations_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["credit_ledger.id"],
            name=op.f("fk_credit_reservations_ledger_entry_id_credit_ledger"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_credit_reservations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_reservations")),
    )
    with op.batch_alter_table("credit_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_reservations_actor_user_id"), ["actor_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_credit_reservations_ledger_entry_id"), ["ledger_entry_id"], unique=False
        )
        batch_op.create_index(
            "ix_credit_reservations_status_expires", ["status", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_credit_reservations_workspace_status", ["workspace_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_credit_reservations_workspace_idempotency",
            ["workspace_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )

    _seed()


PLANS = [
    # code, name, price_cents, seats, profiles, emails, posts, topup_discount_pct, sort_order
    ("free", "Free", 0, 1, 5, 0, 0, 0, 0),
    ("standard", "Standard", 19900, 2, 500, 250, 125, 0, 1),
    ("premium", "Premium", 49900, 5, 2000, 800, 300, 20, 2),
]
RULES = [
    # action, credits, free_per_month, allowance, access_days, description
    (
        "influencer_unlock",
        25,
        0,
        "profiles",
        30,
        "Unlock a creator's full report for the workspace for 30 days",
    ),
    (
        "post_analytics",
        5,
        0,
        "posts",
        None,
        "Analyse one post of a creator the workspace has not unlocked",
    ),
    ("discovery_pagination", 10, 5, None, None, "A discovery results page after the first"),
    (
        "email_unlock",
        1,
        0,
        "emails",
        None,
        "A contact e-mail the creator published in their profile",
    ),
    ("campaign_analysis", 10, 0, None, None, "A campaign's reach, engagement, sentiment and costs"),
    ("bulk_export", 50, 1, None, None, "Export unlocked creators or a list as CSV or JSON"),
    ("advanced_search", 15, 10, None, None, "A multi-criteria discovery search"),
]
TOPUPS = [
    ("credits_1000", 1000, 5000),
    ("credits_2500", 2500, 12500),
    ("credits_10000", 10000, 50000),
]


def _seed() -> None:
    now = dt.datetime.now(dt.UTC)
    plans = sa.table(
        "plans",
        *(sa.column(name) for name in ("code", "name", "price_cents", "seats")),
        *(sa.column(f"{a}_per_month") for a in ("profiles", "emails", "posts")),
        *(sa.column(name) for name in ("topup_discount_pct", "sort_order", "active")),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    keys = (
        "code name price_cents seats profiles_per_month emails_per_month posts_per_month "
        "topup_discount_pct sort_order"
    ).split()
    op.bulk_insert(
        plans, [dict(zip(keys, row, strict=True), active=True, updated_at=now) for row in PLANS]
    )
    rules = sa.table(
        "pricing_rules",
        *(
            sa.column(name)
            for name in ("action", "credits", "free_per_month", "allowance", "access_days")
        ),
        sa.column("description"),
        sa.column("active"),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    keys = "action credits free_per_month allowance access_days description".split()
    op.bulk_insert(
        rules, [dict(zip(keys, row, strict=True), active=True, updated_at=now) for row in RULES]
    )
    topups = sa.table(
        "topup_packages",
        sa.column("code"),
        sa.column("credits"),
        sa.column("price_cents"),
        sa.column("active"),
    )
    op.bulk_insert(
        topups,
        [
            {"code": code, "credits": credits, "price_cents": price, "active": True}
            for code, credits, price in TOPUPS
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("credit_reservations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_credit_reservations_workspace_idempotency",
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_credit_reservations_workspace_status")
        batch_op.drop_index("ix_credit_reservations_status_expires")
        batch_op.drop_index(batch_op.f("ix_credit_reservations_ledger_entry_id"))
        batch_op.drop_index(batch_op.f("ix_credit_reservations_actor_user_id"))

    op.drop_table("credit_reservations")
    op.drop_table("wallets")
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_credit_ledger_workspace_idempotency",
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_credit_ledger_workspace_cycle_allowance")
        batch_op.drop_index("ix_credit_ledger_workspace_created")
        batch_op.drop_index("ix_credit_ledger_workspace_action_cycle")
        batch_op.drop_index(batch_op.f("ix_credit_ledger_actor_user_id"))

    op.drop_table("credit_ledger")
    op.drop_table("topup_packages")
    op.drop_table("pricing_rules")
    op.drop_table("plans")
