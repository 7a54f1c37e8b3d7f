"""CSV import of posts: every row checked, a row-by-row report, and all or nothing.

Columns (a header row names them, in any order; ``text``, ``time`` and ``accounts`` are
required):

* ``text``: the post's text;
* ``time``: ISO 8601, ``2026-03-08 09:00`` (a wall-clock time in ``zone``) or with an offset;
* ``zone``: an IANA zone (``Europe/Berlin``); empty: the workspace's;
* ``accounts``: handles (``@ourbrand``, or ``bluesky:ourbrand`` when a handle is on several
  platforms) or account ids, separated by ``;``;
* ``media_url``: a file to attach, downloaded through the egress policy (timeout and size
  limit) and stored like an upload;
* ``recurrence``: a cron pattern (``0 14 * * 1-5``) or an interval (``every 2h``, ``1d``);
* ``title``, ``visibility``.

Each row goes through the same checks as ``POST /api/v1/publishing/posts`` (zone, time not in
the past, pattern, accounts that can publish, each platform's rules), inside a savepoint. Any
problem in any row rolls everything back: nothing is half-imported, and the report lists every
problem with its row (the first row after the header is row 1), column and message. A dry run
checks and reports only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.config import get_settings
from socialpulse.errors import AppError, InvalidInput
from socialpulse.media import service as media_service
from socialpulse.publishing import service
from socialpulse.publishing.recurrence import RecurrenceError, parse_interval
from socialpulse.publishing.schemas import (
    BulkIssue,
    BulkReport,
    MediaIn,
    PostCreate,
    RecurrenceIn,
    TargetIn,
)
from socialpulse.workspaces.tenancy import Subject

MAX_BYTES = 10 * 1024 * 1024
REQUIRED = ("text", "time", "accounts")
OPTIONAL = ("zone", "media_url", "recurrence", "title", "visibility")
MAX_ERRORS = 1000  # reported; the count says how many more

Progress = Callable[[int, int], None]
Fetch = Callable[[str], bytes]

# Where a problem found by the post checks is shown: its first location part → the column.
_COLUMN_OF = {
    "scheduled_at": "time",
    "zone": "zone",
    "recurrence": "recurrence",
    "media": "media_url",
    "visibility": "visibility",
    "title": "title",
    "text": "text",
    "hashtags": "text",
}


def parse_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV with a header, or a 422 saying what is wrong with the file."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it as 'CSV UTF-8' and upload it again"
        ) from exc
    if "\x00" in text:
        raise InvalidInput("the file holds NUL characters: it is not a CSV text file")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
        if not header or not any(header):
            raise InvalidInput(
                f"the file has no header row; the first line names the columns "
                f"({', '.join(REQUIRED + OPTIONAL)})"
            )
        missing = [name for name in REQUIRED if name not in header]
        unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
        if missing or unknown:
            parts = []
            if missing:
                parts.append(
                    f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
                )
            if unknown:
                parts.append(
                    f"unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
                )
            raise InvalidInput(
                f"the header is not right ({'; '.join(parts)}); the columns are "
                f"{', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}"
            )
        reader.fieldnames = header
        rows: list[dict[str, str]] = []
        limit = get_settings().publish_import_max_rows
        for record in reader:
            if None in record:
                raise InvalidInput(
                    f"row {len(rows) + 1} has more values than the header has columns"
                )
            rows.append({key: (value or "").strip() for key, value in record.items()})
            if len(rows) > limit:
                raise InvalidInput(f"the file has more than {limit} rows; split it")
    except csv.Error as exc:
        raise InvalidInput(f"the file is not valid CSV (line {reader.line_num}): {exc}") from exc
    if not rows:
        raise InvalidInput("the file has a header but no rows")
    return rows


class _Accounts:
    """The workspace's accounts by id, handle and platform:handle."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.by_id: dict[int, TrackedAccount] = {}
        self.by_handle: dict[str, list[TrackedAccount]] = {}
        for account in session.scalars(
            select(TrackedAccount).where(TrackedAccount.workspace_id == workspace_id)
        ):
            self.by_id[account.id] = account
            handle = account.handle.lower().lstrip("@")
            self.by_handle.setdefault(handle, []).append(account)
            self.by_handle.setdefault(f"{account.platform}:{handle}", []).append(account)

    def resolve(self, token: str) -> int | str:
        """The account id of ``token``, or why it names none."""
        name = token.strip().lower()
        if name.isdigit():
            return int(name) if int(name) in self.by_id else f"no account {name} here"
        key = name.replace(":@", ":").lstrip("@")
        found = self.by_handle.get(key, [])
        if not found:
            return f"no account {token.strip()!r} in this workspace"
        if len(found) > 1:
            platforms = ", ".join(sorted(f"{a.platform}:{a.handle}" for a in found))
            return f"{token.strip()!r} is on several platforms; write one of {platforms}"
        return found[0].id


