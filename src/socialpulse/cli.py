"""`socialpulse` command line. Commands are thin: they call the same services as the API."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy.engine import make_url

from socialpulse import models as _all_models  # noqa: F401  (every table before a flush)
from socialpulse.config import ConfigError, Settings, get_settings
from socialpulse.db import Database, init_database, set_open_check
from socialpulse.errors import AppError

T = TypeVar("T")

app = typer.Typer(
    help="socialpulse: self-hosted social media analytics, inbox and publishing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
api_key_app = typer.Typer(help="Manage workspace API keys.", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")
user_app = typer.Typer(help="Manage user accounts (instance operator).", no_args_is_help=True)
app.add_typer(user_app, name="user")
admin_app = typer.Typer(
    help="Instance administrators: repairs and the crawl of the whole instance.",
    no_args_is_help=True,
)
app.add_typer(admin_app, name="admin")

err = Console(stderr=True)


@app.callback()
def _start(ctx: typer.Context) -> None:
    """Runs before every command: settings checked, the jobs commands may queue known, and
    any database a command opens checked to be at this code's schema."""
    from socialpulse.startup import check_settings
    from socialpulse.worker.schedule import load_tasks

    check_settings(get_settings())
    load_tasks()
    set_open_check(_check_before_use)
    ctx.call_on_close(lambda: set_open_check(None))


def _db() -> Database:
    return init_database(get_settings().effective_database_url)


def _check_before_use(db: Database) -> None:
    """A one-line reason and exit when `db` cannot serve this code: first the secret key its
    stored credentials are encrypted with (as the app checks it first), then the schema, not
    this code's when never migrated, behind, or migrated by a newer version. Otherwise the
    command's first query would fail with a raw "no such table", or a later one half-way
    through its work."""
    from sqlalchemy.exc import DBAPIError

    from socialpulse.migrations import runner

    get_settings().resolved_secret_key()
    try:
        problem = runner.check_schema(db)
    except DBAPIError as exc:
        # psycopg's reasons run over several lines; the message stays one.
        reason = " ".join(str(exc.orig).split())
        problem = f"cannot reach the database: {type(exc.orig).__name__}: {reason}"
    if problem is not None:
        raise _fail(problem)


