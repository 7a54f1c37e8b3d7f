"""Dashboard pages of the engagement inbox: the inbox, workflows, inbox analytics and the fan
profile; the inbox's actions are `web.inbox_actions`, the reply queue `web.inbox_queue`. Views
call the same services as the JSON API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox.models import (
    Workflow,
    WorkflowStatus,
    WorkflowTrigger,
)
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflow_service
from socialpulse.web import inbox_listing
from socialpulse.web.inbox_actions import router as actions_router
from socialpulse.web.inbox_queue import router as queue_router
from socialpulse.web.inbox_rows import chips
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = APIRouter(include_in_schema=False)
router.include_router(actions_router)
router.include_router(queue_router)

ANALYTICS_DAYS = (7, 30, 90)
EXAMPLE_CONDITIONS = '[\n  {"type": "intent", "values": ["purchase_intent"]}\n]'
EXAMPLE_ACTIONS = '[\n  {"type": "label", "name": "sales"}\n]'


# --- the inbox ---------------------------------------------------------------------------------


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    """Filters, full-text search, a result count and pages of interactions, each with its
    account, post and thread; actions happen in place (`web.inbox_actions`)."""
    subject, _ = auth
    params = {k: v for k, v in request.query_params.items()}
    context = layout(session, auth, "inbox") | inbox_listing.listing(session, subject, params)
    return render(request, "inbox.html", context)


# --- workflows ---------------------------------------------------------------------------------


def _workflow_form(workflow: Workflow | None) -> dict[str, Any]:
    if workflow is None:
        return {
            "id": None,
            "name": "",
            "status": WorkflowStatus.active.value,
            "priority": 100,
            "trigger": WorkflowTrigger.new_interaction.value,
            "trigger_hours": "",
            "conditions": EXAMPLE_CONDITIONS,
            "actions": EXAMPLE_ACTIONS,
        }
    return {
        "id": workflow.id,
        "name": workflow.name,
        "status": workflow.status.value,
        "priority": workflow.priority,
        "trigger": workflow.trigger.value,
        "trigger_hours": "" if workflow.trigger_hours is None else workflow.trigger_hours,
        "conditions": json.dumps(workflow.conditions, indent=2),
        "actions": json.dumps(workflow.actions, indent=2),
    }


def _workflows_context(
    session: DbSession, auth: Any, form: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    subject, _ = auth
    report = inbox_analytics.workflow_activity(session, subject, 30)
    activity = {a.workflow_id: a for a in report.workflows}
    return (
        layout(session, auth, "inbox")
        | {
            "workflows": workflow_service.list_workflows(session, subject),
            "activity": activity,
            "form": form,
            "triggers": [t.value for t in WorkflowTrigger],
            "can_edit": subject.role.at_least(Role.editor),
            "errors": [],
            "preview": None,
        }
        | extra
    )


@router.get("/inbox/workflows", response_class=HTMLResponse)
def workflows_page(
    request: Request, session: DbSession, auth: WebAuth, edit: int | None = None
) -> Response:
    subject, _ = auth
    workflow = workflow_service.get_workflow(session, subject, edit) if edit else None
    return render(
        request, "inbox_workflows.html", _workflows_context(session, auth, _workflow_form(workflow))
    )


def _parse_json_list(raw: str, field: str, errors: list[str]) -> list[Any]:
    try:
        value = json.loads(raw or "[]")
    except json.JSONDecodeError as exc:
        errors.append(f"{field}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
        return []
    if not isinstance(value, list):
        errors.append(f'{field}: must be a JSON list, like [{{"type": ...}}]')
        return []
    return value


def _form_error(detail: dict[str, Any]) -> str:
    """A validation error in the editor's words: 'condition 2 (regex), pattern: regex /(a)\\1/
    cannot be used: backreferences ...' rather than 'conditions.1.regex.pattern: Value error'."""
    loc = [str(part) for part in detail.get("loc", [])]
    message = str(detail.get("msg", "")).removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] in ("conditions", "actions") and loc[1].isdigit():
        where = f"{loc[0][:-1]} {int(loc[1]) + 1}"
        if len(loc) >= 3:
            where += f" ({loc[2]})"
        if len(loc) >= 4:
            where += ", " + ".".join(loc[3:])
    else:
        where = ".".join(loc)
    return f"{where}: {message}" if where else message


