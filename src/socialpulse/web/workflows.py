"""Dashboard pages of inbox workflows: the rules in the order they run, the rule builder (rows
of conditions and actions, no JSON) and its preview, a dry run against recent interactions
shown next to the rule. Views call the same services as the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from socialpulse.accounts import service as accounts_service
from socialpulse.errors import InvalidInput
from socialpulse.inbox import analytics as inbox_analytics
from socialpulse.inbox.models import Workflow, WorkflowStatus, WorkflowTrigger
from socialpulse.inbox.workflows import builder
from socialpulse.inbox.workflows import schemas as workflow_schemas
from socialpulse.inbox.workflows import service as workflow_service
from socialpulse.kit.routing import api_router
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

PREVIEW_SIZE = 100
BLANK_CONDITIONS = 2  # empty rows to fill in without JavaScript (the script adds more)
BLANK_ACTIONS = 1
FIELD_WORDS = {
    "name": "Name",
    "status": "Status",
    "priority": "Priority",
    "trigger": "Trigger",
    "trigger_hours": "Hours",
    "conditions": "Conditions",
    "actions": "Actions",
}
TRIGGER_WORDS = {
    WorkflowTrigger.new_interaction.value: "a comment arrives",
    WorkflowTrigger.unanswered_for.value: "still unanswered after the hours",
}


async def _form(request: Request) -> FormData:
    # Rows are posted under numbered names (c0_type, c1_type...), which Form() cannot list.
    return await request.form()


PostedForm = Annotated[FormData, Depends(_form)]


def _specs(session: DbSession, auth: Any, languages: list[str] | None = None) -> dict[str, Any]:
    subject, _ = auth
    accounts = [
        (a.id, f"@{a.handle} ({builder.PLATFORM_NAMES.get(a.platform, a.platform)})")
        for a in accounts_service.list_accounts(session, subject)
    ]
    members = [
        (user.id, user.name or user.email)
        for _membership, user in workspace_service.list_members(session, subject)
    ]
    return {
        "conditions": builder.condition_types(accounts, languages or []),
        "actions": builder.action_types(members),
    }


def _languages(rows: list[builder.Row]) -> list[str]:
    return [v for r in rows if r.type == "language" for v in r.values]


def _with_blanks(rows: list[builder.Row], count: int) -> list[builder.Row]:
    return [*rows, *(builder.Row() for _ in range(count))]


def _form_of(workflow: Workflow | None) -> dict[str, Any]:
    if workflow is None:
        return {
            "id": None,
            "name": "",
            "status": WorkflowStatus.active.value,
            "priority": 100,
            "trigger": WorkflowTrigger.new_interaction.value,
            "trigger_hours": "",
            "stop_processing": True,
            "conditions": [builder.Row("intent", "is", ["purchase_intent"])],
            "actions": [builder.Row("label", "", ["sales"])],
        }
    return {
        "id": workflow.id,
        "name": workflow.name,
        "status": workflow.status.value,
        "priority": workflow.priority,
        "trigger": workflow.trigger.value,
        "trigger_hours": "" if workflow.trigger_hours is None else f"{workflow.trigger_hours:g}",
        "stop_processing": workflow.stop_processing,
        "conditions": builder.rows_from_conditions(workflow.conditions),
        "actions": builder.rows_from_actions(workflow.actions),
    }


def _context(session: DbSession, auth: Any, form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    subject, _ = auth
    report = inbox_analytics.workflow_activity(session, subject, 30)
    specs = _specs(session, auth, _languages(form["conditions"]))
    shown = form | {
        "conditions": _with_blanks(form["conditions"], BLANK_CONDITIONS),
        "actions": _with_blanks(form["actions"], BLANK_ACTIONS),
    }
    return (
        layout(session, auth, "inbox")
        | {
            "workflows": workflow_service.list_workflows(session, subject),
            "activity": {a.workflow_id: a for a in report.workflows},
            "form": shown,
            "specs": specs,
            "operators": builder.OPERATORS,
            "triggers": TRIGGER_WORDS,
            "can_edit": subject.role.at_least(Role.editor),
            "errors": [],
            "save_failed": False,
            "preview": None,
            "blank_row": builder.Row(),
        }
        | extra
    )


@router.get("/inbox/workflows", response_class=HTMLResponse)
def workflows_page(
    request: Request, session: DbSession, auth: WebAuth, edit: int | None = None
) -> Response:
    subject, _ = auth
    workflow = workflow_service.get_workflow(session, subject, edit) if edit else None
    return render(request, "inbox_workflows.html", _context(session, auth, _form_of(workflow)))


def _general_error(detail: dict[str, Any]) -> str:
    """A validation error outside the rows, in the editor's words ("Hours: ..." rather than
    "trigger_hours: Value error, ...")."""
    loc = [str(part) for part in detail.get("loc", [])]
    message = str(detail.get("msg", "")).removeprefix("Value error, ")
    message = message.replace("trigger_hours", "hours").replace("unanswered_for", "unanswered")
    field = FIELD_WORDS.get(loc[0], loc[0]) if loc else ""
    return f"{field}: {message}" if field else message


def _place_errors(
    details: list[dict[str, Any]],
    form: dict[str, Any],
    where: dict[str, list[int]],
    errors: list[str],
) -> None:
    """Each error next to the row it is about; the others above the form."""
    for detail in details:
        loc = [str(part) for part in detail.get("loc", [])]
        message = str(detail.get("msg", "")).removeprefix("Value error, ")
        if (
            len(loc) >= 2
            and loc[0] in where
            and loc[1].isdigit()
            and int(loc[1]) < len(where[loc[0]])
        ):
            row = form[loc[0]][where[loc[0]][int(loc[1])]]
            field = loc[3] if len(loc) >= 4 else ""
            row.error = row.error or (f"{field}: {message}" if field else message)
        elif loc and loc[0] == "actions" and "at least 1" in message:
            errors.append("Actions: add at least one action (what the rule does when it matches)")
        else:
            errors.append(_general_error(detail))


@router.post("/inbox/workflows", response_class=HTMLResponse, dependencies=[CsrfChecked])
def workflows_submit(
    request: Request, session: DbSession, auth: WebAuth, posted: PostedForm
) -> Response:
    """Preview (dry run against the last 100 interactions) or save; invalid input comes back
    on the form as typed, each message next to its row, never a half-saved workflow."""
    subject, _ = auth
    get = lambda key, default="": str(posted.get(key, default))  # noqa: E731
    workflow_id, intent = get("workflow_id"), get("intent", "preview")
    form: dict[str, Any] = {
        "id": int(workflow_id) if workflow_id.isdigit() and len(workflow_id) < 10 else None,
        "name": get("name"),
        "status": get("status", "active"),
        "priority": get("priority", "100"),
        "trigger": get("trigger", "new_interaction"),
        "trigger_hours": get("trigger_hours"),
        "stop_processing": posted.get("stop_processing") is not None,
        "conditions": builder.rows_from_form(posted, "c"),
        "actions": builder.rows_from_form(posted, "a"),
    }
    specs = _specs(session, auth, _languages(form["conditions"]))
    conditions, cond_where = builder.conditions_from_rows(form["conditions"], specs["conditions"])
    actions, action_where = builder.actions_from_rows(form["actions"], specs["actions"])
    errors: list[str] = []
    data: dict[str, Any] = {
        "name": form["name"].strip() or "Draft workflow",
        "status": form["status"],
        "trigger": form["trigger"],
        "stop_processing": form["stop_processing"],
        "conditions": conditions,
        "actions": actions,
    }
    try:
        data["priority"] = int(form["priority"])
    except ValueError:
        errors.append(f"Priority: {form['priority']!r} is not a whole number")
    if form["trigger_hours"].strip():
        try:
            data["trigger_hours"] = float(form["trigger_hours"])
        except ValueError:
            errors.append(f"Hours: {form['trigger_hours']!r} is not a number")
    if intent == "save" and not form["name"].strip():
        errors.append("Name: give the workflow a name")
    row_errors = any(r.error for r in (*form["conditions"], *form["actions"]))
    definition = None
    if not errors and not row_errors:
        try:
            definition = workflow_service.parse_definition(data)
        except InvalidInput as exc:
            where = {"conditions": cond_where, "actions": action_where}
            _place_errors(exc.details or [], form, where, errors)
            if not errors and not any(r.error for r in (*form["conditions"], *form["actions"])):
                errors.append(exc.message)
    if definition is None:
        if row_errors or any(r.error for r in (*form["conditions"], *form["actions"])):
            errors = ["Some rows need a change: see the messages next to them.", *errors]
        context = _context(session, auth, form, errors=errors, save_failed=intent == "save")
        return render(request, "inbox_workflows.html", context, status_code=422)
    if intent == "save":
        try:
            saved = _save(session, subject, form["id"], definition)
        except InvalidInput as exc:  # e.g. assigning someone who left the workspace
            session.rollback()
            context = _context(session, auth, form, errors=[exc.message], save_failed=True)
            return render(request, "inbox_workflows.html", context, status_code=422)
        flash(request, f"Workflow {saved.name!r} saved.", "success")
        return RedirectResponse(f"/inbox/workflows?edit={saved.id}", status_code=303)
    results = workflow_service.dry_run(session, subject, definition, PREVIEW_SIZE)
    # Matches first, each group in the order the dry run returned (newest first).
    rows = sorted(results, key=lambda r: not r.matched)
    preview = {"rows": rows, "matched": sum(1 for r in rows if r.matched)}
    return render(request, "inbox_workflows.html", _context(session, auth, form, preview=preview))


def _save(
    session: DbSession,
    subject: Any,
    existing_id: int | None,
    definition: workflow_schemas.WorkflowDefinition,
) -> Workflow:
    if existing_id is not None:
        update = workflow_schemas.WorkflowUpdate.model_validate(
            definition.model_dump(mode="json", exclude_none=False)
            | {"trigger_hours": definition.trigger_hours}
        )
        return workflow_service.update_workflow(session, subject, existing_id, update)
    create = workflow_schemas.WorkflowCreate.model_validate(definition.model_dump(mode="json"))
    return workflow_service.create_workflow(session, subject, create)


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
