"""A creator report build our budget deferred resumes as soon as the budget is raised, not at
the platform's next quota day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from creator_builds import creator, request, run_due
from factories import WorkspaceFixture
from socialpulse.accounts import budget
from socialpulse.accounts import service as accounts_service
from socialpulse.creators.models import CreatorStatus
from socialpulse.db import Database, utcnow
from socialpulse.worker.models import Job, JobStatus

pytestmark = pytest.mark.usefixtures("manual_jobs")


def test_raising_the_budget_resumes_a_deferred_build_at_once(
    db: Database, ws: WorkspaceFixture, small_builds: Any
) -> None:
    with db.session() as session:
        budget.set_budget(session, ws.workspace_id, "simulated", 10, 0.8)
    creator_id = request(db, ws, "dave")
    run_due(db)
    deferred = creator(db, creator_id)
    assert deferred.status is CreatorStatus.building
    with db.session(readonly=True) as session:
        job = session.get(Job, deferred.build_job_id)
        assert job is not None and job.run_after > utcnow() + dt.timedelta(minutes=1)

    with db.session() as session:
        change = accounts_service.change_budget(
            session, ws.subject, "simulated", daily_units=100_000, safety_margin=0.8
        )
    assert change.released == 1
    # Only what is due now runs: the build's job no longer waits for the next quota day.
    run_due(db, now_due=False)
    assert creator(db, creator_id).status is CreatorStatus.ready
    with db.session(readonly=True) as session:
        job = session.get(Job, deferred.build_job_id)
        assert job is not None and job.status is JobStatus.completed
