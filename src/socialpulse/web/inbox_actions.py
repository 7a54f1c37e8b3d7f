"""The inbox's actions: reply, approve or reject a suggestion, hide / unhide, done, labels,
assign, "wrong label" and bulk actions.

Each is a plain form POST that redirects back (the page works without JavaScript); sent by
htmx (`HX-Request`), it answers the part of the page to swap in place instead: the row with a
message, or the results after a bulk action, so the reader keeps their place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.accounts import service as accounts_service
from socialpulse.errors import AppError, InvalidInput
from socialpulse.inbox import corrections, moderation
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import InteractionStatus
from socialpulse.inbox.replies import service as reply_service
from socialpulse.kit.routing import api_router
from socialpulse.web import inbox_listing
from socialpulse.web.inbox_rows import words
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import DbSession
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

router = api_router(include_in_schema=False)

Back = Annotated[str, Form()]
DONE_STATUSES = ("answered", "ignored", "unread", "flagged")


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _queue_link(item_id: int) -> str:
    return f"/inbox/queue?item={item_id}"


def _row_response(
    request: Request,
    session: DbSession,
    subject: Subject,
    interaction_id: int,
    back: str,
    message: str,
    *,
    kind: str = "success",
    link: tuple[str, str] | None = None,
) -> Response:
    """The row again (htmx), else the message flashed and the page it came from."""
    if not _htmx(request):
        flash(request, message, kind)
        return RedirectResponse(inbox_listing.safe_back(back), status_code=303)
    can_edit = subject.role.at_least(Role.editor)
    context = {
        "row": inbox_listing.one_row(session, subject, interaction_id),
        "row_message": {"kind": kind, "text": message, "link": link},
        "can_edit": can_edit,
        "back": inbox_listing.safe_back(back),
    } | inbox_listing.row_choices(session, subject)
    return render(request, "inbox/_row.html", context)


def _acting(
    request: Request,
    session: DbSession,
    subject: Subject,
    interaction_id: int,
    back: str,
    action: Callable[[], tuple[str, tuple[str, str] | None]],
) -> Response:
    """Run `action` (→ message, optional link); under htmx a refusal (a 4xx) is shown in the
    row, where the reader is, instead of an error page."""
    if not _htmx(request):
        message, link = action()
        return _row_response(request, session, subject, interaction_id, back, message, link=link)
    try:
        # A savepoint: a refusal undoes the action only, not the request's other writes.
        with session.begin_nested():
            message, link = action()
    except AppError as exc:
        return _row_response(
            request, session, subject, interaction_id, back, exc.message, kind="error"
        )
    return _row_response(request, session, subject, interaction_id, back, message, link=link)


@router.post("/inbox/interactions/{interaction_id}/reply", dependencies=[CsrfChecked])
def inbox_reply(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    text: Annotated[str, Form()],
    back: Back = "/inbox",
) -> Response:
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        handle = inbox_service.get_interaction(session, subject, interaction_id).author_handle
        waiting = reply_service.waiting_reply(session, subject, interaction_id)
        if waiting is not None:
            # A link to the reply, never its bare id: cancel it there to write another.
            if not _htmx(request):
                return (
                    f"A reply to @{handle} is already waiting to be sent; it is shown under "
                    "the comment, with a link to it in the reply queue.",
                    None,
                )
            return (
                f"A reply to @{handle} is already waiting to be sent.",
                (_queue_link(waiting.id), "See it in the reply queue"),
            )
        reply_service.reply_to(session, subject, interaction_id, text)
        return f"Reply to @{handle} queued.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/interactions/{interaction_id}/suggestion", dependencies=[CsrfChecked])
def inbox_suggestion(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    decision: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
    back: Back = "/inbox",
) -> Response:
    """Approve (as drafted, or edited in the box) or reject a suggested reply."""
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        handle = inbox_service.get_interaction(session, subject, interaction_id).author_handle
        if decision == "approve":
            reply_service.approve_suggestion(session, subject, interaction_id, text.strip() or None)
            return f"Suggested reply to @{handle} approved and queued.", None
        if decision == "reject":
            reply_service.reject_suggestion(session, subject, interaction_id)
            return f"Suggested reply to @{handle} rejected.", None
        raise InvalidInput(f"unknown decision {decision!r}: approve or reject")

    return _acting(request, session, subject, interaction_id, back, act)


@router.post(
    "/inbox/interactions/{interaction_id}/hide",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
def inbox_hide(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    back: Back = "/inbox",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    """Hide in the inbox now; the platform follows once this request commits. Asked to
    confirm first (a page without JavaScript, a dialog with it)."""
    subject, _ = auth
    item = inbox_service.get_interaction(session, subject, interaction_id)
    platform = accounts_service.platform_name(item.platform)
    if confirmed != "1":
        context = layout(session, auth, "inbox") | {
            "heading": f"Hide the comment by @{item.author_handle}?",
            "explain": f"It is hidden in the inbox now and on {platform} just after; "
            "you can show it again later.",
            "quote": item.text,
            "action": f"/inbox/interactions/{interaction_id}/hide",
            "confirm_text": "Hide it",
            "back": inbox_listing.safe_back(back),
            "fields": {"back": inbox_listing.safe_back(back)},
        }
        return render(request, "inbox/confirm.html", context)

    def act() -> tuple[str, tuple[str, str] | None]:
        hidden = moderation.request_hide(session, subject, interaction_id)
        if moderation.HIDDEN_LABEL in (hidden.labels or []):
            return f"The comment by @{hidden.author_handle} is hidden on {platform}.", None
        return f"Hiding the comment by @{hidden.author_handle} on {platform}.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/interactions/{interaction_id}/unhide", dependencies=[CsrfChecked])
def inbox_unhide(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    back: Back = "/inbox",
) -> Response:
    """Show again in the inbox now; on the platform too if it was hidden there."""
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        item = moderation.request_unhide(session, subject, interaction_id)
        platform = accounts_service.platform_name(item.platform)
        if moderation.HIDDEN_LABEL in (item.labels or []):
            return f"Showing the comment by @{item.author_handle} on {platform} again.", None
        return f"The comment by @{item.author_handle} is no longer hidden.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/interactions/{interaction_id}/status", dependencies=[CsrfChecked])
def inbox_status(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    status: Annotated[str, Form()],
    back: Back = "/inbox",
) -> Response:
    """Done (answered once replied, else ignored), or back to unread, or flagged."""
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        if status not in DONE_STATUSES:
            raise InvalidInput(f"unknown status {status!r}: one of {', '.join(DONE_STATUSES)}")
        item = inbox_service.update_interaction(
            session, subject, interaction_id, status=InteractionStatus(status)
        )
        return f"@{item.author_handle}'s comment marked {words(status)}.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/interactions/{interaction_id}/labels", dependencies=[CsrfChecked])
def inbox_labels(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    label: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
    back: Back = "/inbox",
) -> Response:
    """Add a label (`label`) or take one off (`remove`)."""
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        item = inbox_service.get_interaction(session, subject, interaction_id)
        added, taken = label.strip(), remove.strip()
        if not added and not taken:
            raise InvalidInput("write the label to add")
        if len(added) > 50:
            raise InvalidInput("a label has at most 50 characters")
        labels = [x for x in item.labels if x != taken] + ([added] if added else [])
        inbox_service.update_interaction(session, subject, interaction_id, labels=labels)
        if added:
            return f"Label “{added}” added.", None
        return f"Label “{taken}” removed.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/interactions/{interaction_id}/assign", dependencies=[CsrfChecked])
def inbox_assign(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    user_id: Annotated[str, Form()] = "",
    back: Back = "/inbox",
) -> Response:
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        assignee = _member_id(user_id)
        inbox_service.update_interaction(
            session, subject, interaction_id, assignee_user_id=assignee
        )
        if assignee is None:
            return "Unassigned.", None
        name = dict(inbox_listing.members(session, subject)).get(assignee, "them")
        return f"Assigned to {name}.", None

    return _acting(request, session, subject, interaction_id, back, act)


def _member_id(raw: str) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise InvalidInput(f"unknown member {raw!r}")
    return int(raw)


@router.post("/inbox/interactions/{interaction_id}/label-correction", dependencies=[CsrfChecked])
def inbox_label_correction(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    interaction_id: int,
    sentiment: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "",
    back: Back = "/inbox",
) -> Response:
    """ "Wrong label": the right sentiment and/or intent, kept for the workspace; it wins in the
    inbox, its filters and workflow conditions."""
    subject, _ = auth

    def act() -> tuple[str, tuple[str, str] | None]:
        item = inbox_service.get_interaction(session, subject, interaction_id)
        # Only what differs from the labels in force: an unchanged menu corrects nothing.
        fixed = corrections.labels_of(item, corrections.correction_of(session, subject, item.id))
        new_sentiment = sentiment if sentiment and sentiment != fixed.sentiment else None
        new_intent = intent if intent and intent != fixed.intent else None
        if new_sentiment is None and new_intent is None:
            raise InvalidInput("choose the right sentiment or intent: these are the labels it has")
        corrections.correct_labels(
            session, subject, interaction_id, sentiment=new_sentiment, intent=new_intent
        )
        said = " and ".join(
            part
            for part in (
                f"sentiment {new_sentiment}" if new_sentiment else "",
                f"intent “{words(new_intent)}”" if new_intent else "",
            )
            if part
        )
        return f"Thanks: {said} saved; workflows and filters use it from now on.", None

    return _acting(request, session, subject, interaction_id, back, act)


@router.post("/inbox/bulk", dependencies=[CsrfChecked])
def inbox_bulk(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    action: Annotated[str, Form()],
    ids: Annotated[list[int] | None, Form()] = None,
    label: Annotated[str, Form()] = "",
    user_id: Annotated[str, Form()] = "",
    back: Back = "/inbox",
) -> Response:
    subject, _ = auth
    kind = "success"
    try:
        with session.begin_nested():
            message = _bulk(session, subject, action, ids, label, user_id)
    except AppError as exc:
        if not _htmx(request):
            raise
        message, kind = exc.message, "error"
    if not _htmx(request):
        flash(request, message, kind)
        return RedirectResponse(inbox_listing.safe_back(back), status_code=303)
    params = inbox_listing.back_params(back)
    context: dict[str, Any] = inbox_listing.listing(session, subject, params) | {
        "message": {"kind": kind, "text": message, "link": None}
    }
    return render(request, "inbox/_results.html", context)


def _bulk(
    session: DbSession,
    subject: Subject,
    action: str,
    ids: list[int] | None,
    label: str,
    user_id: str,
) -> str:
    """One action on the selected interactions; the message saying what changed."""
    if not ids:
        raise InvalidInput("select at least one interaction")
    if action == "add_label":
        count = inbox_service.bulk_update(
            session, subject, ids, action="add_label", label=label.strip()
        )
    elif action == "assign":
        count = inbox_service.bulk_update(
            session, subject, ids, action="assign", assignee_user_id=_member_id(user_id)
        )
    elif action in {s.value for s in InteractionStatus}:
        count = inbox_service.bulk_update(
            session, subject, ids, action="set_status", status=InteractionStatus(action)
        )
    else:
        raise InvalidInput(f"unknown bulk action {action!r}")
    name = inbox_listing.BULK_ACTIONS.get(action, action).rstrip("…")
    return f"{name}: {count} updated."
