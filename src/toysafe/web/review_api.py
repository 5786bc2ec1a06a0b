"""The reviewer queue's REST API (under /api/v1/program, marketplace users only): the queue in
risk order, claim, release, escalate, internal notes, and a request's review state. A seller or
a lab gets 403; a request out of the reviewer's reach 404; a refusal (claimed by someone else,
no longer waiting for a reviewer) 409; bad input 422 naming the field."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import Field

from toysafe.core.program.model import TriggerKind
from toysafe.io.errors import InputError
from toysafe.store.accounts import Principal
from toysafe.store.program import review
from toysafe.web.deps import Db, Who
from toysafe.web.program_api import (
    AsOf,
    _Body,
    _call,
    _day,
    _require,
    _unprocessable,
    _visible_request,
    visible_sellers,
)

router = APIRouter(prefix="/api/v1/program", tags=["program review"])
MARKETPLACE = ("reviewer", "admin")
QueueName = Literal["standard", "senior"]
QueueState = Literal["submitted", "in_review"]
Claimed = Literal["me", "unclaimed", "claimed"]


def desk(request: Request, who: Principal) -> review.Desk:
    return review.Desk(request.app.state.store, who.email, admin=who.role == "admin")


@router.get("/queue")
def get_queue(
    who: Who,
    db: Db,
    state: QueueState | None = None,
    trigger: TriggerKind | None = None,
    seller: str | None = Query(None, max_length=60),
    queue: QueueName | None = None,
    q: str | None = Query(None, max_length=100, description="request id, listing id or title"),
    claimed: Claimed | None = None,
    page: int = Query(1, ge=1, le=100000),
    per_page: int = Query(25, ge=1, le=200),
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """Requests that need a person, most urgent first (toysafe/review-queue@1)."""
    _require(who, *MARKETPLACE)
    filt = review.QueueFilter(state, trigger.value if trigger else None, seller, queue, q, claimed)
    try:
        out = review.queue_page(
            db, _day(as_of), visible_sellers(db, who), filt, who.email, page, per_page
        )
    except InputError as e:  # no policy loaded
        raise HTTPException(409, {"refused": "no_policy", "message": str(e)}) from None
    return out.to_dict()


@router.get("/requests/{request_id}/review")
def get_review(request_id: str, who: Who, db: Db) -> dict[str, Any]:
    """The marketplace's review state of a request: queue, claim, log and internal notes."""
    req = _visible_request(db, who, request_id)
    _require(who, *MARKETPLACE)
    return review.review_state(db, req.id)


@router.post("/requests/{request_id}/claim")
def claim(
    request: Request, request_id: str, who: Who, db: Db, as_of: date | None = AsOf
) -> dict[str, Any]:
    _visible_request(db, who, request_id)
    _require(who, *MARKETPLACE)
    out: dict[str, Any] = _call(desk(request, who).claim, request_id, _day(as_of))
    return out


@router.post("/requests/{request_id}/release")
def release(
    request: Request, request_id: str, who: Who, db: Db, as_of: date | None = AsOf
) -> dict[str, Any]:
    _visible_request(db, who, request_id)
    _require(who, *MARKETPLACE)
    out: dict[str, Any] = _call(desk(request, who).release, request_id, _day(as_of))
    return out


class EscalationBody(_Body):
    reason: str = Field(min_length=1, max_length=review.MAX_REASON)


@router.post("/requests/{request_id}/escalate")
def escalate(
    request: Request,
    request_id: str,
    body: EscalationBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """Send the request to the senior queue, with the reason."""
    _visible_request(db, who, request_id)
    _require(who, *MARKETPLACE)
    try:
        out: dict[str, Any] = _call(
            desk(request, who).escalate, request_id, body.reason, _day(as_of)
        )
    except InputError as e:
        raise _unprocessable(str(e), "body", "reason") from None
    return out


class NoteBody(_Body):
    body: str = Field(min_length=1, max_length=review.MAX_NOTE)


@router.post("/requests/{request_id}/notes", status_code=201)
def add_note(
    request: Request,
    request_id: str,
    body: NoteBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """An internal note (the seller never sees it)."""
    _visible_request(db, who, request_id)
    _require(who, *MARKETPLACE)
    try:
        out: dict[str, Any] = _call(desk(request, who).note, request_id, body.body, _day(as_of))
    except InputError as e:
        raise _unprocessable(str(e), "body", "body") from None
    return out
