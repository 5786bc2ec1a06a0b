"""The seller's program console (contract 8, issue 12): account health with its violations and
a chart of it over time, the open requests with their countdown and next step, the request page
with its findings, the submission form (or the TICs to ask) and the appeal form.

Sellers only, their own organization only (another's request is 404). The trusted tier (P12)
never reaches these pages. ``?as_of=`` sets the program's date (default today), as ``--as-of``
does on the command line.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from toysafe.core.program.health import PastViolation, score_series, stops_counting
from toysafe.core.program.model import CLOSED_STATES, OPEN_STATES, SELLER_OWES
from toysafe.core.program.policy import Policy
from toysafe.render import console
from toysafe.render.charts import health_chart
from toysafe.store.accounts import Principal
from toysafe.store.program import models as pm
from toysafe.store.program import views
from toysafe.store.program.casework import EvidenceFile
from toysafe.web.access import require
from toysafe.web.deps import Db
from toysafe.web.pages.common import (
    TEMPLATES,
    _check_csrf,
    _detail,
    _flash,
    _today,
    _who,
    page,
    render,
)
from toysafe.web.program_api import (
    AppealForm,
    _casework,
    _visible_request,
    parts_from_files,
    run_appeal,
    run_submission,
)

router = APIRouter(include_in_schema=False)
CHART_DAYS = 365
# The chart is an image document of its own: no script, matplotlib's inline styles only.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
APPEAL_REFUSAL = {
    "appeal_pending": "An appeal of this request is already with a reviewer.",
    "nothing_to_appeal": "There is nothing to appeal: the request is settled in your favour.",
    "appeal_window_closed": "The appeal window has closed.",
}
OUTCOME_FLASH = {
    "approved": ("Approved: the documents prove the listing compliant.", "ok"),
    "revision_requested": ("Not yet: the pre-check found what is listed below.", "bad"),
    "in_review": ("Sent to a reviewer: you will be told the decision.", "warn"),
    "submitted": ("Submitted: a reviewer will check the documents.", "ok"),
}

TEMPLATES.env.globals["label"] = console.label
TEMPLATES.env.filters["sentence"] = lambda s: str(s)[:1].upper() + str(s)[1:]
TEMPLATES.env.globals["LABELS"] = {
    "state": console.STATE_LABEL,
    "listing": console.LISTING_LABEL,
    "band": console.BAND_LABEL,
    "account": console.ACCOUNT_LABEL,
}


def _as_of(value: str | None) -> date:
    if not value:
        return _today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, "as_of: a date as YYYY-MM-DD") from None
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        raise HTTPException(422, "as_of: between 1900-01-01 and 2999-12-31")
    return day


def _suffix(day: date) -> str:
    """The ``as_of`` a page was asked for, carried on its links (none for today)."""
    return "" if day == _today() else f"?as_of={day.isoformat()}"


def _seller(request: Request) -> Principal:
    who = _who(request)
    require(who, "seller")
    return who


def _policies(db: Session, versions: set[int]) -> dict[int, Policy]:
    rows = db.execute(
        select(pm.PolicyVersion.version, pm.PolicyVersion.document).where(
            pm.PolicyVersion.version.in_(sorted(versions))
        )
    ).all()
    return {v: Policy.model_validate(doc) for v, doc in rows}


def _evidence(policies: dict[int, Policy], doc: dict[str, Any]) -> str:
    pol = policies.get(doc["policy_version"])
    cat = pol.categories.get(doc["category"]) if pol else None
    return cat.evidence if cat else "documents"


def _listing_states(db: Session, listing_ids: list[str]) -> dict[str, str]:
    rows = db.execute(
        select(pm.ProgramListing.listing_id, pm.ProgramListing.state).where(
            pm.ProgramListing.listing_id.in_(listing_ids)
        )
    ).all()
    return {str(lid): str(state) for lid, state in rows}


def _request_card(
    doc: dict[str, Any], policies: dict[int, Policy], listing_state: str, day: date
) -> dict[str, Any]:
    due = date.fromisoformat(doc["due"])
    findings = console.current_findings(doc["findings"])
    return {
        "doc": doc,
        "state": console.label(console.STATE_LABEL, doc["state"]),
        "countdown": console.countdown(doc["state"], due, day),
        "listing_state": listing_state,
        "evidence": _evidence(policies, doc),
        "why": [console.TRIGGER_WORDS.get(t["kind"], t["kind"]) for t in doc["triggers"]],
        "next_step": console.next_step(
            doc["state"],
            _evidence(policies, doc),
            due,
            day,
            len(findings) if doc["state"] == "revision_requested" else 0,
            listing_state,
        ),
        "url": f"/program/requests/{quote(doc['id'], safe='')}{_suffix(day)}",
    }


def _health(db: Session, who: Principal, day: date) -> dict[str, Any]:
    """The seller's account health (the seller's view: no trusted tier) with, per violation,
    when it stops counting and what restores it, and the score over time."""
    doc = views.health(db, who.org_slug, day, marketplace=False)
    doc.pop("trusted", None)
    _, policy = views.policies.get(db)
    ah = policy.account_health
    states = dict(
        db.execute(
            select(pm.Request.id, pm.Request.state).where(pm.Request.seller_org_id == who.org_id)
        ).all()
    )
    past: list[PastViolation] = []
    rows = []
    for v in doc["violations"]:
        pv = PastViolation(
            date.fromisoformat(v["opened"]),
            date.fromisoformat(v["resolved"]) if v["resolved"] else None,
            int(v["points"]),
        )
        past.append(pv)
        stops = stops_counting(pv, ah.window_days)
        req_state = None
        if v["request"]:
            req_state = states.get(int(v["request"].split("-")[1]))
        rows.append(
            {
                **v,
                "what": console.VIOLATION_WORDS.get(v["kind"], v["kind"]),
                "tone": console.SEVERITY_TONE.get(v["severity"], "muted"),
                "stops": stops,
                "restores": console.restores(v, req_state, stops),
                "url": (
                    f"/program/requests/{v['request']}{_suffix(day)}" if v["request"] else None
                ),
            }
        )
    series = score_series(past, day - timedelta(days=CHART_DAYS), day, ah.start, ah.window_days)
    changes = [series[0]] + [
        p for prev, p in zip(series, series[1:], strict=False) if p[1] != prev[1]
    ]
    return {
        "doc": doc,
        "band": console.label(console.BAND_LABEL, doc["band"]),
        "state": console.label(console.ACCOUNT_LABEL, doc["state"]),
        "violations": rows,
        "counting": [r for r in rows if r["counts"]],
        "policy": ah,
        "changes": changes,
        "series_from": series[0][0],
    }


@router.get("/program", response_class=HTMLResponse)
@page
def console_page(request: Request, db: Db, as_of: str | None = None) -> Response:
    who = _who(request)
    if who.role == "lab":
        return RedirectResponse("/tic", status_code=303)
    require(who, "seller")
    day = _as_of(as_of)
    docs = views.requests(db, day, sellers=[who.org_id])
    policies = _policies(db, {d["policy_version"] for d in docs} or {0})
    states = _listing_states(db, [d["listing_id"] for d in docs])
    cards = [_request_card(d, policies, states.get(d["listing_id"], ""), day) for d in docs]
    open_ = [c for c in cards if c["doc"]["state"] in OPEN_STATES]
    open_.sort(key=lambda c: (c["doc"]["state"] not in SELLER_OWES, c["doc"]["due"]))
    closed = [c for c in cards if c["doc"]["state"] in CLOSED_STATES][::-1][:20]
    return render(
        request,
        "program.html",
        {
            "health": _health(db, who, day),
            "open": open_,
            "closed": closed,
            "day": day,
            "suffix": _suffix(day),
        },
    )


@router.get("/program/health.svg")
@page
def health_svg(request: Request, db: Db, as_of: str | None = None) -> Response:
    who = _seller(request)
    day = _as_of(as_of)
    h = _health(db, who, day)
    ah = h["policy"]
    series = score_series(
        [
            PastViolation(
                date.fromisoformat(v["opened"]),
                date.fromisoformat(v["resolved"]) if v["resolved"] else None,
                int(v["points"]),
            )
            for v in h["doc"]["violations"]
        ],
        day - timedelta(days=CHART_DAYS),
        day,
        ah.start,
        ah.window_days,
    )
    svg = health_chart(series, start=ah.start, healthy=ah.bands.healthy, at_risk=ah.bands.at_risk)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": SVG_CSP, "Cache-Control": "private, max-age=60"},
    )


def _request_context(
    request: Request, db: Session, who: Principal, ref: str, day: date
) -> dict[str, Any]:
    req = _visible_request(db, who, ref)
    (doc,) = views.requests(db, day, ids=[req.id])
    policies = _policies(db, {doc["policy_version"]})
    listing = views.listing_status(db, doc["listing_id"], day)
    card = _request_card(doc, policies, listing["state"], day)
    pol = policies[doc["policy_version"]]
    current = console.current_findings(doc["findings"])
    earlier = [f for f in doc["findings"] if f not in current]
    until, refused = _casework(request, who).appeal_window(doc["id"], day)
    return {
        "card": card,
        "doc": doc,
        "listing": listing,
        "listing_badge": console.label(console.LISTING_LABEL, listing["state"]),
        "findings": [console.finding_view(f) for f in current],
        "earlier": [console.finding_view(f) for f in earlier],
        "awaiting": doc["state"] in SELLER_OWES,
        "direct": card["evidence"] == "direct_validation",
        "tics": pol.approved_tics,
        "appeal_until": until,
        "appeal_refused": APPEAL_REFUSAL.get(refused or "", ""),
        "actions": [
            {
                **a,
                "next_step": (a.get("reasons") or {}).get("next_step"),
                "appeal": (a.get("reasons") or {}).get("appeal"),
            }
            for a in listing["actions"]
            if a.get("request") == doc["id"]
        ],
        "day": day,
        "suffix": _suffix(day),
        "errors": {},
        "values": {},
    }


@router.get("/program/requests/{ref}", response_class=HTMLResponse)
@page
def request_page(request: Request, db: Db, ref: str, as_of: str | None = None) -> Response:
    who = _seller(request)
    return render(
        request, "program_request.html", _request_context(request, db, who, ref, _as_of(as_of))
    )


def _field_errors(exc: HTTPException, default: str) -> dict[str, list[str]]:
    """An HTTPException's detail grouped by the form field it is about."""
    out: dict[str, list[str]] = {}
    details = exc.detail if isinstance(exc.detail, list) else [exc.detail]
    for d in details:
        loc: list[Any] = [x for x in d.get("loc", []) if x != "body"] if isinstance(d, dict) else []
        key = str(loc[0]) if loc else default
        if isinstance(d, dict) and "message" in d:
            out.setdefault(key, []).append(str(d["message"]))
        else:
            out.setdefault(key, []).extend(_detail([d]))
    return out


