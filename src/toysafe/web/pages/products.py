"""The product page: evidence, history and shares; issuing a certificate; sharing with a lab."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.workspace import Workspace
from toysafe.web.access import find_product, org_slug, require
from toysafe.web.deps import Db
from toysafe.web.pages.common import (
    _check_csrf,
    _flash,
    _product_url,
    _state_status,
    _today,
    _who,
    page,
    render,
)

router = APIRouter(include_in_schema=False)


def _product_page(
    request: Request,
    db: Session,
    who: Principal,
    product: m.Product,
    status: int = 200,
    problems: list[str] | None = None,
) -> Response:
    slug = org_slug(db, product.org_id)
    ws = Workspace(request.app.state.store, slug)
    today = _today()
    profile, assessment, verification, reports, _, version = ws.evidence(product.sku, today)
    history = ws.history(product.sku)
    shares = db.execute(
        select(m.ProductShare.lab_cpsc_id, m.Lab.name)
        .outerjoin(m.Lab, m.Lab.cpsc_id == m.ProductShare.lab_cpsc_id)
        .where(m.ProductShare.product_id == product.id)
        .order_by(m.ProductShare.lab_cpsc_id)
    ).all()
    labs = sorted(
        db.execute(select(m.Lab.cpsc_id, m.Lab.name, m.Lab.status)).all(),
        key=lambda lab: (lab.status != "accepted", lab.name),
    )
    org = db.get(m.Organization, product.org_id)
    owner = who.role == "admin" or (who.role == "seller" and product.org_id == who.org_id)
    relied = {
        r.report_no: r
        for r in db.scalars(select(m.Report).where(m.Report.org_id == product.org_id))
    }
    return render(
        request,
        "product.html",
        {
            "p": profile,
            "org": slug,
            "org_query": "" if slug == who.org_slug else f"?org={quote(slug, safe='')}",
            "version": version,
            "a": assessment,
            "v": verification,
            "lab_checks": {c.id: c for c in verification.requirements},
            "reports": reports,
            "stored_reports": relied,
            "h": history,
            "status": _state_status(db, product, today, request.app.state.store),
            "shares": shares,
            "labs": labs,
            "owner": owner,
            "has_party": org is not None and org.party is not None,
            "problems": problems or [],
            "today": today,
        },
        status,
    )


@router.get("/products/{sku}", response_class=HTMLResponse)
@page
def product_page(request: Request, sku: str, db: Db, org: str | None = None) -> Response:
    who = _who(request)
    return _product_page(request, db, who, find_product(db, who, sku, org))


@router.post("/products/{sku}/certify", response_class=HTMLResponse)
@page
def certify(
    request: Request,
    sku: str,
    db: Db,
    org: str | None = None,
    csrf: Annotated[str, Form()] = "",
    lot: Annotated[str, Form()] = "",
) -> Response:
    from toysafe.core.certificates.party import Party
    from toysafe.usecases.certify import NotCertifiable, certify_stored

    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "admin")
    product = find_product(db, who, sku, org)
    if len(lot.strip()) > 60:
        return _product_page(request, db, who, product, 422, ["lot: at most 60 characters"])
    organization = db.get(m.Organization, product.org_id)
    if organization is None or organization.party is None:
        reason = "the organization has no party file (certifier, records custodian): ask an admin"
        return _product_page(request, db, who, product, 409, [reason])
    slug = str(organization.slug)
    try:
        doc, _ = certify_stored(
            Workspace(request.app.state.store, slug, who.email),
            sku,
            Party.model_validate(organization.party),
            request.app.state.signing_key,
            _today(),
            lot.strip() or None,
        )
    except NotCertifiable as e:
        findings = [
            f"{c.id} {c.status}: {f}"
            for c in e.verification.requirements
            if c.status != "pass"
            for f in c.findings[:2]
        ]
        return _product_page(request, db, who, product, 409, [str(e), *findings])
    except IntegrityError:  # a concurrent "Issue the CPC" won: show what it issued
        reason = "a certificate was just issued by another request; it is listed below"
        return _product_page(request, db, who, product, 409, [reason])
    c = doc["certificate"]
    _flash(request, f"Issued {c['type']} {c['id']} (version {c['version']}).")
    return RedirectResponse(_product_url(sku, slug, who), status_code=303)


@router.post("/products/{sku}/share", response_class=HTMLResponse)
@page
def share(
    request: Request,
    sku: str,
    db: Db,
    org: str | None = None,
    csrf: Annotated[str, Form()] = "",
    lab_id: Annotated[str, Form()] = "",
    revoke: Annotated[str, Form()] = "",
) -> Response:
    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "admin")
    product = find_product(db, who, sku, org)
    lab_id = lab_id.strip()
    if not (lab_id.isdigit() and len(lab_id) == 4):
        return _product_page(
            request, db, who, product, 422, ["lab_id: choose a lab (a 4-digit CPSC lab id)"]
        )
    slug = org_slug(db, product.org_id)
    warning = request.app.state.accounts.share(slug, sku, lab_id, not revoke, who.email)
    _flash(request, f"{sku} {'is no longer' if revoke else 'is now'} shared with lab {lab_id}.")
    if warning:
        _flash(request, f"Warning: {warning}.", "warn")
    return RedirectResponse(_product_url(sku, slug, who), status_code=303)
