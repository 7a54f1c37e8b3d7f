"""Dashboard pages of creator intelligence: search, live build progress, the report with its
charts, refresh, and CSV/JSON export. Every page reads through ``creators.service``; what is
computed here is only the shape the templates and Chart.js want."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.billing import usage as billing_usage
from socialpulse.creators import directory, discovery, unlocks
from socialpulse.creators import service as creators_service
from socialpulse.creators.models import BuildStep, CreatorStatus
from socialpulse.creators.schemas import CreatorReportRead, ReportSections, Share, TimeSlot
from socialpulse.errors import AppError, Conflict
from socialpulse.kit.routing import api_router
from socialpulse.providers import registry
from socialpulse.providers.creators import CreatorSourceUnavailable
from socialpulse.web.credits import WebCredits, form_key, price_text
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

# Lookalikes on a report page (the API gives up to its own limit).
SIMILAR_SHOWN = 6
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The build's steps as the progress page names them (BuildStep.done is not a step).
STEPS: list[tuple[BuildStep, str]] = [
    (BuildStep.profile, "Reading the profile"),
    (BuildStep.posts, "Fetching recent posts"),
    (BuildStep.comments, "Sampling comments"),
    (BuildStep.media, "Storing thumbnails"),
    (BuildStep.ai, "Analysing captions and comments"),
    (BuildStep.aggregate, "Computing the report"),
    (BuildStep.related, "Collecting related profiles"),
]
# A build that ended without a report: what the page says, as a heading a person understands.
ENDED: dict[CreatorStatus, str] = {
    CreatorStatus.not_found: "No such account",
    CreatorStatus.private: "This account is private",
    CreatorStatus.failed: "The report could not be built",
}


def creator_platforms() -> list[dict[str, str]]:
    """Platforms that can build creator reports, for the search form's select."""
    return [
        {"value": info.name, "name": info.display_name}
        for info in registry.all_providers().values()
        if info.supports(registry.Capability.CREATOR_DISCOVERY)
    ]


def _search_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    *,
    query: str = "",
    platform: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    subject, _ = auth
    known, total = directory.workspace_creators(session, subject.workspace_id)
    context = layout(session, auth, "creators") | {
        "known": known,
        "known_total": total,
        "platforms": creator_platforms(),
        "query": query,
        "platform": platform,
        "error": error,
    }
    return render(request, "creators/search.html", context, status_code=status_code)


@router.get("/creators", response_class=HTMLResponse)
def search_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return _search_page(request, session, auth)


@router.post("/creators", response_class=HTMLResponse, dependencies=[CsrfChecked])
def search_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    query: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "",
) -> Response:
    subject, user = auth
    try:
        found_platform, handle = creators_service.parse_target(query, platform or None)
        creator = creators_service.request_report(
            session,
            platform=found_platform,
            handle=handle,
            workspace_id=subject.workspace_id,
            user_id=user.id,
        )
    except CreatorSourceUnavailable as exc:
        session.rollback()
        return _search_page(
            request, session, auth, query=query, platform=platform, error=str(exc), status_code=422
        )
    except AppError as exc:
        # Shown on the form, with what was typed, rather than as a flash on a blank form.
        session.rollback()
        return _search_page(
            request,
            session,
            auth,
            query=query,
            platform=platform,
            error=exc.message,
            status_code=exc.status_code,
        )
    return RedirectResponse(f"/creators/{creator.id}", status_code=303)


def _progress(report: CreatorReportRead) -> dict[str, Any]:
    """Where a build stands, for the progress fragment."""
    step = report.build_step
    order = [s for s, _label in STEPS]
    current = order.index(step) if step in order else (len(order) if step == BuildStep.done else 0)
    return {
        "steps": [
            {
                "label": label,
                "state": "done" if i < current else ("current" if i == current else "todo"),
            }
            for i, (_step, label) in enumerate(STEPS)
        ],
        "percent": round(100 * current / len(STEPS)),
        "ended": ENDED.get(report.status),
        # Built, whatever this workspace may see of it (the preview until it unlocks).
        "done": report.computed_at is not None and report.status != CreatorStatus.building,
    }


def _chart(shares: list[Share], limit: int = 8) -> dict[str, list[Any]]:
    top = shares[:limit]
    return {"labels": [s.label for s in top], "values": [s.count for s in top]}


