"""Inbox automation routes: workflows CRUD, dry runs and recent matches (thin; logic in
`inbox.workflows.service`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status

from socialpulse.errors import error_responses
from socialpulse.inbox.workflows import service as workflows
from socialpulse.inbox.workflows.schemas import (
    DryRunResult,
    WorkflowCreate,
    WorkflowDefinition,
    WorkflowMatchRead,
    WorkflowRead,
    WorkflowUpdate,
)
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.workspaces.deps import CurrentSubject, DbSession

router = api_router(prefix="/api/v1", tags=["workflows"])

_DENIED = error_responses(403, descriptions={403: "Needs the editor role"})
_NOT_FOUND = error_responses(404, descriptions={404: "No such workflow in this workspace"})


@router.get("/inbox/workflows", response_model=list[WorkflowRead])
def list_workflows(session: DbSession, subject: CurrentSubject) -> object:
    """Every workflow of the workspace, in the order they run (priority, then id)."""
    return workflows.list_workflows(session, subject)


@router.post(
    "/inbox/workflows",
    response_model=WorkflowRead,
    status_code=status.HTTP_201_CREATED,
    responses=_DENIED,
)
def create_workflow(body: WorkflowCreate, session: DbSession, subject: CurrentSubject) -> object:
    return workflows.create_workflow(session, subject, body)


@router.post(
    "/inbox/workflows/dry-run",
    response_model=list[DryRunResult],
    responses=_DENIED,
)
def dry_run_definition(
    body: WorkflowDefinition,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=workflows.DRY_RUN_MAX)] = 100,
) -> object:
    """Preview an unsaved workflow against the latest interactions; nothing is changed.
    Needs the editor role, like saving."""
    return workflows.dry_run(session, subject, body, limit)


@router.get("/inbox/workflows/{workflow_id}", response_model=WorkflowRead, responses=_NOT_FOUND)
def read_workflow(workflow_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return workflows.get_workflow(session, subject, workflow_id)


@router.patch(
    "/inbox/workflows/{workflow_id}",
    response_model=WorkflowRead,
    responses={**_DENIED, **_NOT_FOUND},
)
def update_workflow(
    workflow_id: Id, body: WorkflowUpdate, session: DbSession, subject: CurrentSubject
) -> object:
    """Change any field: pause/resume with `status`, reorder with `priority`."""
    return workflows.update_workflow(session, subject, workflow_id, body)


@router.delete(
    "/inbox/workflows/{workflow_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_DENIED, **_NOT_FOUND},
)
def delete_workflow(workflow_id: Id, session: DbSession, subject: CurrentSubject) -> None:
    workflows.delete_workflow(session, subject, workflow_id)


@router.post(
    "/inbox/workflows/{workflow_id}/dry-run",
    response_model=list[DryRunResult],
    responses={**_DENIED, **_NOT_FOUND},
)
def dry_run_saved(
    workflow_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=workflows.DRY_RUN_MAX)] = 100,
) -> object:
    """Preview a saved workflow (`already_applied` marks interactions it has acted on).
    Needs the editor role."""
    return workflows.dry_run_saved(session, subject, workflow_id, limit)


@router.get(
    "/inbox/workflows/{workflow_id}/matches",
    response_model=list[WorkflowMatchRead],
    responses=_NOT_FOUND,
)
def list_matches(
    workflow_id: Id,
    session: DbSession,
    subject: CurrentSubject,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> object:
    """The workflow's most recent matches, with the conditions that matched in words."""
    return workflows.recent_matches(session, subject, workflow_id, limit)
