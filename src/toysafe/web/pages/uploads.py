"""Lab report upload: JSON or CSV lab reports, from sellers, labs and admins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from toysafe.io.errors import InputError
from toysafe.web.access import require
from toysafe.web.deps import Db
from toysafe.web.pages.common import _check_csrf, _detail, _product_url, _today, _who, page, render

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 5 * 1024 * 1024


def _parse_reports(name: str, raw: bytes) -> list[tuple[str, Any]]:
    from toysafe.io.profiles import parse_document
    from toysafe.io.reports import report_from_data, reports_from_csv

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"file: {name} is not UTF-8 text (a JSON or CSV lab report)") from None
    if "\x00" in text or "\\u0000" in text:
        raise InputError(f"file: {name} contains NUL characters: not a lab report")
    if name.lower().endswith(".csv") or not text.lstrip().startswith(("{", "format")):
        if name.lower().endswith((".json", ".yaml", ".yml")):
            raise InputError(f"file: {name} is not a JSON lab report object")
        return reports_from_csv(text, name)
    data = parse_document(text, name)
    if not isinstance(data, dict):
        raise InputError(f"file: {name}: expected a lab report object (toysafe/lab-report@1)")
    return [(name, report_from_data(data, name))]


@router.get("/reports/upload", response_class=HTMLResponse)
@page
def upload_form(request: Request, sku: str | None = None, org: str | None = None) -> Response:
    who = _who(request)
    require(who, "seller", "lab", "admin")
    ctx: dict[str, Any] = {"sku": sku, "org": org, "results": None}
    if sku:
        ctx["product_url"] = _product_url(sku, org or who.org_slug, who)
    return render(request, "upload.html", ctx)


@router.post("/reports/upload", response_class=HTMLResponse)
@page
def upload(
    request: Request,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
    sku: Annotated[str, Form(max_length=100)] = "",
    org: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    from toysafe.web.api import store_report

    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "lab", "admin")
    for_sku, for_org = sku.strip() or None, org.strip() or None
    # The product the upload was started from stays on the form, whatever happens.
    ctx: dict[str, Any] = {"sku": for_sku, "org": for_org}
    if for_sku:
        ctx["product_url"] = _product_url(for_sku, for_org or who.org_slug, who)
    if file is None or not file.filename:
        return render(request, "upload.html", {**ctx, "error": ["file: choose a report file"]}, 422)
    raw = file.file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return render(request, "upload.html", {**ctx, "error": ["file: larger than 5 MB"]}, 413)
    name = Path(file.filename).name
    try:
        parsed = _parse_reports(name, raw)
    except InputError as e:
        return render(request, "upload.html", {**ctx, "error": str(e).splitlines()}, 422)
    if not parsed:
        return render(
            request, "upload.html", {**ctx, "error": [f"file: {name} has no report"]}, 422
        )
    results: list[dict[str, Any]] = []
    failures: list[int] = []
    for source, report in parsed:
        try:
            out = store_report(
                request, who, db, report, f"web:{source}", _today(), for_org, for_sku
            )
        except HTTPException as e:
            failures.append(e.status_code)
            results.append({"report_no": report.report_no, "error": _detail(e.detail)})
            continue
        out["links"] = {sku: _product_url(sku, out["org"], who) for sku in out["verification"]}
        results.append(out)
    status = failures[0] if failures and len(failures) == len(results) else 200
    return render(request, "upload.html", {**ctx, "results": results, "filename": name}, status)
