"""`socialpulse creators ...`: completeness repair and the related-profiles crawl (the instance
operator's commands; the admin API answers the same)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socialpulse.config import get_settings
from socialpulse.creators import completeness_repair, crawl
from socialpulse.creators.admin_schemas import RepairResult, ScanResult
from socialpulse.db import get_database
from socialpulse.kit.cli import count_text, run_or_exit

app = typer.Typer(help="Creator reports: completeness repair, the crawl.", no_args_is_help=True)
crawl_app = typer.Typer(help="The related-profiles crawl.", no_args_is_help=True)
app.add_typer(crawl_app, name="crawl")

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
PlatformOption = Annotated[
    str | None, typer.Option(help="The platform (not needed for a profile URL).")
]


@app.callback()
def creators() -> None:
    """Creator reports: completeness repair, the crawl."""


def _print_json(model: BaseModel) -> None:
    typer.echo(json.dumps(model.model_dump(mode="json"), indent=2))


@contextmanager
def _progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr (stdout keeps the result alone)."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("repair")
def repair(
    scan_only: Annotated[
        bool, typer.Option("--scan-only", help="List incomplete creators and what they miss.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say which builds --repair would queue.")
    ] = False,
    do_repair: Annotated[
        bool, typer.Option("--repair", help="Queue a new build for each incomplete creator.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Incomplete creators to handle at most.")
    ] = None,
    username_filter: Annotated[
        str | None,
        typer.Option(
            help="RE2 regular expression searched in the handle (linear time; anchor with "
            "^...$; no backreferences or lookarounds)."
        ),
    ] = None,
    as_json: JsonOption = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Scan stored creators for completeness and, with --repair, queue their rebuilds."""
    if scan_only + dry_run + do_repair != 1:
        Console(stderr=True).print(
            "[red]error:[/red] choose one of --scan-only, --dry-run or --repair", highlight=False
        )
        raise typer.Exit(2)
    db = get_database()

    def action() -> ScanResult | RepairResult:
        with _progress_bar("checking", progress) as report:
            if scan_only:
                with db.session(readonly=True) as session:
                    return completeness_repair.scan(
                        session, limit=limit, username_filter=username_filter, progress=report
                    )
            with db.session(readonly=dry_run) as session:
                return completeness_repair.repair(
                    session,
                    dry_run=dry_run,
                    limit=limit,
                    username_filter=username_filter,
                    progress=report,
                )

    result = run_or_exit(action)
    if as_json:
        _print_json(result)
    elif isinstance(result, ScanResult):
        for item in result.incomplete:
            typer.echo(
                f"{item.platform} {item.handle} (id {item.id}): missing {', '.join(item.missing)}"
            )
        typer.echo(f"{result.incomplete_count} incomplete of {result.scanned} scanned")
    else:
        verb = {
            "would_queue": "would queue",
            "queued": "queued",
            "already_queued": "already queued",
        }
        for act in result.actions:
            job = f" (job {act.job_id})" if act.job_id is not None else ""
            typer.echo(
                f"{verb[act.action]}: {act.platform} {act.handle}{job}; missing "
                f"{', '.join(act.missing)}"
            )
        summary = "would queue" if result.dry_run else "queued"
        count = result.incomplete_count if result.dry_run else result.queued
        typer.echo(
            f"{summary} {count} builds; {result.incomplete_count} incomplete of "
            f"{result.scanned} scanned"
        )


@crawl_app.command("stats")
def crawl_stats(as_json: JsonOption = False) -> None:
    """Related profiles per status and the crawl's builds against its limits."""
    with get_database().session(readonly=True) as session:
        result = crawl.stats(session, get_settings())
    if as_json:
        _print_json(result)
        return
    settings = get_settings()
    typer.echo("related: " + ", ".join(f"{k} {count_text(v)}" for k, v in result.related.items()))
    typer.echo(
        f"builds: {result.in_flight} in flight (max {settings.discovery_max_concurrent}), "
        f"{result.queued_last_hour} last hour (max {settings.discovery_per_hour}), "
        f"{result.queued_last_day} last day (max {settings.discovery_per_day})"
    )
    held = f", held back by the {result.held_back_by} limit" if result.held_back_by else ""
    typer.echo(f"room now: {result.room_now}{held}")
    complete, total = count_text(result.creators_complete), count_text(result.creators_total)
    typer.echo(f"creators: {complete} complete of {total}")


@crawl_app.command("config")
def crawl_config(as_json: JsonOption = False) -> None:
    """The crawl's limits (SOCIALPULSE_DISCOVERY_*)."""
    result = crawl.config(get_settings())
    if as_json:
        _print_json(result)
        return
    for name, value in result.model_dump().items():
        typer.echo(f"SOCIALPULSE_DISCOVERY_{name.upper()}={value}")


@crawl_app.command("queue")
def crawl_queue(
    limit: Annotated[int, typer.Option(min=1, max=500, help="Due profiles to list.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """The crawl's builds in flight and the related profiles due next."""
    with get_database().session(readonly=True) as session:
        result = crawl.queue_status(session, limit=limit)
    if as_json:
        _print_json(result)
        return
    typer.echo(f"in flight: {len(result.in_flight)}")
    for build in result.in_flight:
        step = build.build_step.value if build.build_step else "-"
        typer.echo(
            f"  {build.platform} {build.handle} job {build.job_id} {build.job_status} "
            f"step {step} since {build.queued_at:%Y-%m-%d %H:%M}"
        )
    typer.echo(f"due next: {len(result.next_due)} (waiting for a retry: {result.retry_waiting})")
    for profile in result.next_due:
        followers = count_text(profile.followers_hint)
        typer.echo(f"  {profile.platform} {profile.handle} followers {followers}")


@crawl_app.command("trigger")
def crawl_trigger(
    username: Annotated[str, typer.Argument(help="A stored creator's handle or profile URL.")],
    platform: PlatformOption = None,
    as_json: JsonOption = False,
) -> None:
    """Crawl one stored creator's related profiles now, within the crawl's limits."""
    db = get_database()

    def action() -> int:
        with db.session(readonly=True) as session:
            return completeness_repair.stored_creator(session, username, platform).id

    creator_id = run_or_exit(action)
    result = run_or_exit(lambda: crawl.trigger(db, get_settings(), creator_id))
    if as_json:
        _print_json(result)
        return
    held = f"; held back by the {result.held_back_by} limit" if result.held_back_by else ""
    typer.echo(
        f"{result.platform} {result.handle}: {result.pending_related} related waiting, "
        f"{result.queued} builds queued, {result.joined} joined, {result.skipped} skipped{held}"
    )
