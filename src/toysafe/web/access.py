"""Who may see and do what, as SQL. Sellers own their organization's products; labs see and
upload for products shared with their CPSC lab id; reviewers read the organizations enrolled
with them; admins see everything. Each rule is a where clause (``visible_orgs``,
``visible_products``, ``uploadable_products``) added to the query that lists or finds, so a
list costs one query whatever the role. A product out of reach is reported as not found (404),
an action on a visible product the role may not take as forbidden (403)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

from toysafe.store import models as m
from toysafe.store.accounts import Principal


def visible_orgs(who: Principal, org_id: Any) -> ColumnElement[bool]:
    """Where ``org_id`` (a column) is an organization whose whole catalog ``who`` may read."""
    if who.role == "admin":
        return true()
    if who.role == "reviewer":
        enrolled = select(m.Enrollment.org_id).where(m.Enrollment.reviewer_org_id == who.org_id)
        return or_(org_id == who.org_id, org_id.in_(enrolled))
    if who.role == "seller":
        return org_id == who.org_id
    return false()  # labs see shared products only


def _shared_with_lab(who: Principal) -> ColumnElement[bool]:
    if who.role == "lab" and who.lab_cpsc_id:
        return exists().where(
            m.ProductShare.product_id == m.Product.id,
            m.ProductShare.lab_cpsc_id == who.lab_cpsc_id,
        )
    return false()


def visible_products(who: Principal) -> ColumnElement[bool]:
    """Where ``m.Product`` is a product ``who`` may see."""
    if who.role == "lab":
        return _shared_with_lab(who)
    return visible_orgs(who, m.Product.org_id)


def uploadable_products(who: Principal) -> ColumnElement[bool]:
    """Where ``m.Product`` is a product ``who`` may upload reports for."""
    if who.role == "admin":
        return true()
    if who.role == "seller":
        return m.Product.org_id == who.org_id
    return _shared_with_lab(who)


def visible_org_ids(s: Session, who: Principal) -> set[int] | None:
    """Organizations whose whole catalog ``who`` may read (None: all)."""
    if who.role == "admin":
        return None
    return set(s.scalars(select(m.Organization.id).where(visible_orgs(who, m.Organization.id))))


def can_view(s: Session, who: Principal, product: m.Product) -> bool:
    if who.role == "admin":
        return True
    found = s.scalar(select(m.Product.id).where(m.Product.id == product.id, visible_products(who)))
    return found is not None


def find_product(s: Session, who: Principal, sku: str, org: str | None) -> m.Product:
    """The product ``sku`` in ``org``; without ``org``, in the caller's organization, else
    (labs, reviewers, admins) among every product the caller may see. 404 when out of reach."""
    query = select(m.Product).where(m.Product.sku == sku, visible_products(who))
    if org:
        query = query.join(m.Organization, m.Organization.id == m.Product.org_id)
        visible = list(s.scalars(query.where(m.Organization.slug == org).limit(2)))
    else:
        visible = list(s.scalars(query.where(m.Product.org_id == who.org_id).limit(2)))
        if not visible and who.role != "seller":
            visible = list(s.scalars(query.limit(2)))
    if not visible:
        raise HTTPException(404, f"no product '{sku}'")
    if len(visible) > 1:
        raise HTTPException(409, f"several organizations have a product '{sku}': add ?org=")
    return visible[0]


def require(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise HTTPException(403, f"a {who.role} may not do this")


def may_upload_for(s: Session, who: Principal, product: m.Product) -> bool:
    if who.role == "admin":
        return True
    found = s.scalar(
        select(m.Product.id).where(m.Product.id == product.id, uploadable_products(who))
    )
    return found is not None


def org_slug(s: Session, org_id: int) -> str:
    """The slug of an organization known to exist (a product's or a user's); the caller's own
    was read with the caller in this session (``accounts._principal_of``)."""
    known: dict[int, str] = s.info.get("toysafe_org_slugs", {})
    if org_id in known:
        return known[org_id]
    org = s.get(m.Organization, org_id)
    assert org is not None
    return str(org.slug)
