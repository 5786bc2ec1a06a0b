"""Direct validation over HTTP (contract 8.3, 8.6): ``POST /api/v1/program/validations`` by a lab
user of an approved TIC, and the TIC extension (P5) of a request it handles.

401 without credentials; 403 for anyone but a lab user whose CPSC lab id belongs to an approved
TIC (a seller can never upload), or for a document signed by another TIC; 422 naming the field
(a bad signature names ``signature``); 409 for the revision rules (replay, conflict, stale);
201 when filed, 200 when the same revision was already on file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toysafe.core.program.validation import Validation
from toysafe.io.errors import InputError
from toysafe.io.validations import parse_bytes
from toysafe.store.accounts import Principal
from toysafe.store.program.validations import (
    ValidationRefused,
    Validations,
    current_policy,
    tic_of_lab,
)
from toysafe.web.deps import Who

router = APIRouter(prefix="/api/v1/program", tags=["program"])
AsOf = Query(None, description="The program's date (YYYY-MM-DD); default today.")
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
MAX_BYTES = 2 * 1024 * 1024

# refusal code -> HTTP status and the field it is about
_REFUSAL_STATUS: dict[str, tuple[int, list[str | int]]] = {
    "tic_not_approved": (403, ["body", "tic"]),
    "wrong_tic": (403, ["body", "tic"]),
    "unknown_key": (422, ["body", "signature", "key_id"]),
    "bad_signature": (422, ["body", "signature", "value"]),
    "replayed_revision": (409, ["body", "revision"]),
    "revision_conflict": (409, ["body", "revision"]),
    "stale_validation": (409, ["body", "issued"]),
}


def _day(value: date | None) -> date:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "as_of"],
                    "msg": f"between {EARLIEST} and {LATEST}",
                    "type": "value_error",
                }
            ],
        )
    return value or date.today()


def _input_error(e: InputError) -> HTTPException:
    """FastAPI's 422 shape from the error's problems (each with its field path); an error
    without problems (the body is not JSON at all) is about the whole body."""
    return HTTPException(422, e.locations())


def _tic_of(request: Request, who: Principal) -> str:
    """The approved TIC the caller's lab belongs to, or 403."""
    if who.role != "lab":
        raise HTTPException(
            403, f"a {who.role} may not upload a validation: only an approved TIC's lab user may"
        )
    with request.app.state.store.reader() as s:
        try:
            _, policy = current_policy(s)
        except InputError as e:
            raise HTTPException(409, str(e)) from None
    tic = tic_of_lab(policy, who.lab_cpsc_id)
    if tic is None:
        raise HTTPException(
            403, f"lab {who.lab_cpsc_id} belongs to no TIC the marketplace's policy approves"
        )
    return tic


@router.post(
    "/validations",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A signed toysafe/validation@1 document (contract 8.3).",
        }
    },
    responses={200: {"description": "The same revision was already on file (no change)."}},
)
async def post_validation(request: Request, who: Who, as_of: date | None = AsOf) -> Any:
    """File a TIC's signed validation for its listings (toysafe/validation-outcome@1)."""
    day = _day(as_of)
    tic = _tic_of(request, who)
    raw = await request.body()
    status, out = file_validation(request, who, raw, day, tic)
    return JSONResponse(out, status_code=status)


def file_validation(
    request: Request, who: Principal, raw: bytes, day: date, tic: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Check and file a validation for the caller's TIC: (201, outcome) when filed, (200,
    outcome) when the same revision was on file; HTTPException for a refusal (nothing is
    stored). The API and the TIC console's upload form both come here."""
    tic = tic or _tic_of(request, who)
    if len(raw) > MAX_BYTES:
        raise HTTPException(413, f"a validation may be at most {MAX_BYTES} bytes")
    try:
        data = parse_bytes(raw, "body")
        Validation.model_validate(data)
    except InputError as e:
        raise _input_error(e) from None
    except ValidationError as e:
        raise HTTPException(
            422,
            [
                {"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in e.errors()
            ],
        ) from None
    vals = Validations(request.app.state.store, who.email)
    try:
        filing = vals.add(raw, "body", day, uploader_tic=tic)
    except InputError as e:
        raise _input_error(e) from None
    out = filing.to_dict()
    if filing.outcome.refusal is not None:
        status, loc = _REFUSAL_STATUS[filing.outcome.refusal.code]
        refusal = out["refusal"]
        if status == 422:
            detail: Any = [{"loc": loc, "msg": refusal["message"], "type": refusal["code"]}]
        else:
            detail = {"refused": refusal["code"], "message": refusal["message"], "loc": loc}
        raise HTTPException(status, detail)
    return (200 if filing.outcome.unchanged else 201), out


class ExtensionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tic: str | None = Field(None, max_length=100, description="Default: the caller's TIC.")


@router.post("/requests/{request_id}/extension")
def post_extension(
    request_id: str,
    request: Request,
    who: Who,
    body: ExtensionBody | None = None,
    as_of: date | None = AsOf,
) -> dict[str, Any]:
    """P5: the one TIC extension of a request, by the TIC handling it (toysafe/extension@1)."""
    wanted = body.tic if body is not None and body.tic else None
    return grant_extension(request, who, request_id, _day(as_of), wanted)


def grant_extension(
    request: Request, who: Principal, request_id: str, day: date, wanted: str | None = None
) -> dict[str, Any]:
    """P5 for the caller's TIC: 404 for a request it does not handle, 409 when refused."""
    if who.role != "lab":
        raise HTTPException(403, f"a {who.role} may not extend a request: only its TIC may")
    tic = _tic_of(request, who)
    vals = Validations(request.app.state.store, who.email)
    try:
        return vals.extend(request_id, wanted or tic, day, uploader_tic=tic)
    except (InputError, LookupError):
        raise HTTPException(404, f"no request '{request_id}'") from None
    except ValidationRefused as e:
        if e.code == "not_handling":  # a request the TIC does not handle is out of its sight
            raise HTTPException(404, f"no request '{request_id}'") from None
        status = 403 if e.code in ("wrong_tic", "tic_not_approved") else 409
        raise HTTPException(status, {"refused": e.code, "message": e.message}) from None
