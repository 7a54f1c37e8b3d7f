"""``socialpulse publishing``: import posts from a CSV file, with progress.

Runs with the operator's (owner) authority over the named workspace and calls the same import
as ``POST /api/v1/publishing/posts/bulk``: every row checked, then all posts created or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from socialpulse.config import get_settings
from socialpulse.db import init_database
from socialpulse.errors import InvalidInput
from socialpulse.kit.cli import WorkspaceOption, run_or_exit
from socialpulse.publishing import bulk
from socialpulse.publishing.schemas import BulkIssue, BulkReport
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

app = typer.Typer(
    help="Publishing: import scheduled posts from a CSV file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_issues(console: Console, issues: list[BulkIssue]) -> None:
    table = Table(title="Problems (nothing was imported)")
    for column in ("row", "column", "message"):
        table.add_column(column)
    for issue in issues:
        table.add_row(str(issue.row), issue.column or "-", escape(issue.message))
    console.print(table)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    workspace: WorkspaceOption,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
) -> None:
    """Schedule every post of FILE (columns: text, time, zone, accounts, media_url,
    recurrence, title, visibility), or none when a row has a problem."""
    console = Console()
    data = file.read_bytes()

    def action() -> BulkReport:
        db = init_database(get_settings().effective_database_url)
        with (
            Progress(
                TextColumn("checking rows"), BarColumn(), MofNCompleteColumn(), console=console
            ) as progress,
            db.session() as session,
        ):
            task = progress.add_task("rows", total=None)
            slug = workspace_service.get_workspace_by_slug(session, workspace)
            subject = Subject(workspace_id=slug.id, role=Role.owner)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            try:
                return bulk.import_posts(session, subject, data, dry_run=dry_run, progress=advance)
            except InvalidInput as exc:
                if isinstance(exc.details, dict) and "errors" in exc.details:
                    _print_issues(console, BulkReport(**exc.details).errors)
                raise

    report = run_or_exit(action)
    if report.errors:
        _print_issues(console, report.errors)
        raise typer.Exit(2)
    verb = "would schedule" if dry_run else "scheduled"
    count = report.rows if dry_run else report.created
    console.print(f"{verb} {count} post{'s' if count != 1 else ''} in {workspace}")
