"""Sign in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from toysafe.web.deps import principal_or_none
from toysafe.web.pages.common import _check_csrf, page, render
from toysafe.web.security import csrf_ok, new_csrf

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    if principal_or_none(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx = {"next": _safe_next(next), "email": email[:200]}
    if not csrf_ok(request.session.get("csrf"), csrf or request.headers.get("x-csrf-token")):
        ctx["error"] = "The sign-in form expired. Please try again."
        return render(request, "login.html", ctx, 403)
    if not email.strip() or not password:
        ctx["error"] = "Enter your e-mail address and your password."
        return render(request, "login.html", ctx, 401)
    client = request.client.host if request.client else "unknown"
    key = f"{client}|{email.strip().lower()}"
    if not request.app.state.login_limit.allow(key):
        ctx["error"] = "Too many sign-in attempts. Wait a few minutes, then try again."
        return render(request, "login.html", ctx, 429)
    who = request.app.state.accounts.authenticate(email, password)
    if who is None:
        ctx["error"] = "That e-mail address and password do not match an account."
        return render(request, "login.html", ctx, 401)
    request.app.state.login_limit.reset(key)
    request.session.clear()
    request.session["user_id"] = who.user_id
    request.session["csrf"] = new_csrf()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
@page
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    _check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
