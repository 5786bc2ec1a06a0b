"""Downloads: certificates (PDF and JSON) and audit packs."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.workspace import Workspace
from toysafe.web.access import can_view, org_slug
from toysafe.web.deps import Db
from toysafe.web.pages.common import _who, page

router = APIRouter(include_in_schema=False)


def _certificate(request: Request, db: Session, cert_id: str) -> tuple[m.Certificate, str]:
    who = _who(request)
    cert = db.get(m.Certificate, cert_id)
    product = db.get(m.Product, cert.product_id) if cert is not None else None
    if cert is None or product is None or not can_view(db, who, product):
        raise HTTPException(404, f"no certificate '{cert_id}'")
    return cert, org_slug(db, product.org_id)


@router.get("/certificates/{cert_id}/pdf")
@page
def certificate_pdf(request: Request, cert_id: str, db: Db) -> Response:
    cert, slug = _certificate(request, db, cert_id)
    _, pdf = Workspace(request.app.state.store, slug).certificate(cert.id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{cert.id}.pdf"'},
    )


@router.get("/certificates/{cert_id}/json")
@page
def certificate_json(request: Request, cert_id: str, db: Db) -> Response:
    cert, slug = _certificate(request, db, cert_id)
    doc, _ = Workspace(request.app.state.store, slug).certificate(cert.id)
    return Response(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{cert.id}.json"'},
    )


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def pack_files(db: Session, ws: Workspace, cert: m.Certificate) -> dict[str, bytes]:
    """The audit package's files, from stored data: the certificate (JSON and PDF), the product
    profile it certifies, the reports it relies on, the assessment, verification and label."""
    from toysafe.core.certificates.labels import make_label
    from toysafe.core.certificates.party import Party
    from toysafe.core.evidence.labreport import LabReport
    from toysafe.core.evidence.verify import verify
    from toysafe.core.law.dates import ManufactureDate
    from toysafe.render.labels_pdf import render_label
    from toysafe.usecases.audit_pack import buffer_json

    doc, pdf = ws.certificate(cert.id)
    c = doc["certificate"]
    relied = sorted({t["report_no"] for t in c["testing"]})
    stored = list(
        db.scalars(
            select(m.Report).where(m.Report.org_id == cert.org_id, m.Report.report_no.in_(relied))
        )
    )
    data = db.scalar(
        select(m.ProductVersion.profile).where(
            m.ProductVersion.product_id == cert.product_id,
            m.ProductVersion.version == cert.product_version,
        )
    )
    profile = Profile.model_validate(data)
    kb = default_kb()
    assessment = assess(profile, kb, cert.issued)
    reports = [LabReport.model_validate(r.document) for r in stored]
    verification = verify(profile, assessment, reports, kb, cert.issued, ws.registry(db))
    files: dict[str, bytes] = {
        f"certificate/{cert.id}.json": buffer_json(doc),
        f"certificate/{cert.id}.pdf": pdf,
        f"product/{_safe_name(profile.sku)}.json": buffer_json(data),
        "assessment.json": buffer_json(assessment.to_dict()),
        "verification.json": buffer_json(verification.to_dict()),
    }
    for r in stored:
        files[f"reports/{_safe_name(r.report_no)}.json"] = buffer_json(r.document)
    org = db.get(m.Organization, cert.org_id)
    party = Party.model_validate(org.party) if org is not None and org.party else None
    made = ManufactureDate.parse(c["manufacture"]["date"])
    lot = c["manufacture"].get("lot") or "unspecified"
    label = make_label(profile, assessment, lot, made, party)
    files["labels/label.json"] = buffer_json(label.to_dict())
    files["labels/label.pdf"] = render_label(label)
    return files


@router.get("/certificates/{cert_id}/audit-pack")
@page
def audit_pack(request: Request, cert_id: str, db: Db) -> Response:
    from toysafe.usecases.audit_pack import write_pack

    cert, slug = _certificate(request, db, cert_id)
    ws = Workspace(request.app.state.store, slug)
    files = pack_files(db, ws, cert)
    folder = Path(tempfile.mkdtemp(prefix="toysafe-pack-"))
    out = write_pack(folder / f"{cert.id}.audit.zip", files, ws.certificate(cert.id)[0])
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
