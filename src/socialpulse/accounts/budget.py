"""API usage per workspace, platform and quota day, and the daily budget guard.

Work that would take a platform past `safety_margin` (80 %) of its daily budget is deferred to
the next window before any request is sent. Quota days follow the platform's own reset, and the
default daily quota is the platform's documented one, or what our users specified (Instagram,
TikTok): both are facts of the provider registry (``ProviderInfo.quota_timezone`` and
``.daily_quota_units``).

Usage is counted per platform and day (``api_usage``) and per endpoint (``api_usage_endpoints``,
the breakdown), both as SQL increments in one transaction. Raising a budget releases what it
deferred at once (``accounts.service.change_budget``): this domain's fetches, jobs waiting by
``RetryAt`` with a deferral's message, and what other domains register with
``register_budget_release``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from socialpulse.accounts.models import ApiBudget, ApiUsage, ApiUsageEndpoint, TrackedAccount
from socialpulse.db import Database, utcnow
from socialpulse.kit.upsert import upsert
from socialpulse.providers import registry
from socialpulse.providers.base import ApiCall, BudgetDeferredError
from socialpulse.worker.jobs import make_due_now
from socialpulse.worker.models import Job, JobStatus
from socialpulse.workspaces.tenancy import Subject, scoped

DEFAULT_SAFETY_MARGIN = 0.8


def default_daily_units(platform: str) -> int | None:
    """The platform's documented daily quota in its own units; None: it has no unit budget
    (an unknown platform has none either)."""
    try:
        return registry.get_provider(platform).daily_quota_units
    except registry.UnknownPlatformError:
        return None


def quota_timezone(platform: str) -> str:
    """The zone whose midnight starts the platform's quota day (UTC when it states none)."""
    try:
        return registry.get_provider(platform).quota_timezone
    except registry.UnknownPlatformError:
        return "UTC"


def quota_day(platform: str, at: dt.datetime | None = None) -> dt.date:
    at = at or utcnow()
    return at.astimezone(ZoneInfo(quota_timezone(platform))).date()


def seconds_until_next_quota_day(platform: str, at: dt.datetime | None = None) -> float:
    at = at or utcnow()
    zone = ZoneInfo(quota_timezone(platform))
    local = at.astimezone(zone)
    next_midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), zone)
    return max(1.0, (next_midnight - local).total_seconds())


@dataclass(frozen=True)
class Budget:
    daily_units: int
    safety_margin: float

    @property
    def usable_units(self) -> int:
        return int(self.daily_units * self.safety_margin)


def budget_for(session: Session, workspace_id: int, platform: str) -> Budget | None:
    row = session.scalar(
        select(ApiBudget).where(
            ApiBudget.workspace_id == workspace_id, ApiBudget.platform == platform
        )
    )
    if row is not None:
        return Budget(row.daily_units, row.safety_margin)
    default = default_daily_units(platform)
    if default is not None:
        return Budget(default, DEFAULT_SAFETY_MARGIN)
    return None


def set_budget(
    session: Session, workspace_id: int, platform: str, daily_units: int, safety_margin: float
) -> ApiBudget:
    row = session.scalar(
        select(ApiBudget).where(
            ApiBudget.workspace_id == workspace_id, ApiBudget.platform == platform
        )
    )
    if row is None:
        row = ApiBudget(workspace_id=workspace_id, platform=platform, daily_units=daily_units)
        session.add(row)
    row.daily_units = daily_units
    row.safety_margin = safety_margin
    session.flush()
    return row


def units_used(session: Session, workspace_id: int, platform: str, day: dt.date) -> int:
    return (
        session.scalar(
            select(ApiUsage.quota_units).where(
                ApiUsage.workspace_id == workspace_id,
                ApiUsage.platform == platform,
                ApiUsage.day == day,
            )
        )
        or 0
    )


def more_room(before: Budget | None, after: Budget, used: int) -> bool:
    """Whether a budget change lets deferred work run now: more is usable than before, and
    today's use leaves room under the new limit (a lowered budget releases nothing)."""
    raised = before is None or after.usable_units > before.usable_units
    return raised and used < after.usable_units


def deferral_prefix(platform: str) -> str:
    """How every budget deferral's message starts: work that records the message (a comment
    poll's ``last_error``) is found again by it when the budget is raised."""
    return f"{platform} budget: "


# Raising a budget makes what it deferred due at once. Fetches are this domain's own; other
# domains that park work on a deferral register how to release theirs (at start-up, like
# deletion hooks): (session, workspace id, platform) -> how many items became due.
BudgetRelease = Callable[[Session, int, str], int]
_releases: dict[str, BudgetRelease] = {}


