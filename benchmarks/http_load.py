"""HTTP load of the real `socialpulse serve`, against a minimal FastAPI app in the same run.

Both are driven by `wrk` (Debian/Ubuntu package `wrk`) on loopback, 16 connections, 3 rounds
per endpoint (the round with the median requests/s is reported, with its p50 and p99 from
wrk's latency distribution). The baseline is an `async def` "hello" route served by uvicorn
with the options `socialpulse serve` uses (one process, log level info, no access log), so
`req/s / hello` says what share of the web server's own capacity an endpoint gets.

Three "floor" rows come from the hello process (`_floors.py`): the work of the product's
`GET /api/v1/workspace` (bearer key checked, one row read into a response model) as a lean
FastAPI + SQLAlchemy app writes it, with no middleware, logging, rate limit or cache: through an
ORM session in a `def` route (FastAPI's thread pool, where the product runs its reads), the
same in an `async def` route (every query blocking the event loop), and with Core statements on
a connection instead of the ORM. They say how much of a cold read is the stack itself, and the
most a route built each way can reach on this machine.

The product runs as a user runs it, on the demo workspace: a temporary SOCIALPULSE_DATA_DIR,
`socialpulse migrate`, `socialpulse demo`, then `socialpulse serve` with default settings
(default logging, embedded worker), twice: "cold" with SOCIALPULSE_RESPONSE_CACHE=off and
"cached" with the default. Two settings differ from the defaults, or every figure would be
of 429 answers: the per-key API and per-user dashboard rate limits. Before timing, each
endpoint must answer 200, and the embedded worker gets up to --settle seconds to finish the
jobs the start queued. The dashboard pages use a session cookie from the real login form.

    python benchmarks/http_load.py [--duration 5] [--rounds 3] [--connections 16]
        [--modes cold,cached] [--only health,inbox] [--write-every 0.1]

`--write-every S` adds a team member at work beside the load: during each timed round of the
product's endpoints, a thread changes one interaction's priority through the API
(`PATCH /api/v1/inbox/interactions/{id}`) every S seconds (or as fast as the answers come),
so cached reads that depend on the inbox keep being invalidated; the rounds print how many
writes landed.

On PostgreSQL + Redis (`--backend postgres`) the same demo setup runs in a scratch database
`sp_http_load_<random>` created on the given server and dropped at the end (no existing
database is touched), with SOCIALPULSE_DATABASE_URL, SOCIALPULSE_TASKS_URL and
SOCIALPULSE_CACHE_URL pointing at it and at Redis, and `socialpulse serve --workers N` once per
N of --processes (each cold and cached). Serve starts no task worker with Redis, so the
benchmark runs one `socialpulse worker --scheduler` beside it, as README "Scaling out" says.
The Redis database must be empty (pick a spare number: /15); it is flushed at the end. The
hello baseline stays one process, measured in the same rounds as each server, so the rows of
1 and 2 processes share the denominator:

    python benchmarks/http_load.py --backend postgres --processes 1,2 \
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        --redis-url redis://127.0.0.1:6379/15

(or SOCIALPULSE_BENCH_POSTGRES_URL / SOCIALPULSE_BENCH_REDIS_URL instead of the two URLs).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# High enough that no benchmark request is refused (the defaults are 600/min and 300/min).
NO_RATE_LIMIT = "1000000/second"
CACHE_SETTING = "SOCIALPULSE_RESPONSE_CACHE"
MODES = {"cold": {CACHE_SETTING: "off"}, "cached": {}}
SESSION_COOKIE = "socialpulse_session"
# As `serve` runs its worker on the embedded default (settings.worker_threads).
WORKER_THREADS = 2


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    auth: str  # "", "key" (Bearer API key) or "cookie" (dashboard session)

    @property
    def label(self) -> str:
        if self is HELLO:
            return "hello baseline (minimal FastAPI)"
        if self in FLOORS:
            return f"floor: {FLOOR_LABELS[self.name]}"
        shown = f"`GET {self.path}`"
        return f"dashboard {shown} (session cookie)" if self.auth == "cookie" else shown


def targets(account_id: int) -> list[Target]:
    account = f"/api/v1/accounts/{account_id}"
    return [
        Target("health", "/api/health", ""),
        Target("workspace", "/api/v1/workspace", "key"),
        Target("accounts", "/api/v1/accounts", "key"),
        Target("overview", f"{account}/overview", "key"),
        Target("top-posts", f"{account}/top-posts", "key"),
        Target("inbox", "/api/v1/inbox/interactions?limit=50", "key"),
        Target("inbox-analytics", "/api/v1/inbox/analytics/overview", "key"),
        Target("jobs", "/api/v1/jobs", "key"),
        Target("page /", "/", "cookie"),
        Target("page /inbox", "/inbox", "cookie"),
    ]


HELLO = Target("hello", "/", "")
# Served by the hello process (`_floors.py`): the product's `workspace` row without the product.
FLOORS = (
    Target("floor sync", "/floor/sync", "key"),
    Target("floor async", "/floor/async", "key"),
    Target("floor core", "/floor/core", "key"),
)
FLOOR_LABELS = {
    "floor sync": "key check + one row, ORM session, `def` route (thread pool)",
    "floor async": "key check + one row, ORM session, `async def` route",
    "floor core": "key check + one row, Core connection, `async def` route",
}


@dataclass(frozen=True)
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors (timeouts included)


@dataclass(frozen=True)
class Run:
    """One server start: a cache mode and how many web processes serve it."""

    mode: str
    processes: int = 1

    def describe(self, with_processes: bool) -> str:
        if not with_processes:
            return self.mode
        return f"{self.mode}, {self.processes} web process{'es' if self.processes > 1 else ''}"


@dataclass
class Results:
    rounds: dict[tuple[Run, str], list[Round]] = field(default_factory=dict)

    def add(self, run: Run, target: str, result: Round) -> None:
        self.rounds.setdefault((run, target), []).append(result)

    def spread(self, run: Run, target: str) -> float:
        """(max - min) / median of the rounds' req/s: how much the machine moved under us."""
        rates = [r.rps for r in self.rounds[(run, target)]]
        middle = self.median(run, target).rps
        return (max(rates) - min(rates)) / middle if middle else 0.0

    def median(self, run: Run, target: str) -> Round:
        """The round whose req/s is the median one (its own p50 and p99 come with it)."""
        ordered = sorted(self.rounds[(run, target)], key=lambda r: r.rps)
        return ordered[(len(ordered) - 1) // 2]


def parse_processes(text: str) -> list[int]:
    """`--processes 1,2` as [1, 2]: positive, in the order given, each once."""
    counts: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"--processes takes positive whole numbers, got {part!r}")
        if int(part) not in counts:
            counts.append(int(part))
    if not counts:
        raise ValueError("--processes needs at least one number")
    return counts


