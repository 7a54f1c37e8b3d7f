"""Settings pages of the dashboard: the workspace (name, time zone), the user's own account
(password, sessions), members and invitations, and API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from socialpulse.config import Settings
from socialpulse.errors import InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import (
    CsrfChecked,
    LoginThrottle,
    WebAuth,
    client_address,
    current_session_id,
)
from socialpulse.workspaces import invitations, seats
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.deps import DbSession, get_db
from socialpulse.workspaces.models import Role, User
from socialpulse.workspaces.tenancy import Subject

router = api_router(include_in_schema=False)


# --- settings: workspace ------------------------------------------------------------------


@router.get("/settings/workspace", response_class=HTMLResponse)
def workspace_settings(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return render(request, "settings_workspace.html", layout(session, auth, "settings"))


@router.post("/settings/workspace", response_class=HTMLResponse, dependencies=[CsrfChecked])
def workspace_settings_submit(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    try:
        workspace_service.update_workspace(session, subject, name=name, timezone=timezone)
    except InvalidInput as exc:
        session.rollback()
        context = layout(session, auth, "settings") | {
            "typed": {"name": name, "timezone": timezone},
            "error": exc.message,
        }
        return render(request, "settings_workspace.html", context, exc.status_code)
    flash(request, "Workspace settings saved.", "success")
    return RedirectResponse("/settings/workspace", status_code=303)


# --- settings: account (password, sessions) -----------------------------------------------


@router.get("/settings/account", response_class=HTMLResponse)
def account_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    _subject, user = auth
    context = layout(session, auth, "settings") | {
        "sessions": workspace_service.list_sessions(session, user.id),
        "current_session_id": current_session_id(request),
    }
    return render(request, "settings_account.html", context)


@router.post("/settings/account/password", dependencies=[CsrfChecked])
def account_password(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
    new_password_confirm: Annotated[str, Form()],
) -> Response:
    _subject, user = auth
    # Checking the current password is a guessing oracle for whoever holds a stolen cookie:
    # it counts against the same limits as the login form.
    throttle: LoginThrottle = request.app.state.login_throttle
    client = client_address(request)
    throttle.check(user.email, client)
    if new_password != new_password_confirm:
        raise InvalidInput("the two new passwords differ")
    try:
        workspace_service.change_password(
            session,
            user.id,
            current_password,
            new_password,
            keep_session_id=current_session_id(request),
        )
    except workspace_service.WrongPassword:
        throttle.failed(user.email, client)
        raise
    flash(request, "Password changed. Your other sessions were logged out.", "success")
    return RedirectResponse("/settings/account", status_code=303)


@router.post("/settings/account/sessions/revoke-others", dependencies=[CsrfChecked])
def account_revoke_other_sessions(request: Request, session: DbSession, auth: WebAuth) -> Response:
    _subject, user = auth
    ended = workspace_service.revoke_other_sessions(session, user.id, current_session_id(request))
    flash(request, f"Logged out {ended} other session{'s' if ended != 1 else ''}.", "success")
    return RedirectResponse("/settings/account", status_code=303)


@router.post("/settings/account/sessions/{session_id}/revoke", dependencies=[CsrfChecked])
def account_revoke_session(
    request: Request, session: DbSession, auth: WebAuth, session_id: int
) -> Response:
    _subject, user = auth
    workspace_service.revoke_session(session, user.id, session_id)
    if session_id == current_session_id(request):
        request.session.clear()
        return RedirectResponse("/login", status_code=303)
    flash(request, "Session logged out.", "success")
    return RedirectResponse("/settings/account", status_code=303)


# --- settings: members --------------------------------------------------------------------


def _members_context(
    session: DbSession, auth: tuple[Subject, User], new_invite: dict[str, str] | None = None
) -> dict[str, Any]:
    subject, _ = auth
    can_admin = subject.role.at_least(Role.admin)
    workspace = workspace_service.get_workspace(session, subject)
    open_invitations = (
        [
            inv
            for inv in invitations.list_invitations(session, subject)
            if inv.accepted_at is None and inv.revoked_at is None
        ]
        if can_admin
        else []
    )
    return layout(session, auth, "settings") | {
        "members": workspace_service.list_members(session, subject),
        "roles": list(Role),
        "invite_roles": [r for r in Role if r != Role.owner or subject.role == Role.owner],
        "invitations": open_invitations,
        "seats": seats.seat_usage(session, workspace),
        "new_invite": new_invite,
    }


def _render_new_invite(
    request: Request,
    session: DbSession,
    auth: tuple[Subject, User],
    invitation_id: int,
    token: str,
) -> Response:
    subject, _ = auth
    settings: Settings = request.app.state.settings
    invitation = invitations.get_invitation(session, subject, invitation_id)
    new_invite = {
        "email": invitation.email,
        "link": invitations.invitation_link(settings.base_url, token),
        "delivery_status": invitation.delivery_status.value,
        "delivery_error": invitation.delivery_error or "",
    }
    # Rendered directly (not redirected) so the link never lands in the session cookie.
    response = render(
        request, "settings_members.html", _members_context(session, auth, new_invite), 201
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/settings/members", response_class=HTMLResponse)
def members_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return render(request, "settings_members.html", _members_context(session, auth))


# Invitations commit in their own unit of work before the e-mail goes out, and the delivery
# outcome in another one after (see workspaces.invitations.deliver_invitation).
@router.post("/settings/invitations", response_class=HTMLResponse, dependencies=[CsrfChecked])
def invitations_create(
    request: Request,
    auth: WebAuth,
    email: Annotated[str, Form()] = "",
    role: Annotated[Role, Form()] = Role.viewer,
) -> Response:
    subject, _ = auth
    settings: Settings = request.app.state.settings
    db = get_db(request)
    try:
        invitation_id, token = invitations.invite_and_send(db, settings, subject, email, role)
    except InvalidInput as exc:
        with db.session(readonly=True) as session:
            context = _members_context(session, auth) | {
                "typed": {"email": email, "role": role.value},
                "invite_error": exc.message,
            }
            return render(request, "settings_members.html", context, exc.status_code)
    with db.session(readonly=True) as session:
        return _render_new_invite(request, session, auth, invitation_id, token)


@router.post(
    "/settings/invitations/{invitation_id}/resend",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
def invitations_resend(request: Request, auth: WebAuth, invitation_id: int) -> Response:
    subject, _ = auth
    settings: Settings = request.app.state.settings
    db = get_db(request)
    token = invitations.resend_and_send(db, settings, subject, invitation_id)
    with db.session(readonly=True) as session:
        return _render_new_invite(request, session, auth, invitation_id, token)


@router.post("/settings/invitations/{invitation_id}/revoke", dependencies=[CsrfChecked])
def invitations_revoke(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    invitation_id: int,
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    if confirmed != "1":  # revoking cannot be undone: ask first (a page of its own)
        pending = invitations.get_invitation(session, subject, invitation_id)
        subject.require(Role.admin)
        return _confirm_page(
            request,
            session,
            auth,
            heading=f"Revoke the invitation to {pending.email}?",
            explain="The link in the e-mail stops working at once. You can invite them again.",
            action=f"/settings/invitations/{invitation_id}/revoke",
            confirm_text="Revoke the invitation",
            back="/settings/members",
        )
    invitation = invitations.revoke_invitation(session, subject, invitation_id)
    flash(request, f"Invitation to {invitation.email} revoked.", "success")
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/settings/members/{member_id}/role", dependencies=[CsrfChecked])
def members_role(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    member_id: int,
    role: Annotated[Role, Form()],
) -> Response:
    subject, _ = auth
    workspace_service.change_member_role(session, subject, member_id, role)
    flash(request, "Role updated.", "success")
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/settings/members/{member_id}/remove", dependencies=[CsrfChecked])
def members_remove(request: Request, session: DbSession, auth: WebAuth, member_id: int) -> Response:
    subject, _ = auth
    workspace_service.remove_member(session, subject, member_id)
    flash(request, "Member removed.", "success")
    return RedirectResponse("/settings/members", status_code=303)


# --- settings: API keys -------------------------------------------------------------------


def _confirm_page(
    request: Request,
    session: DbSession,
    auth: tuple[Subject, User],
    *,
    heading: str,
    explain: str,
    action: str,
    confirm_text: str,
    back: str,
) -> Response:
    """The question a destructive settings action asks before it acts."""
    context = layout(session, auth, "settings") | {
        "heading": heading,
        "explain": explain,
        "quote": None,
        "action": action,
        "confirm_text": confirm_text,
        "back": back,
        "keep_text": "No, keep it",
        "fields": {},
    }
    return render(request, "inbox/confirm.html", context)


def _api_keys_context(
    session: DbSession, auth: tuple[Subject, User], **extra: Any
) -> dict[str, Any]:
    subject, _ = auth
    return (
        layout(session, auth, "settings")
        | {
            "keys": workspace_service.list_api_keys(session, subject),
            "roles": [r for r in Role if subject.role.at_least(r)],
            "new_key": None,
            # The least a script needs is to read: more is a choice, never the default.
            "typed": {"name": "", "role": Role.viewer.value},
            "error": None,
        }
        | extra
    )


@router.get("/settings/api-keys", response_class=HTMLResponse)
def api_keys_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    return render(request, "settings_api_keys.html", _api_keys_context(session, auth))


@router.post("/settings/api-keys", response_class=HTMLResponse, dependencies=[CsrfChecked])
def api_keys_create(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    name: Annotated[str, Form()] = "",
    role: Annotated[Role, Form()] = Role.viewer,
) -> Response:
    subject, _ = auth
    try:
        api_key, plaintext = workspace_service.create_api_key(session, subject, name, role)
    except InvalidInput as exc:
        session.rollback()
        context = _api_keys_context(
            session, auth, typed={"name": name, "role": role.value}, error=exc.message
        )
        return render(request, "settings_api_keys.html", context, exc.status_code)
    # Rendered directly (not redirected) so the secret never lands in the session cookie.
    context = _api_keys_context(session, auth, new_key={"name": api_key.name, "key": plaintext})
    response = render(request, "settings_api_keys.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/api-keys/{key_id}/revoke", dependencies=[CsrfChecked])
def api_keys_revoke(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    key_id: int,
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    subject, _ = auth
    if confirmed != "1":  # a revoked key stays revoked: ask first (a page of its own)
        pending = workspace_service.get_api_key(session, subject, key_id)
        subject.require(Role.admin)
        return _confirm_page(
            request,
            session,
            auth,
            heading=f"Revoke the API key {pending.name}?",
            explain="Scripts and integrations using it are refused from now on. This cannot be "
            "undone: a new key has a new secret.",
            action=f"/settings/api-keys/{key_id}/revoke",
            confirm_text="Revoke the key",
            back="/settings/api-keys",
        )
    api_key = workspace_service.revoke_api_key(session, subject, key_id)
    flash(request, f"Key {api_key.name} revoked.", "success")
    return RedirectResponse("/settings/api-keys", status_code=303)
