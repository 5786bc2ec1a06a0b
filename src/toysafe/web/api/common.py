"""What every area of the API shares: query parameters, 422s that name the field, dates, the
workspace of an organization."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Body, HTTPException, Query, Request, Response
from pydantic import ValidationError
from pydantic_core import to_json

from toysafe.core.law.profile import Profile
from toysafe.store.workspace import Workspace

AsOf = Query(None, description="As of date (YYYY-MM-DD); default today.")
OrgQ = Query(None, description="Organization slug (default: your own).", max_length=60)
JSONBody = Body(..., description="A contract document (JSON object).")


def unprocessable(message: str, *loc: str | int) -> HTTPException:
    """A 422 naming where the problem is, e.g. ("body", 0, "sku"), in FastAPI's error shape."""
    return HTTPException(422, [{"loc": list(loc), "msg": message, "type": "value_error"}])


def validation_error(e: ValidationError, root: str = "body") -> HTTPException:
    return HTTPException(
        422,
        [
            {"loc": [root, *err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in e.errors()
        ],
    )


EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def today(value: date | None, name: str = "as_of") -> date:
    """The date asked for (default today), within the range toysafe reasons about."""
    if value is not None and not EARLIEST <= value <= LATEST:
        raise unprocessable(f"between {EARLIEST} and {LATEST}", "query", name)
    return value or date.today()


def workspace_for(request: Request, org: str, who: Any = None) -> Workspace:
    """The workspace of an organization, recording the signed-in user as the actor."""
    return Workspace(request.app.state.store, org, who.email if who is not None else None)


def json_answer(data: Any, status_code: int = 200) -> Response:
    """``data`` as JSON, as FastAPI would write it, without validating it again against the
    route's return annotation (which stays the documented schema): for large lists built
    here from typed columns, that second pass cost more than the query."""
    return Response(to_json(data), status_code, media_type="application/json")


def parse_profile(data: dict[str, Any]) -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise validation_error(e) from None
