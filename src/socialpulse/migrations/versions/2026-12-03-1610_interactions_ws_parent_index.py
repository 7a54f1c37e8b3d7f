"""an index for a page's replies

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 16:10:00.000000

The inbox page loads the replies of its interactions (parent_id IN the page's ids, in the
workspace). With only (workspace_id, posted_at) and (parent_id) to choose from, SQLite walked
every interaction of the workspace; (workspace_id, parent_id) is a lookup per parent.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_interactions_ws_parent", "interactions", ["workspace_id", "parent_id"])


def downgrade() -> None:
    op.drop_index("ix_interactions_ws_parent", table_name="interactions")
