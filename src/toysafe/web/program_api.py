"""The program's REST API (contract 8.6) under /api/v1/program: the same documents as the CLI.

A seller sees and acts on its own requests only; a reviewer (or admin) on those of the sellers
enrolled with its organization; the trusted tier never reaches a seller. 401 without
credentials, 403 for a role that may not act, 404 for what the caller may not see, 409 for a
refusal (the request is closed, the window has passed...), 422 naming the field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.law.profile import Profile
from toysafe.core.program.decisions import Refusal
from toysafe.core.program.model import parse_appeal_ref, parse_request_ref
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.program import models as pm
from toysafe.store.program import views
from toysafe.store.program.casework import Casework, EvidenceFile, NotFound
from toysafe.web.deps import Db, Who

router = APIRouter(prefix="/api/v1/program", tags=["program"])
AsOf = Query(None, description="The program's date (YYYY-MM-DD); default today.")
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _unprocessable(message: str, *loc: str | int) -> HTTPException:
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": "value_error"}])


def _day(value: date | None) -> date:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise _unprocessable(f"between {EARLIEST} and {LATEST}", "query", "as_of")
    return value or date.today()


# --- who may see what -----------------------------------------------------------------------


def visible_sellers(s: Session, who: Principal) -> set[int] | None:
    """Seller organizations whose requests ``who`` may see (None: every one)."""
    if who.role == "admin":
        return None
    if who.role == "reviewer":
        return set(
            s.scalars(select(m.Enrollment.org_id).where(m.Enrollment.reviewer_org_id == who.org_id))
        )
    if who.role == "seller":
        return {who.org_id}
    raise HTTPException(403, f"a {who.role} has no part in the program's requests")


def _request_pk(ref: str) -> int:
    try:
        return parse_request_ref(ref)
    except ValueError:
        raise HTTPException(404, f"no request '{ref}'") from None


def _visible_request(s: Session, who: Principal, ref: str) -> pm.Request:
    """The request, or 404 when it does not exist or is out of the caller's reach."""
    req = s.get(pm.Request, _request_pk(ref))
    seen = visible_sellers(s, who)
    if req is None or (seen is not None and req.seller_org_id not in seen):
        raise HTTPException(404, f"no request '{ref}'")
    return req