# --- wrk -------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_QUANTILE = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)


def parse_wrk(output: str) -> Round:
    """req/s, p50, p99 (from `--latency`'s distribution), requests and errors of one run."""
    quantiles = {int(q): float(v) * _UNITS_MS[unit] for q, v, unit in _QUANTILE.findall(output)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in ", output, re.M)
    if rps is None or total is None or set(quantiles) != {50, 99}:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in match.groups())
    return Round(float(rps.group(1)), quantiles[50], quantiles[99], int(total.group(1)), errors)


def run_wrk(url: str, headers: list[str], args: argparse.Namespace, seconds: float) -> Round:
    command = [
        "wrk",
        f"-t{min(args.threads, args.connections)}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        f"--timeout={args.timeout:g}s",
        "--latency",
    ]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def require_wrk() -> None:
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed. It is the Debian/Ubuntu package `wrk`:\n"
            "    sudo apt-get install wrk\n"
            "(elsewhere: https://github.com/wg/wrk). Then run this benchmark again.",
            file=sys.stderr,
        )
        sys.exit(2)


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def product_env(data_dir: Path) -> dict[str, str]:
    """The environment of a fresh install: none of the caller's SOCIALPULSE_* settings (a
    DATABASE_URL there must never be benchmarked, or dropped), this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALPULSE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env |= {
        "SOCIALPULSE_DATA_DIR": str(data_dir),
        "SOCIALPULSE_MEDIA_ROOT": str(data_dir / "media"),
        "SOCIALPULSE_API_RATE_LIMIT": NO_RATE_LIMIT,
        "SOCIALPULSE_WEB_RATE_LIMIT": NO_RATE_LIMIT,
    }
    return env


def cli(env: dict[str, str], cwd: Path, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "socialpulse", *arguments],
        env=env,
        cwd=cwd,  # not the checkout: its .env (if any) must not configure the benchmark
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"socialpulse {' '.join(arguments)} failed:\n{done.stderr}")
    return done.stdout


# `serve` stops its worker process gracefully, running tasks finishing, for up to 35 s
# (worker.child: GRACEFUL_STOP_S, then 5 s more after SIGTERM). Killed sooner, `serve` leaves
# that worker to stop on its own, still writing into the scratch directory being removed.
STOP_WAIT_S = 45


@contextmanager
def running(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in the background, its output in `log`; stopped (SIGTERM, then SIGKILL) on
    the way out."""
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(
    command: list[str], env: dict[str, str], cwd: Path, ready_path: str, log: Path
) -> Iterator[str]:
    """Start `command` ("{port}" in it replaced by a free port) and yield its base URL once
    `ready_path` answers 200."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = [part.replace("{port}", str(port)) for part in command]
    with running(command, env, cwd, log) as process:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited ({process.returncode}):\n{log.read_text()}")
            try:
                if httpx.get(base_url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready within 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base_url


def serve_hello(port: int) -> None:
    """The baseline: the least a FastAPI app on uvicorn can do per request. The same process
    serves the two floors (`_floors.py`)."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    import _floors  # the product's models: imported by this server process only

    app.include_router(_floors.router())
    # As `socialpulse serve` runs uvicorn at the default log level INFO.
    uvicorn.run(app, host=HOST, port=port, log_level="info", access_log=False)


