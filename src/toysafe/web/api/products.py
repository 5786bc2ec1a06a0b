"""Products: the catalog, profile versions, assessment, verification, history, sharing."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.repos.base import LATEST
from toysafe.web.access import (
    find_product,
    org_slug,
    require,
    visible_products,
)
from toysafe.web.api.common import (
    AsOf,
    JSONBody,
    OrgQ,
    json_answer,
    parse_profile,
    today,
    unprocessable,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.get("/products", tags=["products"])
def list_products(who: Who, db: Db, org: str | None = OrgQ) -> list[dict[str, Any]]:
    """Products you may see (your catalog, enrolled catalogs, or products shared with your lab)."""
    query = (
        select(m.Product, m.Organization.slug)
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .where(visible_products(who))
    )
    if org:
        query = query.where(m.Organization.slug == org)
    return [
        {
            "sku": product.sku,
            "org": slug,
            "version": product.latest_version,
            "model": product.model,
            "gtin": product.gtin,
        }
        for product, slug in db.execute(query.order_by(m.Organization.slug, m.Product.sku))
    ]


@router.post("/products", tags=["products"], status_code=201)
def add_product(
    request: Request,
    response: Response,
    who: Who,
    profile: dict[str, Any] = JSONBody,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """Create a product in your catalog. An SKU that exists is 409 naming it, never a silent
    new version: change a product with PUT /api/v1/products/{sku}."""
    from fastapi import HTTPException

    from toysafe.store.record import Conflict, create

    require(who, "seller", "admin")
    p = parse_profile(profile)
    try:
        outcome = create(workspace_for(request, who.org_slug, who), p, today(as_of))
    except Conflict as e:
        raise HTTPException(409, str(e)) from None
    return {"sku": p.sku, "org": who.org_slug, "outcome": outcome.outcome, "detail": outcome.detail}


@router.get("/products/{sku}", tags=["products"])
def get_product(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ
) -> dict[str, Any]:
    product = find_product(db, who, sku, org)
    # The organization, the latest profile and the computed state in one query.
    slug, profile, state = db.execute(
        select(m.Organization.slug, m.ProductVersion.profile, m.ProductState)
        .select_from(m.Product)
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .join(m.ProductVersion, LATEST)
        .outerjoin(m.ProductState, m.ProductState.product_id == m.Product.id)
        .where(m.Product.id == product.id)
    ).one()
    certs = db.scalars(
        select(m.Certificate)
        .where(m.Certificate.product_id == product.id)
        .order_by(m.Certificate.version)
    )
    return json_answer(  # type: ignore[return-value]
        {
            "sku": sku,
            "org": slug,
            "version": product.latest_version,
            "profile": profile,
            "state": None
            if state is None
            else {
                "certificate_type": state.certificate_type,
                "toy_standard": state.toy_standard,
                "certifiable": state.certifiable,
                "problems": state.problems,
                "lab_requirements": state.lab_requirements,
                "evidence_valid_until": state.evidence_valid_until,
            },
            "certificates": [
                {
                    "id": c.id,
                    "version": c.version,
                    "type": c.type,
                    "issued": c.issued,
                    "valid_until": c.valid_until,
                }
                for c in certs
            ],
        }
    )


@router.get("/products/{sku}/assessment", tags=["products"])
def product_assessment(
    sku: str, who: Who, db: Db, org: str | None = OrgQ, as_of: date | None = AsOf
) -> dict[str, Any]:
    product = find_product(db, who, sku, org)
    version = db.scalar(
        select(m.ProductVersion.profile).where(
            m.ProductVersion.product_id == product.id,
            m.ProductVersion.version == product.latest_version,
        )
    )
    return assess(Profile.model_validate(version), default_kb(), today(as_of)).to_dict()


@router.get("/products/{sku}/verification", tags=["products"])
def product_verification(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ, as_of: date | None = AsOf
) -> dict[str, Any]:
    """Verify the product against the stored lab reports (toysafe/verification@1)."""
    product = find_product(db, who, sku, org)
    ws = workspace_for(request, org_slug(db, product.org_id), who)
    # In the request's own read session: one connection, the product read once.
    _, _, verification, *_ = ws.states.evidence(db, sku, today(as_of), product)
    # Built here from typed objects: no second validation (and thread hop) of a large answer.
    return json_answer(verification.to_dict())  # type: ignore[return-value]


@router.get("/products/{sku}/history", tags=["products"])
def product_history(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ
) -> dict[str, Any]:
    product = find_product(db, who, sku, org)
    ws = workspace_for(request, org_slug(db, product.org_id), who)
    return json_answer(ws.history(sku, db, product))  # type: ignore[return-value]


def _lab_id(lab_id: str) -> None:
    if not (lab_id.isdigit() and len(lab_id) == 4):
        raise unprocessable("a 4-digit CPSC lab id", "path", "lab_id")


@router.put("/products/{sku}/shares/{lab_id}", tags=["products"], status_code=204)
def share_product(
    request: Request,
    response: Response,
    sku: str,
    lab_id: str,
    who: Who,
    db: Db,
    org: str | None = OrgQ,
) -> None:
    """Share a product with a lab in the registry, which may then upload reports for it. A lab
    whose CPSC acceptance was withdrawn is warned about in the ``Warning`` header."""
    require(who, "seller", "admin")
    _lab_id(lab_id)
    if db.get(m.Lab, lab_id) is None:
        raise unprocessable(f"lab {lab_id} is not in the lab registry", "path", "lab_id")
    product = find_product(db, who, sku, org)
    accounts = request.app.state.accounts
    warning = accounts.share(org_slug(db, product.org_id), sku, lab_id, True, who.email)
    if warning:
        response.headers["Warning"] = f'299 toysafe "{warning}"'


@router.delete("/products/{sku}/shares/{lab_id}", tags=["products"], status_code=204)
def unshare_product(
    request: Request, sku: str, lab_id: str, who: Who, db: Db, org: str | None = OrgQ
) -> None:
    require(who, "seller", "admin")
    _lab_id(lab_id)
    product = find_product(db, who, sku, org)
    request.app.state.accounts.share(org_slug(db, product.org_id), sku, lab_id, False, who.email)
