"""Who may see and do what. Sellers own their organization's products; labs see and upload for
products shared with their CPSC lab id; reviewers read the organizations enrolled with them;
admins see everything. A product out of reach is reported as not found (404), an action on a
visible product the role may not take as forbidden (403)."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.store import models as m
from toysafe.store.accounts import Principal


def visible_org_ids(s: Session, who: Principal) -> set[int] | None:
    """Organizations whose whole catalog ``who`` may read (None: all)."""
    if who.role == "admin":
        return None
    if who.role == "reviewer":
        enrolled = s.scalars(
            select(m.Enrollment.org_id).where(m.Enrollment.reviewer_org_id == who.org_id)
        )
        return {who.org_id, *enrolled}
    if who.role == "seller":
        return {who.org_id}
    return set()  # labs see shared products only


def can_view(s: Session, who: Principal, product: m.Product) -> bool:
    orgs = visible_org_ids(s, who)
    if orgs is None or product.org_id in orgs:
        return True
    if who.role == "lab" and who.lab_cpsc_id:
        return s.get(m.ProductShare, (product.id, who.lab_cpsc_id)) is not None
    return False


def find_product(s: Session, who: Principal, sku: str, org: str | None) -> m.Product:
    """The product ``sku`` in ``org``; without ``org``, in the caller's organization, else
    (labs, reviewers, admins) among every product the caller may see. 404 when out of reach."""
    query = (
        select(m.Product)
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .where(m.Product.sku == sku)
    )
    if org:
        candidates = list(s.scalars(query.where(m.Organization.slug == org)))
    else:
        candidates = list(s.scalars(query.where(m.Product.org_id == who.org_id)))
        if not candidates and who.role != "seller":
            candidates = list(s.scalars(query))
    visible = [p for p in candidates if can_view(s, who, p)]
    if not visible:
        raise HTTPException(404, f"no product '{sku}'")
    if len(visible) > 1:
        raise HTTPException(409, f"several organizations have a product '{sku}': add ?org=")
    return visible[0]


def require(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise HTTPException(403, f"a {who.role} may not do this")


def may_upload_for(s: Session, who: Principal, product: m.Product) -> bool:
    if who.role == "admin" or (who.role == "seller" and product.org_id == who.org_id):
        return True
    if who.role == "lab" and who.lab_cpsc_id:
        return s.get(m.ProductShare, (product.id, who.lab_cpsc_id)) is not None
    return False


def org_slug(s: Session, org_id: int) -> str:
    """The slug of an organization known to exist (a product's or a user's)."""
    org = s.get(m.Organization, org_id)
    assert org is not None
    return str(org.slug)