def _heatmap(slots: list[TimeSlot]) -> list[dict[str, Any]]:
    """Weekday x hour cells shaded by average engagement, with each cell's post count."""
    by_slot = {(s.weekday, s.hour): s for s in slots}
    rates = [s.avg_engagement_rate for s in slots if s.avg_engagement_rate is not None]
    top = max(rates) if rates else 0.0
    rows = []
    for weekday, name in enumerate(WEEKDAYS):
        cells = []
        for hour in range(24):
            slot = by_slot.get((weekday, hour))
            rate = slot.avg_engagement_rate if slot else None
            # Capped at 0.6 so the dark count stays readable on the darkest cell (contrast).
            alpha = round(0.08 + 0.52 * rate / top, 2) if rate is not None and top > 0 else 0
            cells.append(
                {"hour": hour, "posts": slot.posts if slot else 0, "rate": rate, "alpha": alpha}
            )
        rows.append({"name": name, "short": name[:3], "cells": cells})
    return rows


def _report_context(sections: ReportSections) -> dict[str, Any]:
    engagement, content = sections.engagement, sections.content
    sentiment = engagement.comment_sentiment
    return {
        "engagement_chart": {
            "labels": [p.posted_at.date().isoformat() for p in engagement.over_time],
            "values": [
                round(p.engagement_rate * 100, 3) if p.engagement_rate is not None else None
                for p in engagement.over_time
            ],
        },
        "category_chart": _chart(content.categories),
        "language_chart": _chart(content.languages),
        "sentiment_chart": {
            "labels": ["positive", "neutral", "negative"],
            "values": [sentiment.positive, sentiment.neutral, sentiment.negative],
        },
        "heatmap": _heatmap(content.best_times),
        "best_slots": [s for s in content.best_times if s.avg_engagement_rate is not None][:3],
        "weekdays": WEEKDAYS,
    }


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never built"
    minutes = seconds / 60
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{round(minutes)} min ago"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h ago"
    return f"{round(minutes / 1440)} days ago"


@router.get("/creators/{creator_id}", response_class=HTMLResponse)
def creator_page(request: Request, session: DbSession, auth: WebAuth, creator_id: int) -> Response:
    subject, _ = auth
    report = creators_service.report_for(session, creator_id, subject.workspace_id)
    context = layout(session, auth, "creators") | {
        "report": report,
        "creator": report.creator,
        "progress": _progress(report),
        "age": _age(report.age_seconds),
        "can_refresh": subject.role.at_least(Role.editor),
    }
    if report.sections is None:
        # Nothing to show yet (or no access): the progress page polls until there is.
        return render(request, "creators/progress.html", context)
    email_quote = billing_usage.quote(session, subject.workspace_id, unlocks.EMAIL_ACTION)
    context |= {
        "similar": discovery.similar(session, subject.workspace_id, creator_id).items[
            :SIMILAR_SHOWN
        ],
        "email": unlocks.contact_email(session, subject.workspace_id, creator_id),
        "email_quote": email_quote,
        "email_price": price_text(email_quote),
        "idempotency_key": secrets.token_urlsafe(16),
    }
    return render(request, "creators/report.html", context | _report_context(report.sections))


