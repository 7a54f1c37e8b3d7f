"""Dashboard pages of account analytics: accounts list, account page, API usage."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts import service as accounts_service
from socialpulse.ai import service as ai_service
from socialpulse.analytics import service as analytics
from socialpulse.analytics.schemas import RankBy, SeriesMetric
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.kit.security import SecretBox
from socialpulse.providers import registry
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)


def _platforms() -> list[dict[str, Any]]:
    return [
        {
            "value": str(info.platform),
            "name": info.display_name,
            "credentials": list(info.credential_fields),
            "needs_credentials": info.needs_credentials,
            "example": info.url_forms[0] if info.url_forms else "",
        }
        for info in registry.all_providers().values()
    ]


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    comparison = analytics.compare(session, subject)
    accounts = {a.id: a for a in accounts_service.list_accounts(session, subject)}
    context = layout(session, auth, "accounts") | {
        "rows": [(row, accounts[row.account.id]) for row in comparison.rows],
        "last_fetched": {a.id: accounts_service.last_fetched(a) for a in accounts.values()},
        "removals": accounts_service.removal_progress(session, subject),
        "definition": comparison.engagement_definition,
        "platforms": _platforms(),
        "can_edit": subject.role.at_least(Role.editor),
        "chart": {
            "labels": [f"@{row.account.handle}" for row in comparison.rows],
            "values": [row.followers or 0 for row in comparison.rows],
        },
    }
    return render(request, "accounts_list.html", context)


def _credentials(text: str) -> dict[str, str]:
    """The form's `name=value` lines."""
    parsed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"credentials line {number}: expected name=value")
        parsed[name.strip()] = value.strip()
    return parsed


