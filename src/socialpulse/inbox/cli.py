"""`socialpulse inbox ...`: look at the reply queue from the command line."""

from __future__ import annotations

import json
import random
from typing import Annotated

import typer

from socialpulse.db import utcnow
from socialpulse.inbox import replies

app = typer.Typer(help="The engagement inbox and its reply queue.", no_args_is_help=True)


@app.callback()
def inbox() -> None:
    """The engagement inbox and its reply queue."""


@app.command("queue-plan")
def queue_plan(
    platform: Annotated[str, typer.Option(help="youtube, instagram, bluesky, mastodon, ...")] = "",
    count: Annotated[int, typer.Option(min=1, max=100_000, help="Replies to add now.")] = 10,
    account_id: Annotated[
        int | None,
        typer.Option(help="Use this account's limits and its already scheduled replies."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the random delays.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Print the send times the queue would give COUNT replies added now."""
    now = utcnow()
    rng = random.Random(seed)
    if account_id is not None:
        from sqlalchemy import select

        from socialpulse.accounts.models import TrackedAccount
        from socialpulse.db import get_database

        with get_database().session(readonly=True) as session:
            account = session.scalar(select(TrackedAccount).where(TrackedAccount.id == account_id))
            if account is None:
                typer.echo(f"error: no account {account_id}", err=True)
                raise typer.Exit(2)
            if platform and platform != account.platform:
                typer.echo(f"error: account {account_id} is on {account.platform}", err=True)
                raise typer.Exit(2)
            limits, _ = replies.limits_for(session, account)
            occupied = replies._occupied_times(session, account.id, now)
    else:
        if platform not in replies.PLATFORM_LIMITS:
            supported = ", ".join(sorted(replies.PLATFORM_LIMITS))
            typer.echo(f"error: unknown platform {platform!r}; supported: {supported}", err=True)
            raise typer.Exit(2)
        limits, occupied = replies.default_limits(platform), []
    planned = replies.plan_send_times(limits, occupied, count, now, rng)
    if as_json:
        typer.echo(json.dumps([t.isoformat() for t in planned]))
    else:
        for t in planned:
            typer.echo(t.isoformat())
