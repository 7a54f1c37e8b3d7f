"""Workspace analytics in the dashboard: the overview (charts by day, platform and sentiment,
top posts) and ROI (costs, estimated value, the formula, editable values per unit, recorded
costs). Calls `insights.service` and `insights.roi`, like the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from socialpulse.alerts import service as alerts_service
from socialpulse.analytics import service as analytics_service
from socialpulse.creators import campaigns
from socialpulse.errors import AppError, InvalidInput
from socialpulse.insights import roi, service
from socialpulse.insights.models import CostCategory
from socialpulse.insights.schemas import CostCreate, RoiSettingsUpdate
from socialpulse.kit.routing import api_router
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

router = api_router(include_in_schema=False)

PERIODS = (7, 30, 90, 365)
METRICS = ("like", "comment", "share", "follower", "click", "impression")
ROI_PAGE = "/analytics/roi"
OVERVIEW_PAGE = "/analytics/overview"
COSTS_SHOWN = 50

Days = Annotated[int, Query(ge=1, le=service.MAX_DAYS)]
Platform = Annotated[str | None, Query(max_length=32)]


def _chart(labels: list[str], values: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """What static/charts.js draws (the template writes it with ``tojson``)."""
    data: dict[str, Any] = {"labels": labels} | extra
    if values is not None:
        data["values"] = values
    return data


def _filters(days: int, platform: str | None) -> dict[str, Any]:
    return {
        "days": days,
        "periods": sorted({*PERIODS, days}),
        "platform": platform or "",
        "platforms": service.supported_platforms(),
    }


@router.get("/analytics/overview", response_class=HTMLResponse)
def overview_page(
    request: Request, session: DbSession, auth: WebAuth, days: Days = 30, platform: Platform = None
) -> Response:
    subject, _ = auth
    found = service.overview(session, subject, days=days, platform=platform or None)
    by_day = found.engagement_by_day
    sentiment = found.sentiment_score
    charts = {
        "engagement": _chart(
            [row.day.isoformat() for row in by_day],
            datasets=[
                {
                    "label": "Engagement",
                    "data": [row.engagement for row in by_day],
                    "borderColor": "#4f46e5",
                    "backgroundColor": "rgba(79,70,229,0.25)",
                    "tension": 0.25,
                    "pointRadius": 0,
                },
                {
                    "label": "Posts",
                    "data": [row.posts for row in by_day],
                    "borderColor": "#047857",
                    "backgroundColor": "rgba(4,120,87,0.25)",
                    "tension": 0.25,
                    "pointRadius": 0,
                },
            ],
        ),
        "platforms": _chart(
            [row.platform for row in found.platform_breakdown],
            [row.engagement for row in found.platform_breakdown],
        ),
        "sentiment": _chart(
            ["positive", "neutral", "negative"],
            [sentiment.positive_count, sentiment.neutral_count, sentiment.negative_count],
        ),
    }
    context = (
        layout(session, auth, "analytics")
        | _filters(days, found.platform)
        | {
            "overview": found,
            "charts": charts,
            "can_edit": subject.role.at_least(Role.editor),
        }
    )
    return render(request, "analytics/overview.html", context)


@router.post("/analytics/alerts/{alert_id}/acknowledge", dependencies=[CsrfChecked])
def acknowledge_alert(
    request: Request, session: DbSession, auth: WebAuth, alert_id: int
) -> Response:
    """The overview's "Acknowledge" button: the alert leaves the open alerts."""
    subject, _ = auth
    alerts_service.acknowledge(session, subject, alert_id)
    flash(request, "Alert acknowledged.", "success")
    return RedirectResponse(OVERVIEW_PAGE, status_code=303)


# --------------------------------------------------------------------------- ROI