def register_budget_release(name: str, release: BudgetRelease) -> None:
    """Add ``release``, or replace the one registered under ``name`` (idempotent)."""
    _releases[name] = release


def budget_releases() -> list[BudgetRelease]:
    return list(_releases.values())


def release_deferred_jobs(session: Session, workspace_id: int, platform: str) -> int:
    """Make due now the workspace's jobs that wait, by ``RetryAt``, for ``platform``'s budget
    (a creator report build, a hide on the platform): their ``last_error`` carries the
    deferral's message. Returns how many."""
    job_ids = session.scalars(
        select(Job.id).where(
            Job.workspace_id == workspace_id,
            Job.status == JobStatus.pending,
            Job.run_after > utcnow(),
            Job.last_error.contains(deferral_prefix(platform), autoescape=True),
        )
    )
    return len(make_due_now(session, list(job_ids)))


@dataclass(frozen=True)
class EndpointUsage:
    """One endpoint's share of a platform's use on one quota day."""

    endpoint: str
    requests: int
    quota_units: int


@dataclass(frozen=True)
class UsageLine:
    """One platform's API use on one quota day, with the budget that applies to it."""

    platform: str
    day: dt.date
    timezone: str  # where the quota day starts at midnight
    requests: int
    successes: int
    failures: int
    average_latency_ms: float | None  # None: no request that day
    quota_units: int
    deferred: int
    budget: Budget | None  # None: the platform has no unit budget
    # Which endpoints the requests and units went to, most units first; they add up to the
    # totals (usage recorded before the breakdown existed has none).
    endpoints: tuple[EndpointUsage, ...] = ()

    @property
    def percent(self) -> float | None:
        """Share of the daily budget used, capped at 100."""
        if self.budget is None:
            return None
        return min(100.0, 100 * self.quota_units / self.budget.daily_units)

    @property
    def margin_percent(self) -> float | None:
        return None if self.budget is None else 100 * self.budget.safety_margin


@dataclass(frozen=True)
class UsageReport:
    today: list[UsageLine]  # every platform the workspace tracks or that has a unit budget
    days: list[UsageLine]  # what was recorded on the last quota days, newest first


EndpointKey = tuple[str, dt.date]


def _endpoints(
    session: Session, subject: Subject, days: set[dt.date]
) -> dict[EndpointKey, tuple[EndpointUsage, ...]]:
    """{(platform, day): its endpoints, most units then most requests first} for ``days``."""
    rows = session.scalars(
        scoped(select(ApiUsageEndpoint), subject)
        .where(ApiUsageEndpoint.day.in_(sorted(days)))
        .order_by(
            ApiUsageEndpoint.quota_units.desc(),
            ApiUsageEndpoint.requests.desc(),
            ApiUsageEndpoint.endpoint,
        )
    )
    found: dict[EndpointKey, list[EndpointUsage]] = defaultdict(list)
    for row in rows:
        found[(row.platform, row.day)].append(
            EndpointUsage(row.endpoint, row.requests, row.quota_units)
        )
    return {key: tuple(items) for key, items in found.items()}


def _line(
    session: Session,
    workspace_id: int,
    platform: str,
    day: dt.date,
    row: ApiUsage | None,
    endpoints: dict[EndpointKey, tuple[EndpointUsage, ...]],
) -> UsageLine:
    return UsageLine(
        platform=platform,
        day=day,
        timezone=quota_timezone(platform),
        requests=row.requests if row else 0,
        successes=row.successes if row else 0,
        failures=row.failures if row else 0,
        average_latency_ms=round(row.average_latency_ms, 1) if row else None,
        quota_units=row.quota_units if row else 0,
        deferred=row.deferred if row else 0,
        budget=budget_for(session, workspace_id, platform),
        endpoints=endpoints.get((platform, day), ()),
    )


def usage_report(session: Session, subject: Subject, *, days: int = 7) -> UsageReport:
    """API use per platform: today's quota day of each platform, and the last ``days`` quota
    days on which anything was recorded. The API and the dashboard both show this."""
    rows = list(
        session.scalars(
            scoped(select(ApiUsage), subject).order_by(ApiUsage.day.desc(), ApiUsage.platform)
        )
    )
    tracked = set(session.scalars(scoped(select(TrackedAccount.platform), subject).distinct()))
    budgeted = {
        name
        for name, info in registry.all_providers().items()
        if info.daily_quota_units is not None
    }
    platforms = sorted(tracked | budgeted)
    days_today = {platform: quota_day(platform) for platform in platforms}
    days_seen = set(sorted({row.day for row in rows}, reverse=True)[:days])
    endpoints = _endpoints(session, subject, days_seen | set(days_today.values()))
    today = []
    for platform, day in days_today.items():
        row = next((r for r in rows if r.platform == platform and r.day == day), None)
        today.append(_line(session, subject.workspace_id, platform, day, row, endpoints))
    recent = [
        _line(session, subject.workspace_id, row.platform, row.day, row, endpoints)
        for row in rows
        if row.day in days_seen
    ]
    return UsageReport(today=today, days=recent)


