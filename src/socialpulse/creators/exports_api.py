"""Exports: a saved list, or every creator the workspace has unlocked, as CSV or JSON.

Charged ``bulk_export`` (one free a month, then its price in credits) through the credit gate,
once the file is ready; an empty export charges nothing; a request retried with the same
``Idempotency-Key`` downloads again without a charge. A locked creator in a list exports its
preview fields only. Both need the editor role (they spend the team's credits)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request, Response

from socialpulse.billing.gate import Credits
from socialpulse.creators import exports
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(
    prefix="/api/v1", tags=["exports"], responses=error_responses(402, 403, 404, 409)
)
ACTION = "bulk_export"

_DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/json": {}}}
}


def _charged(
    request: Request, credits: Credits, export: exports.Export, fmt: Literal["csv", "json"]
) -> Response:
    """The download, charged once it is ready (an empty export charges nothing)."""
    if not export.rows:
        return download(export, fmt)
    with credits.spend(ACTION, reference=f"{export.source}.{fmt}") as hold:
        response = download(export, fmt)
        if not hold.replayed:
            # A GET's transaction is read-only: the charge commits in its own unit of work.
            with get_db(request).session() as writer:
                hold.settle(writer)
        return response


def download(export: exports.Export, fmt: Literal["csv", "json"]) -> Response:
    """The export as a file download (the dashboard's export forms answer the same)."""
    headers = {"Content-Disposition": f'attachment; filename="{export.filename_stem}.{fmt}"'}
    if fmt == "json":
        return Response(exports.to_json(export), media_type="application/json", headers=headers)
    return Response(exports.to_csv(export), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/lists/{list_id}/export.{fmt}", responses=_DOWNLOAD)
def export_list(
    list_id: Id,
    fmt: Literal["csv", "json"],
    request: Request,
    session: DbSession,
    subject: CurrentSubject,
    credits: Credits,
) -> Response:
    """The list's creators with their notes: preview fields for every creator, the report's
    fields for those the workspace has unlocked."""
    subject.require(Role.editor)  # spends the team's credits, like an unlock
    export = exports.list_export(session, subject.workspace_id, list_id)
    return _charged(request, credits, export, fmt)


@router.get("/discovery/unlocked-profiles/export.{fmt}", responses=_DOWNLOAD)
def export_unlocked(
    fmt: Literal["csv", "json"],
    request: Request,
    session: DbSession,
    subject: CurrentSubject,
    credits: Credits,
) -> Response:
    """Every creator the workspace holds unexpired access to, with the access's dates."""
    subject.require(Role.editor)  # spends the team's credits, like an unlock
    export = exports.unlocked_export(session, subject.workspace_id)
    return _charged(request, credits, export, fmt)
