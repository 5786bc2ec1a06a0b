"""Account endpoints that need no sign-in: the password reset by e-mail."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from toysafe.io.errors import InputError
from toysafe.web.pages.auth import send_reset

router = APIRouter(tags=["accounts"])


class ResetRequest(BaseModel):
    email: str = Field(..., min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")


class ResetConfirm(BaseModel):
    token: str = Field(..., min_length=1, max_length=100)
    password: str = Field(..., min_length=10, max_length=1000)


@router.post("/password-reset", status_code=202)
def request_reset(request: Request, body: ResetRequest) -> dict[str, str]:
    """Mail a one-time, expiring reset link to the account with this address, if there is one
    (the answer is the same either way)."""
    try:
        send_reset(request, body.email)
    except InputError as e:
        raise HTTPException(404, str(e)) from None
    return {"detail": "if an account uses this address, a reset link was sent to it"}


@router.post("/password-reset/confirm", status_code=204)
def confirm_reset(request: Request, body: ResetConfirm) -> Response:
    """Set a new password with the token from the link (once, before it expires); every
    session of the account ends."""
    try:
        who = request.app.state.accounts.use_reset(body.token, body.password)
    except InputError as e:
        raise HTTPException(422, e.locations()) from None
    request.app.state.throttle.login_succeeded(who.email)
    return Response(status_code=204)
