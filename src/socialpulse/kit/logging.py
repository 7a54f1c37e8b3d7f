"""Structured logs: namespaced event names, ids as fields, a request id bound per request.

Exceptions are written as plain tracebacks, never with local variables, and cut to a bounded
size. structlog's default console renderer uses rich with `show_locals`: it printed every
frame's locals (a new member's password 24 times, a platform token 11 times), wrote ~1 MB for
one 500 and took seconds of CPU doing it.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from structlog.types import ExcInfo, Processor

# Head and tail of a traceback are kept: the head says where the request entered, the tail
# what failed. Deep recursion or long exception chains cannot make one record unbounded.
MAX_TRACEBACK_CHARS = 12_000
_HEAD_CHARS = 3_000

_HANDLER_NAME = "socialpulse"


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now, not the one of configure time (a test's
    capture may have been closed since)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def format_exception(exc_info: ExcInfo) -> str:
    """A plain traceback (with its chained causes), without locals, at most
    MAX_TRACEBACK_CHARS long."""
    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    tail = MAX_TRACEBACK_CHARS - _HEAD_CHARS
    cut = len(text) - MAX_TRACEBACK_CHARS
    return f"{text[:_HEAD_CHARS]}\n... {cut} characters of traceback cut ...\n{text[-tail:]}"


def _console_exception(sio: TextIO, exc_info: ExcInfo) -> None:
    sio.write("\n" + format_exception(exc_info))


def _renderers(json_logs: bool, colors: bool) -> list[Processor]:
    if json_logs:
        return [
            structlog.processors.ExceptionRenderer(format_exception),
            structlog.processors.JSONRenderer(),
        ]
    return [structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=_console_exception)]


def configure_logging(level: str = "INFO", json_logs: bool = False) -> None:
    stream: Any = _CurrentStderr()
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderers = _renderers(json_logs, colors=sys.stderr.isatty())
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, *renderers],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    # Standard-library loggers (huey, uvicorn when it propagates, SQLAlchemy, httpx) go through
    # the same renderer: the same bounded, locals-free tracebacks, and JSON lines in JSON mode.
    handler = logging.StreamHandler(stream)
    handler.name = _HANDLER_NAME
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # Huey logs every task at INFO; keep it to warnings unless asked for more.
    logging.getLogger("huey").setLevel(max(logging.WARNING, numeric_level))
    # Alembic logs each of its plugins at INFO the first time it loads (the schema check of
    # `serve`, `worker` and /api/health): set-up noise, not events.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, numeric_level))
    # httpx logs each request's full URL at INFO, and some platform APIs take their token in
    # the query string (YouTube's ?key=, Instagram's ?access_token=): never at INFO or DEBUG.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
