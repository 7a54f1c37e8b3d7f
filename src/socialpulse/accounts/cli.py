"""``socialpulse accounts``: the workspace's tracked accounts. (``accounts report`` is the
analytics domain's, mounted into this group where the CLI is assembled.)

Commands run with the operator's (owner) authority over the named workspace, like
``socialpulse api-key create``; they call the same services as the API.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.config import get_settings
from socialpulse.db import init_database
from socialpulse.kit.cli import WorkspaceOption, count_text, run_or_exit
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

app = typer.Typer(
    help="Tracked accounts: list them, print analytics reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _owner_subject(session: Session, slug: str) -> Subject:
    workspace = workspace_service.get_workspace_by_slug(session, slug)
    # The CLI runs with the operator's authority over the installation.
    return Subject(workspace_id=workspace.id, role=Role.owner)


@app.command("list")
def list_command(workspace: WorkspaceOption) -> None:
    """The workspace's tracked accounts."""

    def action() -> None:
        db = init_database(get_settings().effective_database_url)
        with db.session(readonly=True) as session:
            subject = _owner_subject(session, workspace)
            accounts = accounts_service.list_accounts(session, subject)
        console = Console()
        if not accounts:
            console.print(f"no tracked accounts in {workspace}")
            return
        table = Table(title=f"Tracked accounts in {workspace}")
        for column in ("id", "platform", "handle", "followers", "posts", "own", "status"):
            table.add_column(column, justify="right" if column in ("id", "followers") else "left")
        for account in accounts:
            table.add_row(
                str(account.id),
                account.platform,
                f"@{account.handle}",
                count_text(account.followers_count),
                count_text(account.posts_count),
                "yes" if account.is_own else "no",
                account.status.value + ("" if account.active else " (paused)"),
            )
        console.print(table)

    run_or_exit(action)