def _roi_context(
    session: Session,
    auth: tuple[Subject, Any],
    days: int,
    platform: str | None,
    campaign: int | None,
) -> dict[str, Any]:
    subject, _ = auth
    found = roi.roi(session, subject, days=days, platform=platform, campaign_id=campaign)
    return (
        layout(session, auth, "analytics")
        | _filters(days, found.platform)
        | {
            "roi": found,
            "campaign": campaign,
            "campaigns": campaigns.list_campaigns(session, subject.workspace_id, limit=200).items,
            "settings": roi.get_settings(session, subject),
            "metrics": METRICS,
            "costs": roi.list_costs(session, subject, limit=COSTS_SHOWN),
            "categories": [c.value for c in CostCategory],
            "today": dt.datetime.now(analytics_service.workspace_zone(session, subject))
            .date()
            .isoformat(),
            "can_edit": subject.role.at_least(Role.editor),
            "error": None,
            "cost_form": {
                "category": "tools",
                "label": "",
                "amount": "",
                "incurred_on": "",
                "campaign_id": "",
            },
        }
    )


@router.get(ROI_PAGE, response_class=HTMLResponse)
def roi_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    days: Days = 30,
    platform: Platform = None,
    campaign: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    context = _roi_context(session, auth, days, platform or None, campaign)
    return render(request, "analytics/roi.html", context)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


@router.post(f"{ROI_PAGE}/settings", dependencies=[CsrfChecked])
async def roi_settings(request: Request, session: DbSession, auth: WebAuth) -> Response:
    """The values per unit (and currency) as the form gives them; a bad value is a flash."""
    subject, _ = auth
    subject.require(Role.editor)
    data = await request.form()
    fields: dict[str, Any] = {}
    currency = data.get("currency")
    if isinstance(currency, str) and currency.strip():
        fields["currency"] = currency.strip().upper()
    for metric in METRICS:
        raw = data.get(f"value_per_{metric}")
        if isinstance(raw, str) and raw.strip():
            fields[f"value_per_{metric}"] = raw.strip()
    try:
        body = RoiSettingsUpdate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from exc
    roi.update_settings(session, subject, body)
    flash(request, "ROI values saved.", "success")
    return RedirectResponse(ROI_PAGE, status_code=303)


@router.post(f"{ROI_PAGE}/costs", response_class=HTMLResponse, dependencies=[CsrfChecked])
def roi_add_cost(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    category: Annotated[str, Form()],
    label: Annotated[str, Form()],
    amount: Annotated[str, Form()],
    incurred_on: Annotated[str, Form()],
    campaign_id: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    typed = {
        "category": category,
        "label": label,
        "amount": amount,
        "incurred_on": incurred_on,
        "campaign_id": campaign_id,
    }
    try:
        try:
            cents = int((Decimal(amount.strip().replace(",", ".")) * 100).to_integral_value())
        except InvalidOperation as exc:
            raise InvalidInput(f"amount: {amount!r} is not a number like 12.50") from exc
        try:
            body = CostCreate.model_validate(
                {
                    "category": category,
                    "label": label,
                    "amount_cents": cents,
                    "incurred_on": incurred_on,
                    "campaign_id": int(campaign_id) if campaign_id.isdigit() else None,
                }
            )
        except ValidationError as exc:
            raise InvalidInput(_validation_message(exc)) from exc
        roi.add_cost(session, subject, body)
    except AppError as exc:
        # Back on the form with what was typed.
        session.rollback()
        context = _roi_context(session, auth, 30, None, None) | {
            "error": exc.message,
            "cost_form": typed,
        }
        return render(request, "analytics/roi.html", context, status_code=exc.status_code)
    flash(request, f"Cost {label.strip()!r} recorded.", "success")
    return RedirectResponse(ROI_PAGE, status_code=303)


@router.post(f"{ROI_PAGE}/costs/{{workspace_cost_id}}/delete", dependencies=[CsrfChecked])
def roi_delete_cost(
    request: Request, session: DbSession, auth: WebAuth, workspace_cost_id: int
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    roi.delete_cost(session, subject, workspace_cost_id)
    flash(request, "Cost removed.", "success")
    return RedirectResponse(ROI_PAGE, status_code=303)
