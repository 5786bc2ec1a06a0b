"""The REST API under /api/v1: the same engine and store as the CLI, scoped by role."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import date
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import func, or_, select

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRow
from toysafe.core.evidence.verify import report_problems
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.workspace import Workspace
from toysafe.web.access import (
    can_view,
    find_product,
    may_upload_for,
    org_slug,
    require,
    visible_org_ids,
)
from toysafe.web.deps import Db, Who
from toysafe.web.security import TTLCache

router = APIRouter(prefix="/api/v1")
AsOf = Query(None, description="As of date (YYYY-MM-DD); default today.")
OrgQ = Query(None, description="Organization slug (default: your own).", max_length=60)
JSONBody = Body(..., description="A contract document (JSON object).")


def unprocessable(message: str, *loc: str | int) -> HTTPException:
    """A 422 naming where the problem is, e.g. ("body", 0, "sku"), in FastAPI's error shape."""
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": "value_error"}])


def _validation(e: ValidationError, root: str = "body") -> HTTPException:
    return HTTPException(
        422,
        [
            {"loc": [root, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in e.errors()
        ],
    )


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _today(value: date | None, name: str = "as_of") -> date:
    """The date asked for (default today), within the range toysafe reasons about."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise unprocessable(f"between {EARLIEST} and {LATEST}", "query", name)
    return value or date.today()


def _ws(request: Request, org: str, who: Any = None) -> Workspace:
    """The workspace of an organization, recording the signed-in user as the actor."""
    return Workspace(request.app.state.store, org, who.email if who is not None else None)


def _profile(data: dict[str, Any]) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise _validation(e) from None


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/assess", tags=["assess"])
def assess_profile(
    who: Who, profile: dict[str, Any] = JSONBody, as_of: date | None = AsOf
) -> dict[str, Any]:
    """Assess a product profile (toysafe/product@1): the contract's toysafe/assessment@1."""
    return assess(_profile(profile), default_kb(), _today(as_of)).to_dict()


@router.get("/products", tags=["products"])
def list_products(who: Who, db: Db, org: str | None = OrgQ) -> list[dict[str, Any]]:
    """Products you may see (your catalog, enrolled catalogs, or products shared with your lab)."""
    query = select(m.Product, m.Organization.slug).join(
        m.Organization, m.Organization.id == m.Product.org_id
    )
    if org:
        query = query.where(m.Organization.slug == org)
    out = []
    for product, slug in db.execute(query.order_by(m.Organization.slug, m.Product.sku)):
        if can_view(db, who, product):
            out.append(
                {
                    "sku": product.sku,
                    "org": slug,
                    "version": product.latest_version,
                    "model": product.model,
                    "gtin": product.gtin,
                }
            )
    return out


@router.post("/products", tags=["products"], status_code=201)
def add_product(
    request: Request,
    response: Response,
    who: Who,
    profile: dict[str, Any] = JSONBody,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """Add a product profile to your catalog; a changed profile becomes a new version."""
    require(who, "seller", "admin")
    p = _profile(profile)
    (outcome,) = _ws(request, who.org_slug, who).add_profiles([p], _today(as_of))
    if outcome.outcome == "unchanged":
        response.status_code = 200
    return {"sku": p.sku, "org": who.org_slug, "outcome": outcome.outcome, "detail": outcome.detail}


@router.get("/products/{sku}", tags=["products"])
def get_product(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ
) -> dict[str, Any]:
    product = find_product(db, who, sku, org)
    slug = org_slug(db, product.org_id)
    version = db.scalar(
        select(m.ProductVersion).where(
            m.ProductVersion.product_id == product.id,
            m.ProductVersion.version == product.latest_version,
        )
    )
    assert version is not None
    state = db.get(m.ProductState, product.id)
    certs = db.scalars(
        select(m.Certificate)
        .where(m.Certificate.product_id == product.id)
        .order_by(m.Certificate.version)
    )
    return {
        "sku": sku,
        "org": slug,
        "version": product.latest_version,
        "profile": version.profile,
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
    return assess(Profile.model_validate(version), default_kb(), _today(as_of)).to_dict()


@router.get("/products/{sku}/verification", tags=["products"])
def product_verification(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ, as_of: date | None = AsOf
) -> dict[str, Any]:
    """Verify the product against the stored lab reports (toysafe/verification@1)."""
    product = find_product(db, who, sku, org)
    ws = _ws(request, org_slug(db, product.org_id), who)
    _, _, verification, *_ = ws.evidence(sku, _today(as_of))
    return verification.to_dict()


@router.get("/products/{sku}/history", tags=["products"])
def product_history(
    request: Request, sku: str, who: Who, db: Db, org: str | None = OrgQ
) -> dict[str, Any]:
    product = find_product(db, who, sku, org)
    return _ws(request, org_slug(db, product.org_id), who).history(sku)


def _lab_id(lab_id: str) -> None:
    if not (lab_id.isdigit() and len(lab_id) == 4):
        raise unprocessable("a 4-digit CPSC lab id", "path", "lab_id")


@router.put("/products/{sku}/shares/{lab_id}", tags=["products"], status_code=204)
def share_product(
    request: Request, sku: str, lab_id: str, who: Who, db: Db, org: str | None = OrgQ
) -> None:
    """Share a product with a lab in the registry, which may then upload reports for it."""
    require(who, "seller", "admin")
    _lab_id(lab_id)
    if db.get(m.Lab, lab_id) is None:
        raise unprocessable(f"lab {lab_id} is not in the lab registry", "path", "lab_id")
    product = find_product(db, who, sku, org)
    request.app.state.accounts.share(org_slug(db, product.org_id), sku, lab_id, True, who.email)


@router.delete("/products/{sku}/shares/{lab_id}", tags=["products"], status_code=204)
def unshare_product(
    request: Request, sku: str, lab_id: str, who: Who, db: Db, org: str | None = OrgQ
) -> None:
    require(who, "seller", "admin")
    _lab_id(lab_id)
    product = find_product(db, who, sku, org)
    request.app.state.accounts.share(org_slug(db, product.org_id), sku, lab_id, False, who.email)


@router.post("/reports", tags=["reports"], status_code=201)
def upload_report(
    request: Request,
    response: Response,
    who: Who,
    db: Db,
    report: dict[str, Any] = JSONBody,
    as_of: date | None = AsOf,
    org: str | None = OrgQ,
) -> dict[str, Any]:
    """Upload a lab report (toysafe/lab-report@1) for products you own or that were shared with
    your lab; returns the verification of each product it names."""
    require(who, "seller", "lab", "admin")
    try:
        parsed = LabReport.model_validate(report)
    except ValidationError as e:
        raise _validation(e) from None
    stored = store_report(request, who, db, parsed, "api", _today(as_of), org)
    if stored["outcome"] == "unchanged":
        response.status_code = 200
    return stored


_FIELD = re.compile(r"^[^:]+: (results\[(\d+)\]\.(\w+)|[\w.]+): (.*)$")


def _problem_loc(problem: str) -> tuple[list[Any], str]:
    """'report: results[0].unit: unknown unit' -> (['body', 'results', 0, 'unit'], message)."""
    found = _FIELD.match(problem)
    if not found:
        return ["body"], problem
    if found[2] is not None:
        return ["body", "results", int(found[2]), found[3]], found[4]
    return ["body", *found[1].split(".")], found[4]


def store_report(
    request: Request,
    who: Any,
    db: Any,
    parsed: LabReport,
    source: str,
    when: date,
    org: str | None = None,
) -> dict[str, Any]:
    """Checks, permissions, storage and verification of one uploaded report."""
    problems = report_problems([("report", parsed)], default_kb(), when)
    if problems:
        raise HTTPException(
            422,
            [
                {"loc": loc, "msg": msg, "type": "value_error"}
                for loc, msg in map(_problem_loc, problems)
            ],
        )
    if who.role == "lab" and parsed.lab.cpsc_id != who.lab_cpsc_id:
        raise HTTPException(403, f"lab.cpsc_id: your lab is {who.lab_cpsc_id}")
    candidates = []
    for ref in parsed.products:
        query = select(m.Product)
        conditions = [m.Product.sku == ref.sku] if ref.sku else []
        conditions += [m.Product.model == ref.model] if ref.model else []
        conditions += [m.Product.gtin == ref.gtin] if ref.gtin else []
        candidates += list(db.scalars(query.where(or_(*conditions))))
    if org:
        candidates = [p for p in candidates if org_slug(db, p.org_id) == org]
    visible = [p for p in candidates if can_view(db, who, p)]
    if not visible:
        if candidates and who.role == "lab":
            raise HTTPException(403, "the product this report names is not shared with your lab")
        raise unprocessable("the report names no product you can see", "body", "products")
    denied = [p.sku for p in visible if not may_upload_for(db, who, p)]
    if denied:
        raise HTTPException(403, f"you may not upload reports for {', '.join(denied)}")
    orgs = {p.org_id for p in visible}
    if len(orgs) > 1:
        raise unprocessable(
            "the report names products of several organizations: choose one with ?org=",
            "body",
            "products",
        )
    slug = org_slug(db, orgs.pop())
    ws = _ws(request, slug, who)
    try:
        (outcome,) = ws.add_reports([(source, parsed)], when)
    except InputError as e:
        raise HTTPException(409, str(e)) from None
    verifications = {p.sku: ws.evidence(p.sku, when)[2].to_dict() for p in visible}
    return {
        "report_no": parsed.report_no,
        "org": slug,
        "outcome": outcome.outcome,
        "verification": verifications,
    }


@router.get("/listings", tags=["listings"])
def list_listings(who: Who, db: Db, org: str | None = OrgQ) -> list[dict[str, Any]]:
    require(who, "seller", "reviewer", "admin")
    orgs = visible_org_ids(db, who)
    query = select(m.Listing, m.Organization.slug).join(
        m.Organization, m.Organization.id == m.Listing.org_id
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
        if orgs is None or x.org_id in orgs
    ]


@router.post("/listings", tags=["listings"])
def add_listings(
    request: Request, who: Who, rows: list[dict[str, Any]] = JSONBody
) -> dict[str, int]:
    """Upsert listings: objects with marketplace, listing_id (ASIN), sku, title, status."""
    require(who, "seller", "admin")
    clean = []
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise unprocessable("an object", "body", i)
        asin = str(r.get("listing_id", "")).upper()
        sku = str(r.get("sku") or "").strip()
        if len(asin) != 10 or not asin.isalnum():
            raise unprocessable("an ASIN (10 letters or digits)", "body", i, "listing_id")
        if not sku or len(sku) > 100:
            raise unprocessable("required, 1-100 chars", "body", i, "sku")
        clean.append(
            {
                "marketplace": str(r.get("marketplace") or "amazon.com")[:60].lower(),
                "listing_id": asin,
                "sku": sku,
                "title": r.get("title") if isinstance(r.get("title"), str) else None,
                "status": str(r["status"])[:40] if r.get("status") else None,
            }
        )
    added, updated = _ws(request, who.org_slug, who).import_listings(clean)
    return {"added": added, "updated": updated}


@router.get("/labs", tags=["labs"])
def list_labs(who: Who, db: Db) -> list[dict[str, Any]]:
    scopes: dict[str, list[dict[str, Any]]] = {}
    for sc in db.scalars(select(m.LabScope).order_by(m.LabScope.scope)):
        scopes.setdefault(sc.lab_id, []).append({"scope": sc.scope, "accepted_on": sc.accepted_on})
    return [
        {
            "cpsc_id": lab.cpsc_id,
            "name": lab.name,
            "country": lab.country,
            "type": lab.type,
            "status": lab.status,
            "scopes": scopes.get(lab.cpsc_id, []),
        }
        for lab in db.scalars(select(m.Lab).order_by(m.Lab.cpsc_id))
    ]


@router.post("/labs", tags=["labs"])
def import_labs(
    request: Request,
    who: Who,
    body: str = Body(..., media_type="text/csv"),
    as_of: date | None = AsOf,
) -> dict[str, int]:
    """Import the lab registry (toysafe/labs@1 CSV text); admins only."""
    require(who, "admin")
    from toysafe.io.labs import labs_from_csv

    try:
        labs_from_csv(body, "body")
    except InputError as e:
        raise unprocessable(str(e), "body", "csv") from None
    rows = [
        LabRow.model_validate({k: v for k, v in r.items() if v})
        for r in csv.DictReader(io.StringIO(body))
    ]
    labs, scopes = _ws(request, who.org_slug, who).import_labs(rows, _today(as_of))
    return {"labs": labs, "scopes": scopes}


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
            _ws(request, slug, who),
            sku,
            Party.model_validate(owner.party),
            request.app.state.signing_key,
            _today(as_of),
            lot,
        )
    except NotCertifiable as e:
        raise HTTPException(
            409, {"reason": str(e), "verification": e.verification.to_dict()}
        ) from None
    return doc


def _certificate(db: Any, who: Any, cert_id: str) -> m.Certificate:
    cert = db.get(m.Certificate, cert_id)
    if cert is None or not can_view(db, who, db.get(m.Product, cert.product_id)):
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
    org_id = db.scalar(select(m.Organization.id).where(m.Organization.slug == slug))
    allowed = visible_org_ids(db, who)
    if org_id is None or (allowed is not None and org_id not in allowed):
        raise HTTPException(404, f"no organization '{slug}'")
    when = _today(as_of)
    # Every write leaves an event, so the newest event id says whether the answer changed.
    stamp = db.scalar(select(func.max(m.Event.id)))
    cache: TTLCache[tuple[str, date], tuple[Any, float, bytes]] = request.app.state.status_cache
    hit = cache.get((slug, when))
    if hit is not None and hit[0] == stamp and time.monotonic() - hit[1] < STATUS_TTL:
        return Response(hit[2], media_type="application/json")
    rows = _ws(request, slug, who).statuses(when)
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
    org_id = db.scalar(select(m.Organization.id).where(m.Organization.slug == slug))
    allowed = visible_org_ids(db, who)
    if org_id is None or (allowed is not None and org_id not in allowed):
        raise HTTPException(404, f"no organization '{slug}'")
    start, end = _today(start, "from"), _today(end, "to")
    if start > end:
        raise unprocessable("after 'to'", "query", "from")
    kb = default_kb()
    items = [
        impact(sku, p, certs, kb, start, end)
        for sku, p, certs in _ws(request, slug, who).all_profiles()
    ]
    return {
        "format": "toysafe/impact@1",
        "from": start,
        "to": end,
        "changed": [i.to_dict() for i in items if i.changed],
    }