# --- PostgreSQL + Redis ----------------------------------------------------------------------


class SetupError(Exception):
    """The PostgreSQL or Redis the caller named cannot be used: said, then exit 2."""


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new database on the server of `server_url` (which names the one to connect to for
    CREATE DATABASE): its URL, then dropped. A name taken already fails CREATE, so no existing
    database is ever used or dropped."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    server = make_url(server_url)
    if server.get_backend_name() != "postgresql":
        raise SetupError(f"--postgres-url must be postgresql+psycopg://...; got {server_url!r}")
    name = f"sp_http_load_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        admin.dispose()
        raise SetupError(f"cannot create a scratch database on {server_url}: {exc}") from exc
    print(f"scratch database {name} created on {server.render_as_string()}", flush=True)
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a server killed mid-run may leave a connection behind.
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        print(f"scratch database {name} dropped", flush=True)


@contextmanager
def empty_redis(url: str) -> Iterator[str]:
    """`url` if its Redis database holds no key, flushed again at the end: the task queue and
    the response cache have fixed key names, so another run's keys would be served or run."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = client.dbsize()
    except redis.RedisError as exc:
        client.close()
        raise SetupError(f"cannot reach Redis at {url}: {exc}") from exc
    if keys:
        client.close()
        raise SetupError(
            f"the Redis database {url} holds {keys} keys; give an empty one (e.g. .../15): "
            "the benchmark flushes it at the end"
        )
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def postgres_settings(stack: ExitStack, postgres_url: str, redis_url: str) -> dict[str, str]:
    """Settings for every process of the run; the database and Redis are cleaned up by
    `stack`."""
    tasks_url = stack.enter_context(empty_redis(redis_url))
    return {
        "SOCIALPULSE_DATABASE_URL": stack.enter_context(scratch_database(postgres_url)),
        "SOCIALPULSE_TASKS_URL": tasks_url,
        "SOCIALPULSE_CACHE_URL": tasks_url,
    }


# --- the product: login, settle, check -------------------------------------------------------


def demo_login(stdout: str) -> tuple[str, str]:
    match = re.search(r"Login:\s+(\S+@\S+)\s+/\s+(\S+)", stdout)
    if match is None:
        raise RuntimeError(f"no login in `socialpulse demo` output:\n{stdout}")
    return match.group(1), match.group(2)


def login_cookie(base_url: str, email: str, password: str) -> str:
    """Log in through the dashboard's form (CSRF token and all) and return the session cookie."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = client.get("/login")
        form.raise_for_status()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if token is None:
            raise RuntimeError("no CSRF token in the login form")
        answer = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/"},
        )
        if answer.status_code != 303:
            raise RuntimeError(f"login failed: {answer.status_code} {answer.text[:300]}")
        cookie = client.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise RuntimeError("login answered without a session cookie")
    return cookie


def settle(base_url: str, key: str, limit_s: float) -> float:
    """Wait (at most `limit_s`) until the demo workspace has no pending or running job: the
    embedded worker's start-up work would otherwise land in the first timed round."""
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while time.monotonic() - started < limit_s:
            busy = 0
            for status in ("pending", "running"):
                answer = client.get("/api/v1/jobs", params={"status": status})
                answer.raise_for_status()
                busy += len(answer.json())
            if not busy:
                break
            time.sleep(0.5)
    return time.monotonic() - started


