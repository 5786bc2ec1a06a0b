"""The TIC console: for a lab user whose CPSC lab id belongs to a TIC the marketplace's policy
approves — the requests it handles (a validation of it is on file for the request's listing, as
``store.program.validations`` decides for P5), the upload of a signed ``toysafe/validation@1``
(the API's checks: a tampered file is refused and nothing is stored) and the one extension."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from toysafe.core.program.model import OPEN_STATES
from toysafe.io.errors import InputError
from toysafe.render import console
from toysafe.store.accounts import Principal
from toysafe.store.program import models as pm
from toysafe.store.program import validation_models as vm
from toysafe.store.program import views
from toysafe.store.program.validations import current_policy, tic_of_lab
from toysafe.web.pages.common import TEMPLATES, _check_csrf, _detail, _flash, _who, page, render
from toysafe.web.pages.program import _as_of, _suffix
from toysafe.web.validation_api import MAX_BYTES, _tic_of, file_validation, grant_extension

router = APIRouter(include_in_schema=False)


def tic_console(request: Request) -> bool:
    """Whether the signed-in user has the TIC console (for the navigation), once a request."""
    if "tic_console" in request.scope:
        return bool(request.scope["tic_console"])
    from toysafe.web.deps import principal_or_none

    who = principal_or_none(request)
    found = False
    if who is not None and who.role == "lab" and who.lab_cpsc_id:
        with request.app.state.store.reader() as s:
            try:
                found = tic_of_lab(current_policy(s)[1], who.lab_cpsc_id) is not None
            except InputError:
                found = False
    request.scope["tic_console"] = found
    return found


TEMPLATES.env.globals["tic_console"] = tic_console


def _handled(db: Session, tic: str, day: date) -> list[dict[str, Any]]:
    """Requests of the listings this TIC's validation is on file for, open ones first."""
    ids = list(
        db.scalars(
            select(pm.Request.id)
            .join(pm.Validation, pm.Validation.listing_pk == pm.Request.listing_pk)
            .where(pm.Validation.tic == tic)
        )
    )
    docs = views.requests(db, day, ids=ids) if ids else []
    extended = set(
        db.scalars(select(vm.TicExtension.request_id).where(vm.TicExtension.request_id.in_(ids)))
    )
    out: list[dict[str, Any]] = []
    for d in docs:
        number = int(d["id"].split("-")[1])
        out.append(
            {
                "doc": d,
                "state": console.label(console.STATE_LABEL, d["state"]),
                "countdown": console.countdown(d["state"], date.fromisoformat(d["due"]), day),
                "open": d["state"] in OPEN_STATES,
                "extended": number in extended,
            }
        )
    out.sort(key=lambda r: (not r["open"], r["doc"]["due"]))
    return out


def _context(request: Request, who: Principal, tic: str, day: date) -> dict[str, Any]:
    with request.app.state.store.reader() as db:
        _, policy = current_policy(db)
        filings = db.execute(
            select(vm.ValidationFiling)
            .where(vm.ValidationFiling.tic == tic)
            .order_by(vm.ValidationFiling.id.desc())
            .limit(20)
        ).scalars()
        recent = [
            {
                "trf": f.trf,
                "revision": f.revision,
                "listing_ids": f.listing_ids,
                "filed_on": f.filed_on.isoformat(),
                "counts": f.counts,
                "findings": len(f.findings or []),
            }
            for f in filings
        ]
        return {
            "tic": next(t for t in policy.approved_tics if t.id == tic),
            "handled": _handled(db, tic, day),
            "recent": recent,
            "extension_days": policy.clocks.tic_extension_days,
            "day": day,
            "suffix": _suffix(day),
            "result": None,
            "errors": [],
        }


def _tic(request: Request) -> tuple[Principal, str]:
    who = _who(request)
    if who.role != "lab":
        raise HTTPException(403, f"a {who.role} has no TIC console: it is for approved labs")
    return who, _tic_of(request, who)


@router.get("/tic", response_class=HTMLResponse)
@page
def tic_page(request: Request, as_of: str | None = None) -> Response:
    who, tic = _tic(request)
    return render(request, "tic.html", _context(request, who, tic, _as_of(as_of)))


@router.post("/tic/validations", response_class=HTMLResponse)
async def upload(
    request: Request,
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    raw = await file.read(MAX_BYTES + 1) if file is not None and file.filename else None
    return await run_in_threadpool(_upload, request=request, csrf=csrf, as_of=as_of, raw=raw)


def _explain(status: int, detail: Any) -> list[str]:
    if isinstance(detail, dict) and "message" in detail:
        return [f"{detail.get('refused', 'refused')}: {detail['message']}"]
    return _detail(detail)


@page
def _upload(request: Request, csrf: str, as_of: str, raw: bytes | None) -> Response:
    who, tic = _tic(request)
    _check_csrf(request, csrf)
    day = _as_of(as_of)
    if raw is None:
        ctx = _context(request, who, tic, day)
        ctx["errors"] = ["file: choose the signed validation file (JSON)"]
        return render(request, "tic.html", ctx, 422)
    try:
        status, out = file_validation(request, who, raw, day, tic)
    except HTTPException as e:
        ctx = _context(request, who, tic, day)
        ctx["errors"] = _explain(e.status_code, e.detail)
        return render(request, "tic.html", ctx, e.status_code)
    ctx = _context(request, who, tic, day)
    ctx["result"] = {
        **out,
        "status": status,
        "request_states": {
            r["request"]: console.label(console.STATE_LABEL, r["state"])
            for r in out["requests"]
            if r.get("request") and r.get("state")
        },
    }
    return render(request, "tic.html", ctx, 200)


@router.post("/tic/requests/{ref}/extension", response_class=HTMLResponse)
@page
def extension(
    request: Request,
    ref: str,
    csrf: Annotated[str, Form()] = "",
    as_of: Annotated[str, Form()] = "",
) -> Response:
    who, tic = _tic(request)
    _check_csrf(request, csrf)
    day = _as_of(as_of)
    try:
        out = grant_extension(request, who, ref, day)
    except HTTPException as e:
        if e.status_code not in (403, 409):
            raise
        ctx = _context(request, who, tic, day)
        ctx["errors"] = _explain(e.status_code, e.detail)
        return render(request, "tic.html", ctx, e.status_code)
    _flash(request, f"{out['request']}: extended by {out['days']} days, now due {out['due']}.")
    return RedirectResponse(f"/tic{_suffix(day)}", status_code=303)
