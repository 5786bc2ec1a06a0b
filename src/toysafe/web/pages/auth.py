"""Sign in and out, and the password reset by e-mail."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from toysafe.io.errors import InputError
from toysafe.settings import Settings
from toysafe.web.deps import client_of, principal_or_none
from toysafe.web.pages.common import _check_csrf, page, render
from toysafe.web.security import Throttle, csrf_ok, new_csrf

router = APIRouter(include_in_schema=False)
log = logging.getLogger("toysafe.web")


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    if principal_or_none(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "email": ""})


def _too_many(request: Request, ctx: dict[str, str], wait: float) -> Response:
    ctx["error"] = (
        f"Too many sign-in attempts. Wait {max(1, round(wait))} seconds, then try again "
        "(or reset your password)."
    )
    response = render(request, "login.html", ctx, 429)
    response.headers["Retry-After"] = str(max(1, round(wait)))
    return response


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
    # Throttled per account (a bounded backoff) and per client address (spraying one
    # password over many accounts); the address comes from a trusted proxy or the peer.
    throttle: Throttle = request.app.state.throttle
    account, client = email.strip().lower()[:200], client_of(request)
    wait = throttle.login_wait(account, client)
    if wait is not None:
        return _too_many(request, ctx, wait)
    who = request.app.state.accounts.authenticate(email, password[:1000])
    if who is None:
        throttle.login_failed(account, client)
        ctx["error"] = "That e-mail address and password do not match an account."
        return render(request, "login.html", ctx, 401)
    throttle.login_succeeded(account)
    settings: Settings = request.app.state.settings
    sid = request.app.state.accounts.start_session(who.user_id, settings.session_hours)
    request.session.clear()
    request.session["sid"] = sid
    request.session["csrf"] = new_csrf()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
@page
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    _check_csrf(request, csrf)
    sid = request.session.get("sid")
    if isinstance(sid, str):
        request.app.state.accounts.end_session(sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- password reset ------------------------------------------------------------------------------


def send_reset(request: Request, email: str) -> None:
    """Mail a one-time reset link if an account uses ``email``; the same outcome either way
    for the caller (no account discovery). Throttled per account and per client."""
    settings: Settings = request.app.state.settings
    if not settings.smtp_host:
        raise InputError("password reset by e-mail is not configured on this server")
    throttle: Throttle = request.app.state.throttle
    account, client = "reset|" + email.strip().lower()[:200], client_of(request)
    if not throttle.resets.allow(account) or not throttle.resets.allow("reset-client|" + client):
        return  # quietly: at most a few mails per account and client per window
    found = request.app.state.accounts.new_reset(email, settings.reset_minutes)
    if found is None:
        return
    token, address = found
    link = f"{settings.public_url.rstrip('/')}/reset?token={token}"
    from toysafe.io.mail import send_mail

    try:
        send_mail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            address,
            "Choose a new toysafe password",
            f"Someone (we hope you) asked to reset the toysafe password of {address}.\n\n"
            f"Choose a new password here (the link works once, for "
            f"{settings.reset_minutes:g} minutes):\n\n{link}\n\n"
            "If it was not you, ignore this message: your password stays as it is.\n",
        )
    except OSError as e:  # smtplib's errors are OSErrors; the caller's answer stays the same
        log.warning("password reset mail to %s not sent: %s", address, e)


@router.get("/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    return render(request, "forgot.html", {"email": "", "available": bool(settings.smtp_host)})


@router.post("/forgot", response_class=HTMLResponse)
def forgot(
    request: Request,
    email: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    ctx = {"email": email[:200], "available": bool(settings.smtp_host)}
    if not csrf_ok(request.session.get("csrf"), csrf):
        return render(request, "forgot.html", {**ctx, "error": "The form expired; try again."}, 403)
    if "@" not in email:
        return render(request, "forgot.html", {**ctx, "error": "Enter an e-mail address."}, 422)
    if not settings.smtp_host:
        return render(request, "forgot.html", ctx, 404)
    send_reset(request, email)
    return render(
        request, "forgot.html", {**ctx, "sent": True, "minutes": f"{settings.reset_minutes:g}"}
    )


@router.get("/reset", response_class=HTMLResponse)
def reset_form(request: Request, token: str = "") -> Response:
    valid = request.app.state.accounts.reset_is_valid(token)
    return render(request, "reset.html", {"token": token, "valid": valid}, 200 if valid else 404)


@router.post("/reset", response_class=HTMLResponse)
def reset(
    request: Request,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    ctx: dict[str, object] = {"token": token, "valid": True}
    if not csrf_ok(request.session.get("csrf"), csrf):
        return render(request, "reset.html", {**ctx, "error": "The form expired; try again."}, 403)
    try:
        who = request.app.state.accounts.use_reset(token, password)
    except InputError as e:
        message = "; ".join(p.message for p in e.problems) or str(e)
        valid = not any(p.loc == ("token",) for p in e.problems)
        return render(request, "reset.html", {**ctx, "valid": valid, "error": message}, 422)
    request.app.state.throttle.login_succeeded(who.email)
    request.session.clear()
    request.session["flash"] = [["ok", "Your password is changed. Sign in with it now."]]
    return RedirectResponse("/login", status_code=303)
