"""discovery indexes

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 21:30:00.000000

Discovery at 100,000 creators (benchmarks/discovery_search.py):

* PostgreSQL only: one index per sort in the order discovery asks for ("highest first, unknown
  last, then id"). Its NULLs sort above every value, so the ascending indexes read backwards
  gave "unknown first" and each page sorted every analysed creator. SQLite's backward read
  already ends with NULLs (and it cannot declare NULLS LAST in an index).
* Both: the platform with audience quality, and verified with the contact e-mail, so that the
  count of a filtered browse reads index entries of the matching creators only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORTED = ("followers_count", "engagement_rate", "audience_quality", "refreshed_at")


def upgrade() -> None:
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.create_index(
            "ix_creators_discovery_platform",
            ["platform", "audience_quality", "refreshed_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_creators_discovery_verified",
            ["verified", "followers_count", "refreshed_at", "contact_email"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        for name in SORTED:
            op.create_index(
                f"ix_creators_sorted_{name}",
                "creators",
                [sa.text(f"{name} DESC NULLS LAST"), "id"],
                unique=False,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in SORTED:
            op.drop_index(f"ix_creators_sorted_{name}", table_name="creators")
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_index("ix_creators_discovery_verified")
        batch_op.drop_index("ix_creators_discovery_platform")
