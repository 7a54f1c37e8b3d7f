"""The full-text index of analysed creators: handle, display name, biography, the captions and
hashtags of their stored posts. One table, ``creator_fts``, one row per creator (its id):

* SQLite: an FTS5 virtual table (``unicode61`` tokenizer without diacritics, prefix indexes of
  2 and 3 characters), ranked by BM25 with the handle and name weighted above the captions. A
  trigger on ``creators`` deletes a creator's row with the creator: a virtual table has no
  foreign keys, and a stale row would match a later creator given the same id.
* PostgreSQL: a plain table with a ``tsvector`` (the ``simple`` configuration: creators write
  in every language, so no stemming is guessed) under a GIN index, ranked by ``ts_rank`` with
  the same weights (A handle and name, B hashtags and biography, C captions); its foreign key
  cascades.

Both are created by migration 0016 (which backfills every analysed creator) and kept current by
``refresh`` when a report is built (the pipeline's aggregate step). Neither is an ORM model
(SQLite's cannot be): ``is_index_table`` keeps them out of the models-vs-migrations comparison.

User text never reaches FTS syntax: ``terms`` keeps the word characters of a query (``\\w+``,
Unicode-aware), lower-cased, at most ``MAX_TERMS`` of them, and each is written as a quoted
literal with a prefix marker. Quotes, operators (``AND``, ``NEAR``, ``-``, ``:``, ``*``,
``!``, ``&``, ``|``) and column filters are plain separators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import (
    Float,
    Integer,
    Select,
    bindparam,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from socialpulse.creators.models import Creator, CreatorPost

TABLE = "creator_fts"
# Enough for any real query; a longer one is somebody pasting a paragraph.
MAX_TERMS = 8
MAX_TERM_LENGTH = 64
# What goes into a creator's document: its newest captions, bounded so one prolific creator's
# row stays small (and the backfill fast).
CAPTIONS_PER_CREATOR = 50
CAPTION_CHARS = 600
_WORD = re.compile(r"\w+", re.UNICODE)

# bm25() weights, in column order: handle, display_name, bio, captions, hashtags.
_SQLITE_WEIGHTS = "10.0, 8.0, 3.0, 1.0, 4.0"


def is_index_table(name: str | None) -> bool:
    """The index's tables (FTS5 adds ``creator_fts_data``, ``_idx``...): not ORM models."""
    return bool(name) and (name == TABLE or str(name).startswith(f"{TABLE}_"))


def terms(query: str) -> list[str]:
    """The words of a user's query, safe to quote into either dialect's query syntax."""
    found: list[str] = []
    for word in _WORD.findall(query.lower()):
        word = word[:MAX_TERM_LENGTH]
        if word not in found:
            found.append(word)
        if len(found) == MAX_TERMS:
            break
    return found


def _sqlite_query(words: list[str], *, any_term: bool) -> str:
    # "word"* : a quoted FTS5 string (nothing inside is syntax) matched as a prefix.
    return (" OR " if any_term else " ").join(f'"{word}"*' for word in words)


def _postgres_query(words: list[str], *, any_term: bool) -> str:
    # 'word':* : a quoted tsquery lexeme matched as a prefix; \w+ holds no quote or backslash.
    return (" | " if any_term else " & ").join(f"'{word}':*" for word in words)


