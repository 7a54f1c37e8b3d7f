"""ledger api key actor

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 21:50:00.000000

The ledger names who spent: a member (``actor_user_id``) or, for a call made with an API key,
the key (``actor_api_key_id``; such a call has no user). Reservations carry it to the charge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("credit_ledger", "credit_reservations")


def upgrade() -> None:
    for table in TABLES:
        # Batch mode: SQLite cannot add a foreign key to an existing table in place.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("actor_api_key_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_actor_api_key_id_api_keys",
                "api_keys",
                ["actor_api_key_id"],
                ["id"],
                ondelete="SET NULL",
            )
            batch.create_index(f"ix_{table}_actor_api_key_id", ["actor_api_key_id"])


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_actor_api_key_id")
            batch.drop_constraint(f"fk_{table}_actor_api_key_id_api_keys", type_="foreignkey")
            batch.drop_column("actor_api_key_id")
