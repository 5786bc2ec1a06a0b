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
    unprocessable,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.get("/listings", tags=["listings"])
def list_listings(who: Who, db: Db, org: str | None = OrgQ) -> list[dict[str, Any]]:
    require(who, "seller", "reviewer", "admin")
    query = (
        select(m.Listing, m.Organization.slug)
        .join(m.Organization, m.Organization.id == m.Listing.org_id)
        .where(visible_orgs(who, m.Listing.org_id))
    )
    if org:
        query = query.where(m.Organization.slug == org)
    return [
        {
            "org": slug,
            "marketplace": x.marketplace,
            "listing_id": x.listing_id,
            "sku": x.sku,
            "title": x.title,
            "status": x.status,
        }
        for x, slug in db.execute(query.order_by(m.Listing.sku))
    ]


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
