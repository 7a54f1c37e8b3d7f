"""Two floors for `http_load.py`: what one authenticated one-row read costs when written the way
FastAPI's and SQLAlchemy's tutorials write it, with nothing of the product's around it (no
middleware, no logging, no rate limit, no cache).

The product's `GET /api/v1/workspace` does the same work with all of that around it: the bearer
key looked up by its prefix and its hash compared, then the caller's workspace loaded through
the ORM and validated into a response model. Side by side, the rows say how much of a cold
read's cost is the stack itself. Served by the hello baseline's process, on the product's
database (the demo's), through the product's ORM classes.

Both are the lean version of that code: the session comes from an `async def` dependency (it
connects at its first query, in the route) and the key is checked in the route, so
- `/floor/sync`, a `def` route, takes one thread hop (FastAPI's thread pool), as the product
  runs its reads (so one long report does not stall the event loop for every other request);
- `/floor/async`, the same code as an `async def` route, takes none: every query blocks the
  event loop;
- `/floor/core` is `/floor/async` without the ORM: SQLAlchemy Core statements on a pooled
  connection, rows as mappings into the same response model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import AsyncIterator
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from socialpulse.config import get_settings
from socialpulse.workspaces.models import ApiKey, Workspace


@cache
def _engine() -> Engine:
    url = get_settings().effective_database_url
    return create_engine(
        url,
        connect_args={"check_same_thread": False} if url.startswith("sqlite") else {},
        pool_size=20,
        max_overflow=20,
    )


@cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(_engine(), expire_on_commit=False)


async def database() -> AsyncIterator[Session]:
    # async: building a Session does no I/O (it connects at its first query), and a plain
    # `def` dependency would cost a thread hop on the way in and another on the way out.
    with _session_factory()() as session:
        yield session


Db = Annotated[Session, Depends(database, scope="function")]
Bearer = Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]


def checked_key(session: Session, key: str) -> ApiKey:
    parts = key.split("_", 2)
    found = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1 % len(parts)]))
    digest = hashlib.sha256(key.encode()).hexdigest()
    if found is None or not hmac.compare_digest(found.key_hash, digest) or found.revoked_at:
        raise HTTPException(401, "invalid API key")
    return found


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    timezone: str
    created_at: dt.datetime
    seat_limit: int | None


def floor_sync(session: Db, credentials: Bearer) -> Any:
    key = checked_key(session, credentials.credentials)
    return session.get(Workspace, key.workspace_id)


async def floor_async(session: Db, credentials: Bearer) -> Any:
    key = checked_key(session, credentials.credentials)
    return session.get(Workspace, key.workspace_id)


_KEYS = ApiKey.__table__
_WORKSPACES = Workspace.__table__
_WORKSPACE_COLUMNS = [_WORKSPACES.c[name] for name in WorkspaceOut.model_fields]


async def floor_core(credentials: Bearer) -> Any:
    key = credentials.credentials
    parts = key.split("_", 2)
    with _engine().connect() as connection:
        found = connection.execute(
            select(_KEYS.c.workspace_id, _KEYS.c.key_hash, _KEYS.c.revoked_at).where(
                _KEYS.c.prefix == parts[1 % len(parts)]
            )
        ).first()
        digest = hashlib.sha256(key.encode()).hexdigest()
        if found is None or not hmac.compare_digest(found.key_hash, digest) or found.revoked_at:
            raise HTTPException(401, "invalid API key")
        return (
            connection.execute(
                select(*_WORKSPACE_COLUMNS).where(_WORKSPACES.c.id == found.workspace_id)
            )
            .mappings()
            .one()
        )


def router() -> APIRouter:
    routes = APIRouter()
    routes.add_api_route("/floor/sync", floor_sync, response_model=WorkspaceOut)
    routes.add_api_route("/floor/async", floor_async, response_model=WorkspaceOut)
    routes.add_api_route("/floor/core", floor_core, response_model=WorkspaceOut)
    return routes