def _require(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise HTTPException(403, f"a {who.role} may not do this")


def _casework(request: Request, who: Principal) -> Casework:
    return Casework(request.app.state.store, request.app.state.workspace, who.email)


def _call(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Refusal as e:
        raise HTTPException(409, {"refused": e.code, "message": e.message}) from None
    except NotFound as e:
        raise HTTPException(404, str(e)) from None


def _request_doc(request: Request, ref: str, day: date) -> dict[str, Any]:
    with request.app.state.store.reader() as s:
        (doc,) = views.requests(s, day, ids=[_request_pk(ref)])
        return doc


# --- reading ----------------------------------------------------------------------------------


@router.get("/requests")
def list_requests(
    who: Who,
    db: Db,
    seller: str | None = Query(None, max_length=60),
    listing: str | None = Query(None, max_length=40),
    state: str | None = Query(None, max_length=20),
    as_of: date | None = AsOf,
) -> list[dict[str, Any]]:
    """Compliance requests (toysafe/request@1) the caller may see."""
    seen = visible_sellers(db, who)
    sellers = None if seen is None else sorted(seen)
    if seller is not None:
        sid = db.scalar(select(m.Organization.id).where(m.Organization.slug == seller))
        if sid is None or (seen is not None and sid not in seen):
            return []
        sellers = [sid]
    docs: list[dict[str, Any]] = views.requests(
        db, _day(as_of), listing=listing, state=state, sellers=sellers
    )
    return docs


@router.get("/requests/{request_id}")
def get_request(request_id: str, who: Who, db: Db, as_of: date | None = AsOf) -> dict[str, Any]:
    req = _visible_request(db, who, request_id)
    (doc,) = views.requests(db, _day(as_of), ids=[req.id])
    return doc


@router.get("/listings/{listing_id}")
def get_listing(listing_id: str, who: Who, db: Db, as_of: date | None = AsOf) -> dict[str, Any]:
    """Where the program stands on a listing (toysafe/listing-status@1)."""
    seen = visible_sellers(db, who)
    owner = db.scalar(
        select(pm.ProgramListing.seller_org_id).where(pm.ProgramListing.listing_id == listing_id)
    )
    if owner is None or (seen is not None and owner not in seen):
        raise HTTPException(404, f"no listing '{listing_id}'")
    doc: dict[str, Any] = views.listing_status(db, listing_id, _day(as_of))
    return doc


@router.get("/health")
def own_health(who: Who, db: Db, as_of: date | None = AsOf) -> dict[str, Any]:
    """The caller's own account health (a seller's view: never the trusted tier)."""
    _require(who, "seller")
    return _seller_health(db, who.org_slug, _day(as_of), marketplace=False)


@router.get("/health/{seller}")
def seller_health(seller: str, who: Who, db: Db, as_of: date | None = AsOf) -> dict[str, Any]:
    """A seller's account health, the marketplace's view (with the trusted tier)."""
    _require(who, "reviewer", "admin")
    seen = visible_sellers(db, who)
    sid = db.scalar(select(m.Organization.id).where(m.Organization.slug == seller))
    if sid is None or (seen is not None and sid not in seen):
        raise HTTPException(404, f"no seller '{seller}'")
    return _seller_health(db, seller, _day(as_of), marketplace=True)


def _seller_health(db: Session, seller: str, day: date, marketplace: bool) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = views.health(db, seller, day, marketplace)
    except InputError as e:
        raise HTTPException(404, str(e)) from None
    if not marketplace:  # P12: the tier and its criteria never reach a seller
        doc.pop("trusted", None)
        doc.pop("trusted_criteria", None)
    return doc


# --- acting -----------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmissionBody(_Body):
    profile: dict[str, Any]
    certificate: dict[str, Any]
    reports: list[dict[str, Any]] = Field(min_length=1)


def _validation(e: ValidationError, *root: str | int) -> HTTPException:
    return HTTPException(
        422,
        [
            {"loc": ["body", *root, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in e.errors()
        ],
    )


@dataclass(frozen=True)
class SubmissionParts:
    """What a submission sent, before checking: JSON values, or the documents parsed from the
    uploaded files (``reports`` as (location, document or parsed report))."""

    profile: Any
    certificate: Any
    reports: list[tuple[str, Any]]


MAX_PART_BYTES = 5 * 1024 * 1024
_MULTIPART = ("multipart/form-data", "application/x-www-form-urlencoded")


def _text_of(name: str, raw: bytes, *loc: str | int) -> str:
    if len(raw) > MAX_PART_BYTES:
        raise _unprocessable(f"{name} is larger than {MAX_PART_BYTES} bytes", "body", *loc)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unprocessable(f"{name} is not UTF-8 text", "body", *loc) from None


def _document(name: str, raw: bytes, *loc: str | int) -> Any:
    """A YAML or JSON document from an uploaded file (JSON by its name or its first brace)."""
    from toysafe.io.text import parse_document

    text = _text_of(name, raw, *loc)
    try:
        return parse_document(text, name, as_json=name.lower().endswith(".json") or None)
    except InputError as e:
        raise _unprocessable(str(e), "body", *loc) from None


def parts_from_files(
    profile: tuple[str, bytes] | None,
    certificate: tuple[str, bytes] | None,
    reports: Sequence[tuple[str, bytes]],
) -> SubmissionParts:
    """The parts of a multipart submission: a profile (YAML or JSON), a certificate (JSON) and
    lab reports (JSON objects, or CSV files of one or more reports)."""
    from toysafe.io.reports import reports_from_csv

    if profile is None:
        raise _unprocessable("choose the product profile file (YAML or JSON)", "body", "profile")
    if certificate is None:
        raise _unprocessable("choose the certificate file (JSON)", "body", "certificate")
    if not reports:
        raise _unprocessable("choose at least one lab report file", "body", "reports")
    parsed: list[tuple[str, Any]] = []
    for i, (name, raw) in enumerate(reports):
        if name.lower().endswith(".csv"):
            try:
                parsed.extend(
                    (f"reports[{i}]", r) for _, r in reports_from_csv(_text_of(name, raw), name)
                )
            except InputError as e:
                raise _unprocessable(str(e), "body", "reports", i) from None
        else:
            parsed.append((f"reports[{i}]", _document(name, raw, "reports", i)))
    return SubmissionParts(
        _document(profile[0], profile[1], "profile"),
        _document(certificate[0], certificate[1], "certificate"),
        parsed,
    )


async def _files(form: Any, key: str) -> list[tuple[str, bytes]]:
    out = []
    for value in form.getlist(key):
        if isinstance(value, str):
            if value.strip():
                out.append((f"{key}.json", value.encode()))
        elif value.filename:
            out.append((value.filename.rsplit("/", 1)[-1], await value.read()))
    return out


async def submission_parts(request: Request) -> SubmissionParts:
    """The body of a submission: JSON (``profile``, ``certificate``, ``reports``), or multipart
    with the same names as files (several ``reports``), as contract 8.6 allows."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in _MULTIPART:
        form = await request.form()
        extra = sorted(set(form.keys()) - {"profile", "certificate", "reports", "csrf"})
        if extra:
            raise _unprocessable("not a part of a submission", "body", extra[0])
        profile, certificate = await _files(form, "profile"), await _files(form, "certificate")
        return parts_from_files(
            profile[0] if profile else None,
            certificate[0] if certificate else None,
            await _files(form, "reports"),
        )
    raw = await request.body()
    try:
        body = SubmissionBody.model_validate_json(raw or b"null")
    except ValidationError as e:
        raise _validation(e) from None
    return SubmissionParts(
        body.profile, body.certificate, [(f"reports[{i}]", r) for i, r in enumerate(body.reports)]
    )


def run_submission(
    request: Request, who: Principal, request_id: str, parts: SubmissionParts, day: date
) -> dict[str, Any]:
    """Check the parts (422 naming the field) and hand them to the casework (P7)."""
    if not isinstance(parts.profile, dict):
        raise _unprocessable("expected a mapping of profile fields", "body", "profile")
    try:
        profile = Profile.model_validate(parts.profile)
    except ValidationError as e:
        raise _validation(e, "profile") from None
    reports: list[tuple[str, LabReport]] = []
    for i, (source, doc) in enumerate(parts.reports):
        if isinstance(doc, LabReport):
            reports.append((source, doc))
            continue
        if not isinstance(doc, dict):
            raise _unprocessable("expected a lab report object", "body", "reports", i)
        try:
            reports.append((source, LabReport.model_validate(doc)))
        except ValidationError as e:
            raise _validation(e, "reports", i) from None
    cert = parts.certificate
    if not isinstance(cert, dict) or cert.get("format") != "toysafe/certificate@1":
        raise _unprocessable(
            "not a toysafe/certificate@1 document", "body", "certificate", "format"
        )
    try:
        out: dict[str, Any] = _call(
            _casework(request, who).submit, request_id, profile, cert, reports, day
        )
    except InputError as e:
        raise _unprocessable(str(e), "body", "reports") from None
    return {**out, "request_document": _request_doc(request, request_id, day)}


_SUBMISSION_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SubmissionBody.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["profile", "certificate", "reports"],
                    "properties": {
                        "profile": {"type": "string", "format": "binary"},
                        "certificate": {"type": "string", "format": "binary"},
                        "reports": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                }
            },
        },
        "description": "The product profile (toysafe/product@1, YAML or JSON), the signed "
        "certificate (toysafe/certificate@1) and the lab reports (JSON, or CSV files).",
    }
}


@router.post("/requests/{request_id}/submission", openapi_extra=_SUBMISSION_OPENAPI)
def submit(
    request: Request,
    request_id: str,
    who: Who,
    db: Db,
    parts: Annotated[SubmissionParts, Depends(submission_parts)],
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """A seller's proof for its request (profile, signed certificate, lab reports), as JSON or
    multipart: the pre-check (P7) answers at once."""
    _visible_request(db, who, request_id)
    _require(who, "seller")
    return run_submission(request, who, request_id, parts, _day(as_of))


class DecisionBody(_Body):
    decision: Literal["approve", "revise", "reject"]
    reason: str = Field(min_length=1, max_length=40)


@router.post("/requests/{request_id}/decision")
def decide(
    request: Request,
    request_id: str,
    body: DecisionBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """A reviewer's decision (P8, P9)."""
    _visible_request(db, who, request_id)
    _require(who, "reviewer", "admin")
    try:
        out: dict[str, Any] = _call(
            _casework(request, who).decide, request_id, body.decision, body.reason, _day(as_of)
        )
    except InputError as e:
        raise _unprocessable(str(e), "body", "reason") from None
    return out


class EvidenceBody(_Body):
    name: str = Field(min_length=1, max_length=200)
    content_base64: str


class AppealBody(_Body):
    claim: Literal["not_applicable", "decision_wrong"]
    root_cause: str = Field(min_length=1)
    fix: str = Field(min_length=1)
    prevention: str = Field(min_length=1)
    evidence: list[EvidenceBody] = Field(default_factory=list)


@router.post("/requests/{request_id}/appeal", status_code=201)
def appeal(
    request: Request,
    request_id: str,
    body: AppealBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """A seller's appeal with its plan of action (P11): toysafe/appeal@1."""
    _visible_request(db, who, request_id)
    _require(who, "seller")
    files = []
    for i, ev in enumerate(body.evidence):
        try:
            files.append(EvidenceFile(ev.name, base64.b64decode(ev.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            raise _unprocessable("not base64", "body", "evidence", i, "content_base64") from None
    return run_appeal(
        request,
        who,
        request_id,
        AppealForm(body.claim, body.root_cause, body.fix, body.prevention, files),
        _day(as_of),
    )


@dataclass(frozen=True)
class AppealForm:
    """A plan of action (P11) as sent, whether JSON or a web form."""

    claim: str
    root_cause: str
    fix: str
    prevention: str
    evidence: list[EvidenceFile]


def run_appeal(
    request: Request, who: Principal, request_id: str, form: AppealForm, day: date
) -> dict[str, Any]:
    """File the appeal through the casework; 409 outside the window, 422 naming the field."""
    try:
        out: dict[str, Any] = _call(
            _casework(request, who).appeal,
            request_id,
            form.claim,
            form.root_cause,
            form.fix,
            form.prevention,
            form.evidence,
            day,
        )
    except InputError as e:
        raise HTTPException(422, e.locations()) from None
    return out


def _visible_appeal(s: Session, who: Principal, ref: str) -> pm.AppealRow:
    try:
        number = parse_appeal_ref(ref)
    except ValueError:
        raise HTTPException(404, f"no appeal '{ref}'") from None
    row = s.get(pm.AppealRow, number)
    seen = visible_sellers(s, who)
    if row is None or (seen is not None and row.seller_org_id not in seen):
        raise HTTPException(404, f"no appeal '{ref}'")
    return row


@router.get("/appeals/{appeal_id}")
def get_appeal(request: Request, appeal_id: str, who: Who, db: Db) -> dict[str, Any]:
    _visible_appeal(db, who, appeal_id)
    out: dict[str, Any] = _call(_casework(request, who).get_appeal, appeal_id)
    return out


class AppealDecisionBody(_Body):
    outcome: Literal["uphold", "overturn"]
    reason: str = Field(min_length=1)


@router.post("/appeals/{appeal_id}/decision")
def decide_appeal(
    request: Request,
    appeal_id: str,
    body: AppealDecisionBody,
    who: Who,
    db: Db,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """A reviewer upholds or overturns an appeal (P11)."""
    _visible_appeal(db, who, appeal_id)
    _require(who, "reviewer", "admin")
    try:
        out: dict[str, Any] = _call(
            _casework(request, who).decide_appeal,
            appeal_id,
            body.outcome == "overturn",
            body.reason,
            _day(as_of),
        )
    except InputError as e:
        raise _unprocessable(str(e), "body", "reason") from None
    return out
