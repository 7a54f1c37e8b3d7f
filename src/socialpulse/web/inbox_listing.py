"""What the inbox page and its in-place updates render: the page's filters, rows and pages
(`listing`), and one row again after an action (`one_row`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy.orm import Session

from socialpulse.accounts import service as accounts_service
from socialpulse.errors import InvalidInput, NotFound
from socialpulse.inbox import context as inbox_context
from socialpulse.inbox import corrections, moderation
from socialpulse.inbox import fans as fan_service
from socialpulse.inbox import service as inbox_service
from socialpulse.inbox.models import InteractionStatus
from socialpulse.inbox.workflows.builder import LANGUAGES
from socialpulse.web.inbox_rows import InboxRow, inbox_rows, language_name, words
from socialpulse.web.pages import Choices
from socialpulse.workspaces import service as workspace_service
from socialpulse.workspaces.models import Role
from socialpulse.workspaces.tenancy import Subject

PAGE_SIZE = 50
SENTIMENTS = corrections.SENTIMENTS
FILTER_KEYS = (
    "q",
    "platform",
    "status",
    "sentiment",
    "intent",
    "language",
    "superfan",
    "account",
    "label",
    "fan",
)
BULK_ACTIONS = {
    "answered": "Mark answered",
    "ignored": "Ignore",
    "flagged": "Flag",
    "unread": "Mark unread",
    "add_label": "Add label…",
    "assign": "Assign to…",
}


def filters_of(params: Mapping[str, str]) -> inbox_service.InteractionFilters:
    status, account = params.get("status", ""), params.get("account", "")
    try:
        status_value = InteractionStatus(status) if status else None
    except ValueError as exc:
        raise InvalidInput(f"unknown status {status!r}") from exc
    if account and not (account.isascii() and account.isdigit() and len(account) <= 10):
        raise InvalidInput(f"unknown account {account!r}")
    fan = params.get("fan", "")
    if fan and not (fan.isascii() and fan.isdigit() and len(fan) <= 10):
        raise InvalidInput(f"unknown fan {fan!r}")
    q = params.get("q", "").strip()
    if len(q) > 200:
        raise InvalidInput("search for at most 200 characters")
    # The language as detected: a lower-case ISO 639-1 code ("es") or "und".
    language = params.get("language", "")
    iso_code = len(language) == 2 and language.isascii() and language.isalpha()
    if language and language != "und" and not (iso_code and language.islower()):
        raise InvalidInput(f"unknown language {language!r}: use a code such as en, es or pt")
    return inbox_service.InteractionFilters(
        platform=params.get("platform") or None,
        status=status_value,
        sentiment=params.get("sentiment") or None,
        intent=params.get("intent") or None,
        language=language or None,
        superfan={"yes": True, "no": False}.get(params.get("superfan", "")),
        account_id=int(account) if account else None,
        label=params.get("label", "").strip() or None,
        q=q or None,
        fan_id=int(fan) if fan else None,
    )


def back_params(back: str) -> dict[str, str]:
    """The inbox page's query from the `back` address a form carries."""
    return {k: v for k, v in parse_qsl(urlsplit(back).query) if k in FILTER_KEYS or k in PAGING}


PAGING = ("cursor", "before")


def safe_back(target: str) -> str:
    # Only our own inbox pages: anything else would be an open redirect.
    return target if target.startswith("/inbox") and not target.startswith("//") else "/inbox"


def _page_query(current: dict[str, str], **cursor: str | None) -> dict[str, str] | None:
    """The page's query: the filters and its cursor; None where that page does not exist."""
    if any(value is None for value in cursor.values()):
        return None
    return {k: v for k, v in current.items() if v} | {k: v for k, v in cursor.items() if v}


def _rows(
    session: Session, subject: Subject, entries: list[inbox_service.InboxEntry], can_edit: bool
) -> list[InboxRow]:
    items = [entry.item for entry in entries]
    failures = moderation.failure_details(session, subject, items)
    contexts = inbox_context.page_context(session, subject, items)
    return inbox_rows(entries, failures, can_edit, contexts)


def _language_choices(selected: str) -> list[tuple[str, str]]:
    """The languages the filter offers (the analyser's usual ones, by name), with the selected
    one added when a link asked for another ("sv")."""
    choices = [(code, name) for code, name in LANGUAGES.items() if code != "und"]
    choices.sort(key=lambda choice: choice[1])
    if selected and selected not in LANGUAGES:
        choices.append((selected, language_name(selected)))
    return [*choices, ("und", LANGUAGES["und"])]


def members(session: Session, subject: Subject) -> list[tuple[int, str]]:
    """(user id, name) of the workspace's members, for "assign to"."""
    return [
        (user.id, user.email)
        for _membership, user in workspace_service.list_members(session, subject)
    ]


def row_choices(session: Session, subject: Subject) -> dict[str, Any]:
    """What a row's forms choose from (the page's filters and bulk form use the lists)."""
    member_list = members(session, subject)
    intents = [(i, words(i)) for i in corrections.INTENTS]
    return {
        "members": member_list,
        "sentiments": SENTIMENTS,
        "intents": intents,
        "member_choices": Choices(member_list),
        "sentiment_choices": Choices((s, s) for s in SENTIMENTS),
        "intent_choices": Choices(intents),
    }


def listing(session: Session, subject: Subject, params: Mapping[str, str]) -> dict[str, Any]:
    """The inbox page's own context: filters, result count, rows and pages."""
    filters = filters_of(params)
    # One fan's interactions ("Open their interactions" on the fan's page); 404 if not ours.
    fan_filter = fan_service.get_fan(session, subject, filters.fan_id) if filters.fan_id else None
    page = inbox_service.list_inbox(
        session,
        subject,
        filters,
        limit=PAGE_SIZE,
        cursor=params.get("cursor") or None,
        before=params.get("before") or None,
    )
    accounts = accounts_service.list_accounts(session, subject)
    current = {key: params.get(key, "") for key in FILTER_KEYS}
    can_edit = subject.role.at_least(Role.editor)
    query = {k: v for k, v in current.items() if v}
    query |= {k: params[k] for k in PAGING if params.get(k)}
    back = "/inbox" + (f"?{urlencode(query)}" if query else "")
    return {
        "rows": _rows(session, subject, page.entries, can_edit),
        "total": inbox_service.count_interactions(session, subject, filters),
        "accounts": accounts,
        "platforms": sorted({a.platform for a in accounts}),
        "platform_labels": {
            a.platform: accounts_service.platform_name(a.platform) for a in accounts
        },
        "statuses": [(s.value, words(s.value)) for s in InteractionStatus],
        "languages": _language_choices(current["language"]),
        "current": current,
        "fan_filter": fan_filter,
        "filtered": any(current.values()),
        "pages": {
            "first": _page_query(current) if page.prev_cursor else None,
            "prev": _page_query(current, before=page.prev_cursor),
            "next": _page_query(current, cursor=page.next_cursor),
        },
        "bulk_actions": BULK_ACTIONS,
        "can_edit": can_edit,
        "back": back,
    } | row_choices(session, subject)


def one_row(session: Session, subject: Subject, interaction_id: int) -> InboxRow:
    """The row of one interaction as the inbox shows it (after an action on it)."""
    page = inbox_service.list_inbox(
        session, subject, inbox_service.InteractionFilters(ids=(interaction_id,)), limit=1
    )
    if not page.entries:
        raise NotFound(f"interaction {interaction_id} not found")
    return _rows(session, subject, page.entries, subject.role.at_least(Role.editor))[0]
