"""Lab reports: upload, checks, permissions, storage, verification of what they name."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from sqlalchemy import or_, select

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.verification import Verification
from toysafe.core.evidence.verify import report_problems
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.web.access import (
    org_slug,
    require,
    uploadable_products,
    visible_products,
)
from toysafe.web.api.common import (
    AsOf,
    JSONBody,
    OrgQ,
    json_answer,
    today,
    unprocessable,
    validation_error,
    workspace_for,
)
from toysafe.web.deps import Db, Who

router = APIRouter()


@router.post("/reports", tags=["reports"], status_code=201)
def upload_report(
    request: Request,
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
        raise validation_error(e) from None
    stored = store_report(request, who, db, parsed, "api", today(as_of), org)
    status = 200 if stored["outcome"] == "unchanged" else 201
    return json_answer(stored, status)  # type: ignore[return-value]


def store_report(
    request: Request,
    who: Any,
    db: Any,
    parsed: LabReport,
    source: str,
    when: date,
    org: str | None = None,
    for_sku: str | None = None,
) -> dict[str, Any]:
    """Checks, permissions, storage and verification of one uploaded report; ``for_sku`` (an
    upload started from a product's page) must be one of the products the report names."""
    problems = report_problems([("report", parsed)], default_kb(), when)
    if problems:
        raise HTTPException(
            422,
            [{"loc": ["body", *p.loc], "msg": p.message, "type": "value_error"} for p in problems],
        )
    if who.role == "lab" and parsed.lab.cpsc_id != who.lab_cpsc_id:
        raise HTTPException(403, f"lab.cpsc_id: your lab is {who.lab_cpsc_id}")
    conditions = []
    for ref in parsed.products:
        conditions += [m.Product.sku == ref.sku] if ref.sku else []
        conditions += [m.Product.model == ref.model] if ref.model else []
        conditions += [m.Product.gtin == ref.gtin] if ref.gtin else []
    # One query: every product the report names, whether the caller may see it, upload for it.
    query = (
        select(
            m.Product,
            visible_products(who).label("visible"),
            uploadable_products(who).label("uploadable"),
        )
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .where(or_(*conditions))
        .order_by(m.Product.id)
    )
    if org:
        query = query.where(m.Organization.slug == org)
    candidates = db.execute(query).all()
    visible = [p for p, seen, _ in candidates if seen]
    if not visible:
        if candidates and who.role == "lab":
            raise HTTPException(403, "the product this report names is not shared with your lab")
        raise unprocessable("the report names no product you can see", "body", "products")
    denied = [p.sku for p, seen, may in candidates if seen and not may]
    if denied:
        raise HTTPException(403, f"you may not upload reports for {', '.join(denied)}")
    orgs = {p.org_id for p in visible}
    if len(orgs) > 1:
        raise unprocessable(
            "the report names products of several organizations: choose one with ?org=",
            "body",
            "products",
        )
    if for_sku and for_sku not in {p.sku for p in visible}:
        named = ", ".join(sorted(p.sku for p in visible))
        raise unprocessable(
            f"the report is for {named}, not for {for_sku} (the product this upload was "
            "started from): check the file",
            "body",
            "products",
        )
    slug = org_slug(db, orgs.pop())
    ws = workspace_for(request, slug, who)
    computed: dict[str, Verification] = {}  # by the state refresh in the same transaction
    try:
        (outcome,) = ws.add_reports([(source, parsed)], when, computed)
    except InputError as e:
        raise HTTPException(409, str(e)) from None
    verifications = {
        p.sku: (computed.get(p.sku) or ws.evidence(p.sku, when)[2]).to_dict() for p in visible
    }
    return {
        "report_no": parsed.report_no,
        "org": slug,
        "outcome": outcome.outcome,
        "verification": verifications,
    }
