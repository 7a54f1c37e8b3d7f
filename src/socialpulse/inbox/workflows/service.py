"""Saving, listing and dry-running workflows (the workflow API and dashboard call these)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.ai import service as ai_service
from socialpulse.db import utcnow
from socialpulse.errors import InvalidInput
from socialpulse.inbox import corrections
from socialpulse.inbox.models import (
    Interaction,
    Workflow,
    WorkflowMatch,
    WorkflowTrigger,
)
from socialpulse.inbox.workflows.engine import (
    WAITING_STATUSES,
    describe_action,
    evaluate,
    existing_matches,
    is_member,
    load_context,
)
from socialpulse.inbox.workflows.schemas import (
    Action,
    AssignAction,
    DryRunResult,
    WorkflowCreate,
    WorkflowDefinition,
    WorkflowUpdate,
)
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject, get_scoped, scoped

log = structlog.get_logger(__name__)

DRY_RUN_MAX = 500


def dry_run(
    session: Session,
    subject: Subject,
    workflow_definition: WorkflowDefinition,
    limit: int = 100,
    *,
    workflow_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[DryRunResult]:
    """What the workflow would do to the workspace's latest `limit` interactions, changing
    nothing: conditions are evaluated and actions described, never applied.

    Editors only, like saving: a dry run evaluates the caller's own patterns over up to 500
    interactions, which is work a read-only key has no reason to ask of the server."""
    subject.require(Role.editor)
    _validate_members(session, subject, workflow_definition.actions)
    now = now or utcnow()
    limit = max(1, min(limit, DRY_RUN_MAX))
    interactions = session.scalars(
        scoped(select(Interaction), subject)
        .order_by(Interaction.posted_at.desc(), Interaction.id.desc())
        .limit(limit)
    ).all()
    applied: set[tuple[int, int]] = set()
    if workflow_id is not None:
        applied = existing_matches(session, subject, [it.id for it in interactions])
    templates = ai_service.response_templates(session, subject)
    fixed = corrections.corrections_for(session, subject.workspace_id, [i.id for i in interactions])
    results = []
    for interaction in interactions:
        ctx = load_context(session, interaction, templates, fixed)
        ok, reason = evaluate(workflow_definition.conditions, ctx)
        if ok and workflow_definition.trigger == WorkflowTrigger.unanswered_for:
            ok, reason = _due_words(workflow_definition, interaction, now, reason)
        results.append(
            DryRunResult(
                interaction_id=interaction.id,
                platform=interaction.platform,
                author_handle=interaction.author_handle,
                excerpt=(interaction.text or "")[:200],
                matched=ok,
                reason=reason,
                actions=[describe_action(a, ctx) for a in workflow_definition.actions]
                if ok
                else [],
                already_applied=(workflow_id, interaction.id) in applied,
            )
        )
    return results


def dry_run_saved(
    session: Session, subject: Subject, workflow_id: int, limit: int = 100
) -> list[DryRunResult]:
    """A dry run of a stored workflow (`already_applied` marks what it has acted on)."""
    subject.require(Role.editor)  # before loading: a viewer learns nothing about the workflow
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    return dry_run(session, subject, definition_of(workflow), limit, workflow_id=workflow.id)


def _due_words(
    definition: WorkflowDefinition, interaction: Interaction, now: dt.datetime, reason: str
) -> tuple[bool, str]:
    hours = definition.trigger_hours or 0.0
    if interaction.status not in WAITING_STATUSES:
        return False, f"already {interaction.status.value}"
    waited = (now - interaction.posted_at).total_seconds() / 3600  # since posted, see schemas
    if waited < hours:
        return False, f"{reason}; waiting {waited:.1f} h of {hours:g} h"
    return True, f"{reason}; unanswered for {waited:.1f} h (≥ {hours:g} h)"


# --------------------------------------------------------------------------- CRUD


def _validate_members(session: Session, subject: Subject, actions: Sequence[Action]) -> None:
    for action in actions:
        if isinstance(action, AssignAction) and not is_member(
            session, subject.workspace_id, action.user_id
        ):
            raise InvalidInput(
                f"assign: user {action.user_id} is not a member of this workspace",
                details={"user_id": action.user_id},
            )


def _dump(items: Sequence[BaseModel]) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True) for item in items]


def list_workflows(session: Session, subject: Subject) -> list[Workflow]:
    stmt = scoped(select(Workflow), subject).order_by(Workflow.priority, Workflow.id)
    return list(session.scalars(stmt).all())


def get_workflow(session: Session, subject: Subject, workflow_id: int) -> Workflow:
    return get_scoped(session, Workflow, workflow_id, subject)


def create_workflow(session: Session, subject: Subject, body: WorkflowCreate) -> Workflow:
    subject.require(Role.editor)
    _validate_members(session, subject, body.actions)
    now = utcnow()
    workflow = Workflow(
        workspace_id=subject.workspace_id,
        name=body.name,
        status=body.status,
        priority=body.priority,
        trigger=body.trigger,
        trigger_hours=body.trigger_hours,
        conditions=_dump(body.conditions),
        actions=_dump(body.actions),
        stop_processing=body.stop_processing,
        created_at=now,
        updated_at=now,
    )
    session.add(workflow)
    session.flush()
    log.info("inbox.workflow.created", workflow_id=workflow.id, actor=subject.actor)
    return workflow


def update_workflow(
    session: Session, subject: Subject, workflow_id: int, body: WorkflowUpdate
) -> Workflow:
    subject.require(Role.editor)
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    changes = body.model_dump(exclude_unset=True)
    merged = {**_definition_fields(workflow), **changes}
    if changes.get("trigger") == WorkflowTrigger.new_interaction and "trigger_hours" not in changes:
        merged["trigger_hours"] = None
    try:
        definition = WorkflowDefinition.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc
    _validate_members(session, subject, definition.actions)
    workflow.name = definition.name
    workflow.status = definition.status
    workflow.priority = definition.priority
    workflow.trigger = definition.trigger
    workflow.trigger_hours = definition.trigger_hours
    workflow.conditions = _dump(definition.conditions)
    workflow.actions = _dump(definition.actions)
    workflow.stop_processing = definition.stop_processing
    workflow.updated_at = utcnow()
    session.flush()
    log.info("inbox.workflow.updated", workflow_id=workflow.id, actor=subject.actor)
    return workflow


def delete_workflow(session: Session, subject: Subject, workflow_id: int) -> None:
    subject.require(Role.editor)
    workflow = get_scoped(session, Workflow, workflow_id, subject)
    session.delete(workflow)
    session.flush()
    log.info("inbox.workflow.deleted", workflow_id=workflow_id, actor=subject.actor)


def recent_matches(
    session: Session, subject: Subject, workflow_id: int, limit: int = 50
) -> list[WorkflowMatch]:
    get_scoped(session, Workflow, workflow_id, subject)
    stmt = (
        scoped(select(WorkflowMatch), subject)
        .where(WorkflowMatch.workflow_id == workflow_id)
        .order_by(WorkflowMatch.matched_at.desc(), WorkflowMatch.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt).all())


def _definition_fields(workflow: Workflow) -> dict[str, Any]:
    """A stored workflow's fields as a `WorkflowDefinition` reads them."""
    return {
        "name": workflow.name,
        "status": workflow.status,
        "priority": workflow.priority,
        "trigger": workflow.trigger,
        "trigger_hours": workflow.trigger_hours,
        "conditions": workflow.conditions,
        "actions": workflow.actions,
        "stop_processing": workflow.stop_processing,
    }


def definition_of(workflow: Workflow) -> WorkflowDefinition:
    """A stored workflow as a definition (for dry runs of saved workflows). InvalidInput when
    it no longer validates, e.g. a pattern saved before regexes ran on RE2 (a lookahead): such
    a workflow is skipped when it would run, and the message says what to change."""
    try:
        return WorkflowDefinition.model_validate(_definition_fields(workflow))
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc


def parse_definition(data: dict[str, Any]) -> WorkflowDefinition:
    """Validate a definition from JSON (dashboard editor); InvalidInput with a clear message."""
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=_validation_details(exc)) from exc


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"invalid workflow: {where}: {first['msg']}" if where else first["msg"]
