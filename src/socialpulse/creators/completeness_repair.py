"""Completeness scan and repair: which stored creators miss a completeness criterion, and a
new build queued for each (the CLI's ``creators repair`` and the admin API).

Scanned: creators whose build ran at least once (status ready or failed). Not those waiting
for their first build (the crawl's or a search's), being built, or with no account to build.

The username filter is a user-supplied regular expression: it runs on RE2 (``google-re2``),
whose matching time is linear in the handle whatever the pattern, searched anywhere in the
handle (anchor it with ^...$). Python's ``re`` backtracks: ``(a+)+$`` against a long handle
would hold a worker for minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import re2
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.creators import service as creator_service
from socialpulse.creators.admin_schemas import (
    MAX_FILTER_LENGTH,
    CompletenessCheck,
    IncompleteCreator,
    RepairAction,
    RepairResult,
    ScanResult,
)
from socialpulse.creators.models import Creator, CreatorStatus
from socialpulse.errors import InvalidInput, NotFound

REPAIR_ORIGIN = "repair"
SCANNED_STATUSES = (CreatorStatus.ready, CreatorStatus.failed)
_BATCH = 500

# (done, total): called after each creator checked; the CLI draws its progress bar with it.
Progress = Callable[[int, int], None]


def compile_filter(pattern: str | None) -> Any:
    """The RE2 program of a username filter (None: no filter); InvalidInput (422) for a
    pattern RE2 cannot run (backreferences, lookarounds, bad syntax) or a too long one."""
    if not pattern:
        return None
    if len(pattern) > MAX_FILTER_LENGTH:
        raise InvalidInput(f"username filter is longer than {MAX_FILTER_LENGTH} characters")
    options = re2.Options()
    options.log_errors = False  # answered to the caller, not worth a line on stderr
    options.case_sensitive = False  # handles are stored lower case; so is "Alice"
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else str(exc)
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise InvalidInput(
            f"username filter {pattern!r} cannot be used: {detail} (patterns run on RE2, a "
            "linear-time engine: no backreferences or lookarounds)"
        ) from None


def _candidates(session: Session, program: Any) -> list[tuple[int, str]]:
    """(id, handle) of the scanned creators the filter accepts, in id order."""
    found: list[tuple[int, str]] = []
    last_id = 0
    while True:
        rows = session.execute(
            select(Creator.id, Creator.handle)
            .where(Creator.status.in_(SCANNED_STATUSES), Creator.id > last_id)
            .order_by(Creator.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return found
        last_id = rows[-1][0]
        found += [(i, h) for i, h in rows if program is None or program.search(h) is not None]


def _incomplete(
    session: Session,
    candidates: list[tuple[int, str]],
    limit: int | None,
    progress: Progress | None,
) -> Iterator[tuple[Creator, list[str]]]:
    """Incomplete creators with their missing criteria, at most ``limit`` of them; counts
    every creator checked through ``progress``."""
    yielded = 0
    for done, (creator_id, _handle) in enumerate(candidates, start=1):
        if limit is not None and yielded >= limit:
            break
        completeness = creator_service.check_completeness(session, creator_id)
        if progress is not None:
            progress(done, len(candidates))
        if completeness.complete:
            continue
        creator = session.get(Creator, creator_id)
        assert creator is not None
        yielded += 1
        yield creator, list(completeness.missing)


def scan(
    session: Session,
    *,
    limit: int | None = None,
    username_filter: str | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    candidates = _candidates(session, compile_filter(username_filter))
    found = [
        IncompleteCreator(
            id=c.id, platform=c.platform, handle=c.handle, status=c.status, missing=missing
        )
        for c, missing in _incomplete(session, candidates, limit, progress)
    ]
    return ScanResult(
        scanned=len(candidates),
        incomplete_count=len(found),
        incomplete=found,
        username_filter=username_filter,
    )


def repair(
    session: Session,
    *,
    dry_run: bool,
    limit: int | None = None,
    username_filter: str | None = None,
    progress: Progress | None = None,
) -> RepairResult:
    """Queue a build for each incomplete creator (at most ``limit``); ``dry_run`` queues
    nothing and says what it would queue. A creator whose build is already queued or running
    gets no second one."""
    candidates = _candidates(session, compile_filter(username_filter))
    actions: list[RepairAction] = []
    for creator, missing in _incomplete(session, candidates, limit, progress):
        action, job_id = "would_queue", None
        if not dry_run:
            job = creator_service.queue_build(session, creator, origin=REPAIR_ORIGIN)
            action, job_id = ("queued", job.id) if job is not None else ("already_queued", None)
        actions.append(
            RepairAction(
                id=creator.id,
                platform=creator.platform,
                handle=creator.handle,
                missing=missing,
                action=action,
                job_id=job_id,
            )
        )
    return RepairResult(
        dry_run=dry_run,
        scanned=len(candidates),
        incomplete_count=len(actions),
        queued=sum(a.action == "queued" for a in actions),
        already_queued=sum(a.action == "already_queued" for a in actions),
        actions=actions,
    )


def stored_creator(session: Session, username: str, platform: str | None) -> Creator:
    """The stored creator a handle or profile URL names; NotFound when none is stored."""
    platform, handle = creator_service.parse_target(username, platform)
    creator = session.scalar(
        select(Creator).where(Creator.platform == platform, Creator.handle == handle)
    )
    if creator is None:
        raise NotFound(f"no stored creator {handle!r} on {platform}")
    return creator


def validate(session: Session, username: str, platform: str | None) -> CompletenessCheck:
    """One stored creator's completeness, criterion by criterion."""
    creator = stored_creator(session, username, platform)
    completeness = creator_service.check_completeness(session, creator.id)
    return CompletenessCheck(
        id=creator.id,
        platform=creator.platform,
        handle=creator.handle,
        status=creator.status,
        complete=completeness.complete,
        criteria=dict(completeness.criteria),
        missing=list(completeness.missing),
    )
