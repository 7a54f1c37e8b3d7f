""" "Fetch now" never queues a second fetch of an account while one is queued or running, and
every page reads an account's progress and "last fetched" from the same functions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from factories import make_account, make_workspace
from socialpulse.accounts import service
from socialpulse.accounts.models import AccountStatus, FetchRun, FetchStatus
from socialpulse.db import Database
from socialpulse.worker.models import Job, JobStatus


def _runs(session: object, account_id: int) -> int:
    return session.scalar(  # type: ignore[attr-defined,no-any-return]
        select(func.count()).select_from(FetchRun).where(FetchRun.account_id == account_id)
    )


def test_fetch_now_follows_the_queued_or_running_fetch_instead_of_queueing_another(
    db: Database,
) -> None:
    ws = make_workspace(db, "fetch-once")
    with db.session() as session:
        account = make_account(session, ws.workspace_id, handle="garden_lab")
        first = service.request_fetch(session, ws.subject, account.id)
        again = service.request_fetch(session, ws.subject, account.id)
        assert again.id == first.id
        first.status = FetchStatus.running  # a worker took it
        session.flush()
        assert service.request_fetch(session, ws.subject, account.id).id == first.id
        assert _runs(session, account.id) == 1
        jobs = session.scalar(
            select(func.count()).select_from(Job).where(Job.kind == "accounts.fetch_account")
        )
        assert jobs == 1
        # Done, as the worker finishes it: the next click fetches again.
        first.status = FetchStatus.completed
        job = session.get(Job, first.job_id)
        assert job is not None
        job.status, job.dedupe_key = JobStatus.completed, None
        session.flush()
        later = service.request_fetch(session, ws.subject, account.id)
        assert later.id != first.id
        assert _runs(session, account.id) == 2


def test_fetch_progress_walks_queued_running_done(db: Database) -> None:
    ws = make_workspace(db, "fetch-steps")
    with db.session() as session:
        account = make_account(session, ws.workspace_id, handle="garden_lab")
        assert service.fetch_progress(session, ws.subject, account.id).step == 0
        run = service.request_fetch(session, ws.subject, account.id)
        queued = service.fetch_progress(session, ws.subject, account.id)
        assert (queued.run_id, queued.step, queued.active) == (run.id, 1, True)
        run.status = FetchStatus.running
        session.flush()
        running = service.fetch_progress(session, ws.subject, account.id)
        assert (running.step, running.active) == (2, True)
        run.status, run.posts_seen, run.posts_new = FetchStatus.completed, 12, 3
        account.last_fetched_at = dt.datetime(2026, 12, 3, 9, 41, tzinfo=dt.UTC)
        session.flush()
        done = service.fetch_progress(session, ws.subject, account.id)
        assert (done.step, done.active) == (3, False)
        assert done.label == "Done: 12 posts read, 3 new"
        assert done.last_fetched == "2026-12-03 09:41 UTC" == service.last_fetched(account)


def test_accounts_needing_attention_are_reconnects_and_failed_latest_fetches(
    db: Database,
) -> None:
    ws = make_workspace(db, "attention")
    other = make_workspace(db, "attention-other")
    with db.session() as session:
        fine = make_account(session, ws.workspace_id, handle="fine")
        failing = make_account(session, ws.workspace_id, handle="failing")
        recovered = make_account(session, ws.workspace_id, handle="recovered")
        make_account(
            session,
            ws.workspace_id,
            handle="locked",
            status=AccountStatus.needs_reconnect,
            status_message="token expired",
        )
        for account, statuses in (
            (fine, [FetchStatus.completed]),
            (failing, [FetchStatus.completed, FetchStatus.failed]),
            (recovered, [FetchStatus.failed, FetchStatus.completed]),
        ):
            for status in statuses:
                session.add(
                    FetchRun(
                        workspace_id=ws.workspace_id,
                        account_id=account.id,
                        status=status,
                        error="platform said no" if status == FetchStatus.failed else None,
                    )
                )
        session.flush()
        found = service.accounts_needing_attention(session, ws.subject)
        by_handle = {account.handle: run for account, run in found}
        assert set(by_handle) == {"failing", "locked"}
        failed_run = by_handle["failing"]
        assert failed_run is not None and failed_run.error == "platform said no"
        assert by_handle["locked"] is None
        assert service.accounts_needing_attention(session, other.subject) == []


def test_a_run_whose_job_gave_up_does_not_block_fetch_now(db: Database) -> None:
    ws = make_workspace(db, "fetch-stale")
    with db.session() as session:
        account = make_account(session, ws.workspace_id, handle="garden_lab")
        stale = service.request_fetch(session, ws.subject, account.id)
        stale.status = FetchStatus.running
        job = session.get(Job, stale.job_id)
        assert job is not None
        job.status, job.dedupe_key = JobStatus.failed, None  # the worker's lease ran out
        session.flush()
        assert service.fetch_progress(session, ws.subject, account.id).active is False
        assert service.request_fetch(session, ws.subject, account.id).id != stale.id
