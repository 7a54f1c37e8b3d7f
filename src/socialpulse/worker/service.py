"""What a workspace sees of its background jobs: the list, one job, and the overview chart.

The API and the dashboard both read jobs through here, so they cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from socialpulse.db import utcnow
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

CHART_DAYS = 14


def list_jobs(
    session: Session,
    subject: Subject,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Job]:
    """The workspace's jobs, newest first (keyset pagination: ids below ``before_id``)."""
    query = scoped(select(Job), subject)
    if status is not None:
        query = query.where(Job.status == status)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if before_id is not None:
        query = query.where(Job.id < before_id)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def get_job(session: Session, subject: Subject, job_id: int) -> Job:
    return get_scoped(session, Job, job_id, subject)


def count_by_status(session: Session, subject: Subject) -> dict[JobStatus, int]:
    """Jobs per status, every status present (0 when none)."""
    found: dict[JobStatus, int] = {
        status: count
        for status, count in session.execute(
            scoped(select(Job.status, func.count()), subject).group_by(Job.status)
        ).all()
    }
    return {status: found.get(status, 0) for status in JobStatus}


@dataclass(frozen=True)
class DailyCount:
    day: dt.date
    jobs: int


def jobs_per_day(
    session: Session, subject: Subject, days: int = CHART_DAYS, now: dt.datetime | None = None
) -> list[DailyCount]:
    """Jobs created on each of the last ``days`` days, today included, oldest first.

    Days are the workspace's local days, as in analytics: a job created at 23:30 in New York
    counts on that day there, not on the next UTC day."""
    zone = ZoneInfo(workspace_service.get_workspace(session, subject).timezone or "UTC")
    today = (now or utcnow()).astimezone(zone).date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
    per_day = {first + dt.timedelta(days=i): 0 for i in range(days)}
    created = session.scalars(
        scoped(select(Job.created_at), subject).where(Job.created_at >= since)
    )
    for created_at in created:
        day = created_at.astimezone(zone).date()
        if day in per_day:
            per_day[day] += 1
    return [DailyCount(day, count) for day, count in per_day.items()]
