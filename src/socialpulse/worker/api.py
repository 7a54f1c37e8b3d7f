from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from socialpulse.deps import CurrentSubject, DbSession
from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.worker.models import Job, JobStatus
from socialpulse.worker.schemas import JobRead
from socialpulse.workspaces.tenancy import get_scoped, scoped

router = APIRouter(prefix="/api/v1", tags=["jobs"], responses=error_responses(404))


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
    query = scoped(select(Job), subject)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if before_id is not None:
        query = query.where(Job.id < before_id)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


@router.get("/jobs/{job_id}", response_model=JobRead)
def read_job(job_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return get_scoped(session, Job, job_id, subject)