def _column(loc: list[Any]) -> str | None:
    parts = [part for part in loc if part != "body"]
    if not parts:
        return None
    if parts[0] == "targets":
        field = str(parts[2]) if len(parts) > 2 else ""
        return {"text": "text", "title": "title", "media": "media_url"}.get(field, "accounts")
    return _COLUMN_OF.get(str(parts[0]), str(parts[0]))


def _recurrence(value: str) -> RecurrenceIn | None:
    if not value:
        return None
    try:
        parse_interval(value)
    except RecurrenceError:
        return RecurrenceIn(cron=value)
    return RecurrenceIn(every=value)


def import_posts(
    session: Session,
    subject: Subject,
    data: bytes,
    *,
    dry_run: bool,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    fetch: Fetch | None = None,
) -> BulkReport:
    """Check every row and, unless ``dry_run`` or a row fails, create every post. With any
    failure nothing is written and the report (``valid`` false) lists each problem."""
    rows = parse_csv(data)
    accounts = _Accounts(session, subject.workspace_id)
    fetch = fetch or (lambda url: media_service.fetch_upload(url))
    media_ids: dict[str, int | str] = {}
    issues: list[BulkIssue] = []
    created: list[int] = []
    outer = session.begin_nested()
    try:
        for number, row in enumerate(rows, start=1):
            issues.extend(
                _import_row(session, subject, number, row, accounts, media_ids, fetch, now, created)
            )
            if progress is not None:
                progress(number, len(rows))
    finally:
        if dry_run or issues:
            outer.rollback()
        else:
            outer.commit()
    valid = not issues
    report = BulkReport(
        dry_run=dry_run,
        rows=len(rows),
        valid=valid,
        created=0 if dry_run or not valid else len(created),
        post_ids=[] if dry_run or not valid else created,
        errors=issues[:MAX_ERRORS],
    )
    if not valid and not dry_run:
        raise InvalidInput(
            f"nothing was imported: {len(issues)} problem{'s' if len(issues) != 1 else ''} in "
            f"{len({i.row for i in issues})} of {len(rows)} rows (see details)",
            details=report.model_dump(mode="json"),
        )
    return report


def _import_row(
    session: Session,
    subject: Subject,
    number: int,
    row: dict[str, str],
    accounts: _Accounts,
    media_ids: dict[str, int | str],
    fetch: Fetch,
    now: dt.datetime | None,
    created: list[int],
) -> list[BulkIssue]:
    issues: list[BulkIssue] = []

    def problem(column: str | None, message: str) -> None:
        issues.append(BulkIssue(row=number, column=column, message=message))

    targets: list[TargetIn] = []
    tokens = [token for token in row.get("accounts", "").split(";") if token.strip()]
    if not tokens:
        problem("accounts", "name at least one account (handles or ids, separated by ;)")
    for token in tokens:
        resolved = accounts.resolve(token)
        if isinstance(resolved, str):
            problem("accounts", resolved)
        else:
            targets.append(TargetIn(account_id=resolved))
    when: dt.datetime | None = None
    if not row.get("time"):
        problem("time", "a time is needed, e.g. 2026-03-08 09:00")
    else:
        try:
            when = dt.datetime.fromisoformat(row["time"])
        except ValueError:
            problem("time", f"{row['time']!r} is not a time; write it like 2026-03-08 09:00")
    media: list[MediaIn] = []
    url = row.get("media_url", "")
    if url:
        if url not in media_ids:
            try:
                upload = service.save_upload(session, subject, fetch(url), url.rsplit("/", 1)[-1])
                media_ids[url] = upload.id
            except media_service.UploadRefused as exc:
                media_ids[url] = str(exc)
            except AppError as exc:
                media_ids[url] = exc.message
        found = media_ids[url]
        if isinstance(found, str):
            problem("media_url", found)
        else:
            media.append(MediaIn(media_id=found))
    try:
        body = PostCreate(
            text=row.get("text", ""),
            zone=row.get("zone") or None,
            scheduled_at=when,
            recurrence=_recurrence(row.get("recurrence", "")),
            title=row.get("title") or None,
            visibility=row.get("visibility") or None,
            targets=targets,
            media=media,
        )
    except ValidationError as exc:
        for error in exc.errors():
            problem(_column(list(error["loc"])), str(error["msg"]))
        return issues
    if issues:
        return issues
    savepoint = session.begin_nested()
    try:
        post = service.create_post(session, subject, body, now=now)
    except InvalidInput as exc:
        savepoint.rollback()
        details = exc.details if isinstance(exc.details, list) else []
        for item in details or [{"loc": [], "msg": exc.message}]:
            problem(_column(list(item.get("loc", []))), str(item.get("msg", exc.message)))
        return issues
    savepoint.commit()
    created.append(post.id)
    return issues
