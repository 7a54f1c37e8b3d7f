"""Shared API input types: ids, bounded numbers, time-zone-aware datetimes, and the check that
keeps text the databases cannot store out of every request.

Malformed input is the caller's mistake, so it must be a 422 naming the field, never a 500 from
the database driver: an id the column cannot hold, a datetime without a zone compared with
stored aware ones, a lone surrogate that cannot be encoded as UTF-8, a NUL PostgreSQL refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Request
from pydantic import AwareDatetime, Field

from socialpulse.errors import InvalidInput

# Ids (and other plain `Integer` columns) are INTEGER on PostgreSQL: 4 bytes, signed. A larger
# value is not a row that could exist, and the driver would raise "integer out of range".
DB_INT_MAX = 2**31 - 1
# BIGINT columns (counts such as followers) and anything compared with them.
DB_BIGINT_MAX = 2**63 - 1

Id = Annotated[int, Field(ge=1, le=DB_INT_MAX, examples=[1])]
"""A row id, in a path, a query or a body: 1 to 2,147,483,647 (larger ones are a 422)."""

Count = Annotated[int, Field(ge=0, le=DB_BIGINT_MAX)]
"""A non-negative count compared with stored counts (followers, views)."""

UtcDatetime = Annotated[
    AwareDatetime,
    Field(
        description="ISO 8601 with a UTC offset, e.g. 2026-01-31T09:00:00Z or "
        "2026-01-31T10:00:00+01:00; without one it is a 422 (its zone would be a guess)."
    ),
]
"""A datetime from a caller: must carry its offset, like every datetime socialpulse stores."""

INPUT_POLICY = (
    "Datetimes in requests must carry a UTC offset (`2026-01-31T09:00:00Z`); a datetime "
    "without one is rejected with 422 because its time zone would be a guess. Ids are "
    f"1 to {DB_INT_MAX:,}. Text must be valid Unicode without NUL characters (no lone "
    "surrogates such as `\\ud800`): anything else is a 422."
)


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None: a NUL (PostgreSQL refuses it in text) or a
    lone surrogate (not encodable as UTF-8, so no database or JSON encoder accepts it)."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (e.g. \\ud800), which is not valid Unicode"
    return None


def _problems(
    value: Any, loc: tuple[str | int, ...]
) -> Iterable[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield loc, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(key) if isinstance(key, str) else None
            if problem is not None:
                yield (*loc, key), f"key {problem}"
            yield from _problems(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, (*loc, index))


def _safe(loc_part: str | int) -> str | int:
    if isinstance(loc_part, str):
        return loc_part.encode("utf-8", "backslashreplace").decode()
    return loc_part


async def reject_unstorable_text(request: Request) -> None:
    """A dependency of every API route: 422 when a path or query parameter or any string in a
    JSON body holds text no database can store, before the route or its validation runs.

    One check for every field of every route (new ones included) instead of a constrained
    type each field would have to remember; the error names the first offending field."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    for name, value in request.path_params.items():
        found.extend(_problems(value, ("path", name)))
    for name, value in request.query_params.multi_items():
        found.extend(_problems(value, ("query", name)))
    if not found and _is_json(request):
        body = await request.body()
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None  # FastAPI already answered malformed JSON before this runs
            found.extend(_problems(parsed, ("body",)))
    if found:
        details = [
            {"loc": [_safe(part) for part in loc], "msg": msg, "type": "unstorable_text"}
            for loc, msg in found
        ]
        where = ".".join(str(part) for part in details[0]["loc"])
        raise InvalidInput(f"invalid request: {where}: {found[0][1]}", details=details)


def _is_json(request: Request) -> bool:
    # FastAPI reads a body without a content type as JSON too.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in ("", "application/json") or content_type.endswith("+json")


__all__ = [
    "INPUT_POLICY",
    "DB_BIGINT_MAX",
    "DB_INT_MAX",
    "Count",
    "Id",
    "UtcDatetime",
    "reject_unstorable_text",
    "text_problem",
]
