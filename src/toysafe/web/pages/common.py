"""Shared plumbing of the web pages: who is asking, CSRF, flash messages, rendering, error
pages, status badges and the links between pages."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from toysafe.core.catalog.status import Status
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.workspace import Workspace
from toysafe.web.access import org_slug
from toysafe.web.deps import principal_or_none
from toysafe.web.security import csrf_ok, new_csrf

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

# Status -> (label, tone); the tone picks the badge colour, the label is always shown.
CATALOG_STATUS = {
    "certified": ("Certified", "ok"),
    "expiring": ("Expiring", "warn"),
    "expired": ("Expired", "bad"),
    "action_needed": ("Action needed", "bad"),
    "ready_to_certify": ("Ready to certify", "info"),
    "missing_evidence": ("Missing evidence", "warn"),
    "not_required": ("Not required", "muted"),
    "no_profile": ("No profile", "muted"),
}
CHECK_STATUS = {
    "pass": ("pass", "ok"),
    "fail": ("fail", "bad"),
    "missing": ("missing", "warn"),
    "not_in_scope": ("lab not in scope", "bad"),
    "expired": ("expired", "bad"),
}
ERROR_TITLES = {
    400: "Something is wrong with the request",
    401: "Sign-in failed",
    403: "Not allowed",
    404: "Not found",
    409: "This cannot be done now",
    413: "The file is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
}


def _badge(kind: str, table: dict[str, tuple[str, str]]) -> dict[str, str]:
    label, tone = table.get(kind, (kind.replace("_", " "), "muted"))
    return {"label": label, "tone": tone}


TEMPLATES.env.globals["catalog_badge"] = lambda s: _badge(s, CATALOG_STATUS)
TEMPLATES.env.globals["check_badge"] = lambda s: _badge(s, CHECK_STATUS)
TEMPLATES.env.filters["q"] = lambda s: quote(str(s), safe="")


# --- plumbing: who is asking, CSRF, rendering, errors ---------------------------------------------


class LoginRequired(Exception):
    pass


def _today() -> date:
    return date.today()


def _who(request: Request) -> Principal:
    who = principal_or_none(request)
    if who is None:
        raise LoginRequired()
    return who


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = new_csrf()
    return str(token)


def _check_csrf(request: Request, given: str | None) -> None:
    given = given or request.headers.get("x-csrf-token")
    if not csrf_ok(request.session.get("csrf"), given):
        raise HTTPException(
            403,
            "csrf: the form expired or did not come from this site; reload the page and try again",
        )


def _flash(request: Request, message: str, tone: str = "ok") -> None:
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], [tone, message]]


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    who = principal_or_none(request)
    ctx = {
        "who": who,
        "csrf": _csrf(request),
        "flash": request.session.pop("flash", []) if name != "_assessment.html" else [],
        "path": request.url.path,
        **context,
    }
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status)


def _detail(detail: Any) -> list[str]:
    """An HTTPException's detail as readable lines that name the field."""
    if isinstance(detail, list):
        out = []
        for d in detail:
            if isinstance(d, dict):
                loc = [str(x) for x in d.get("loc", []) if x not in ("body", "query", "path")]
                out.append(f"{'.'.join(loc)}: {d.get('msg')}" if loc else str(d.get("msg")))
            else:
                out.append(str(d))
        return out
    if isinstance(detail, dict):
        return [str(detail.get("reason") or detail)]
    return [str(detail)]


def error_page(request: Request, status: int, messages: list[str]) -> Response:
    title = ERROR_TITLES.get(status, "Something went wrong")
    return render(request, "error.html", {"title": title, "messages": messages}, status)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def page(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Turn sign-in requirements and HTTP errors of a page handler into pages."""

    def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, LoginRequired):
            return _login_redirect(request)
        if isinstance(exc, HTTPException):
            return error_page(request, exc.status_code, _detail(exc.detail))
        return error_page(request, 422, str(exc).splitlines())

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return fn(*args, **kwargs)
        except (LoginRequired, HTTPException, InputError) as e:
            return handle(kwargs["request"], e)

    assert not inspect.iscoroutinefunction(fn)
    return wrapper


async def _form(request: Request) -> FormData:
    return await request.form()


Form_ = Annotated[FormData, Depends(_form)]


def _product_url(sku: str, slug: str, who: Principal) -> str:
    url = f"/products/{quote(sku, safe='')}"
    return url if slug == who.org_slug else f"{url}?org={quote(slug, safe='')}"


def _state_status(db: Session, product: m.Product, as_of: date, store: Any) -> Status | None:
    """The catalog status of one product, as the dashboard shows it."""
    return Workspace(store, org_slug(db, product.org_id)).status(product.sku, as_of)
