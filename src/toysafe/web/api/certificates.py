"""Certificates: issuing from stored evidence, the signed JSON, the PDF."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from toysafe.store import models as m
from toysafe.web.access import (
    find_product,
    org_slug,
    require,
    visible_products,
)
from toysafe.web.api.common import (
    AsOf,
    OrgQ,
    today,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.post("/products/{sku}/certificates", tags=["certificates"], status_code=201)
def issue_certificate(
    request: Request,
    sku: str,
    who: Who,
    db: Db,
    lot: str | None = Query(None, max_length=60),
    as_of: date | None = AsOf,
    org: str | None = OrgQ,
) -> dict[str, Any]:
    """Issue the next certificate version from the stored evidence (sellers)."""
    require(who, "seller", "admin")
    from toysafe.core.certificates.party import Party
    from toysafe.usecases.certify import NotCertifiable, certify_stored

    product = find_product(db, who, sku, org)
    slug = org_slug(db, product.org_id)
    owner = db.get(m.Organization, product.org_id)
    if owner is None or owner.party is None:
        raise HTTPException(409, "the organization has no party file (certifier, custodian)")
    try:
        doc, _ = certify_stored(
            workspace_for(request, slug, who),
            sku,
            Party.model_validate(owner.party),
            request.app.state.signing_key,
            today(as_of),
            lot,
        )
    except NotCertifiable as e:
        raise HTTPException(
            409, {"reason": str(e), "verification": e.verification.to_dict()}
        ) from None
    except IntegrityError:
        # Another request issued this version a moment ago: one wins, this one is told so.
        raise HTTPException(
            409, f"{sku}: a certificate was issued by a concurrent request; reload and check"
        ) from None
    return doc


def _certificate(db: Any, who: Any, cert_id: str) -> m.Certificate:
    cert: m.Certificate | None = db.scalar(
        select(m.Certificate)
        .join(m.Product, m.Product.id == m.Certificate.product_id)
        .where(m.Certificate.id == cert_id, visible_products(who))
    )
    if cert is None:
        raise HTTPException(404, f"no certificate '{cert_id}'")
    return cert


@router.get("/certificates/{cert_id}", tags=["certificates"])
def get_certificate(cert_id: str, who: Who, db: Db) -> dict[str, Any]:
    return _certificate(db, who, cert_id).document


@router.get(
    "/certificates/{cert_id}/pdf",
    tags=["certificates"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_certificate_pdf(cert_id: str, who: Who, db: Db) -> Response:
    cert = _certificate(db, who, cert_id)
    return Response(
        cert.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{cert.id}.pdf"'},
    )
