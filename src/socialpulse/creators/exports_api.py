"""Exports: a saved list, or every creator the workspace has unlocked, as CSV or JSON.

Charged ``bulk_export`` (one free a month) through the credit gate. A locked creator in a list
exports its preview fields only."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from socialpulse.creators import exports
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.workspaces.deps import CurrentSubject, DbSession

router = APIRouter(prefix="/api/v1", tags=["exports"], responses=error_responses(403, 404))

_DOWNLOAD: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, "application/json": {}}}}


def _download(export: exports.Export, fmt: Literal["csv", "json"]) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{export.filename_stem}.{fmt}"'}
    if fmt == "json":
        return Response(exports.to_json(export), media_type="application/json", headers=headers)
    return Response(exports.to_csv(export), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/lists/{list_id}/export.{fmt}", responses=_DOWNLOAD)
def export_list(
    list_id: Id, fmt: Literal["csv", "json"], session: DbSession, subject: CurrentSubject
) -> Response:
    """The list's creators with their notes: preview fields for every creator, the report's
    fields for those the workspace has unlocked."""
    export = exports.list_export(session, subject.workspace_id, list_id)
    return _download(export, fmt)


@router.get("/discovery/unlocked-profiles/export.{fmt}", responses=_DOWNLOAD)
def export_unlocked(
    fmt: Literal["csv", "json"], session: DbSession, subject: CurrentSubject
) -> Response:
    """Every creator the workspace holds unexpired access to, with the access's dates."""
    export = exports.unlocked_export(session, subject.workspace_id)
    return _download(export, fmt)
