"""`socialpulse credits ...` and `socialpulse plan ...`: the instance operator's billing
commands, for self-hosters without a payment provider. Each change is in the ledger with no
actor and the reference ``cli``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from socialpulse.billing import pricing, reports, schemas, service, usage
from socialpulse.db import get_database
from socialpulse.kit.cli import WorkspaceOption, run_or_exit
from socialpulse.workspaces import service as workspace_service

credits_app = typer.Typer(help="Credits: grant them, read the ledger.", no_args_is_help=True)
plan_app = typer.Typer(help="Plans: list them, move a workspace to one.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
CLI_REFERENCE = "cli"


@credits_app.command("grant")
def grant(
    workspace: WorkspaceOption,
    credits: Annotated[int, typer.Option("--credits", min=1, help="Whole credits to add.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in the ledger).")],
) -> None:
    """Add top-up credits to a workspace's wallet (a `grant` row in its ledger)."""

    def action() -> schemas.LedgerEntryRead:
        with get_database().session() as session:
            ws = workspace_service.get_workspace_by_slug(session, workspace)
            entry = service.grant_credits(
                session, ws.id, credits, reason=reason, reference=CLI_REFERENCE
            )
            return schemas.LedgerEntryRead.model_validate(entry)

    entry = run_or_exit(action)
    typer.echo(
        f"granted {entry.amount:,} credits to {workspace}: balance {entry.balance_after:,} "
        f"(ledger row {entry.id})"
    )


@credits_app.command("ledger")
def ledger(
    workspace: WorkspaceOption,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Newest rows to show.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """A workspace's ledger, newest first, and its balance."""

    def action() -> tuple[schemas.LedgerPage, schemas.Balance]:
        with get_database().session(readonly=True) as session:
            ws = workspace_service.get_workspace_by_slug(session, workspace)
            return (
                reports.transactions(session, ws.id, page=1, page_size=limit),
                usage.balance(session, ws.id),
            )

    page, bal = run_or_exit(action)
    if as_json:
        body = {"balance": bal.model_dump(mode="json"), **page.model_dump(mode="json")}
        typer.echo(json.dumps(body, indent=2))
        return
    table = Table(title=f"{workspace}: plan {bal.plan}, balance {bal.balance:,} credits")
    for column in ("id", "when (UTC)", "kind", "action", "amount", "after", "paid by", "ref"):
        table.add_column(column, justify="right" if column in ("amount", "after") else "left")
    for row in page.items:
        table.add_row(
            str(row.id),
            row.created_at.strftime("%Y-%m-%d %H:%M"),
            row.kind.value,
            row.action or "",
            f"{row.amount:+,}",
            f"{row.balance_after:,}",
            row.funding.value if row.funding.value != "none" else "",
            row.reference or row.description,
        )
    Console(width=140).print(table)
    typer.echo(f"{page.total} rows in all")


@plan_app.command("list")
def list_plans(as_json: JsonOption = False) -> None:
    """The plans: price, seats, monthly allowances, top-up discount."""
    with get_database().session(readonly=True) as session:
        plans = [schemas.PlanRead.model_validate(p) for p in pricing.list_plans(session)]
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in plans], indent=2))
        return
    table = Table(title="Plans")
    for column in ("code", "name", "$/month", "seats", "profiles", "emails", "posts", "top-up"):
        table.add_column(column)
    for p in plans:
        table.add_row(
            p.code + ("" if p.active else " (inactive)"),
            p.name,
            f"{p.price_cents / 100:,.0f}",
            str(p.seats),
            f"{p.profiles_per_month:,}",
            f"{p.emails_per_month:,}",
            f"{p.posts_per_month:,}",
            f"-{p.topup_discount_pct}%" if p.topup_discount_pct else "",
        )
    Console(width=140).print(table)


@plan_app.command("set")
def set_plan(
    workspace: WorkspaceOption,
    plan: Annotated[str, typer.Option("--plan", help="Plan code (socialpulse plan list).")],
    reason: Annotated[str, typer.Option(help="Why (shown in the ledger).")] = "set by operator",
    keep_cycle: Annotated[
        bool,
        typer.Option(
            "--keep-cycle", help="Keep the billing cycle (default: allowances start afresh)."
        ),
    ] = False,
) -> None:
    """Move a workspace to a plan (refused when it has fewer seats than the workspace uses)."""

    def action() -> tuple[str, int]:
        with get_database().session() as session:
            ws = workspace_service.get_workspace_by_slug(session, workspace)
            wallet = service.set_plan(
                session, ws.id, plan, reason=reason, restart_cycle=not keep_cycle
            )
            return wallet.plan_code, pricing.get_plan(session, wallet.plan_code).seats

    code, seats = run_or_exit(action)
    typer.echo(f"workspace {workspace} is now on {code} ({seats} seats)")