def _fail(message: str, code: int = 1) -> typer.Exit:
    # One line however narrow the terminal: the message can be read and pasted whole.
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _run(action: Callable[[], T]) -> T:
    """Turn expected failures into a message and a non-zero exit, never a traceback."""
    try:
        return action()
    except AppError as exc:
        raise _fail(exc.message, 2 if exc.status_code in (404, 409, 422) else 1) from None
    except ValueError as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations (safe to run repeatedly)."""
    from socialpulse.migrations import runner

    # Not `_db()`: the one command that runs on a schema behind the code.
    db = Database(get_settings().effective_database_url)
    try:
        runner.upgrade(db)
        err.print(f"database at revision {runner.current_revision(db)}")
    finally:
        db.dispose()


def _multiprocess_problem(settings: Settings, workers: int) -> str | None:
    """Why `serve --workers N` cannot run N web processes with these settings, if it cannot."""
    if workers == 1:
        return None
    on_postgres = make_url(settings.effective_database_url).get_backend_name() == "postgresql"
    if on_postgres and settings.tasks_backend == "redis":
        return None
    return (
        f"--workers {workers} needs PostgreSQL and Redis (SOCIALPULSE_DATABASE_URL="
        "postgresql+psycopg://... and SOCIALPULSE_TASKS_URL=redis://...): the embedded SQLite "
        'database and task queue are served by one process. See README, "Scaling out".'
    )


class _Terminated(Exception):
    """SIGTERM reached `serve`: raised so the worker process is stopped on the way out."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Web processes. More than one needs PostgreSQL and Redis; the task worker "
            "then runs separately (`socialpulse worker`).",
        ),
    ] = 1,
) -> None:
    """Start the web app (and, in the embedded default, its background worker process)."""
    import signal

    import uvicorn

    from socialpulse.kit.logging import configure_logging
    from socialpulse.worker.child import WorkerProcess

    settings = get_settings()
    problem = _multiprocess_problem(settings, workers)
    if problem is not None:
        raise _fail(problem, 2)
    if reload and workers > 1:
        raise _fail("--reload runs one web process; leave out --workers", 2)
    # Before any process starts, in the app's order: the key before any file is touched, then
    # the schema, on which every page and job would fail when it is behind the code.
    settings.resolved_secret_key()
    _db()
    configure_logging(settings.log_level, settings.log_json)
    child = WorkerProcess(settings.worker_threads) if settings.runs_embedded_worker else None
    # uvicorn answers SIGTERM by shutting down, then raises it again: with the default handler
    # that would end this process before the worker process is stopped.
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    terminated = False
    try:
        if child is not None:
            child.start()
        uvicorn.run(
            # The web processes never run the consumer: it is the child above, or elsewhere.
            "socialpulse.app:get_web_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            reload=reload,
            workers=workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    except _Terminated:
        terminated = True
    finally:
        # A second SIGTERM while the worker finishes its tasks ends this process at once (and,
        # through the kernel, the worker).
        signal.signal(signal.SIGTERM, previous)
        if child is not None:
            child.stop()
    if terminated:
        signal.raise_signal(signal.SIGTERM)


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 4,
    scheduler: Annotated[
        bool, typer.Option(help="Also run periodic tasks. Exactly one process should.")
    ] = False,
) -> None:
    """Consume background tasks (use with SOCIALPULSE_TASKS_URL=redis://...)."""
    from socialpulse.worker.consumer import run_worker
    from socialpulse.worker.queue import configure_tasks

    settings = get_settings()
    if settings.tasks_backend == "memory":
        raise _fail("the memory task backend runs tasks inline; there is nothing to consume")
    from socialpulse.kit.logging import configure_logging

    configure_logging(settings.log_level, settings.log_json)
    _db()
    configure_tasks(settings)
    run_worker(threads, scheduler)


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Login email.")],
    # SecretStr: a traceback or log that shows it prints '**********'.
    password: Annotated[
        SecretStr,
        typer.Option(parser=SecretStr, prompt=True, hide_input=True, confirmation_prompt=True),
    ],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a user account."""
    from socialpulse.workspaces import service

    def action() -> None:
        with _db().session() as session:
            user = service.create_user(session, email, password.get_secret_value(), name)
            typer.echo(f"created user {user.email} (id {user.id})")

    _run(action)


def _set_active(email: str, active: bool) -> None:
    from socialpulse.workspaces import service

    def action() -> None:
        with _db().session() as session:
            user = service.get_user_by_email(session, email)
            if user is None:
                raise _fail(f"no user with email {email}", 2)
            service.set_user_active(session, user, active)
            state = "active" if active else "deactivated: sessions ended, API keys refused"
            typer.echo(f"user {user.email}: {state}")

    _run(action)


@user_app.command("deactivate")
def user_deactivate(email: Annotated[str, typer.Option(help="Login email.")]) -> None:
    """Refuse a user everywhere: logins, their dashboard sessions, the API keys they created."""
    _set_active(email, False)


@user_app.command("activate")
def user_activate(email: Annotated[str, typer.Option(help="Login email.")]) -> None:
    """Let a deactivated user log in again; their API keys work again, old sessions do not."""
    _set_active(email, True)


def _set_instance_admin(email: str, admin: bool) -> None:
    from socialpulse.workspaces import service

    def action() -> None:
        with _db().session() as session:
            user = service.set_instance_admin(session, email, admin)
            state = "is an instance administrator" if admin else "is no instance administrator"
            typer.echo(f"user {user.email} {state}")

    _run(action)


@admin_app.command("grant")
def admin_grant(email: Annotated[str, typer.Argument(help="Login email.")]) -> None:
    """Make a user an instance administrator (completeness repair, the crawl's admin API)."""
    _set_instance_admin(email, True)


@admin_app.command("revoke")
def admin_revoke(email: Annotated[str, typer.Argument(help="Login email.")]) -> None:
    """Take the instance administrator role back; the user's workspace roles stay."""
    _set_instance_admin(email, False)


@admin_app.command("list")
def admin_list() -> None:
    """Print the instance administrators' emails, one a line."""
    from socialpulse.workspaces import service

    with _db().session(readonly=True) as session:
        for user in service.list_instance_admins(session):
            typer.echo(user.email)


@app.command("create-workspace")
def create_workspace(
    slug: Annotated[str, typer.Argument(help="URL-safe identifier, e.g. my-brand.")],
    owner: Annotated[str, typer.Option(help="Email of the existing user who will own it.")],
    name: Annotated[str, typer.Option(help="Display name (defaults to the slug).")] = "",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    seat_limit: Annotated[
        int | None,
        typer.Option(help="Members plus pending invitations allowed (default: the plan's seats)."),
    ] = None,
) -> None:
    """Create a workspace owned by an existing user."""
    from socialpulse.workspaces import service

    def action() -> None:
        with _db().session() as session:
            user = service.get_user_by_email(session, owner)
            if user is None:
                raise _fail(f"no user with email {owner}; create it with create-user first", 2)
            workspace = service.create_workspace(
                session, slug, name or slug, user, timezone, seat_limit=seat_limit
            )
            typer.echo(f"created workspace {workspace.slug} (id {workspace.id})")

    _run(action)


@app.command("set-seat-limit")
def set_seat_limit(
    slug: Annotated[str, typer.Argument(help="Workspace slug.")],
    limit: Annotated[
        str,
        typer.Argument(help="Seats (members + pending invitations), or none: the plan's seats."),
    ],
) -> None:
    """Cap a workspace's seats, overriding its plan's (the operator's call: workspace admins
    cannot change it)."""
    from socialpulse.workspaces import seats, service

    if limit.strip().lower() in ("none", "unlimited"):
        parsed: int | None = None
    elif limit.strip().isdigit():
        parsed = int(limit)
    else:
        raise _fail(f"invalid seat limit {limit!r}: give a number of seats or none", 2)

    def action() -> None:
        with _db().session() as session:
            workspace = service.get_workspace_by_slug(session, slug)
            seats.set_seat_limit(session, workspace, parsed)
            usage = seats.seat_usage(session, workspace)
            shown = "none (the plan's seats apply)" if parsed is None else str(parsed)
            typer.echo(f"workspace {workspace.slug}: seat limit {shown}, {usage.used} in use")

    _run(action)


@api_key_app.command("create")
def api_key_create(
    workspace: Annotated[str, typer.Option(help="Workspace slug.")],
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[str, typer.Option(help="owner, admin, editor or viewer.")] = "admin",
) -> None:
    """Create an API key; prints only the key on stdout (shown once)."""
    from socialpulse.workspaces import service
    from socialpulse.workspaces.models import Role
    from socialpulse.workspaces.tenancy import Subject

    try:
        parsed_role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise _fail(f"unknown role {role!r}; use one of {choices}", 2) from None

    def action() -> str:
        with _db().session() as session:
            ws = service.get_workspace_by_slug(session, workspace)
            # The CLI runs with the operator's authority over the installation.
            subject = Subject(workspace_id=ws.id, role=Role.owner)
            _key, plaintext = service.create_api_key(session, subject, name, parsed_role)
        return plaintext

    typer.echo(_run(action))


@app.command()
def fetch(
    platform: Annotated[str | None, typer.Argument(help="Only this platform.")] = None,
    handle: Annotated[str | None, typer.Argument(help="Only this account.")] = None,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace slug (default: every workspace).")
    ] = None,
) -> None:
    """Fetch tracked accounts now (profile, snapshot, recent posts), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from socialpulse.accounts import service as accounts_service
    from socialpulse.accounts.models import FetchRun, FetchStatus
    from socialpulse.kit.security import SecretBox
    from socialpulse.providers import registry
    from socialpulse.workspaces import service as ws_service
    from socialpulse.workspaces.models import Role, Workspace
    from socialpulse.workspaces.tenancy import Subject

    if (handle and not platform) or (platform and platform.startswith("@") and handle is None):
        raise _fail("give the platform before the handle: socialpulse fetch youtube @name", 2)
    if platform:
        try:
            registry.get_provider(platform)
        except registry.UnknownPlatformError as exc:
            raise _fail(str(exc), 2) from None
    db = _db()
    box = SecretBox(get_settings().resolved_secret_key())

    def targets() -> list[tuple[int, int, str, str]]:
        from sqlalchemy import select

        with db.session(readonly=True) as session:
            if workspace:
                workspaces = [ws_service.get_workspace_by_slug(session, workspace)]
            else:
                workspaces = list(session.scalars(select(Workspace).order_by(Workspace.id)))
            found = []
            for ws in workspaces:
                subject = Subject(workspace_id=ws.id, role=Role.owner)
                try:
                    accounts = accounts_service.iter_due_accounts(
                        session, subject, platform, handle
                    )
                except AppError:
                    if workspace or len(workspaces) == 1:
                        raise
                    continue
                found += [(ws.id, a.id, a.platform, a.handle) for a in accounts]
            return found

    accounts = _run(targets)
    if not accounts:
        raise _fail("no active tracked accounts match", 2)
    failures = 0
    completed: list[int] = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
    ) as progress:
        task = progress.add_task("fetching", total=len(accounts))
        for workspace_id, account_id, account_platform, account_handle in accounts:
            progress.update(task, description=f"{account_platform} @{account_handle}")
            with db.session() as session:
                run = FetchRun(workspace_id=workspace_id, account_id=account_id, trigger="cli")
                session.add(run)
                session.flush()
                run_id = run.id
            try:
                result = accounts_service.run_fetch(db, run_id, box=box)
            except Exception as exc:  # a transient failure on the only attempt
                failures += 1
                progress.console.print(f"[red]✗[/red] {account_platform} @{account_handle}: {exc}")
            else:
                if result.status == FetchStatus.completed:
                    completed.append(account_id)
                    progress.console.print(
                        f"[green]✓[/green] {account_platform} @{account_handle}: "
                        f"{result.posts_seen} posts ({result.posts_new} new)"
                    )
                else:
                    failures += 1
                    progress.console.print(
                        f"[red]✗[/red] {account_platform} @{account_handle}: "
                        f"{result.status.value}: {result.error}"
                    )
            progress.advance(task)
    from socialpulse.ai.service import analyze_pending_posts

    analysed = analyze_pending_posts(db)
    if analysed:
        err.print(f"analysed {analysed} new or changed captions")
    from socialpulse.alerts.evaluation import evaluate_and_notify

    # Performance alerts follow each completed fetch, as they do after the fetch job.
    fired = sum(len(evaluate_and_notify(db, get_settings(), a)) for a in completed)
    if fired:
        err.print(f"{fired} alert{'' if fired == 1 else 's'} fired (see GET /api/v1/alerts)")
    if failures:
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Make sure the demo workspace exists and print its login and a fresh API key."""
    from socialpulse.demo import ensure_demo

    settings = get_settings()
    creds = ensure_demo(_db(), settings)
    console = Console()
    console.print(f"[bold]Dashboard:[/bold] {settings.base_url}/")
    console.print(f"[bold]Login:[/bold]     {creds.email} / {creds.password}")
    console.print(f"[bold]API key:[/bold]   {creds.api_key}")
    console.print(
        f"[dim]Try: curl -H 'Authorization: Bearer {creds.api_key}' "
        f"{settings.base_url}/api/v1/workspace[/dim]",
        soft_wrap=True,
    )


