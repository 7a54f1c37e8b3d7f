"""Generate and schedule: the drafting model writes the post for each target account's
platform (within its limits), and the post is scheduled at the given time or the first
account's next best slot, in one request.

Nothing is scheduled when the model is not configured (409: use the composer's offline
suggestions), when drafting reports an error (422 with the checks), or when the post's own
checks refuse it (422, as ``POST /posts``). A refused request writes nothing, its model usage
rows included (the usual one transaction per request), so give a time the checks accept."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialpulse.accounts.models import TrackedAccount
from socialpulse.ai import drafting
from socialpulse.ai.llm import ChatModel
from socialpulse.ai.schemas import DraftMode, DraftRequest, DraftSuggestion
from socialpulse.errors import Conflict, InvalidInput, NotFound
from socialpulse.publishing import service
from socialpulse.publishing.schemas import GenerateIn, PostCreate, PostRead, TargetIn
from socialpulse.workspaces.tenancy import Subject, scoped


class Generated(BaseModel):
    post: PostRead
    suggestion: DraftSuggestion


def generate_and_schedule(
    session: Session,
    subject: Subject,
    body: GenerateIn,
    *,
    model: ChatModel | None,
    now: dt.datetime | None = None,
) -> Generated:
    if model is None:
        raise Conflict(
            "no language model is configured (SOCIALPULSE_LLM_BASE_URL and SOCIALPULSE_LLM_MODEL);"
            " write the post in the composer, which offers offline suggestions"
        )
    accounts = {
        account.id: account
        for account in session.scalars(
            scoped(select(TrackedAccount), subject).where(TrackedAccount.id.in_(body.account_ids))
        )
    }
    missing = [i for i in body.account_ids if i not in accounts]
    if missing:
        raise NotFound(f"account {missing[0]} not found")
    platforms = list(dict.fromkeys(accounts[i].platform for i in body.account_ids))
    suggestion = drafting.draft_post(
        session,
        subject,
        DraftRequest(
            brief=body.brief,
            platforms=platforms,
            account_id=body.account_ids[0],
            language=body.language,
            tone=body.tone,
            mode=DraftMode.draft,
        ),
        model=model,
        now=now,
    )
    errors = [check for check in suggestion.checks if check.level == "error"]
    if errors or not suggestion.variants:
        raise InvalidInput(
            "the drafted post cannot be scheduled: "
            + ("; ".join(check.message for check in errors) or "the model wrote nothing"),
            details=suggestion.model_dump(mode="json"),
        )
    when = body.scheduled_at
    if when is None:
        if suggestion.next_best_slot is None:
            raise InvalidInput("give scheduled_at: the account has no best slot to suggest")
        when = suggestion.next_best_slot.at
    variants = suggestion.variants
    first = variants[platforms[0]].text
    post = service.create_post(
        session,
        subject,
        PostCreate(
            text=first,
            language=body.language,
            zone=body.zone,
            scheduled_at=when,
            draft=body.draft,
            targets=[
                TargetIn(account_id=i, text=variants[accounts[i].platform].text)
                for i in body.account_ids
            ],
        ),
        now=now,
    )
    return Generated(post=post, suggestion=suggestion)
