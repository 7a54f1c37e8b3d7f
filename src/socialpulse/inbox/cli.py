"""`socialpulse inbox ...`: look at the reply queue, poll an account's mentions now."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from typing import Annotated

import typer

from socialpulse.db import utcnow
from socialpulse.inbox.replies import pacing
from socialpulse.providers import registry

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
            limits, _ = pacing.limits_for(session, account)
            occupied = pacing.occupied_times(session, account.id, now)
    else:
        if platform not in registry.all_providers():
            supported = ", ".join(sorted(registry.all_providers()))
            typer.echo(f"error: unknown platform {platform!r}; supported: {supported}", err=True)
            raise typer.Exit(2)
        limits, occupied = pacing.default_limits(platform), []
    planned = pacing.plan_send_times(limits, occupied, count, now, rng)
    if as_json:
        typer.echo(json.dumps([t.isoformat() for t in planned]))
    else:
        for t in planned:
            typer.echo(t.isoformat())


@app.command("poll-mentions")
def poll_mentions(
    account: Annotated[int, typer.Option("--account", help="The tracked account's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Read one account's new mentions and direct messages now and print what came in.

    Exits 1 when the platform failed (the periodic poll tries again), 2 on bad input."""
    from socialpulse.accounts.models import TrackedAccount
    from socialpulse.config import get_settings
    from socialpulse.db import get_database
    from socialpulse.inbox import polling
    from socialpulse.kit.security import SecretBox

    settings = get_settings()
    db = get_database()
    with db.session(readonly=True) as session:
        row = session.get(TrackedAccount, account)
        platform, handle = (row.platform, row.handle) if row is not None else ("", "")
    if row is None:
        typer.echo(f"error: no account {account}", err=True)
        raise typer.Exit(2)
    reason = polling.unsupported_reason(platform)
    if reason is not None:
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(2)
    result = polling.poll_account_mentions(
        db, account, box=SecretBox(settings.resolved_secret_key())
    )
    if as_json:
        typer.echo(json.dumps(asdict(result)))
    else:
        line = f"{platform} @{handle}: {result.status}, {result.seen} seen, {result.new} new"
        typer.echo(line + (f" ({result.reason})" if result.reason else ""))
    if result.status in ("failed", "retry"):
        raise typer.Exit(1)
