"""Saved creator lists: a workspace's named shortlists of creators, with a note per creator.

Lists are the workspace's own (every read and write here filters by its id: another
workspace's list is a 404); the creators on them are the instance's shared rows, listed
whatever the workspace may read of them (the preview is public, the rest needs access).
Services flush, the edge commits: a refused request writes nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from socialpulse.creators import service
from socialpulse.creators.lists_schemas import (
    CreatorListCreate,
    CreatorListPage,
    CreatorListRead,
    CreatorListUpdate,
    ListItemPage,
    ListItemRead,
    ListItemsAdd,
    ListItemsAdded,
)
from socialpulse.creators.models import Creator, CreatorList, CreatorListItem
from socialpulse.db import utcnow
from socialpulse.errors import Conflict, NotFound


class ListNameTaken(Conflict):
    code = "list_name_taken"


def get_list(session: Session, workspace_id: int, list_id: int) -> CreatorList:
    """The workspace's list, or 404 (another workspace's list does not exist for it)."""
    found = session.scalar(
        select(CreatorList).where(
            CreatorList.id == list_id, CreatorList.workspace_id == workspace_id
        )
    )
    if found is None:
        raise NotFound(f"no list {list_id} in this workspace")
    return found


def existing_creators(session: Session, creator_ids: Sequence[int]) -> list[int]:
    """The ids, in order and once each; 404 naming those no creator has (nothing written)."""
    wanted = list(dict.fromkeys(creator_ids))
    found = set(session.scalars(select(Creator.id).where(Creator.id.in_(wanted))))
    missing = [creator_id for creator_id in wanted if creator_id not in found]
    if missing:
        raise NotFound(
            f"no creator {', '.join(map(str, missing))}: search or browse a creator first",
            details={"missing_creator_ids": missing},
        )
    return wanted


def flush_unique(session: Session, conflict: Conflict) -> None:
    """Flush; a unique constraint broken by a concurrent request's committed row (the checks
    before read the state without it) is that conflict, not a 500. The request's transaction
    is rolled back by the edge, so nothing of it is written."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict from exc


def _name_free(session: Session, workspace_id: int, name: str, but: int | None = None) -> None:
    # Checked before the insert for a clear message; the unique constraint still decides a
    # race between two requests (the loser's commit fails and nothing of it is written).
    query = select(CreatorList.id).where(
        CreatorList.workspace_id == workspace_id, CreatorList.name == name
    )
    if but is not None:
        query = query.where(CreatorList.id != but)
    if session.scalar(query) is not None:
        raise ListNameTaken(f"this workspace already has a list named {name!r}")


def _counts(session: Session, list_ids: Sequence[int]) -> dict[int, int]:
    if not list_ids:
        return {}
    rows = session.execute(
        select(CreatorListItem.list_id, func.count())
        .where(CreatorListItem.list_id.in_(list_ids))
        .group_by(CreatorListItem.list_id)
    )
    return {list_id: count for list_id, count in rows}


