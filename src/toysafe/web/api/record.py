"""Record safety over HTTP (contract 10): change a product (saying what the change
invalidates), restore an earlier version, withdraw a report."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.record import Conflict, NotFound, change, revert, withdraw_report
from toysafe.web.access import find_product, org_slug, require, visible_org_ids
from toysafe.web.api.common import AsOf, JSONBody, OrgQ, parse_profile, today, unprocessable
from toysafe.web.api.common import workspace_for as ws_for
from toysafe.web.deps import Db, Who

router = APIRouter()


def http_error(e: InputError) -> HTTPException:
    """Conflict -> 409, NotFound -> 404, other input errors -> 422 naming the field."""
    if isinstance(e, Conflict):
        return HTTPException(409, str(e))
    if isinstance(e, NotFound):
        return HTTPException(404, str(e))
    return HTTPException(422, e.locations())


@router.put("/products/{sku}", tags=["products"])
def change_product(
    request: Request,
    sku: str,
    who: Who,
    db: Db,
    profile: dict[str, Any] = JSONBody,
    as_of: date | None = AsOf,
    org: str | None = OrgQ,
    dry_run: bool = Query(False, description="Say what the change invalidates; store nothing."),
) -> dict[str, Any]:
    """Add a new version of an existing product; the answer says what the change invalidates
    (a material change per 16 CFR 1107.23, the evidence and certificates it affects)."""
    require(who, "seller", "admin")
    p = parse_profile(profile)
    if p.sku != sku:
        raise unprocessable(f"the profile's sku '{p.sku}' is not '{sku}' of the URL", "body", "sku")
    product = find_product(db, who, sku, org)
    slug = org_slug(db, product.org_id)
    try:
        result = change(ws_for(request, slug, who), p, today(as_of), dry_run)
    except InputError as e:
        raise http_error(e) from None
    return {**result.to_dict(), "org": slug, "dry_run": dry_run}


class RevertBody(BaseModel):
    to: int = Field(..., ge=1, description="The version whose content to restore.")


@router.post("/products/{sku}/revert", tags=["products"], status_code=201)
def revert_product(
    request: Request,
    sku: str,
    body: RevertBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
    org: str | None = OrgQ,
) -> dict[str, Any]:
    """Restore an earlier version as a new version; the evidence that counted for that content
    counts again."""
    require(who, "seller", "admin")
    product = find_product(db, who, sku, org)
    slug = org_slug(db, product.org_id)
    try:
        result = revert(ws_for(request, slug, who), sku, body.to, today(as_of))
    except InputError as e:
        raise http_error(e) from None
    return {**result.to_dict(), "org": slug, "restored": body.to}


class WithdrawalBody(BaseModel):
    reason: str = Field(..., min_length=1, max_length=2000, description="Why it is withdrawn.")


@router.post("/reports/{report_no}/withdrawal", tags=["reports"], status_code=201)
def withdraw(
    request: Request,
    report_no: str,
    body: WithdrawalBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
    org: str | None = OrgQ,
) -> dict[str, Any]:
    """Take a report out of the evidence; it stays in the history with who withdrew it, why."""
    require(who, "seller", "admin")
    slug = org or who.org_slug
    org_id = db.scalar(select(m.Organization.id).where(m.Organization.slug == slug))
    allowed = visible_org_ids(db, who)
    if org_id is None or (allowed is not None and org_id not in allowed):
        raise HTTPException(404, f"no report '{report_no}'")
    try:
        done = withdraw_report(ws_for(request, slug, who), report_no, body.reason, today(as_of))
    except InputError as e:
        raise http_error(e) from None
    return {**done, "org": slug}
