"""Publishing in the dashboard: the calendar (month and week, drag to reschedule), the composer
(new and edit: counts per platform, media, recurrence, best slot, offline suggestions) and the
queue of scheduled and failed deliveries. Calls `publishing.service`, like the API."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from socialpulse.accounts import service as accounts_service
from socialpulse.accounts.models import TrackedAccount
from socialpulse.ai import drafting
from socialpulse.ai.llm import ChatModel, LlmConfig, chat_model
from socialpulse.ai.schemas import DraftMode, DraftRequest
from socialpulse.analytics import service as analytics_service
from socialpulse.config import Settings
from socialpulse.db import utcnow
from socialpulse.errors import AppError, InvalidInput
from socialpulse.kit.routing import api_router
from socialpulse.providers import registry
from socialpulse.publishing import series, service, validation
from socialpulse.publishing.models import DeliveryStatus
from socialpulse.publishing.schemas import (
    MediaIn,
    OccurrenceEdit,
    PostCreate,
    PostRead,
    PostUpdate,
    RecurrenceIn,
    RescheduleIn,
    TargetIn,
)
from socialpulse.web.pages import flash, layout, render
from socialpulse.web.security import CsrfChecked, WebAuth
from socialpulse.workspaces.deps import AppSettings, DbSession
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

router = api_router(include_in_schema=False)

QUEUE_PAGE = 25
UPCOMING = 20
# The calendar asks for the visible range; a range longer than this is a bad request.
MAX_RANGE = dt.timedelta(days=62)
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# Where a service problem (``loc`` of its first element) is shown on the composer.
FIELD_OF = {
    "targets": "accounts",
    "media": "media",
    "recurrence": "recurrence",
    "scheduled_at": "scheduled_at",
    "text": "text",
    "zone": "zone",
    "hashtags": "hashtags",
    "title": "title",
    "file": "media",
    # RecurrenceIn's own fields, when pydantic checks it alone.
    "cron": "recurrence",
    "every": "recurrence",
    "until": "recurrence",
    "count": "recurrence",
}


# --------------------------------------------------------------------------- helpers


def _zone(session: Session, subject: Subject) -> zoneinfo.ZoneInfo:
    return analytics_service.workspace_zone(session, subject)


def _local(at: dt.datetime | None, zone: zoneinfo.ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return at.astimezone(zone).strftime(fmt) if at is not None else ""


def _publishable(session: Session, subject: Subject) -> list[TrackedAccount]:
    """The workspace's accounts that can publish now (connected, active, a PUBLISH platform)."""
    return [
        account
        for account in accounts_service.list_accounts(session, subject)
        if validation.publish_problem(account) is None
    ]


def _rules(account: TrackedAccount) -> dict[str, Any]:
    info = registry.get_provider(account.platform)
    rules = info.post_rules
    return {
        "platform": account.platform,
        "display": info.display_name,
        "max_chars": rules.max_chars if rules else None,
        "graphemes": bool(rules and rules.graphemes),
        "requires_media": bool(rules and rules.requires_media),
        "obj": rules,
    }


def _split_tags(raw: str) -> list[str]:
    return [tag.lstrip("#") for tag in raw.replace(",", " ").split() if tag.lstrip("#")]


def _errors_of(exc: AppError | ValidationError) -> dict[str, list[str]]:
    """Field → messages, from a pydantic error or a service's problem details."""
    if isinstance(exc, ValidationError):
        items = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
    else:
        items = [d for d in (exc.details or []) if isinstance(d, dict)]
    found: dict[str, list[str]] = {}
    for item in items:
        loc = [part for part in item.get("loc", []) if part != "body"]
        key = FIELD_OF.get(str(loc[0]), "form") if loc else "form"
        found.setdefault(key, []).append(str(item.get("msg", "")))
    return found


def _empty_form(zone: str) -> dict[str, Any]:
    return {
        "text": "",
        "hashtags": "",
        "title": "",
        "account_ids": [],
        "media_ids": [],
        "media_alts": [],
        "alt_text": "",
        "scheduled_at": "",
        "zone": zone,
        "repeat": "none",
        "cron": "",
        "every": "",
        "until": "",
        "count": "",
        "variants": {},
    }