def match(
    session: Session, query: str, *, any_term: bool = False, ranked: bool = True
) -> Select[int, float]:
    """The ids of creators whose document matches every word of ``query`` (any word with
    ``any_term``), as a Select of ``(creator_id, rank)`` ordered best first; ``rank`` grows
    with relevance on both databases. ``ranked=False``: rank 0 for all, unordered (a caller
    sorting by something else saves computing it). A query without words matches nothing."""
    words = terms(query)
    if not words:
        return select(
            literal(0, Integer).label("creator_id"), literal(0.0, Float).label("rank")
        ).where(false())
    if session.get_bind().dialect.name == "postgresql":
        fts = table(TABLE, column("creator_id", Integer), column("document"))
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"),
            bindparam("fts_query", _postgres_query(words, any_term=any_term)),
        )
        matched = fts.c.document.op("@@")(tsquery)
        if not ranked:
            return select(
                fts.c.creator_id.label("creator_id"), literal(0.0, Float).label("rank")
            ).where(matched)
        pg_rank = func.ts_rank(fts.c.document, tsquery, type_=Float).label("rank")
        return (
            select(fts.c.creator_id.label("creator_id"), pg_rank)
            .where(matched)
            .order_by(pg_rank.desc(), fts.c.creator_id)
        )
    rowid = literal_column(f"{TABLE}.rowid", Integer)
    matched = literal_column(TABLE).op("MATCH")(
        bindparam("fts_query", _sqlite_query(words, any_term=any_term))
    )
    if not ranked:
        return (
            select(rowid.label("creator_id"), literal(0.0, Float).label("rank"))
            .select_from(table(TABLE))
            .where(matched)
        )
    # bm25() is lower for better matches: negated, so that higher is better on both databases.
    rank = literal_column(f"-bm25({TABLE}, {_SQLITE_WEIGHTS})", Float).label("rank")
    return (
        select(rowid.label("creator_id"), rank)
        .select_from(table(TABLE))
        .where(matched)
        .order_by(rank.desc(), rowid)
    )


def _document(session: Session, creator: Creator) -> tuple[str, str]:
    """(captions, hashtags) of the creator's newest stored posts, as index text."""
    rows = session.execute(
        select(CreatorPost.caption, CreatorPost.hashtags)
        .where(CreatorPost.creator_id == creator.id)
        .order_by(CreatorPost.posted_at.desc(), CreatorPost.id.desc())
        .limit(CAPTIONS_PER_CREATOR)
    ).all()
    captions = "\n".join((caption or "")[:CAPTION_CHARS] for caption, _ in rows)
    tags: list[str] = []
    for _, hashtags in rows:
        for tag in hashtags or []:
            tag = str(tag).lstrip("#").lower()
            if tag and tag not in tags:
                tags.append(tag)
    return captions, " ".join(tags)


def refresh(session: Session, creator: Creator) -> None:
    """Replace the creator's document with what is stored now (in the caller's transaction:
    the index changes with the report or not at all)."""
    captions, hashtags = _document(session, creator)
    write_rows(
        session,
        [
            (
                creator.id,
                creator.handle,
                creator.display_name or "",
                creator.bio or "",
                captions,
                hashtags,
            )
        ],
    )


def write_rows(session: Session, rows: Iterable[tuple[int, str, str, str, str, str]]) -> None:
    """Upsert documents: (creator_id, handle, display_name, bio, captions, hashtags)."""
    values = [
        {
            "id": row[0],
            "handle": row[1],
            "name": row[2],
            "bio": row[3],
            "captions": row[4],
            "tags": row[5],
        }
        for row in rows
    ]
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                f"INSERT INTO {TABLE} (creator_id, document) VALUES (:id, "
                "setweight(to_tsvector('simple', :handle || ' ' || :name), 'A') || "
                "setweight(to_tsvector('simple', :tags || ' ' || :bio), 'B') || "
                "setweight(to_tsvector('simple', :captions), 'C')) "
                "ON CONFLICT (creator_id) DO UPDATE SET document = excluded.document"
            ),
            values,
        )
        return
    # FTS5 has no upsert: delete then insert, in the same transaction.
    session.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"), values)
    session.execute(
        text(
            f"INSERT INTO {TABLE} (rowid, handle, display_name, bio, captions, hashtags) "
            "VALUES (:id, :handle, :name, :bio, :captions, :tags)"
        ),
        values,
    )


def remove(session: Session, creator_id: int) -> None:
    column_name = "creator_id" if session.get_bind().dialect.name == "postgresql" else "rowid"
    session.execute(text(f"DELETE FROM {TABLE} WHERE {column_name} = :id"), {"id": creator_id})


def rebuild(session: Session, *, batch: int = 500) -> int:
    """Index every analysed creator again (the migration's backfill; `creators reindex`).
    Returns how many were indexed."""
    done = 0
    last = 0
    while True:
        creators = list(
            session.scalars(
                select(Creator)
                .where(Creator.refreshed_at.is_not(None), Creator.id > last)
                .order_by(Creator.id)
                .limit(batch)
            )
        )
        if not creators:
            return done
        for creator in creators:
            refresh(session, creator)
        done += len(creators)
        last = creators[-1].id
