"""Settings → Webhooks: subscriptions (the secret shown once at creation), test events, and
the delivery log with replays. Calls `webhooks.service`, like the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from socialpulse.errors import AppError, InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.kit.security import SecretBox
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.webhooks import service
from socialpulse.webhooks.models import DeliveryStatus
from socialpulse.webhooks.schemas import EVENT_TYPES, SubscriptionCreate, SubscriptionUpdate
from socialpulse.workspaces.deps import AppSettings, DbSession
from socialpulse.workspaces.models import Role

router = api_router(include_in_schema=False)

PAGE = "/settings/webhooks"
LOG_SIZE = 50


def _context(session: Session, auth: tuple[Any, Any], status: str | None = None) -> dict[str, Any]:
    subject, _ = auth
    context = layout(session, auth, "settings") | {
        "event_types": EVENT_TYPES,
        "statuses": [s.value for s in DeliveryStatus],
        "status": status,
        "new_secret": None,
        "form": {"url": "", "description": "", "event_types": []},
        "error": None,
    }
    if not subject.role.at_least(Role.admin):
        return context | {"subscriptions": [], "deliveries": []}
    subscriptions = service.list_subscriptions(session, subject)
    log = service.list_deliveries(
        session,
        subject,
        status=DeliveryStatus(status) if status else None,
        limit=LOG_SIZE,
    )
    return context | {
        "subscriptions": subscriptions,
        "urls": {s.id: s.url for s in subscriptions},
        "deliveries": log.items,
    }


@router.get(PAGE, response_class=HTMLResponse)
def webhooks_page(
    request: Request, session: DbSession, auth: WebAuth, status: str | None = None
) -> Response:
    if status is not None and status not in {s.value for s in DeliveryStatus}:
        raise InvalidInput(f"status must be one of {', '.join(s.value for s in DeliveryStatus)}")
    return render(request, "settings_webhooks.html", _context(session, auth, status or None))


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


@router.post(PAGE, response_class=HTMLResponse, dependencies=[CsrfChecked])
def webhooks_create(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    settings: AppSettings,
    url: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    subject, _ = auth
    box = SecretBox(settings.resolved_secret_key())
    try:
        try:
            body = SubscriptionCreate.model_validate(
                {"url": url, "description": description, "event_types": event_types or []}
            )
        except ValidationError as exc:
            raise InvalidInput(_validation_message(exc)) from exc
        created = service.create_subscription(session, subject, body, box=box)
    except AppError as exc:
        # Back on the form with what was typed, not a redirect that would lose it.
        session.rollback()
        context = _context(session, auth) | {
            "error": exc.message,
            "form": {"url": url, "description": description, "event_types": event_types or []},
        }
        return render(request, "settings_webhooks.html", context, status_code=exc.status_code)
    context = _context(session, auth) | {
        "new_secret": {"url": created.subscription.url, "secret": created.secret},
    }
    # Rendered directly (not redirected) so the secret never lands in the session cookie.
    response = render(request, "settings_webhooks.html", context, status_code=201)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(f"{PAGE}/{{subscription_id}}/test", dependencies=[CsrfChecked])
def webhooks_test(
    request: Request, session: DbSession, auth: WebAuth, subscription_id: int
) -> Response:
    subject, _ = auth
    sent = service.send_test_event(session, subject, subscription_id)
    flash(request, f"Test event queued (delivery {sent.id}); see the delivery log.", "success")
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/{{subscription_id}}/toggle", dependencies=[CsrfChecked])
def webhooks_toggle(
    request: Request, session: DbSession, auth: WebAuth, subscription_id: int
) -> Response:
    subject, _ = auth
    current = service.get_subscription(session, subject, subscription_id)
    enable = not current.enabled
    service.update_subscription(
        session, subject, subscription_id, SubscriptionUpdate(enabled=enable)
    )
    flash(request, f"Webhook to {current.url} {'enabled' if enable else 'paused'}.", "success")
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/{{subscription_id}}/delete", dependencies=[CsrfChecked])
def webhooks_delete(
    request: Request, session: DbSession, auth: WebAuth, subscription_id: int
) -> Response:
    subject, _ = auth
    url = service.get_subscription(session, subject, subscription_id).url
    service.delete_subscription(session, subject, subscription_id)
    flash(request, f"Webhook to {url} deleted with its delivery log.", "success")
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/deliveries/{{webhook_delivery_id}}/replay", dependencies=[CsrfChecked])
def webhooks_replay(
    request: Request, session: DbSession, auth: WebAuth, webhook_delivery_id: int
) -> Response:
    subject, _ = auth
    replay = service.replay_delivery(session, subject, webhook_delivery_id)
    flash(
        request,
        f"Delivery {webhook_delivery_id} replayed as delivery {replay.id} (same webhook-id).",
        "success",
    )
    return RedirectResponse(PAGE, status_code=303)
