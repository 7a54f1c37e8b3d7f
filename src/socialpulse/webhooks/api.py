"""Outbound webhook routes: subscriptions, the delivery log, replays and test events (thin;
logic in `webhooks.service`). Every route needs the admin role: subscription URLs and
payloads are the workspace's integration settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status

from socialpulse.errors import error_responses
from socialpulse.kit.params import Id
from socialpulse.kit.routing import api_router
from socialpulse.kit.security import SecretBox
from socialpulse.webhooks import service
from socialpulse.webhooks.models import DeliveryStatus, WebhookSubscription
from socialpulse.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from socialpulse.workspaces.deps import AppSettings, CurrentSubject, DbSession

router = api_router(prefix="/api/v1/webhooks", tags=["webhooks"])

_ADMIN = error_responses(403, descriptions={403: "Needs the admin role"})
_SUBSCRIPTION = error_responses(
    403, 404, descriptions={403: "Needs the admin role", 404: "No such subscription here"}
)
_DELIVERY = error_responses(
    403,
    404,
    409,
    descriptions={
        403: "Needs the admin role",
        404: "No such delivery here",
        409: "The subscription is disabled",
    },
)


def _created(created: service.CreatedSubscription) -> SubscriptionCreated:
    read = SubscriptionRead.model_validate(created.subscription)
    return SubscriptionCreated(**read.model_dump(), secret=created.secret)


@router.get("/subscriptions", response_model=list[SubscriptionRead], responses=_ADMIN)
def list_subscriptions(session: DbSession, subject: CurrentSubject) -> object:
    return service.list_subscriptions(session, subject)


@router.post(
    "/subscriptions",
    response_model=SubscriptionCreated,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(403, 409, 422),
)
def create_subscription(
    body: SubscriptionCreate, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> object:
    """Subscribe a URL to event types. The response carries the signing secret, once. A URL
    into a private network, loopback or link-local is a 422."""
    box = SecretBox(settings.resolved_secret_key())
    return _created(service.create_subscription(session, subject, body, box=box))


@router.get(
    "/subscriptions/{subscription_id}", response_model=SubscriptionRead, responses=_SUBSCRIPTION
)
def read_subscription(subscription_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.get_subscription(session, subject, subscription_id)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionRead,
    responses={**_SUBSCRIPTION, **error_responses(422)},
)
def update_subscription(
    subscription_id: Id, body: SubscriptionUpdate, session: DbSession, subject: CurrentSubject
) -> WebhookSubscription:
    """Change the URL, description or event types; `enabled` pauses or resumes it."""
    return service.update_subscription(session, subject, subscription_id, body)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_SUBSCRIPTION,
)
def delete_subscription(subscription_id: Id, session: DbSession, subject: CurrentSubject) -> None:
    """Delete it with its delivery log; waiting deliveries are not sent."""
    service.delete_subscription(session, subject, subscription_id)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionCreated,
    responses=_SUBSCRIPTION,
)
def rotate_secret(
    subscription_id: Id, session: DbSession, subject: CurrentSubject, settings: AppSettings
) -> object:
    """A new signing secret, returned once; the old one keeps signing alongside for 24 h."""
    box = SecretBox(settings.resolved_secret_key())
    return _created(service.rotate_secret(session, subject, subscription_id, box=box))


@router.post(
    "/subscriptions/{subscription_id}/test",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_DELIVERY,
)
def send_test_event(subscription_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Queue a `webhook.test` event to this subscription; follow it in the delivery log."""
    return service.send_test_event(session, subject, subscription_id)


@router.get("/deliveries", response_model=DeliveryPage, responses=_SUBSCRIPTION)
def list_deliveries(
    session: DbSession,
    subject: CurrentSubject,
    subscription_id: Annotated[Id | None, Query()] = None,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    event_type: Annotated[str | None, Query(max_length=64)] = None,
    before_id: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=service.DELIVERY_PAGE_MAX)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first, filtered by subscription, status or event type."""
    page = service.list_deliveries(
        session,
        subject,
        subscription_id=subscription_id,
        status=status_,
        event_type=event_type,
        before_id=before_id,
        limit=limit,
    )
    return DeliveryPage(
        items=[DeliveryRead.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/deliveries/{webhook_delivery_id}", response_model=DeliveryRead, responses=_DELIVERY)
def read_delivery(webhook_delivery_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    return service.get_delivery(session, subject, webhook_delivery_id)


@router.post(
    "/deliveries/{webhook_delivery_id}/replay",
    response_model=DeliveryRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_DELIVERY,
)
def replay_delivery(webhook_delivery_id: Id, session: DbSession, subject: CurrentSubject) -> object:
    """Send the event again as a new delivery with the same `webhook-id` and payload."""
    return service.replay_delivery(session, subject, webhook_delivery_id)
