"""Dashboard pages of account analytics: accounts list, account page, API usage."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import budget as budget_service
from socialpulse.accounts import service as accounts_service
from socialpulse.ai import service as ai_service
from socialpulse.analytics import service as analytics
from socialpulse.analytics.schemas import RankBy, SeriesMetric
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.kit.security import SecretBox
from socialpulse.providers import registry
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role

router = APIRouter(include_in_schema=False)


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
        "definition": comparison.engagement_definition,
        "platforms": _platforms(),
        "can_edit": subject.role.at_least(Role.editor),
        "chart": {
            "labels": [f"@{row.account.handle}" for row in comparison.rows],
            "values": [row.followers or 0 for row in comparison.rows],
        },
    }
    return render(request, "accounts_list.html", context)


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
    parsed: dict[str, str] = {}
    for number, line in enumerate(credentials.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"credentials line {number}: expected name=value")
        parsed[name.strip()] = value.strip()
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


def _labels(analysis: dict[str, Any] | None) -> list[dict[str, str]]:
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


def _heatmap(best: Any) -> list[dict[str, Any]]:
    rates = [c.engagement_rate for c in best.cells if c.engagement_rate is not None]
    top = max(rates) if rates else 0.0
    rows: list[dict[str, Any]] = []
    for weekday in range(7):
        cells = [c for c in best.cells if c.weekday == weekday]
        rows.append(
            {
                "name": cells[0].weekday_name[:3] if cells else str(weekday),
                "cells": [
                    {
                        "hour": c.hour,
                        "samples": c.samples,
                        "rate": c.engagement_rate,
                        "alpha": round((c.engagement_rate or 0) / top, 3) if top else 0,
                    }
                    for c in cells
                ],
            }
        )
    return rows


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
        "labels": {post_id: _labels(analyses.get(post_id)) for post_id in thumbs},
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
        "can_edit": subject.role.at_least(Role.editor),
        "followers_chart": {
            "labels": [p.day.isoformat() for p in followers.points],
            "values": [p.value for p in followers.points],
        },
        "engagement_chart": {
            "labels": [p.day.isoformat() for p in engagement.points],
            "values": [round(float(p.value) * 100, 3) for p in engagement.points],
        },
    }
    return render(request, "account_detail.html", context)


@router.post("/accounts/{account_id}/fetch", dependencies=[CsrfChecked])
def account_fetch(request: Request, session: DbSession, auth: WebAuth, account_id: int) -> Response:
    subject, _ = auth
    run = accounts_service.request_fetch(session, subject, account_id)
    flash(request, f"Fetch #{run.id} queued.", "success")
    return RedirectResponse(f"/accounts/{account_id}", status_code=303)


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
        f"Removing @{account.handle} and its data in the background (job #{job.id}).",
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