def _mount_domain_apps() -> None:
    from socialpulse.accounts.cli import app as accounts_app
    from socialpulse.analytics.cli import report as analytics_report

    # The report is analytics' command; users find it next to the accounts it reports on.
    accounts_app.command("report")(analytics_report)
    app.add_typer(accounts_app, name="accounts", help="Tracked accounts: list, report.")
    from socialpulse.inbox.cli import app as inbox_app

    app.add_typer(
        inbox_app, name="inbox", help="Engagement inbox: reply queue planning, mention polls."
    )
    from socialpulse.ai.cli import app as ai_app

    app.add_typer(ai_app, name="ai", help="Offline text analysis: analyze, train, eval.")
    from socialpulse.creators.cli import app as creators_app

    app.add_typer(creators_app, name="creators", help="Creator reports: repair, the crawl.")
    from socialpulse.billing.cli import credits_app, plan_app

    app.add_typer(credits_app, name="credits", help="Credits: grant them, read the ledger.")
    app.add_typer(plan_app, name="plan", help="Plans: list them, move a workspace to one.")
    from socialpulse.publishing.cli import app as publishing_app  # Publishing (#15)

    app.add_typer(publishing_app, name="publishing", help="Publishing: import posts from CSV.")


_mount_domain_apps()


def main() -> None:
    try:
        app(prog_name="socialpulse")
    except ConfigError as exc:
        from rich.markup import escape

        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
    sys.exit(0)