def first_account_id(base_url: str, key: str) -> int:
    answer = httpx.get(
        base_url + "/api/v1/accounts", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    answer.raise_for_status()
    accounts = answer.json()
    own = [a for a in accounts if a.get("is_own")] or accounts
    if not own:
        raise RuntimeError("the demo workspace has no accounts")
    return int(own[0]["id"])


def headers_for(target: Target, key: str, cookie: str) -> list[str]:
    if target.auth == "key":
        return [f"Authorization: Bearer {key}"]
    if target.auth == "cookie":
        return [f"Cookie: {SESSION_COOKIE}={cookie}"]
    return []


def check_ok(base_url: str, target: Target, headers: list[str]) -> None:
    """A 200 before timing: a redirect to /login or an error page is not what we measure."""
    as_dict = dict(h.split(": ", 1) for h in headers)
    answer = httpx.get(base_url + target.path, headers=as_dict, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(
            f"{target.path} answered {answer.status_code}, not 200: {answer.text[:300]}"
        )


def check_floors(hello_url: str, base_url: str, key: str) -> None:
    """Each floor answers what the product's `GET /api/v1/workspace` answers, and refuses the
    key with a wrong secret: the rows compare the same work."""
    expected = httpx.get(
        base_url + "/api/v1/workspace", headers={"Authorization": f"Bearer {key}"}, timeout=60
    ).json()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for floor in FLOORS:
        answer = httpx.get(
            hello_url + floor.path, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        if answer.json() != expected:
            raise RuntimeError(f"{floor.path} answered {answer.text}, the product {expected}")
        refused = httpx.get(
            hello_url + floor.path, headers={"Authorization": f"Bearer {forged}"}, timeout=60
        )
        if refused.status_code != 401:
            raise RuntimeError(f"{floor.path} answered {refused.status_code} to a wrong key")


# --- the run ---------------------------------------------------------------------------------


def measure(
    run: Run,
    base_url: str,
    hello_url: str,
    chosen: list[Target],
    key: str,
    cookie: str,
    args: argparse.Namespace,
    results: Results,
) -> None:
    baselines = [HELLO, *FLOORS]
    plan: list[tuple[Target, str, list[str]]] = [
        (t, hello_url, headers_for(t, key, cookie)) for t in baselines
    ] + [(t, base_url, headers_for(t, key, cookie)) for t in chosen]
    check_floors(hello_url, base_url, key)
    for target, url, headers in plan:
        check_ok(url, target, headers)
        if args.warmup > 0:
            run_wrk(url + target.path, headers, args, args.warmup)
    # Rounds interleave the endpoints (and the baseline), so a drift in the machine's load
    # touches every row alike instead of one endpoint's three rounds.
    writes = 0
    for number in range(1, args.rounds + 1):
        for target, url, headers in plan:
            every = 0 if target in baselines else args.write_every
            with writing(base_url, key, every) as writer:
                result = run_wrk(url + target.path, headers, args, args.duration)
            writes += writer.done
            results.add(run, target.name, result)
        label = run.describe(args.backend == "postgres")
        wrote = f", {writes} writes so far" if args.write_every else ""
        print(f"  {label}: round {number}/{args.rounds} done, load {load()}{wrote}", flush=True)


@dataclass
class Writer:
    done: int = 0
    failed: str = ""


@contextmanager
def writing(base_url: str, key: str, every_s: float) -> Iterator[Writer]:
    """While the block runs, change one interaction's priority through the API every `every_s`
    seconds (none when 0). A failed write stops the benchmark: reads measured beside writes
    that did not happen would be mislabelled."""
    writer = Writer()
    if every_s <= 0:
        yield writer
        return
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {key}"}

    def run() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            try:
                listed = client.get("/api/v1/inbox/interactions", params={"limit": 1})
                listed.raise_for_status()
                interaction = listed.json()["items"][0]["id"]
                while not stop.wait(every_s):
                    answer = client.patch(
                        f"/api/v1/inbox/interactions/{interaction}",
                        json={"priority": writer.done % 100},
                    )
                    answer.raise_for_status()
                    writer.done += 1
            except (httpx.HTTPError, LookupError) as exc:
                writer.failed = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=run, name="http-load-writer")
    thread.start()
    try:
        yield writer
    finally:
        stop.set()
        thread.join()
    if writer.failed:
        raise RuntimeError(f"--write-every: a write failed: {writer.failed}")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_table(
    results: Results, runs: list[Run], chosen: list[Target], with_processes: bool = False
) -> None:
    """A fixed-width table, then the same figures as Markdown. A round in which no request
    finished (every one slower than the round) has no latency: shown as "-". With
    `with_processes`, a column says how many web processes served the row (hello: always one,
    measured in the same rounds)."""
    rows: list[tuple[Target, Run, Round, Round, float]] = [
        (
            target,
            run,
            results.median(run, target.name),
            results.median(run, HELLO.name),
            results.spread(run, target.name),
        )
        for run in runs
        for target in [HELLO, *FLOORS, *chosen]
    ]

    def procs(run: Run) -> str:
        return f" {run.processes:>5}" if with_processes else ""

    def figures(row: Round, hello: Round) -> tuple[str, str, str, str, str]:
        if not row.requests:
            return (f"{row.rps:,.0f}", "-", "-", f"{row.rps / hello.rps:.3f}x", "-")
        return (
            f"{row.rps:,.0f}",
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.rps / hello.rps:.3f}x",
            f"{row.p99_ms / hello.p99_ms:.1f}x",
        )

    print()
    procs_header = f" {'procs':>5}" if with_processes else ""
    print(
        f"{'endpoint':<16} {'mode':<7}{procs_header} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s vs hello':>14} {'p99 vs hello':>12} {'n':>7} {'errors':>6} {'spread':>6}"
    )
    for target, run, row, hello, spread in rows:
        rps, p50, p99, ratio, p99_ratio = figures(row, hello)
        print(
            f"{target.name:<16} {run.mode:<7}{procs(run)} {rps:>8} {p50:>8} {p99:>8} "
            f"{ratio:>14} {p99_ratio:>12} {row.requests:>7} {row.errors:>6} {spread:>6.0%}"
        )
    print(
        "n: requests in the median round; errors: non-2xx/3xx answers and socket errors in it; "
        "spread: (max - min) / median req/s over the rounds"
    )
    if with_processes:
        print("procs: web processes of `socialpulse serve --workers N` (hello: always one)")
    print()
    columns = "mode | processes" if with_processes else "mode"
    print(f"| endpoint | {columns} | req/s | p50 ms | p99 ms | req/s vs hello | p99 vs hello |")
    print("|---|---|" + ("---:|" if with_processes else "") + "---:|---:|---:|---:|---:|")
    for target, run, row, hello, _spread in rows:
        shown = f"{run.mode} | {run.processes}" if with_processes else run.mode
        print(f"| {target.label} | {shown} | " + " | ".join(figures(row, hello)) + " |")


def cache_setting_known(env: dict[str, str]) -> bool:
    probe = (
        "from socialpulse.config import Settings as S; print('response_cache' in S.model_fields)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "True"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the median is shown)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (client CPU)")
    parser.add_argument("--timeout", type=float, default=30.0, help="wrk per-request timeout")
    parser.add_argument("--warmup", type=float, default=1.0, help="untimed seconds per endpoint")
    parser.add_argument("--settle", type=float, default=60.0, help="max wait for start-up jobs")
    parser.add_argument("--modes", default="cold,cached", help="cold, cached or both")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    parser.add_argument(
        "--write-every",
        type=float,
        default=0.0,
        metavar="S",
        help="change an interaction through the API every S seconds during the product's rounds",
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="sqlite: the embedded default; postgres: PostgreSQL + Redis (scratch database)",
    )
    parser.add_argument(
        "--processes",
        default="1",
        help="comma-separated web process counts, e.g. 1,2 (`serve --workers N`); more than "
        "one needs --backend postgres",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SOCIALPULSE_BENCH_POSTGRES_URL", ""),
        help="PostgreSQL server to create the scratch database on (the URL's database is only "
        "connected to); default $SOCIALPULSE_BENCH_POSTGRES_URL",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SOCIALPULSE_BENCH_REDIS_URL", ""),
        help="an empty Redis database, flushed at the end; default $SOCIALPULSE_BENCH_REDIS_URL",
    )
    parser.add_argument("--hello-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hello_server:
        serve_hello(args.hello_server)
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes takes {', '.join(MODES)}")
    if args.rounds < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--rounds, --duration and --connections must be positive")
    if args.write_every < 0:
        parser.error("--write-every must be 0 (no writes) or a number of seconds")
    try:
        processes = parse_processes(args.processes)
    except ValueError as exc:
        parser.error(str(exc))
    on_postgres = args.backend == "postgres"
    if not on_postgres and processes != [1]:
        parser.error("more than one web process needs --backend postgres (SQLite is served by one)")
    if on_postgres and not (args.postgres_url and args.redis_url):
        parser.error(
            "--backend postgres needs --postgres-url and --redis-url (or "
            "SOCIALPULSE_BENCH_POSTGRES_URL and SOCIALPULSE_BENCH_REDIS_URL)"
        )
    runs = [Run(mode, count) for mode in modes for count in processes]
    require_wrk()

    shape = "one uvicorn process per server"
    if on_postgres:
        counts = " and ".join(str(n) for n in processes)
        shape = (
            f"PostgreSQL + Redis, `socialpulse serve --workers {counts}` plus one "
            "`socialpulse worker --scheduler`, hello one uvicorn process"
        )
    print(
        f"socialpulse HTTP load: wrk, {args.connections} connections, {args.threads} wrk "
        f"thread(s), {args.rounds} x {args.duration:g} s rounds per endpoint (median round "
        f"shown), {shape}, {os.cpu_count()} CPUs shared with the client"
    )
    if args.write_every:
        print(
            f"beside the load: one interaction changed through the API every "
            f"{args.write_every:g} s during the product's rounds"
        )
    print(f"load average at start: {load()} (1, 5, 15 min)", flush=True)
    results = Results()
    # The stack closes before the directory goes: the worker stops, then the scratch database
    # is dropped and Redis flushed.
    with tempfile.TemporaryDirectory(prefix="sp-http-load-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        env = product_env(work / "data")
        if on_postgres:
            try:
                env |= postgres_settings(stack, args.postgres_url, args.redis_url)
            except SetupError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        began = time.monotonic()
        cli(env, work, "migrate")
        email, password = demo_login(cli(env, work, "demo"))
        key = cli(env, work, "api-key", "create", "--workspace", "demo", "--name", "bench").strip()
        print(f"demo workspace ready in {time.monotonic() - began:.1f}s (migrate + demo)")
        if not cache_setting_known(env):
            print(
                f"note: {CACHE_SETTING} is not a setting of this build: the cold and cached "
                "runs serve the same way"
            )
        worker = None
        if on_postgres:
            # With Redis, `serve` starts no worker (README "Scaling out"): the demo's jobs and
            # the periodic ones need this one, as in production.
            worker_cmd = [sys.executable, "-m", "socialpulse", "worker", "--scheduler"]
            worker_cmd += ["--threads", str(WORKER_THREADS)]
            worker = stack.enter_context(running(worker_cmd, env, work, work / "worker.log"))
        hello_cmd = [sys.executable, str(Path(__file__).resolve()), "--hello-server", "{port}"]
        serve_cmd = [sys.executable, "-m", "socialpulse", "serve", "--port", "{port}"]
        chosen: list[Target] = []
        with serving(hello_cmd, env, work, "/", work / "hello.log") as hello_url:
            for run in runs:
                mode = run.mode
                mode_env = env | MODES[mode]
                command, log = serve_cmd, work / f"serve-{mode}.log"
                if on_postgres:
                    command = [*serve_cmd, "--workers", str(run.processes)]
                    log = work / f"serve-{mode}-{run.processes}.log"
                with serving(command, mode_env, work, "/api/health", log) as base_url:
                    waited = settle(base_url, key, args.settle)
                    if worker is not None and worker.poll() is not None:
                        output = (work / "worker.log").read_text()
                        raise RuntimeError(f"the worker exited ({worker.returncode}):\n{output}")
                    cookie = login_cookie(base_url, email, password)
                    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
                    everything = targets(first_account_id(base_url, key))
                    chosen = [t for t in everything if not wanted or t.name in wanted]
                    if not chosen:
                        names = ", ".join(t.name for t in everything)
                        parser.error(f"--only matched nothing; endpoints: {names}")
                    print(
                        f"{run.describe(on_postgres)}: server up ({CACHE_SETTING}="
                        f"{mode_env.get(CACHE_SETTING, 'default')}), start-up jobs settled in "
                        f"{waited:.1f}s, logged in through the form",
                        flush=True,
                    )
                    measure(run, base_url, hello_url, chosen, key, cookie, args, results)
    print_table(results, runs, chosen, with_processes=on_postgres)
    print(f"\nload average at end: {load()} (1, 5, 15 min); {time.monotonic() - began:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
