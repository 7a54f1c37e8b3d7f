"""What the domains' command groups share: the workspace option, expected failures as one
line and an exit code, and how counts print."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from socialpulse.errors import AppError

T = TypeVar("T")

WorkspaceOption = Annotated[str, typer.Option("--workspace", help="Workspace slug.")]


def run_or_exit(action: Callable[[], T]) -> T:
    """Expected failures (unknown workspace or handle...) print one line and exit non-zero."""
    try:
        return action()
    except AppError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(2 if exc.status_code in (404, 409, 422) else 1) from None


def count_text(value: int | float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"
