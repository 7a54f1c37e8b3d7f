"""HTTP load of the real `socialpulse serve`, against a minimal FastAPI app in the same run.

Both are driven by `wrk` (Debian/Ubuntu package `wrk`) on loopback, 16 connections, 3 rounds
per endpoint (the round with the median requests/s is reported, with its p50 and p99 from
wrk's latency distribution). The baseline is an `async def` "hello" route served by uvicorn
with the options `socialpulse serve` uses (one process, log level info, no access log), so
`req/s / hello` says what share of the web server's own capacity an endpoint gets.

The product runs as a user runs it, on the demo workspace: a temporary SOCIALPULSE_DATA_DIR,
`socialpulse migrate`, `socialpulse demo`, then `socialpulse serve` with default settings
(default logging, embedded worker), twice: "cold" with SOCIALPULSE_RESPONSE_CACHE=off and
"cached" with the default. Two settings differ from the defaults, or every figure would be
of 429 answers: the per-key API and per-user dashboard rate limits. Before timing, each
endpoint must answer 200, and the embedded worker gets up to --settle seconds to finish the
jobs the start queued. The dashboard pages use a session cookie from the real login form.

    python benchmarks/http_load.py [--duration 5] [--rounds 3] [--connections 16]
        [--modes cold,cached] [--only health,inbox]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    auth: str  # "", "key" (Bearer API key) or "cookie" (dashboard session)

    @property
    def label(self) -> str:
        if self is HELLO:
            return "hello baseline (minimal FastAPI)"
        shown = f"`GET {self.path}`"
        return f"dashboard {shown} (session cookie)" if self.auth == "cookie" else shown


def targets(account_id: int) -> list[Target]:
    account = f"/api/v1/accounts/{account_id}"
    return [
        Target("health", "/api/health", ""),
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


@dataclass(frozen=True)
class Round:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors (timeouts included)


@dataclass
class Results:
    rounds: dict[tuple[str, str], list[Round]] = field(default_factory=dict)

    def add(self, mode: str, target: str, result: Round) -> None:
        self.rounds.setdefault((mode, target), []).append(result)

    def spread(self, mode: str, target: str) -> float:
        """(max - min) / median of the rounds' req/s: how much the machine moved under us."""
        rates = [r.rps for r in self.rounds[(mode, target)]]
        middle = self.median(mode, target).rps
        return (max(rates) - min(rates)) / middle if middle else 0.0

    def median(self, mode: str, target: str) -> Round:
        """The round whose req/s is the median one (its own p50 and p99 come with it)."""
        ordered = sorted(self.rounds[(mode, target)], key=lambda r: r.rps)
        return ordered[(len(ordered) - 1) // 2]


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


@contextmanager
def serving(
    command: list[str], env: dict[str, str], cwd: Path, ready_path: str, log: Path
) -> Iterator[str]:
    """Start `command` ("{port}" in it replaced by a free port) and yield its base URL once
    `ready_path` answers 200."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in command],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
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
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_hello(port: int) -> None:
    """The baseline: the least a FastAPI app on uvicorn can do per request."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    # As `socialpulse serve` runs uvicorn at the default log level INFO.
    uvicorn.run(app, host=HOST, port=port, log_level="info", access_log=False)


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


# --- the run ---------------------------------------------------------------------------------


def measure(
    mode: str,
    base_url: str,
    hello_url: str,
    chosen: list[Target],
    key: str,
    cookie: str,
    args: argparse.Namespace,
    results: Results,
) -> None:
    plan: list[tuple[Target, str, list[str]]] = [(HELLO, hello_url, [])] + [
        (t, base_url, headers_for(t, key, cookie)) for t in chosen
    ]
    for target, url, headers in plan:
        check_ok(url, target, headers)
        if args.warmup > 0:
            run_wrk(url + target.path, headers, args, args.warmup)
    # Rounds interleave the endpoints (and the baseline), so a drift in the machine's load
    # touches every row alike instead of one endpoint's three rounds.
    for number in range(1, args.rounds + 1):
        for target, url, headers in plan:
            result = run_wrk(url + target.path, headers, args, args.duration)
            results.add(mode, target.name, result)
        print(f"  {mode}: round {number}/{args.rounds} done, load {load()}", flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def print_table(results: Results, modes: list[str], chosen: list[Target]) -> None:
    """A fixed-width table, then the same figures as Markdown. A round in which no request
    finished (every one slower than the round) has no latency: shown as "-"."""
    rows: list[tuple[Target, str, Round, Round, float]] = [
        (
            target,
            mode,
            results.median(mode, target.name),
            results.median(mode, HELLO.name),
            results.spread(mode, target.name),
        )
        for mode in modes
        for target in [HELLO, *chosen]
    ]

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
    print(
        f"{'endpoint':<16} {'mode':<7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s vs hello':>14} {'p99 vs hello':>12} {'n':>7} {'errors':>6} {'spread':>6}"
    )
    for target, mode, row, hello, spread in rows:
        rps, p50, p99, ratio, p99_ratio = figures(row, hello)
        print(
            f"{target.name:<16} {mode:<7} {rps:>8} {p50:>8} {p99:>8} {ratio:>14} {p99_ratio:>12} "
            f"{row.requests:>7} {row.errors:>6} {spread:>6.0%}"
        )
    print(
        "n: requests in the median round; errors: non-2xx/3xx answers and socket errors in it; "
        "spread: (max - min) / median req/s over the rounds"
    )
    print()
    print("| endpoint | mode | req/s | p50 ms | p99 ms | req/s vs hello | p99 vs hello |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for target, mode, row, hello, _spread in rows:
        print(f"| {target.label} | {mode} | " + " | ".join(figures(row, hello)) + " |")


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
    require_wrk()

    print(
        f"socialpulse HTTP load: wrk, {args.connections} connections, {args.threads} wrk "
        f"thread(s), {args.rounds} x {args.duration:g} s rounds per endpoint (median round "
        f"shown), one uvicorn process per server, {os.cpu_count()} CPUs shared with the client"
    )
    print(f"load average at start: {load()} (1, 5, 15 min)", flush=True)
    results = Results()
    with tempfile.TemporaryDirectory(prefix="sp-http-load-") as tmp:
        work = Path(tmp)
        env = product_env(work / "data")
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
        hello_cmd = [sys.executable, str(Path(__file__).resolve()), "--hello-server", "{port}"]
        serve_cmd = [sys.executable, "-m", "socialpulse", "serve", "--port", "{port}"]
        chosen: list[Target] = []
        with serving(hello_cmd, env, work, "/", work / "hello.log") as hello_url:
            for mode in modes:
                mode_env = env | MODES[mode]
                log = work / f"serve-{mode}.log"
                with serving(serve_cmd, mode_env, work, "/api/health", log) as base_url:
                    waited = settle(base_url, key, args.settle)
                    cookie = login_cookie(base_url, email, password)
                    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
                    everything = targets(first_account_id(base_url, key))
                    chosen = [t for t in everything if not wanted or t.name in wanted]
                    if not chosen:
                        names = ", ".join(t.name for t in everything)
                        parser.error(f"--only matched nothing; endpoints: {names}")
                    print(
                        f"{mode}: server up ({CACHE_SETTING}="
                        f"{mode_env.get(CACHE_SETTING, 'default')}), start-up jobs settled in "
                        f"{waited:.1f}s, logged in through the form",
                        flush=True,
                    )
                    measure(mode, base_url, hello_url, chosen, key, cookie, args, results)
    print_table(results, modes, chosen)
    print(f"\nload average at end: {load()} (1, 5, 15 min); {time.monotonic() - began:.0f}s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
