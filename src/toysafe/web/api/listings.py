"""Marketplace listings."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from toysafe.store import models as m
from toysafe.web.access import (
    require,
    visible_orgs,
)
from toysafe.web.api.common import (
    JSONBody,
    OrgQ,
    json_answer,
    unprocessable,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.get("/listings", tags=["listings"])
def list_listings(who: Who, db: Db, org: str | None = OrgQ) -> list[dict[str, Any]]:
    require(who, "seller", "reviewer", "admin")
    query = (
        select(
            m.Organization.slug,
            m.Listing.marketplace,
            m.Listing.listing_id,
            m.Listing.sku,
            m.Listing.title,
            m.Listing.status,
        )
        .join(m.Organization, m.Organization.id == m.Listing.org_id)
        .where(visible_orgs(who, m.Listing.org_id))
    )
    if org:
        query = query.where(m.Organization.slug == org)
    # Columns, not ORM objects, and no second validation of the list: a catalog's listings
    # are thousands of rows (issue 14's soak: 23 ms a request before, on 1,000).
    keys = ("org", "marketplace", "listing_id", "sku", "title", "status")
    rows = db.execute(query.order_by(m.Listing.sku))
    return json_answer([dict(zip(keys, row, strict=True)) for row in rows])  # type: ignore[return-value]


@router.post("/listings", tags=["listings"])
def add_listings(
    request: Request, who: Who, rows: list[dict[str, Any]] = JSONBody
) -> dict[str, int]:
    """Upsert listings: objects with marketplace, listing_id (ASIN), sku, title, status."""
    require(who, "seller", "admin")
    clean = []
    seen: dict[tuple[str, str, str], int] = {}
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise unprocessable("an object", "body", i)
        asin = str(r.get("listing_id", "")).upper()
        sku = str(r.get("sku") or "").strip()
        if len(asin) != 10 or not asin.isalnum():
            raise unprocessable("an ASIN (10 letters or digits)", "body", i, "listing_id")
        if not sku or len(sku) > 100:
            raise unprocessable("required, 1-100 chars", "body", i, "sku")
        market = str(r.get("marketplace") or "amazon.com")[:60].lower()
        key = (market, asin, sku)
        if key in seen:
            raise unprocessable(
                f"the same listing (marketplace, listing_id, sku) as row {seen[key]}",
                "body",
                i,
                "listing_id",
            )
        seen[key] = i
        clean.append(
            {
                "marketplace": market,
                "listing_id": asin,
                "sku": sku,
                "title": r.get("title") if isinstance(r.get("title"), str) else None,
                "status": str(r["status"])[:40] if r.get("status") else None,
            }
        )
    added, updated = workspace_for(request, who.org_slug, who).import_listings(clean)
    return {"added": added, "updated": updated}
