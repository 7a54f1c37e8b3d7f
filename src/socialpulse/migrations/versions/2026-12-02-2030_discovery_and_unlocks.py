"""discovery and unlocks

Revision ID: 0016
Revises: 0013 (0015 once payments is merged: the integrator re-chains)
Create Date: 2026-12-02 20:30:00.000000

* ``creator_fts``: the full-text index of analysed creators (SQLite FTS5 virtual table with a
  delete trigger; PostgreSQL tsvector under GIN), backfilled here from what is stored.
* ``saved_searches``: a workspace's named discovery searches.
* Indexes on the creator figures discovery sorts by.
* Access model (#14): a report requested by search under #13 granted access with no end; such
  rows now end 30 days after they were granted, like an unlock.
"""

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from socialpulse.creators import search_index

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REQUESTED_ACCESS_DAYS = 30


def _backfill_index(connection: sa.engine.Connection) -> None:
    """Every creator with a report, indexed as ``search_index.refresh`` would (written with
    core SQL: the ORM models of a later version may have columns this schema lacks)."""
    creators = connection.execute(
        sa.text(
            "SELECT id, handle, display_name, bio FROM creators "
            "WHERE refreshed_at IS NOT NULL ORDER BY id"
        )
    ).all()
    session = Session(bind=connection)
    for start in range(0, len(creators), 500):
        chunk = creators[start : start + 500]
        rows = []
        for creator_id, handle, name, bio in chunk:
            posts = connection.execute(
                sa.text(
                    "SELECT caption, hashtags FROM creator_posts WHERE creator_id = :id "
                    "ORDER BY posted_at DESC, id DESC LIMIT :n"
                ),
                {"id": creator_id, "n": search_index.CAPTIONS_PER_CREATOR},
            ).all()
            captions = "\n".join(
                (caption or "")[: search_index.CAPTION_CHARS] for caption, _ in posts
            )
            tags: list[str] = []
            for _, hashtags in posts:
                parsed = json.loads(hashtags) if isinstance(hashtags, str) else hashtags
                for tag in parsed or []:
                    tag = str(tag).lstrip("#").lower()
                    if tag and tag not in tags:
                        tags.append(tag)
            rows.append((creator_id, handle, name or "", bio or "", captions, " ".join(tags)))
        search_index.write_rows(session, rows)
    session.flush()


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for statement in search_index.POSTGRES_DDL if postgres else search_index.SQLITE_DDL:
        op.execute(statement)
    _backfill_index(connection)

    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_saved_searches_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_saved_searches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_saved_searches_workspace_id_name")),
    )
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_searches_created_by_user_id"), ["created_by_user_id"], unique=False
        )
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.create_index("ix_creators_engagement_rate", ["engagement_rate"], unique=False)
        batch_op.create_index("ix_creators_audience_quality", ["audience_quality"], unique=False)
        batch_op.create_index("ix_creators_refreshed_at", ["refreshed_at"], unique=False)

    access = sa.table(
        "creator_access",
        sa.column("id", sa.Integer()),
        sa.column("reason", sa.String()),
        sa.column("granted_at", sa.DateTime(timezone=True)),
        sa.column("expires_at", sa.DateTime(timezone=True)),
    )
    rows = connection.execute(
        sa.select(access.c.id, access.c.granted_at).where(
            access.c.reason == "requested", access.c.expires_at.is_(None)
        )
    ).all()
    for row_id, granted_at in rows:
        connection.execute(
            access.update()
            .where(access.c.id == row_id)
            .values(expires_at=granted_at + dt.timedelta(days=REQUESTED_ACCESS_DAYS))
        )


def downgrade() -> None:
    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_index("ix_creators_refreshed_at")
        batch_op.drop_index("ix_creators_audience_quality")
        batch_op.drop_index("ix_creators_engagement_rate")
    with op.batch_alter_table("saved_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_searches_created_by_user_id"))
    op.drop_table("saved_searches")
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in search_index.POSTGRES_DROP if postgres else search_index.SQLITE_DROP:
        op.execute(statement)
    # The access rows' end dates stay: which of them had none before is not recorded.
