"""Dashboard pages of one post (its metric history, its comments with what the AI read in
them, the content it maps to) and of accounts side by side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from socialpulse.accounts import content as content_service
from socialpulse.accounts import service as accounts_service
from socialpulse.analytics import growth as growth_service
from socialpulse.analytics import service as analytics
from socialpulse.errors import InvalidInput
from socialpulse.inbox import service as inbox_service
from socialpulse.kit.routing import api_router
from socialpulse.web.accounts import post_labels
from socialpulse.web.pages import layout, render
from socialpulse.web.security import WebAuth
from socialpulse.workspaces.deps import DbSession

router = api_router(include_in_schema=False)

# Accounts one comparison shows at most (the chart stays readable).
COMPARE_MAX = 12
COMMENTS_SHOWN = 50


def _history_charts(points: list[Any]) -> dict[str, dict[str, Any]]:
    labels = [point.day.isoformat() for point in points]

    def dataset(name: str, colour: str) -> dict[str, Any]:
        values = [getattr(point.metrics, name) for point in points]
        return {"label": name, "data": values, "borderColor": colour, "backgroundColor": colour}

    return {
        "views": {"labels": labels, "values": [point.metrics.views for point in points]},
        "reactions": {
            "labels": labels,
            "values": [point.metrics.likes for point in points],
            "datasets": [
                dataset("likes", "#4f46e5"),
                dataset("comments", "#059669"),
                dataset("shares", "#b45309"),
            ],
        },
    }


@router.get("/posts/{post_id}", response_class=HTMLResponse)
def post_page(request: Request, session: DbSession, auth: WebAuth, post_id: int) -> Response:
    subject, _ = auth
    post = accounts_service.get_post(session, subject, post_id)
    account = accounts_service.get_account(session, subject, post.account_id)
    growth = growth_service.post_growth(session, subject, post.account_id, post.id)
    comments = inbox_service.post_interactions(session, subject, post.id, limit=COMMENTS_SHOWN)
    analysis = accounts_service.post_analyses(session, subject, [post.id]).get(post.id)
    context = layout(session, auth, "accounts") | {
        "post": post,
        "account": account,
        "platform_name": accounts_service.platform_name(account.platform),
        "points": growth.points,
        "charts": _history_charts(growth.points),
        "labels": post_labels(analysis),
        "comments": comments,
        "comments_shown": COMMENTS_SHOWN,
        "mappings": content_service.post_mappings(session, subject, post.id),
    }
    return render(request, "post_detail.html", context)


def _parse_ids(values: list[str]) -> list[int]:
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                ids.append(int(part))
            except ValueError as exc:
                raise InvalidInput(f"account ids are numbers; got {part.strip()!r}") from exc
    ids = list(dict.fromkeys(ids))
    if len(ids) > COMPARE_MAX:
        raise InvalidInput(f"compare at most {COMPARE_MAX} accounts at once")
    return ids


@router.get("/accounts/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    ids: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies query defaults)
) -> Response:
    """Chosen accounts side by side (all of them, up to COMPARE_MAX, when none is chosen)."""
    subject, _ = auth
    chosen = _parse_ids(ids)
    accounts = [
        account
        for account in accounts_service.list_accounts(session, subject)
        if account.status.value != "deleting"
    ]
    selected = chosen or [account.id for account in accounts[:COMPARE_MAX]]
    comparison = analytics.compare(session, subject, selected)
    rows = [
        {
            "row": row,
            "per_week": round(row.posts_30d * 7 / comparison.days, 1),
        }
        for row in comparison.rows
    ]
    handles = [f"@{row.account.handle}" for row in comparison.rows]
    context = layout(session, auth, "accounts") | {
        "accounts": accounts,
        "selected": set(selected),
        "rows": rows,
        "days": comparison.days,
        "definition": comparison.engagement_definition,
        "followers_chart": {
            "labels": handles,
            "values": [row.followers or 0 for row in comparison.rows],
        },
        "engagement_chart": {
            "labels": handles,
            "values": [round((row.engagement_rate_30d or 0) * 100, 3) for row in comparison.rows],
        },
    }
    return render(request, "accounts_compare.html", context)
