from __future__ import annotations

from typing import Annotated

from fastapi import Query

from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.worker import service
from socialpulse.worker.models import JobStatus
from socialpulse.worker.schemas import JobRead
from socialpulse.workspaces.deps import CurrentSubject, DbSession

router = api_router(prefix="/api/v1", tags=["jobs"], responses=error_responses(404))


@router.get("/jobs", response_model=list[JobRead])
def list_jobs(
    session: DbSession,
    subject: CurrentSubject,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[Id | None, Query(description="Keyset pagination: ids below this")] = None,
) -> object:
    """The workspace's background jobs, newest first."""
    return service.list_jobs(
        session, subject, status=status, kind=kind, limit=limit, before_id=before_id
    )


@router.get("/jobs/{job_id}", response_model=JobRead)
def read_job(job_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.get_job(session, subject, job_id)