def _read(row: CreatorList, count: int) -> CreatorListRead:
    return CreatorListRead(
        id=row.id,
        name=row.name,
        description=row.description,
        creators_count=count,
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def read_list(session: Session, workspace_id: int, list_id: int) -> CreatorListRead:
    row = get_list(session, workspace_id, list_id)
    return _read(row, _counts(session, [row.id]).get(row.id, 0))


def list_lists(
    session: Session, workspace_id: int, *, offset: int = 0, limit: int = 50
) -> CreatorListPage:
    """The workspace's lists, by name."""
    where = CreatorList.workspace_id == workspace_id
    total = session.scalar(select(func.count()).select_from(CreatorList).where(where)) or 0
    rows = list(
        session.scalars(
            select(CreatorList)
            .where(where)
            .order_by(CreatorList.name, CreatorList.id)
            .offset(offset)
            .limit(limit)
        )
    )
    counts = _counts(session, [row.id for row in rows])
    return CreatorListPage(
        items=[_read(row, counts.get(row.id, 0)) for row in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def create_list(
    session: Session, workspace_id: int, body: CreatorListCreate, *, user_id: int | None
) -> CreatorListRead:
    _name_free(session, workspace_id, body.name)
    row = CreatorList(
        workspace_id=workspace_id,
        name=body.name,
        description=body.description,
        created_by_user_id=user_id,
    )
    session.add(row)
    flush_unique(session, ListNameTaken(f"this workspace already has a list named {body.name!r}"))
    return _read(row, 0)


def update_list(
    session: Session, workspace_id: int, list_id: int, body: CreatorListUpdate
) -> CreatorListRead:
    row = get_list(session, workspace_id, list_id)
    if body.name is not None and body.name != row.name:
        _name_free(session, workspace_id, body.name, but=row.id)
        row.name = body.name
    if body.description is not None:
        row.description = body.description
    row.updated_at = utcnow()
    flush_unique(session, ListNameTaken(f"this workspace already has a list named {row.name!r}"))
    return read_list(session, workspace_id, list_id)


def delete_list(session: Session, workspace_id: int, list_id: int) -> None:
    row = get_list(session, workspace_id, list_id)
    # Core DELETE of the items first: the ORM would load every item to delete it one by one.
    session.execute(delete(CreatorListItem).where(CreatorListItem.list_id == row.id))
    session.delete(row)
    session.flush()


def add_creators(
    session: Session, workspace_id: int, list_id: int, body: ListItemsAdd, *, user_id: int | None
) -> ListItemsAdded:
    """Add creators to the list; ones on it already keep their note. An unknown creator
    refuses the whole request (404 naming it) and adds none."""
    row = get_list(session, workspace_id, list_id)
    wanted = existing_creators(session, body.creator_ids)
    present = set(
        session.scalars(
            select(CreatorListItem.creator_id).where(
                CreatorListItem.list_id == row.id, CreatorListItem.creator_id.in_(wanted)
            )
        )
    )
    added = [creator_id for creator_id in wanted if creator_id not in present]
    session.add_all(
        CreatorListItem(
            list_id=row.id, creator_id=creator_id, note=body.note, added_by_user_id=user_id
        )
        for creator_id in added
    )
    row.updated_at = utcnow()
    flush_unique(session, Conflict("another request changed this list meanwhile; try again"))
    return ListItemsAdded(added=added, already_listed=[c for c in wanted if c in present])


def _item(session: Session, list_id: int, creator_id: int) -> CreatorListItem:
    found = session.scalar(
        select(CreatorListItem).where(
            CreatorListItem.list_id == list_id, CreatorListItem.creator_id == creator_id
        )
    )
    if found is None:
        raise NotFound(f"creator {creator_id} is not on list {list_id}")
    return found


def update_item(
    session: Session, workspace_id: int, list_id: int, creator_id: int, note: str
) -> ListItemRead:
    row = get_list(session, workspace_id, list_id)
    item = _item(session, row.id, creator_id)
    item.note = note
    row.updated_at = utcnow()
    session.flush()
    return _item_read(session, workspace_id, item)


def remove_creator(session: Session, workspace_id: int, list_id: int, creator_id: int) -> None:
    row = get_list(session, workspace_id, list_id)
    session.delete(_item(session, row.id, creator_id))
    row.updated_at = utcnow()
    session.flush()


def _item_read(session: Session, workspace_id: int, item: CreatorListItem) -> ListItemRead:
    creator = service.get_creator(session, item.creator_id)
    return ListItemRead(
        creator=service.preview(session, creator),
        access=service.access_of(session, workspace_id, creator.id),
        note=item.note,
        added_at=item.added_at,
        added_by_user_id=item.added_by_user_id,
    )


def list_items(
    session: Session, workspace_id: int, list_id: int, *, offset: int = 0, limit: int = 50
) -> ListItemPage:
    """The creators on the list, most recently added first, with what the workspace may see."""
    row = get_list(session, workspace_id, list_id)
    where = CreatorListItem.list_id == row.id
    total = session.scalar(select(func.count()).select_from(CreatorListItem).where(where)) or 0
    items = list(
        session.scalars(
            select(CreatorListItem)
            .where(where)
            .order_by(CreatorListItem.added_at.desc(), CreatorListItem.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )
    return ListItemPage(
        items=[_item_read(session, workspace_id, item) for item in items],
        total=total,
        offset=offset,
        limit=limit,
    )


def creator_ids(session: Session, workspace_id: int, list_id: int) -> list[int]:
    """Every creator on the list, in the order they were added (the export's order)."""
    row = get_list(session, workspace_id, list_id)
    return list(
        session.scalars(
            select(CreatorListItem.creator_id)
            .where(CreatorListItem.list_id == row.id)
            .order_by(CreatorListItem.added_at, CreatorListItem.id)
        )
    )


def notes(session: Session, list_id: int) -> dict[int, str]:
    """creator id -> the list's note on it (for the export)."""
    rows = session.execute(
        select(CreatorListItem.creator_id, CreatorListItem.note).where(
            CreatorListItem.list_id == list_id
        )
    )
    return {creator_id: note for creator_id, note in rows}
