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

A search ranks a bounded set: ``candidates`` (at most ``CANDIDATES`` matches, high-weight fields
first) then ``ranked`` over those ids only, so that a word matching most creators costs what a
rare one does; ``among`` checks a chunk of ids read in another sort's order.

User text never reaches FTS syntax: ``terms`` keeps the word characters of a query (``\\w+``,
Unicode-aware), lower-cased, at most ``MAX_TERMS`` of them, and each is written as a quoted
literal with a prefix marker. Quotes, operators (``AND``, ``NEAR``, ``-``, ``:``, ``*``,
``!``, ``&``, ``|``) and column filters are plain separators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    any_,
    bindparam,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    true,
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
# How many matches a relevance search ranks: ranking (bm25, ts_rank) costs per matching
# document, and a common word matches most of 100,000 creators. The candidates are the matches
# in the high-weight fields (handle, name, biography, hashtags) first, then caption-only ones in
# index order, so that the best matches are among them. 1,000 is 50 pages of 20, more than
# anybody reads; 2,000 cost PostgreSQL ~15 ms more per search at 100,000 creators (reading
# and ranking the documents), which the 50 ms aim has no room for.
CANDIDATES = 1_000
# A sort other than relevance over a word matching more than CANDIDATES: creators are read in
# the sort's order in chunks of this many (doubling), each checked against the index.
SORT_CHUNK = 200
# The high-weight columns of the SQLite table (FTS5 column filter); on PostgreSQL weights A, B.
_SQLITE_STRONG = "{handle display_name bio hashtags}"

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


def _strong_postgres_query(words: list[str], *, any_term: bool) -> str:
    # 'word':*AB : the lexeme at weight A (handle, name) or B (hashtags, biography).
    return (" | " if any_term else " & ").join(f"'{word}':*AB" for word in words)


def _matching(
    session: Session, words: list[str], *, any_term: bool, strong: bool = False
) -> tuple[FromClause, ColumnElement[int], ColumnElement[bool]]:
    """(the index table, its creator id column, the match condition) for ``words``; ``strong``
    keeps matches in the high-weight fields only."""
    if session.get_bind().dialect.name == "postgresql":
        fts = table(TABLE, column("creator_id", Integer), column("document"))
        text_query = (_strong_postgres_query if strong else _postgres_query)(
            words, any_term=any_term
        )
        tsquery = func.to_tsquery(literal_column("'simple'::regconfig"), literal(text_query))
        return fts, fts.c.creator_id, fts.c.document.op("@@")(tsquery)
    text_query = _sqlite_query(words, any_term=any_term)
    if strong:
        text_query = f"{_SQLITE_STRONG} : ({text_query})"
    condition = literal_column(TABLE).op("MATCH")(literal(text_query))
    return table(TABLE), literal_column(f"{TABLE}.rowid", Integer), condition


def candidates(
    session: Session,
    query: str,
    where: Sequence[ColumnElement[bool]] = (),
    *,
    limit: int = CANDIDATES,
    strong_first: bool = True,
    any_term: bool = False,
) -> list[int]:
    """Up to ``limit`` ids of creators matching ``query`` and ``where`` (conditions on
    ``Creator``): with ``strong_first`` those matching in the handle, name, biography or
    hashtags first, then the others in index order. Nothing is ranked or sorted here: the cost
    is bounded by ``limit``, not by how many creators match."""
    words = terms(query)
    if not words:
        return []
    found: dict[int, None] = {}
    for strong in (True, False) if strong_first else (False,):
        fts, creator_id, condition = _matching(session, words, any_term=any_term, strong=strong)
        # ``limit`` rows each pass: the second finds the first one's again among its own, so
        # reading ``limit`` of them always yields the ``limit - len(found)`` still missing.
        for cid in session.scalars(_filtered(session, fts, creator_id, condition, where, limit)):
            found.setdefault(int(cid), None)
            if len(found) == limit:
                return list(found)
    return list(found)


