"""Marketplace listings of the organization's SKUs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from toysafe.store import models as m
from toysafe.store.repos.base import Scope, table
from toysafe.store.repos.events import Events


class Listings:
    def __init__(self, scope: Scope, events: Events) -> None:
        self.scope = scope
        self.events = events

    def upsert(self, s: Session, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Upsert listings by (marketplace, listing id, SKU); returns (added, updated)."""
        added = updated = 0
        org = self.scope.org(s)
        existing = {
            (x.marketplace, x.listing_id, x.sku): x
            for x in s.scalars(select(m.Listing).where(m.Listing.org_id == org.id))
        }
        fresh = []
        for r in rows:
            found = existing.get((r["marketplace"], r["listing_id"], r["sku"]))
            if found is None:
                fresh.append({"org_id": org.id, **r})
                added += 1
            elif (found.title, found.status) != (r.get("title"), r.get("status")):
                found.title, found.status = r.get("title"), r.get("status")
                updated += 1
        if fresh:
            s.execute(insert(table(m.Listing)), fresh)
        self.events.record(s, "listings.import", "listings", added=added, updated=updated)
        return added, updated

    def of_product(self, s: Session, org_id: int, sku: str) -> list[dict[str, Any]]:
        return [
            {
                "marketplace": x.marketplace,
                "listing_id": x.listing_id,
                "title": x.title,
                "status": x.status,
            }
            for x in s.scalars(
                select(m.Listing).where(m.Listing.sku == sku, m.Listing.org_id == org_id)
            )
        ]

    def ids_by_sku(
        self, s: Session, org_id: int, skus: Sequence[str] | None = None
    ) -> dict[str, list[str]]:
        """Listing ids of each listed SKU (or of just ``skus``)."""
        query = select(m.Listing.sku, m.Listing.listing_id).where(m.Listing.org_id == org_id)
        if skus is not None:
            query = query.where(m.Listing.sku.in_(list(skus)))
        out: dict[str, list[str]] = {}
        for sku, lid in s.execute(query):
            out.setdefault(sku, []).append(lid)
        return out
