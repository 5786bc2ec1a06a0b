"""The dashboard (a catalog and its statuses) and the lab inbox (the products shared with a lab)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import Status
from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.workspace import Workspace
from toysafe.web.access import visible_org_ids
from toysafe.web.deps import Db
from toysafe.web.pages.common import (
    CATALOG_STATUS,
    _product_url,
    _state_status,
    _today,
    _who,
    page,
    render,
)

router = APIRouter(include_in_schema=False)


def _org_choices(db: Session, who: Principal) -> list[m.Organization]:
    visible = visible_org_ids(db, who)
    query = select(m.Organization).order_by(m.Organization.name)
    if visible is not None:
        if who.role == "reviewer":
            visible = visible - {who.org_id}
        query = query.where(m.Organization.id.in_(sorted(visible)))
    return list(db.scalars(query))


@router.get("/", response_class=HTMLResponse)
@page
def dashboard(
    request: Request, db: Db, org: str | None = None, status: str | None = None
) -> Response:
    who = _who(request)
    if who.role == "lab":
        return _inbox(request, db, who)
    choices = _org_choices(db, who)
    if org:
        chosen = next((o for o in choices if o.slug == org), None)
        if chosen is None and not (org == who.org_slug and who.role != "reviewer"):
            raise HTTPException(404, f"org: no organization '{org}' that you may see")
        slug: str | None = org
    elif who.role == "reviewer":
        slug = choices[0].slug if choices else None
    else:
        slug = who.org_slug
    rows: list[Status] = []
    names: dict[str, str] = {}
    if slug is not None:
        ws = Workspace(request.app.state.store, slug)
        rows = ws.statuses(_today())
        names = {p["sku"]: p["name"] for p in ws.products()}
    summary: dict[str, int] = {}
    for r in rows:
        summary[r.status] = summary.get(r.status, 0) + 1
    shown = [r for r in rows if r.status == status] if status in CATALOG_STATUS else rows
    return render(
        request,
        "dashboard.html",
        {
            "rows": shown,
            "total": len(rows),
            "status": status if status in CATALOG_STATUS else None,
            "names": names,
            "summary": [(k, summary[k]) for k in CATALOG_STATUS if k in summary],
            "org": slug,
            "choices": choices,
            "today": _today(),
            "own": slug == who.org_slug,
            "action_text": _action_text,
        },
    )


def _action_text(row: Status) -> str:
    return row.action.split(": toysafe ")[0]


def _inbox(request: Request, db: Session, who: Principal) -> Response:
    rows = db.execute(
        select(m.Product, m.Organization.slug, m.Organization.name, m.ProductVersion.profile)
        .join(m.ProductShare, m.ProductShare.product_id == m.Product.id)
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .join(
            m.ProductVersion,
            (m.ProductVersion.product_id == m.Product.id)
            & (m.ProductVersion.version == m.Product.latest_version),
        )
        .where(m.ProductShare.lab_cpsc_id == (who.lab_cpsc_id or ""))
        .order_by(m.Organization.name, m.Product.sku)
    ).all()
    today = _today()
    items = [
        {
            "sku": p.sku,
            "name": profile.get("name"),
            "org": org_name,
            "url": _product_url(p.sku, slug, who),
            "status": _state_status(db, p, today, request.app.state.store),
        }
        for p, slug, org_name, profile in rows
    ]
    return render(request, "inbox.html", {"items": items, "today": today})
