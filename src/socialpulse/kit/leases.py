"""Rows claimed under a lease: compare-and-set UPDATEs over a table's status, owner and lease
expiry columns, shared by the durable job queue and the reply queue.

A worker owns a row while ``status`` is the table's running value, ``owner`` is its id and the
lease has not expired. Every change a worker makes goes through ``WHERE owner = me AND status =
running``, so a worker whose lease expired (and whose row was claimed again) changes nothing:
the UPDATE matches no row and the caller learns it lost the lease. No domain knowledge here:
which rows are due, what "done" means and what else changes are the caller's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.orm import InstrumentedAttribute, Session


@dataclass(frozen=True)
class LeaseColumns:
    """Where a table keeps its lease: the row id, status, owner and expiry columns, and the
    status value that means "claimed and running"."""

    model: type[Any]
    id: InstrumentedAttribute[Any]
    status: InstrumentedAttribute[Any]
    owner: InstrumentedAttribute[Any]
    expires: InstrumentedAttribute[Any]
    running: Any


def held(lease: LeaseColumns, row_id: int, owner: str) -> ColumnElement[bool]:
    """The row is still this owner's: claimed by it and running."""
    return and_(lease.id == row_id, lease.owner == owner, lease.status == lease.running)


def expired(lease: LeaseColumns, now: dt.datetime) -> ColumnElement[bool]:
    """Running rows whose owner's lease ran out (a dead or stuck worker)."""
    return and_(lease.status == lease.running, lease.expires < now)


def _set(session: Session, lease: LeaseColumns, where: ColumnElement[bool], values: Any) -> int:
    result = session.execute(
        update(lease.model).where(where).values(values).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim(
    session: Session,
    lease: LeaseColumns,
    where: ColumnElement[bool],
    *,
    owner: str,
    until: dt.datetime,
    **values: Any,
) -> int:
    """Take the rows that still match ``where`` (the caller's "claimable" condition, checked
    again inside the UPDATE): running, owned by ``owner`` until ``until``. Returns how many
    this call got; 0 means another worker was first."""
    columns = {lease.status.key: lease.running, lease.owner.key: owner, lease.expires.key: until}
    return _set(session, lease, where, columns | values)


def renew(
    session: Session,
    lease: LeaseColumns,
    row_id: int,
    owner: str,
    *,
    until: dt.datetime,
    **values: Any,
) -> bool:
    """Extend this owner's lease to ``until`` (with ``values``); False when it was lost."""
    return (
        _set(session, lease, held(lease, row_id, owner), {lease.expires.key: until} | values) == 1
    )


def release(session: Session, lease: LeaseColumns, row_id: int, owner: str, **values: Any) -> bool:
    """Write the outcome (``values``: the new status, owner and expiry) if this owner still holds
    the row; False when it was lost, and nothing is written."""
    return _set(session, lease, held(lease, row_id, owner), values) == 1