@router.post("/accounts", dependencies=[CsrfChecked])
def accounts_add(
    request: Request,
    auth: WebAuth,
    ref: Annotated[str, Form()],
    platform: Annotated[str, Form()] = "",
    is_own: Annotated[str, Form()] = "own",
    credentials: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    parsed = _credentials(credentials)
    account = accounts_service.add_account(
        get_db(request),
        subject,
        ref,
        box=SecretBox(request.app.state.settings.resolved_secret_key()),
        platform=platform or None,
        credentials=parsed or None,
        is_own=is_own == "own",
        allow_simulated=request.app.state.settings.simulated_platform,
    )
    flash(request, f"Now tracking @{account.handle}. Its first full fetch is queued.", "success")
    with get_db(request).session() as session:
        accounts_service.queue_fetch(session, account, "manual")
    return RedirectResponse(f"/accounts/{account.id}", status_code=303)


def _why(items: list[dict[str, Any]], limit: int = 4) -> str:
    return ", ".join(
        f"{item['value']} ({item['weight']:+.2f})"
        if item.get("source") == "feature"
        else f"{item['value']}"
        for item in items[:limit]
    )


def post_labels(analysis: dict[str, Any] | None) -> list[dict[str, str]]:
    """Per-post labels with the evidence a user sees on hover."""
    if not analysis:
        return []
    labels = []
    sentiment = analysis["sentiment"]
    labels.append(
        {
            "kind": f"sentiment-{sentiment['label']}",
            "text": sentiment["label"],
            "why": f"confidence {sentiment['confidence']:.0%}; "
            + (_why(sentiment["evidence"]) or "no strong words"),
        }
    )
    category = analysis["category"]
    if category["label"]:
        labels.append(
            {
                "kind": "category",
                "text": category["label"],
                "why": f"confidence {category['confidence']:.0%}; matched "
                + _why(category["evidence"]),
            }
        )
    for name, intent in analysis["intents"].items():
        if intent["fired"] and name != "other":
            labels.append(
                {
                    "kind": "intent",
                    "text": name.replace("_", " "),
                    "why": f"score {intent['score']:.2f}; " + _why(intent["evidence"]),
                }
            )
    if analysis["toxicity"]["toxic"]:
        labels.append(
            {"kind": "toxic", "text": "toxic", "why": _why(analysis["toxicity"]["evidence"])}
        )
    language = analysis["language"]
    labels.append(
        {
            "kind": "lang",
            "text": language["code"],
            "why": f"confidence {language['confidence']:.0%}",
        }
    )
    return labels


# Colour steps of the heatmap: darker is a higher observed engagement rate, relative to the
# best cell with enough posts (so the darkest cell is the one "Best:" names).
HEATMAP_LEVELS = 4


def _heatmap(best: Any) -> dict[str, Any]:
    """The observed 7 x 24 grid as the page draws it: a colour level per cell scaled to the
    cells with at least ``min_samples`` posts, the others faded, ``best.top`` marked."""
    enough = [
        c.engagement_rate
        for c in best.cells
        if c.samples >= best.min_samples and c.engagement_rate is not None
    ]
    top = max(enough) if enough else 0.0
    marked = {(c.weekday, c.hour): rank for rank, c in enumerate(best.top, start=1)}
    rows: list[dict[str, Any]] = []
    for weekday in range(7):
        cells = [c for c in best.cells if c.weekday == weekday]
        row_cells = []
        for c in cells:
            rate = c.engagement_rate
            faded = c.samples < best.min_samples or rate is None
            level = 0
            if rate is not None and top > 0:
                level = min(HEATMAP_LEVELS, max(1, math.ceil(rate / top * HEATMAP_LEVELS)))
            row_cells.append(
                {
                    "hour": c.hour,
                    "samples": c.samples,
                    "rate": rate,
                    "level": 0 if faded else level,
                    "faded": faded and c.samples > 0,
                    "best": marked.get((c.weekday, c.hour)),
                }
            )
        rows.append(
            {
                "name": cells[0].weekday_name[:3] if cells else str(weekday),
                "full": cells[0].weekday_name if cells else str(weekday),
                "cells": row_cells,
            }
        )
    levels = [
        (level, top * (level - 1) / HEATMAP_LEVELS, top * level / HEATMAP_LEVELS)
        for level in range(1, HEATMAP_LEVELS + 1)
    ]
    return {"rows": rows, "levels": levels if top else []}


def _series_chart(points: list[Any], scale: float = 1.0) -> dict[str, Any]:
    return {
        "labels": [p.day.isoformat() for p in points],
        "values": [round(float(p.value) * scale, 3) for p in points],
    }


@router.get("/accounts/removal-status")
def removal_status(session: DbSession, auth: WebAuth) -> Response:
    """{account id: {deleted, total}} of accounts being removed, polled by the accounts list;
    an id missing from the answer is gone."""
    subject, _ = auth
    progress = accounts_service.removal_progress(session, subject)
    body = {
        str(account_id): {"deleted": done[0], "total": done[1]} if done else None
        for account_id, done in progress.items()
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(
    request: Request, session: DbSession, auth: WebAuth, account_id: int, by: str = "engagement"
) -> Response:
    subject, _ = auth
    account = accounts_service.get_account(session, subject, account_id)
    rank = RankBy(by) if by in RankBy.__members__ else RankBy.engagement
    overview = analytics.overview(session, subject, account_id)
    followers = analytics.timeseries(session, subject, account_id, SeriesMetric.followers, 90)
    engagement = analytics.timeseries(session, subject, account_id, SeriesMetric.engagement, 90)
    since = utcnow() - dt.timedelta(days=30)
    top = analytics.top_posts(session, subject, account_id, by=rank, since=since, limit=10)
    thumbs = accounts_service.post_thumbnails(session, subject, [p.id for p in top.posts])
    analyses = accounts_service.post_analyses(session, subject, list(thumbs))
    ai_profile = ai_service.account_profile(session, subject, account_id)
    best = analytics.best_times(session, subject, account_id, days=180)
    hashtags = analytics.hashtag_performance(session, subject, account_id, days=90)
    context = layout(session, auth, "accounts") | {
        "account": account,
        "platform_name": accounts_service.platform_name(account.platform),
        "overview": overview,
        "top": top,
        "rank": rank.value,
        "thumbs": thumbs,
        "labels": {post_id: post_labels(analyses.get(post_id)) for post_id in thumbs},
        "ai": ai_profile,
        "ai_chart": {
            "labels": ["positive", "neutral", "negative"],
            "values": [
                ai_profile["sentiment_mix"].get(k, 0) for k in ("positive", "neutral", "negative")
            ],
        },
        "best": best,
        "heatmap": _heatmap(best),
        "hashtags": hashtags,
        "fetches": accounts_service.fetch_history(session, subject, account_id, 15),
        "progress": accounts_service.fetch_progress(session, subject, account_id),
        "last_fetched": accounts_service.last_fetched(account),
        "can_edit": subject.role.at_least(Role.editor),
        "followers_chart": _series_chart(followers.points),
        "engagement_chart": _series_chart(engagement.points, 100),
    }
    return render(request, "account_detail.html", context)


@router.post("/accounts/{account_id}/reconnect", dependencies=[CsrfChecked])
def account_reconnect(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    account_id: int,
    credentials: Annotated[str, Form()],
) -> Response:
    """New credentials for an account whose platform rejected the stored ones; checked, stored
    encrypted, and a fetch queued to prove them."""
    subject, _ = auth
    parsed = _credentials(credentials)
    if not parsed:
        raise InvalidInput("paste the new credentials, one name=value per line")
    account = accounts_service.update_account(
        session,
        subject,
        account_id,
        credentials=parsed,
        box=SecretBox(request.app.state.settings.resolved_secret_key()),
    )
    run = accounts_service.request_fetch(session, subject, account_id)
    flash(request, f"New credentials saved for @{account.handle}; fetch #{run.id} checks them.")
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/accounts/{account_id}/fetch", dependencies=[CsrfChecked])
def account_fetch(request: Request, session: DbSession, auth: WebAuth, account_id: int) -> Response:
    """Queue a fetch; while one is queued or running, follow it instead of queueing another.
    accounts.js asks for JSON and follows the progress in place; without JS, back to the page."""
    subject, _ = auth
    pending = accounts_service.active_fetch(session, subject, account_id)
    run = accounts_service.request_fetch(session, subject, account_id)
    if _wants_json(request):
        progress = accounts_service.fetch_progress(session, subject, account_id)
        return JSONResponse(progress.model_dump(mode="json"), status_code=202)
    if pending is not None:
        flash(request, f"Fetch #{run.id} is already {run.status.value}: no second one queued.")
    else:
        flash(request, f"Fetch #{run.id} queued. Reload to see its progress.", "success")
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


@router.get("/accounts/{account_id}/fetch-status")
def account_fetch_status(session: DbSession, auth: WebAuth, account_id: int) -> Response:
    """The latest fetch's progress, polled by accounts.js every 2 s while one is under way."""
    subject, _ = auth
    progress = accounts_service.fetch_progress(session, subject, account_id)
    return JSONResponse(progress.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/accounts/{account_id}/delete", response_class=HTMLResponse)
def account_delete_confirm(
    request: Request, session: DbSession, auth: WebAuth, account_id: int
) -> Response:
    """What removing the account deletes, with the button that does it (no JS needed)."""
    subject, _ = auth
    subject.require(Role.editor)
    account = accounts_service.get_account(session, subject, account_id)
    context = layout(session, auth, "accounts") | {
        "account": account,
        "platform_name": accounts_service.platform_name(account.platform),
        "preview": accounts_service.removal_preview(session, subject, account_id),
        "last_fetched": accounts_service.last_fetched(account),
    }
    return render(request, "account_delete.html", context)


@router.post("/accounts/{account_id}/delete", dependencies=[CsrfChecked])
def account_delete(
    request: Request, session: DbSession, auth: WebAuth, account_id: int
) -> Response:
    """Remove the account: marked at once, its data deleted in the background."""
    subject, _ = auth
    account = accounts_service.get_account(session, subject, account_id)
    job = accounts_service.delete_account(session, subject, account_id)
    flash(
        request,
        f"Removing @{account.handle} and its data in the background (job #{job.id}); "
        "its row below shows the progress until it is gone.",
        "success",
    )
    return RedirectResponse("/accounts", status_code=303)


@router.get("/usage", response_class=HTMLResponse)
def usage_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    report = budget_service.usage_report(session, subject)
    context = layout(session, auth, "usage") | {
        "bars": report.today,
        "names": {
            line.platform: accounts_service.platform_name(line.platform) for line in report.today
        },
        "history": report.days,
        "waiting": accounts_service.waiting_fetches(session, subject),
    }
    return render(request, "usage.html", context)