def _filtered(
    session: Session,
    fts: FromClause,
    creator_id: ColumnElement[int],
    condition: ColumnElement[bool],
    where: Sequence[ColumnElement[bool]],
    limit: int,
) -> Select[int]:
    """Matching ids passing ``where``, at most ``limit``, driven by the index. Without
    conditions the index alone answers: it holds analysed creators only (a document is written
    in the commit that marks its creator analysed)."""
    if not where:
        return select(creator_id).select_from(fts).where(condition).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # A lateral probe per match by primary key: joined plainly, the planner walks every
        # creator in id order (a merge join) or hashes them all before the LIMIT stops it.
        probe = (
            select(literal(1).label("ok")).where(Creator.id == creator_id, *where).limit(1)
        ).lateral("probe")
        return select(creator_id).select_from(fts.join(probe, true())).where(condition).limit(limit)
    # FTS5 drives, each match probing creators by primary key: a correlated EXISTS, since as a
    # join the planner may walk a filter's index (a category, a follower range) instead and
    # run the full-text query once per creator (seconds).
    present = exists().where(Creator.id == creator_id, *where)
    return select(creator_id).select_from(fts).where(condition, present).limit(limit)


def ranked(
    session: Session, query: str, ids: Sequence[int], *, any_term: bool = False
) -> Select[int, float]:
    """``(creator_id, rank)`` of these matching creators, best first (rank grows with
    relevance); only they are ranked, however many creators match."""
    words = terms(query)
    fts, creator_id, condition = _matching(session, words, any_term=any_term)
    if session.get_bind().dialect.name == "postgresql":
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"),
            literal(_postgres_query(words, any_term=any_term)),
        )
        pg_rank = func.ts_rank(fts.c.document, tsquery, type_=Float).label("rank")
        return (
            select(creator_id.label("creator_id"), pg_rank)
            .where(_one_of(creator_id, ids))
            .order_by(pg_rank.desc(), creator_id)
        )
    rank = literal_column(f"-bm25({TABLE}, {_SQLITE_WEIGHTS})", Float).label("rank")
    # "rowid + 0": a plain rowid IN (...) is handed to FTS5 as one lookup per id, each of which
    # starts the query (and bm25's statistics) again: seconds, where scanning the matches and
    # keeping these ids takes milliseconds.
    return (
        select(creator_id.label("creator_id"), rank)
        .select_from(fts)
        .where(condition, (creator_id + 0).in_(ids))
        .order_by(rank.desc(), creator_id)
    )


def among(session: Session, query: str, ids: Sequence[int]) -> set[int]:
    """Which of these creators match ``query``."""
    words = terms(query)
    if not words or not ids:
        return set()
    fts, creator_id, condition = _matching(session, words, any_term=False)
    if session.get_bind().dialect.name == "postgresql":
        listed = _one_of(creator_id, ids)
    else:
        listed = (creator_id + 0).in_(ids)  # "+ 0": see ranked()
    return {
        int(cid)
        for cid in session.scalars(select(creator_id).select_from(fts).where(condition, listed))
    }


def _one_of(creator_id: ColumnElement[int], ids: Sequence[int]) -> ColumnElement[bool]:
    # PostgreSQL: one array parameter. IN with CANDIDATES parameters costs more to send, parse
    # and plan (~20 ms for 2,000) than ranking the documents.
    return creator_id == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))


def count(session: Session, query: str, where: Sequence[ColumnElement[bool]], *, limit: int) -> int:
    """How many creators match ``query`` and ``where``, counted up to ``limit``."""
    words = terms(query)
    if not words:
        return 0
    fts, creator_id, condition = _matching(session, words, any_term=False)
    bounded = _filtered(session, fts, creator_id, condition, where, limit).subquery()
    return session.scalar(select(func.count()).select_from(bounded)) or 0


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
