"""Dashboard pages of inbox workflows: the rules in the order they run, the editor and its
preview (a dry run against recent interactions). Views call the same services as the API."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.errors import InvalidInput
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox.models import Workflow, WorkflowStatus, WorkflowTrigger
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflow_service
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = APIRouter(include_in_schema=False)

EXAMPLE_CONDITIONS = '[\n  {"type": "intent", "values": ["purchase_intent"]}\n]'
EXAMPLE_ACTIONS = '[\n  {"type": "label", "name": "sales"}\n]'


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