@router.post("/inbox/workflows", response_class=HTMLResponse, dependencies=[CsrfChecked])
def workflows_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "active",
    priority: Annotated[str, Form()] = "100",
    trigger: Annotated[str, Form()] = "new_interaction",
    trigger_hours: Annotated[str, Form()] = "",
    conditions: Annotated[str, Form()] = "[]",
    actions: Annotated[str, Form()] = "[]",
    workflow_id: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "preview",
) -> Response:
    """Preview (dry run against the last 100 interactions) or save; invalid input is shown
    back on the form with what is wrong, never a half-saved workflow."""
    subject, _ = auth
    existing_id = int(workflow_id) if workflow_id.isdigit() else None
    form: dict[str, Any] = {
        "id": existing_id,
        "name": name,
        "status": status,
        "priority": priority,
        "trigger": trigger,
        "trigger_hours": trigger_hours,
        "conditions": conditions,
        "actions": actions,
    }
    errors: list[str] = []
    data: dict[str, Any] = {
        "name": name.strip() or "Draft workflow",
        "status": status,
        "trigger": trigger,
        "conditions": _parse_json_list(conditions, "conditions", errors),
        "actions": _parse_json_list(actions, "actions", errors),
    }
    try:
        data["priority"] = int(priority)
    except ValueError:
        errors.append(f"priority: {priority!r} is not a whole number")
    if trigger_hours.strip():
        try:
            data["trigger_hours"] = float(trigger_hours)
        except ValueError:
            errors.append(f"trigger hours: {trigger_hours!r} is not a number")
    definition = None
    if not errors:
        try:
            definition = workflow_service.parse_definition(data)
        except InvalidInput as exc:
            errors.extend(_form_error(d) for d in (exc.details or [])[:5])
            if not errors:
                errors.append(exc.message)
    if definition is None:
        context = _workflows_context(session, auth, form, errors=errors)
        return render(request, "inbox_workflows.html", context, status_code=422)
    if intent == "save":
        if not name.strip():
            context = _workflows_context(session, auth, form, errors=["name: give it a name"])
            return render(request, "inbox_workflows.html", context, status_code=422)
        if existing_id is not None:
            update = workflow_schemas.WorkflowUpdate.model_validate(
                definition.model_dump(mode="json", exclude_none=False)
                | {"trigger_hours": definition.trigger_hours}
            )
            saved = workflow_service.update_workflow(session, subject, existing_id, update)
        else:
            create = workflow_schemas.WorkflowCreate.model_validate(
                definition.model_dump(mode="json")
            )
            saved = workflow_service.create_workflow(session, subject, create)
        flash(request, f"Workflow {saved.name!r} saved.", "success")
        return RedirectResponse(f"/inbox/workflows?edit={saved.id}", status_code=303)
    preview = workflow_service.dry_run(session, subject, definition, 100)
    context = _workflows_context(
        session,
        auth,
        form,
        preview={"rows": preview, "matched": sum(1 for r in preview if r.matched)},
    )
    return render(request, "inbox_workflows.html", context)


@router.post("/inbox/workflows/{workflow_id}/toggle", dependencies=[CsrfChecked])
def workflows_toggle(
    request: Request, session: DbSession, auth: WebAuth, workflow_id: int
) -> Response:
    subject, _ = auth
    workflow = workflow_service.get_workflow(session, subject, workflow_id)
    paused = workflow.status == WorkflowStatus.paused
    target = WorkflowStatus.active if paused else WorkflowStatus.paused
    workflow_service.update_workflow(
        session, subject, workflow_id, workflow_schemas.WorkflowUpdate(status=target)
    )
    flash(request, f"Workflow {workflow.name!r} {'resumed' if paused else 'paused'}.", "success")
    return RedirectResponse("/inbox/workflows", status_code=303)


# --- inbox analytics ---------------------------------------------------------------------------


@router.get("/inbox/analytics", response_class=HTMLResponse)
def analytics_page(request: Request, session: DbSession, auth: WebAuth, days: int = 30) -> Response:
    subject, _ = auth
    if days not in ANALYTICS_DAYS:
        days = 30
    overview = inbox_analytics.overview(session, subject, days)
    workflows = inbox_analytics.workflow_activity(session, subject, days).workflows
    queue = inbox_analytics.response_queue(session, subject)
    timeline = inbox_analytics.timeline(session, subject, days, by_sentiment=True)
    top_platform = max(overview.by_platform.values(), default=0)
    chart = {
        "labels": [d.date.isoformat() for d in timeline.timeline],
        "datasets": [
            {
                "label": label,
                "data": [(d.by_sentiment or {}).get(label, 0) for d in timeline.timeline],
                "backgroundColor": color,
                "borderColor": color,
                "stack": "sentiment",
            }
            for label, color in (
                ("positive", "#10b981"),
                ("neutral", "#9ca3af"),
                ("negative", "#ef4444"),
                ("unanalysed", "#c7d2fe"),
            )
        ],
    }
    context = layout(session, auth, "inbox") | {
        "days": days,
        "choices": ANALYTICS_DAYS,
        "overview": overview,
        "workflows": workflows,
        "active_workflows": sum(1 for w in workflows if w.status == WorkflowStatus.active),
        "queue": queue,
        "platform_bars": [
            {
                "platform": name,
                "name": accounts_service.platform_name(name),
                "count": count,
                "percent": round(100 * count / top_platform, 1) if top_platform else 0,
            }
            for name, count in overview.by_platform.items()
        ],
        "timeline_chart": chart,
    }
    return render(request, "inbox_analytics.html", context)


# --- fan profile -------------------------------------------------------------------------------


@router.get("/inbox/fans/{fan_id}", response_class=HTMLResponse)
def fan_page(request: Request, session: DbSession, auth: WebAuth, fan_id: int) -> Response:
    subject, _ = auth
    fan = fan_service.get_fan(session, subject, fan_id)
    recent = fan_service.recent_interactions_of(session, subject, fan_id, 20)
    positive_share = fan.positive_count / fan.interactions_count if fan.interactions_count else None
    context = layout(session, auth, "inbox") | {
        "fan": fan,
        "recent": recent,
        "chips": {i.id: chips(i, i.ai_evidence or {}) for i in recent},
        "positive_share": positive_share,
        "platform_name": accounts_service.platform_name(fan.platform),
        "since_days": (utcnow() - fan.superfan_since).days if fan.superfan_since else None,
        "score_window_days": fan_service.rule_for(session, subject.workspace_id).window_days,
        "today": dt.date.today(),
    }
    return render(request, "inbox_fan.html", context)