@dataclass
class _Pending:
    requests: int = 0
    successes: int = 0
    failures: int = 0
    latency_ms: float = 0.0
    units: int = 0
    deferred: int = 0
    # {endpoint: [requests, units]}: the breakdown of the totals above
    endpoints: defaultdict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )


class BudgetObserver:
    """A provider `CallObserver` that enforces the workspace's daily budget and records usage.

    Usage accumulates in memory during a fetch and is written with `flush()` (as increments, so
    concurrent fetches of one workspace add up instead of overwriting each other).
    """

    def __init__(self, db: Database, workspace_id: int) -> None:
        self.db = db
        self.workspace_id = workspace_id
        self.pending: dict[tuple[str, dt.date], _Pending] = defaultdict(_Pending)
        self.calls = 0
        self.units = 0
        # Each platform's budget, read on its first call: an observer lives for one fetch or
        # send (seconds), and a platform without a budget then costs no query per call. What
        # is used is still read per call: other fetches of the workspace add to it meanwhile.
        self._budgets: dict[str, Budget | None] = {}

    def before_call(self, platform: str, endpoint: str, quota_cost: int) -> None:
        day = quota_day(platform)
        if platform in self._budgets and self._budgets[platform] is None:
            return
        with self.db.session(readonly=True) as session:
            if platform not in self._budgets:
                self._budgets[platform] = budget_for(session, self.workspace_id, platform)
            budget = self._budgets[platform]
            if budget is None:
                return
            used = units_used(session, self.workspace_id, platform, day)
        used += self.pending[(platform, day)].units
        if used + quota_cost > budget.usable_units:
            self.pending[(platform, day)].deferred += 1
            raise BudgetDeferredError(
                f"{deferral_prefix(platform)}{used} of {budget.daily_units} units used today; "
                f"{endpoint} ({quota_cost} units) would pass the "
                f"{budget.safety_margin:.0%} safety margin, so it waits for the next quota day",
                platform=platform,
                endpoint=endpoint,
                retry_after=seconds_until_next_quota_day(platform),
            )

    def after_call(self, call: ApiCall) -> None:
        entry = self.pending[(call.platform, quota_day(call.platform, call.at))]
        entry.requests += 1
        entry.successes += int(call.ok)
        entry.failures += int(not call.ok)
        entry.latency_ms += call.latency_ms
        entry.units += call.quota_cost
        endpoint = entry.endpoints[call.endpoint]
        endpoint[0] += 1
        endpoint[1] += call.quota_cost
        self.calls += 1
        self.units += call.quota_cost

    def flush(self, session: Session) -> None:
        for (platform, day), entry in self.pending.items():
            key = {"workspace_id": self.workspace_id, "platform": platform, "day": day}
            upsert(session, ApiUsage.__table__, [key], conflict=list(key), update=[])  # type: ignore[arg-type]
            session.execute(
                update(ApiUsage)
                .where(
                    ApiUsage.workspace_id == self.workspace_id,
                    ApiUsage.platform == platform,
                    ApiUsage.day == day,
                )
                .values(
                    requests=ApiUsage.requests + entry.requests,
                    successes=ApiUsage.successes + entry.successes,
                    failures=ApiUsage.failures + entry.failures,
                    total_latency_ms=ApiUsage.total_latency_ms + entry.latency_ms,
                    quota_units=ApiUsage.quota_units + entry.units,
                    deferred=ApiUsage.deferred + entry.deferred,
                )
            )
            for endpoint, (requests, units) in entry.endpoints.items():
                _add_endpoint_usage(session, key | {"endpoint": endpoint}, requests, units)
        self.pending.clear()


def _add_endpoint_usage(session: Session, key: dict[str, Any], requests: int, units: int) -> None:
    """Add to one endpoint's counters the way the totals are added to: create the row if
    missing, then increment in SQL, so concurrent fetches add up exactly."""
    table = ApiUsageEndpoint.__table__
    upsert(session, table, [key], conflict=list(key), update=[])  # type: ignore[arg-type]
    session.execute(
        update(ApiUsageEndpoint)
        .where(*(getattr(ApiUsageEndpoint, column) == value for column, value in key.items()))
        .values(
            requests=ApiUsageEndpoint.requests + requests,
            quota_units=ApiUsageEndpoint.quota_units + units,
        )
    )