def _form_from_post(post: PostRead) -> dict[str, Any]:
    zone = zoneinfo.ZoneInfo(post.zone)
    rec = post.recurrence
    return {
        "text": post.text,
        "hashtags": " ".join(post.hashtags),
        "title": post.title or "",
        "account_ids": [t.account_id for t in post.targets],
        "media_ids": [m.media_id for m in post.media],
        "media_alts": [m.alt_text for m in post.media],
        "alt_text": "",
        "scheduled_at": _local(post.scheduled_at, zone, LOCAL_FORMAT),
        "zone": post.zone,
        "repeat": "cron" if rec and rec.cron else "interval" if rec and rec.every else "none",
        "cron": (rec.cron if rec else None) or "",
        "every": (rec.every if rec else None) or "",
        "until": _local(rec.until, zone, LOCAL_FORMAT) if rec and rec.until else "",
        "count": str(rec.count) if rec and rec.count else "",
        "variants": {t.account_id: t.text for t in post.targets if t.text is not None},
    }


def _form_from_request(data: FormData) -> dict[str, Any]:
    def one(name: str) -> str:
        value = data.get(name)
        return value.strip() if isinstance(value, str) else ""

    ids = [int(v) for v in data.getlist("account_ids") if isinstance(v, str) and v.isdigit()]
    media = [int(v) for v in data.getlist("media_ids") if isinstance(v, str) and v.isdigit()]
    alts = [v if isinstance(v, str) else "" for v in data.getlist("media_alts")]
    # A text of its own for one account (``variant_<id>``); empty: the post's text.
    variants = {}
    for account_id in ids:
        value = data.get(f"variant_{account_id}")
        if isinstance(value, str) and value.strip():
            variants[account_id] = value
    return {
        "text": data.get("text") if isinstance(data.get("text"), str) else "",
        "hashtags": one("hashtags"),
        "title": one("title"),
        "account_ids": ids,
        "media_ids": media,
        "media_alts": (alts + [""] * len(media))[: len(media)],
        "alt_text": one("alt_text"),
        "scheduled_at": one("scheduled_at"),
        "zone": one("zone"),
        "repeat": one("repeat") or "none",
        "cron": one("cron"),
        "every": one("every"),
        "until": one("until"),
        "count": one("count"),
        "variants": variants,
    }


