"""payment events

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 20:30:00.000000

``payment_events``: every verified payment-provider webhook event, once (unique provider +
event id), with what its fulfilment did (fulfilled, ignored, rejected). The row is what makes
a redelivered or replayed event credit nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "fulfilled",
                "ignored",
                "rejected",
                name="paymenteventstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("credits", sa.Integer(), nullable=True),
        sa.Column("plan_code", sa.String(length=32), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_payment_events_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint(
            "provider", "event_id", name=op.f("uq_payment_events_provider_event_id")
        ),
    )
    with op.batch_alter_table("payment_events") as batch_op:
        batch_op.create_index(
            "ix_payment_events_workspace_received", ["workspace_id", "received_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("payment_events")