@router.post("/creators/{creator_id}/email", dependencies=[CsrfChecked])
def creator_email(
    request: Request,
    auth: WebAuth,
    credits: WebCredits,
    creator_id: int,
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    """Reveal the contact e-mail the creator published (``email_unlock``, once per workspace,
    at the price the report page showed)."""
    subject, _ = auth
    try:
        subject.require(Role.editor)
        form_key(credits, idempotency_key)
        revealed = unlocks.unlock_email_via_gate(
            get_db(request),
            credits,
            workspace_id=subject.workspace_id,
            creator_id=creator_id,
            actor_user_id=subject.user_id,
        )
    except AppError as exc:
        if exc.status_code == 404 and "published" not in exc.message:
            raise
        flash(request, exc.message, "error")
    else:
        flash(request, f"Contact e-mail: {revealed.contact_email}", "success")
    return RedirectResponse(f"/creators/{creator_id}#contact", status_code=303)


@router.get("/creators/{creator_id}/status", response_class=HTMLResponse)
def creator_status(
    request: Request, session: DbSession, auth: WebAuth, creator_id: int
) -> Response:
    """The progress fragment the progress page polls; it says when the report is ready."""
    subject, _ = auth
    report = creators_service.report_for(session, creator_id, subject.workspace_id)
    context = {"report": report, "creator": report.creator, "progress": _progress(report)}
    response = render(request, "creators/_progress.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/creators/{creator_id}/refresh", dependencies=[CsrfChecked])
def creator_refresh(
    request: Request, session: DbSession, auth: WebAuth, creator_id: int
) -> Response:
    subject, _ = auth
    if not subject.role.at_least(Role.editor):
        flash(request, "Refreshing a report needs the editor role.", "error")
        return RedirectResponse(f"/creators/{creator_id}", status_code=303)
    job = creators_service.refresh(session, creator_id, subject.workspace_id)
    message = (
        "Refresh queued: the report updates when the new data is analysed."
        if job is not None
        else "A refresh is already under way."
    )
    flash(request, message, "success")
    return RedirectResponse(f"/creators/{creator_id}", status_code=303)


def _full_report(session: DbSession, auth: WebAuth, creator_id: int) -> CreatorReportRead:
    subject, _ = auth
    report = creators_service.report_for(session, creator_id, subject.workspace_id)
    if report.access == "preview":
        raise creators_service.CreatorAccessRequired(
            "this workspace has no access to this creator's full report: request it first"
        )
    if report.sections is None:
        raise Conflict("this creator's report is not ready yet")
    return report


def _filename(report: CreatorReportRead, ext: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in report.creator.handle)
    return f'attachment; filename="creator-{report.creator.platform}-{safe}.{ext}"'


@router.get("/creators/{creator_id}/export.json")
def export_json(request: Request, session: DbSession, auth: WebAuth, creator_id: int) -> Response:
    report = _full_report(session, auth, creator_id)
    return Response(
        report.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": _filename(report, "json")},
    )


POST_COLUMNS = (
    "posted_at",
    "url",
    "media_type",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "engagement_rate",
    "ai_category",
    "ai_sentiment",
    "ai_sentiment_score",
    "ai_language",
    "caption",
)


def report_csv(report: CreatorReportRead) -> str:
    """The report as a spreadsheet opens it: the headline figures as (field, value) rows, a
    blank line, then one row per post with its metrics, AI and comment sentiment."""
    assert report.sections is not None
    sections = report.sections
    out = io.StringIO()
    writer = csv.writer(out)
    overview, audience, engagement = sections.overview, sections.audience, sections.engagement
    writer.writerow(["field", "value"])
    for field, value in [
        ("platform", overview.platform),
        ("handle", overview.handle),
        ("display_name", overview.display_name),
        ("followers", overview.followers_count),
        ("following", overview.following_count),
        ("posts", overview.posts_count),
        ("verified", overview.verified),
        ("engagement_rate", overview.engagement_rate),
        ("follower_tier", overview.follower_tier),
        ("tier_median_engagement_rate", overview.tier_median_engagement_rate),
        ("primary_category", overview.primary_category),
        ("language", overview.language),
        ("posts_per_week", overview.posts_per_week),
        ("audience_quality_score", audience.audience_quality_score),
        ("repeat_commenter_share", audience.repeat_commenter_share),
        ("median_likes", engagement.median_likes),
        ("median_views", engagement.median_views),
        ("reply_rate", engagement.reply_rate),
        ("content_quality_score", sections.content.content_quality_score),
        ("computed_at", overview.computed_at.isoformat()),
    ]:
        writer.writerow([field, "" if value is None else value])
    writer.writerow([])
    writer.writerow([*POST_COLUMNS, "comments_positive", "comments_neutral", "comments_negative"])
    for post in sections.posts:
        values = post.model_dump(include=set(POST_COLUMNS))
        values["posted_at"] = post.posted_at.isoformat()
        sentiment = post.comments_sentiment
        writer.writerow(
            [
                *("" if values[c] is None else values[c] for c in POST_COLUMNS),
                sentiment.positive,
                sentiment.neutral,
                sentiment.negative,
            ]
        )
    return out.getvalue()


@router.get("/creators/{creator_id}/export.csv")
def export_csv(request: Request, session: DbSession, auth: WebAuth, creator_id: int) -> Response:
    report = _full_report(session, auth, creator_id)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": _filename(report, "csv")},
    )