def _fields(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the service's fields (pydantic validates them)."""
    recurrence: dict[str, Any] | None = None
    if form["repeat"] in ("cron", "interval"):
        recurrence = {
            "cron": form["cron"] or None if form["repeat"] == "cron" else None,
            "every": form["every"] or None if form["repeat"] == "interval" else None,
            "until": form["until"] or None,
            "count": form["count"] or None,
        }
    return {
        "text": form["text"],
        "hashtags": _split_tags(form["hashtags"]),
        "title": form["title"] or None,
        "zone": form["zone"] or None,
        "scheduled_at": form["scheduled_at"] or None,
        "recurrence": RecurrenceIn.model_validate(recurrence) if recurrence else None,
        "targets": [
            TargetIn(account_id=account_id, text=form["variants"].get(account_id))
            for account_id in form["account_ids"]
        ],
        "media": [
            MediaIn(media_id=media_id, alt_text=alt)
            for media_id, alt in zip(form["media_ids"], form["media_alts"], strict=True)
        ],
    }


def _previews(accounts: list[TrackedAccount], form: dict[str, Any]) -> list[dict[str, Any]]:
    """One card per account: what it would publish and its length in the platform's unit
    (graphemes for Bluesky), counted here so the page says it without JavaScript."""
    tags = _split_tags(form["hashtags"])
    cards = []
    for account in accounts:
        variant = form["variants"].get(account.id)
        text = series.compose_text(variant if variant is not None else form["text"], tags)
        rules = _rules(account)
        length = validation.text_length(text, rules["obj"]) if rules["obj"] else len(text)
        cards.append(
            rules
            | {
                "account": account,
                "selected": account.id in form["account_ids"],
                "text": text,
                "variant": variant or "",
                "length": length,
                "over": rules["max_chars"] is not None and length > rules["max_chars"],
            }
        )
    return cards


def _best_slot(
    session: Session, subject: Subject, accounts: list[TrackedAccount], form: dict[str, Any]
) -> Any:
    chosen = [a for a in accounts if a.id in form["account_ids"]] or accounts[:1]
    if not chosen:
        return None
    try:
        return analytics_service.next_best_slot(
            session, subject, chosen[0].id, after=utcnow(), zone=form["zone"] or None
        )
    except AppError:
        return None  # an unknown zone is reported by the form's own check


def _composer(
    request: Request,
    session: Session,
    auth: tuple[Subject, Any],
    form: dict[str, Any],
    *,
    post: PostRead | None = None,
    errors: dict[str, list[str]] | None = None,
    suggestion: Any = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    subject, _ = auth
    accounts = _publishable(session, subject)
    slot = _best_slot(session, subject, accounts, form)
    context = layout(session, auth, "publishing") | {
        "form": form,
        "post": post,
        "errors": errors or {},
        "accounts": accounts,
        "previews": _previews(accounts, form),
        "slot": slot,
        "slot_local": slot.at.strftime(LOCAL_FORMAT) if slot else "",
        "suggestion": suggestion,
        "notice": notice,
        "zones": sorted(zoneinfo.available_timezones()),
        "can_edit": subject.role.at_least(Role.editor),
        "has_model": LlmConfig.from_settings(request.app.state.settings) is not None,
    }
    return render(request, "publishing/composer.html", context, status_code=status_code)


# --------------------------------------------------------------------------- calendar


@router.get("/publishing", response_class=HTMLResponse)
def calendar_page(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    zone = _zone(session, subject)
    upcoming = service.queue(
        session, subject, statuses=(DeliveryStatus.scheduled,), limit=UPCOMING
    ).items
    context = layout(session, auth, "publishing") | {
        "zone": zone.key,
        "upcoming": [(item, _local(item.scheduled_for, zone)) for item in upcoming],
        "can_edit": subject.role.at_least(Role.editor),
    }
    return render(request, "publishing/calendar.html", context)


@router.get("/publishing/events")
def calendar_events(
    session: DbSession, auth: WebAuth, start: dt.datetime, end: dt.datetime
) -> JSONResponse:
    """FullCalendar's event feed for the visible range (it sends ``start`` and ``end``)."""
    subject, _ = auth
    zone = _zone(session, subject)
    # The calendar runs in UTC-coerced mode (FullCalendar has no named zones without a
    # plugin): the times it sends and shows are wall times in the workspace's zone.
    since = validation.as_utc(start.replace(tzinfo=None), zone)
    until = validation.as_utc(end.replace(tzinfo=None), zone)
    if until <= since or until - since > MAX_RANGE:
        raise InvalidInput("the range must be positive and at most 62 days")
    editable = subject.role.at_least(Role.editor)
    events = []
    for entry in service.calendar(session, subject, since=since, until=until):
        who = ", ".join(f"@{h}" for h in entry.handles) or "no account yet"
        occurrence = entry.occurrence_at.isoformat() if entry.occurrence_at else None
        events.append(
            {
                "id": f"{entry.post_id}-{occurrence or 'draft'}",
                "title": f"{entry.text[:60] or '(no text)'} · {who}",
                "start": entry.start.astimezone(zone).replace(tzinfo=None).isoformat(),
                "allDay": False,
                "classNames": [f"ev-{entry.status}"],
                # Only what has not reached a platform moves; a series moves one occurrence.
                "editable": editable
                and entry.status in ("scheduled", "planned", "draft", "failed", "missed"),
                "url": f"/publishing/posts/{entry.post_id}/edit",
                "extendedProps": {
                    "postId": entry.post_id,
                    "occurrenceAt": entry.occurrence_at.isoformat()
                    if entry.occurrence_at
                    else None,
                    "recurring": entry.recurring,
                    "status": entry.status,
                    "platforms": entry.platforms,
                    "error": entry.error,
                },
            }
        )
    return JSONResponse(events)


class MoveIn(BaseModel):
    post_id: int = Field(ge=1)
    occurrence_at: dt.datetime | None = None
    recurring: bool = False
    start: dt.datetime = Field(description="Without an offset: a wall time in the workspace zone.")


@router.post("/publishing/events/move", dependencies=[CsrfChecked])
def calendar_move(session: DbSession, auth: WebAuth, body: MoveIn) -> JSONResponse:
    """A dragged event: the post moves (or, in a series, only that occurrence). Errors come
    back as JSON for the calendar to revert the drag and say why."""
    subject, _ = auth
    start = validation.as_utc(body.start, _zone(session, subject))
    try:
        subject.require(Role.editor)
        if body.recurring and body.occurrence_at is not None:
            post = service.edit_occurrence(
                session,
                subject,
                body.post_id,
                OccurrenceEdit(occurrence_at=body.occurrence_at, scheduled_at=start),
            )
        else:
            post = service.reschedule_post(
                session, subject, body.post_id, RescheduleIn(scheduled_at=start)
            )
    except AppError as exc:
        session.rollback()
        return JSONResponse({"error": exc.message}, status_code=exc.status_code)
    return JSONResponse({"post_id": post.id, "status": str(post.status)})


# --------------------------------------------------------------------------- composer


@router.get("/publishing/new", response_class=HTMLResponse)
def composer_new(request: Request, session: DbSession, auth: WebAuth) -> Response:
    subject, _ = auth
    return _composer(request, session, auth, _empty_form(_zone(session, subject).key))


@router.get("/publishing/posts/{publishing_post_id}/edit", response_class=HTMLResponse)
def composer_edit(
    request: Request, session: DbSession, auth: WebAuth, publishing_post_id: int
) -> Response:
    subject, _ = auth
    post = service.read_post(session, subject, publishing_post_id)
    return _composer(request, session, auth, _form_from_post(post), post=post)


def _upload(
    session: Session,
    subject: Subject,
    upload: Any,
    form: dict[str, Any],
    settings: Settings,
) -> None:
    """A file chosen on the form joins the post's media (stored before the post is saved, so
    a refused post keeps it for the next try)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return
    data = upload.file.read()
    if not data:
        return
    stored = service.save_upload(session, subject, data, upload.filename, settings=settings)
    if stored.id not in form["media_ids"]:
        form["media_ids"].append(stored.id)
        form["media_alts"].append(form["alt_text"])
    form["alt_text"] = ""


async def _submit(
    request: Request,
    session: Session,
    auth: tuple[Subject, Any],
    settings: Settings,
    post_id: int | None,
) -> Response:
    subject, _ = auth
    data = await request.form()
    form = _form_from_request(data)
    action = str(data.get("action") or "schedule")
    post = service.read_post(session, subject, post_id) if post_id is not None else None
    subject.require(Role.editor)
    form["zone"] = form["zone"] or _zone(session, subject).key
    try:
        _upload(session, subject, data.get("file"), form, settings)
    except AppError as exc:
        session.rollback()
        return _composer(
            request,
            session,
            auth,
            form,
            post=post,
            errors={"media": [exc.message]},
            status_code=exc.status_code,
        )
    session.commit()  # the upload is kept even if the post is refused below
    if action == "best_slot":
        return _composer(request, session, auth, _use_slot(session, subject, form), post=post)
    if action == "suggest":
        return _suggest(request, session, auth, form, post)
    if action == "rewrite":
        model = chat_model(settings)
        if model is None:
            raise InvalidInput("no language model is configured (SOCIALPULSE_LLM_BASE_URL)")
        return _suggest(request, session, auth, form, post, model=model)
    try:
        fields = _fields(form)
        if post is None:
            body = PostCreate.model_validate(fields | {"draft": action == "draft"})
            saved = service.create_post(session, subject, body)
        else:
            saved = service.update_post(
                session, subject, post.id, PostUpdate.model_validate(fields)
            )
            if action == "schedule" and saved.status.value == "draft":
                saved = service.schedule_post(session, subject, saved.id)
    except (AppError, ValidationError) as exc:
        # Back on the form with everything typed and each message next to its field.
        session.rollback()
        errors = _errors_of(exc)
        if isinstance(exc, AppError):
            # A problem without a field (a conflict, say) is said at the top of the form.
            errors = errors or {"form": [exc.message]}
            status = exc.status_code
        else:
            status = 422
        return _composer(request, session, auth, form, post=post, errors=errors, status_code=status)
    zone = zoneinfo.ZoneInfo(saved.zone)
    if saved.status.value == "draft":
        flash(request, f"Draft {saved.id} saved.", "success")
    else:
        flash(
            request,
            f"Post {saved.id} scheduled for {_local(saved.scheduled_at, zone)} {saved.zone}.",
            "success",
        )
    return RedirectResponse("/publishing", status_code=303)


def _use_slot(session: Session, subject: Subject, form: dict[str, Any]) -> dict[str, Any]:
    slot = _best_slot(session, subject, _publishable(session, subject), form)
    if slot is not None:
        form["scheduled_at"] = slot.at.strftime(LOCAL_FORMAT)
        form["zone"] = slot.timezone
    return form


def _suggest(
    request: Request,
    session: Session,
    auth: tuple[Subject, Any],
    form: dict[str, Any],
    post: PostRead | None,
    *,
    model: ChatModel | None = None,
) -> Response:
    """Hashtags from the account's best posts, length and link checks per platform; with a
    model, also its rewrite per platform, put in each chosen account's own text."""
    subject, _ = auth
    accounts = _publishable(session, subject)
    chosen = [a for a in accounts if a.id in form["account_ids"]] or accounts
    platforms = sorted({a.platform for a in chosen}) or ["simulated"]
    try:
        suggestion = drafting.draft_post(
            session,
            subject,
            DraftRequest(
                text=series.compose_text(form["text"], _split_tags(form["hashtags"])),
                platforms=platforms[:10],
                account_id=chosen[0].id if chosen else None,
                mode=DraftMode.rewrite if model is not None else DraftMode.suggest,
            ),
            model=model,
        )
    except (AppError, ValidationError) as exc:
        session.rollback()
        errors = _errors_of(exc)
        if isinstance(exc, AppError):
            errors = errors or {"form": [exc.message]}
        return _composer(request, session, auth, form, post=post, errors=errors)
    notice = None
    if suggestion.variants:
        for account in chosen:
            variant = suggestion.variants.get(account.platform)
            if variant is not None and account.id in form["account_ids"]:
                form["variants"][account.id] = variant.text
        notice = f"Rewritten by {suggestion.model}: check each account's own text below."
    return _composer(request, session, auth, form, post=post, suggestion=suggestion, notice=notice)


@router.post("/publishing/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
async def composer_create(
    request: Request, session: DbSession, auth: WebAuth, settings: AppSettings
) -> Response:
    return await _submit(request, session, auth, settings, None)


@router.post(
    "/publishing/posts/{publishing_post_id}/edit",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
async def composer_update(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    settings: AppSettings,
    publishing_post_id: int,
) -> Response:
    return await _submit(request, session, auth, settings, publishing_post_id)


@router.post("/publishing/posts/{publishing_post_id}/cancel", dependencies=[CsrfChecked])
def post_cancel(
    request: Request, session: DbSession, auth: WebAuth, publishing_post_id: int
) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    post = service.cancel_post(session, subject, publishing_post_id)
    flash(request, f"Post {post.id} cancelled.", "success")
    back = request.headers.get("referer") or ""
    return RedirectResponse(
        "/publishing/queue" if back.endswith("/publishing/queue") else "/publishing",
        status_code=303,
    )


# --------------------------------------------------------------------------- queue


@router.get("/publishing/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbSession,
    auth: WebAuth,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    subject, _ = auth
    zone = _zone(session, subject)
    found = service.queue(session, subject, offset=(page - 1) * QUEUE_PAGE, limit=QUEUE_PAGE)
    pages = {
        "first": {"page": 1} if page > 2 else None,
        "prev": {"page": page - 1} if page > 1 else None,
        "next": {"page": page + 1} if page * QUEUE_PAGE < found.total else None,
    }
    context = layout(session, auth, "publishing") | {
        "items": [
            (item, _local(item.scheduled_for, zone), _local(item.next_attempt_at, zone))
            for item in found.items
        ],
        "total": found.total,
        "pages": pages,
        "zone": zone.key,
        "can_edit": subject.role.at_least(Role.editor),
    }
    return render(request, "publishing/queue.html", context)


@router.post("/publishing/queue/{delivery_id}/retry", dependencies=[CsrfChecked])
def queue_retry(request: Request, session: DbSession, auth: WebAuth, delivery_id: int) -> Response:
    subject, _ = auth
    subject.require(Role.editor)
    delivery = service.retry_delivery(session, subject, delivery_id)
    flash(request, f"Delivery {delivery.id} to {delivery.platform} is tried again now.", "success")
    return RedirectResponse("/publishing/queue", status_code=303)