async def _uploads(files: list[UploadFile] | None) -> list[tuple[str, bytes]]:
    return [(Path(f.filename).name, await f.read()) for f in (files or []) if f and f.filename]


@router.post("/program/requests/{ref}/submission", response_class=HTMLResponse)
async def submission_form(
    request: Request,
    ref: str,
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
    profile: Annotated[UploadFile | None, File()] = None,
    certificate: Annotated[UploadFile | None, File()] = None,
    reports: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    files = (
        (await _uploads([profile]) if profile else []),
        (await _uploads([certificate]) if certificate else []),
        await _uploads(reports),
    )
    return await run_in_threadpool(
        _submit_sync, request=request, ref=ref, csrf=csrf, as_of=as_of, files=files
    )


@page
def _submit_sync(
    request: Request,
    ref: str,
    csrf: str,
    as_of: str,
    files: tuple[list[tuple[str, bytes]], list[tuple[str, bytes]], list[tuple[str, bytes]]],
) -> Response:
    who = _seller(request)
    _check_csrf(request, csrf)
    day = _as_of(as_of)
    with request.app.state.store.reader() as db:
        _visible_request(db, who, ref)
    try:
        parts = parts_from_files(
            files[0][0] if files[0] else None, files[1][0] if files[1] else None, files[2]
        )
        out = run_submission(request, who, ref, parts, day)
    except HTTPException as e:
        if e.status_code != 422:
            raise
        with request.app.state.store.reader() as db:
            ctx = _request_context(request, db, who, ref, day)
        ctx["errors"] = _field_errors(e, "reports")
        return render(request, "program_request.html", ctx, 422)
    text, tone = OUTCOME_FLASH.get(out["state"], (out["state"], "ok"))
    _flash(request, text, tone)
    return RedirectResponse(f"/program/requests/{quote(ref, safe='')}{_suffix(day)}", 303)


@router.post("/program/requests/{ref}/appeal", response_class=HTMLResponse)
async def appeal_form(
    request: Request,
    ref: str,
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
    claim: Annotated[str, Form()] = "",
    root_cause: Annotated[str, Form()] = "",
    fix: Annotated[str, Form()] = "",
    prevention: Annotated[str, Form()] = "",
    evidence: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    files = await _uploads(evidence)
    values = {"claim": claim, "root_cause": root_cause, "fix": fix, "prevention": prevention}
    return await run_in_threadpool(
        _appeal_sync,
        request=request,
        ref=ref,
        csrf=csrf,
        as_of=as_of,
        values=values,
        files=files,
    )


@page
def _appeal_sync(
    request: Request,
    ref: str,
    csrf: str,
    as_of: str,
    values: dict[str, str],
    files: list[tuple[str, bytes]],
) -> Response:
    who = _seller(request)
    _check_csrf(request, csrf)
    day = _as_of(as_of)
    with request.app.state.store.reader() as db:
        _visible_request(db, who, ref)
    try:
        if values["claim"] not in ("not_applicable", "decision_wrong"):
            raise HTTPException(
                422,
                [{"loc": ["body", "claim"], "msg": "choose what you claim", "type": "value_error"}],
            )
        out = run_appeal(
            request,
            who,
            ref,
            AppealForm(
                values["claim"],
                values["root_cause"].strip(),
                values["fix"].strip(),
                values["prevention"].strip(),
                [EvidenceFile(n, c) for n, c in files],
            ),
            day,
        )
    except HTTPException as e:
        if e.status_code not in (409, 422):
            raise
        with request.app.state.store.reader() as db:
            ctx = _request_context(request, db, who, ref, day)
        ctx["errors"] = _field_errors(e, "appeal")
        ctx["values"] = values
        return render(request, "program_request.html", ctx, e.status_code)
    _flash(request, f"Appeal {out['id']} filed: a reviewer will decide it.", "ok")
    return RedirectResponse(f"/program/requests/{quote(ref, safe='')}{_suffix(day)}", 303)
