"""Catalog status (toysafe/status@1) and rule-change impact (toysafe/impact@1)."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import func, select

from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.memo import TTLCache
from toysafe.web.access import (
    require,
    visible_orgs,
)
from toysafe.web.api.common import (
    AsOf,
    OrgQ,
    today,
    unprocessable,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


def _visible_org(db: Any, who: Any, slug: str) -> int | None:
    """The id of the organization ``slug`` if ``who`` may read its catalog."""
    org_id: int | None = db.scalar(
        select(m.Organization.id).where(
            m.Organization.slug == slug, visible_orgs(who, m.Organization.id)
        )
    )
    return org_id


STATUS_TTL = 30.0  # seconds; the cache is also invalidated by every write (a new event)


@router.get(
    "/status",
    tags=["status"],
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def catalog_status(
    request: Request, who: Who, db: Db, org: str | None = OrgQ, as_of: date | None = AsOf
) -> Response:
    """Per SKU of one organization: status, action, valid until, next due
    (``toysafe/status@1``)."""
    require(who, "seller", "reviewer", "admin")
    slug = org or who.org_slug
    if _visible_org(db, who, slug) is None:
        raise HTTPException(404, f"no organization '{slug}'")
    when = today(as_of)
    # Every write leaves an event, so the newest event id says whether the answer changed.
    stamp = db.scalar(select(func.max(m.Event.id)))
    cache: TTLCache[tuple[str, date], tuple[Any, float, bytes]] = request.app.state.status_cache
    hit = cache.get((slug, when))
    if hit is not None and hit[0] == stamp and time.monotonic() - hit[1] < STATUS_TTL:
        return Response(hit[2], media_type="application/json")
    rows = workspace_for(request, slug, who).statuses(when)
    summary: dict[str, int] = {}
    for r in rows:
        summary[r.status] = summary.get(r.status, 0) + 1
    body = json.dumps(
        {
            "format": "toysafe/status@1",
            "org": slug,
            "as_of": when.isoformat(),
            "summary": summary,
            "products": [r.to_dict() for r in rows],
        }
    ).encode()
    cache[(slug, when)] = (stamp, time.monotonic(), body)
    return Response(body, media_type="application/json")


@router.get("/impact", tags=["status"])
def rule_impact(
    request: Request,
    who: Who,
    db: Db,
    org: str | None = OrgQ,
    start: date = Query(..., alias="from"),
    end: date = Query(..., alias="to"),
) -> dict[str, Any]:
    require(who, "seller", "reviewer", "admin")
    from toysafe.core.law.impact import impact

    slug = org or who.org_slug
    if _visible_org(db, who, slug) is None:
        raise HTTPException(404, f"no organization '{slug}'")
    start, end = today(start, "from"), today(end, "to")
    if start > end:
        raise unprocessable("after 'to'", "query", "from")
    kb = default_kb()
    items = [
        impact(sku, p, certs, kb, start, end)
        for sku, p, certs in workspace_for(request, slug, who).all_profiles()
    ]
    return {
        "format": "toysafe/impact@1",
        "from": start,
        "to": end,
        "changed": [i.to_dict() for i in items if i.changed],
    }
