"""foreign key indexes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:20:00.000000

Every foreign key gets an index on its columns (unless they already lead an index, the
primary key or a unique constraint). Without one, deleting a referenced row makes the database
scan the referencing table for the ON DELETE action: deleting one account's 11,827
interactions held SQLite's write lock for 122 s because each deleted interaction scanned
``interactions`` (``parent_id``, SET NULL) and ``workflow_matches`` (``interaction_id``,
CASCADE); with these two indexes it took 0.7 s. ``tests/test_foreign_key_indexes.py`` fails
when a later table adds a foreign key without one.

Plain CREATE INDEX, no batch mode: on SQLite ``batch_alter_table("interactions")`` would
rebuild the table and drop the hourly-count triggers of migration 0006.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each becomes index ix_<table>_<column>, the name the models' naming
# convention gives `index=True`.
INDEXES = (
    ("api_keys", "created_by_user_id"),
    ("comment_polls", "account_id"),
    ("fetch_runs", "job_id"),
    ("interactions", "assignee_user_id"),
    ("interactions", "matched_workflow_id"),
    ("interactions", "parent_id"),
    ("reply_limits", "account_id"),
    ("workflow_matches", "interaction_id"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
