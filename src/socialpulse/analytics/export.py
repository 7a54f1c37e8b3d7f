"""An account's posts with every metric snapshot as CSV, streamed in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import Post, PostMetricSnapshot, TrackedAccount
from socialpulse.accounts.service import get_account
from socialpulse.analytics.growth import post_snapshot_columns
from socialpulse.analytics.service import METRICS
from socialpulse.workspaces.tenancy import Subject, scoped

CSV_COLUMNS = (
    "post_id",
    "external_id",
    "platform",
    "account_handle",
    "url",
    "posted_at",
    "media_type",
    "caption",
    "hashtags",
    "day",
    *METRICS,
)
CSV_BATCH_ROWS = 500
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise a text cell a spreadsheet would run as a formula by prefixing a quote."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def export_posts_csv(session: Session, subject: Subject, account_id: int) -> Iterator[str]:
    """The account's posts with every metric snapshot, one CSV row per post per snapshot day,
    as chunks of CSV text (header first). The account is checked now, so a 404 comes before
    the first chunk; rows are read lazily while the chunks are consumed."""
    account = get_account(session, subject, account_id)
    return _csv_chunks(session, subject, account)


def _csv_chunks(session: Session, subject: Subject, account: TrackedAccount) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    stmt = scoped(
        select(
            Post.id,
            Post.external_id,
            Post.url,
            Post.posted_at,
            Post.media_type,
            Post.caption,
            Post.hashtags,
            *post_snapshot_columns(),
        )
        .join(PostMetricSnapshot, PostMetricSnapshot.post_id == Post.id)
        .where(Post.account_id == account.id)
        .order_by(Post.posted_at, Post.id, PostMetricSnapshot.day),
        subject,
    ).execution_options(yield_per=CSV_BATCH_ROWS)
    written = 0
    for row in session.execute(stmt):
        writer.writerow(
            [
                row.id,
                csv_safe(row.external_id),
                csv_safe(account.platform),
                csv_safe(account.handle),
                csv_safe(row.url or ""),
                row.posted_at.isoformat(),
                csv_safe(row.media_type),
                csv_safe(row.caption),
                csv_safe(" ".join(f"#{tag}" for tag in row.hashtags or [])),
                row.day.isoformat(),
                *("" if getattr(row, name) is None else getattr(row, name) for name in METRICS),
            ]
        )
        written += 1
        if written % CSV_BATCH_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
