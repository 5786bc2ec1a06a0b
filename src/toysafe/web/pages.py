"""The web pages: server-rendered Jinja2, enhanced by htmx, usable without JavaScript.

Sellers keep their catalog, build product profiles with a live assessment, upload lab reports,
issue certificates and download audit packs; labs see the products shared with them and upload
reports; reviewers read the catalogs enrolled with them. Every state-changing form carries the
session's CSRF token; every user mistake comes back as a page that names the field.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from toysafe.core.assessment import Assessment
from toysafe.core.catalog import Status
from toysafe.core.engine import assess
from toysafe.core.profile import Profile
from toysafe.core.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.input_errors import InputError
from toysafe.kbload import default_kb
from toysafe.store import models as m
from toysafe.store.accounts import Principal
from toysafe.store.workspace import Workspace
from toysafe.web.access import can_view, find_product, require, visible_org_ids
from toysafe.web.deps import Db, principal_or_none
from toysafe.web.security import csrf_ok, new_csrf

router = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
MAX_UPLOAD = 5 * 1024 * 1024

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


def _org_slug(db: Session, org_id: int) -> str:
    org = db.get(m.Organization, org_id)
    assert org is not None
    return str(org.slug)


def _product_url(sku: str, slug: str, who: Principal) -> str:
    url = f"/products/{quote(sku, safe='')}"
    return url if slug == who.org_slug else f"{url}?org={quote(slug, safe='')}"


# --- sign in and out ------------------------------------------------------------------------------


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


# --- dashboard and lab inbox ----------------------------------------------------------------------


def _org_choices(db: Session, who: Principal) -> list[m.Organization]:
    visible = visible_org_ids(db, who)
    query = select(m.Organization).order_by(m.Organization.name)
    if visible is not None:
        if who.role == "reviewer":
            visible = visible - {who.org_id}
        query = query.where(m.Organization.id.in_(sorted(visible)))
    return list(db.scalars(query))


@router.get("/", response_class=HTMLResponse)
@page
def dashboard(
    request: Request, db: Db, org: str | None = None, status: str | None = None
) -> Response:
    who = _who(request)
    if who.role == "lab":
        return _inbox(request, db, who)
    choices = _org_choices(db, who)
    if org:
        chosen = next((o for o in choices if o.slug == org), None)
        if chosen is None and not (org == who.org_slug and who.role != "reviewer"):
            raise HTTPException(404, f"org: no organization '{org}' that you may see")
        slug: str | None = org
    elif who.role == "reviewer":
        slug = choices[0].slug if choices else None
    else:
        slug = who.org_slug
    rows: list[Status] = []
    names: dict[str, str] = {}
    if slug is not None:
        ws = Workspace(request.app.state.store, slug)
        rows = ws.statuses(_today())
        names = {p["sku"]: p["name"] for p in ws.products()}
    summary: dict[str, int] = {}
    for r in rows:
        summary[r.status] = summary.get(r.status, 0) + 1
    shown = [r for r in rows if r.status == status] if status in CATALOG_STATUS else rows
    return render(
        request,
        "dashboard.html",
        {
            "rows": shown,
            "total": len(rows),
            "status": status if status in CATALOG_STATUS else None,
            "names": names,
            "summary": [(k, summary[k]) for k in CATALOG_STATUS if k in summary],
            "org": slug,
            "choices": choices,
            "today": _today(),
            "own": slug == who.org_slug,
            "action_text": _action_text,
        },
    )


def _action_text(row: Status) -> str:
    return row.action.split(": toysafe ")[0]


def _state_status(db: Session, product: m.Product, as_of: date, store: Any) -> Status | None:
    """The catalog status of one product, as the dashboard shows it."""
    return Workspace(store, _org_slug(db, product.org_id)).status(product.sku, as_of)


def _inbox(request: Request, db: Session, who: Principal) -> Response:
    rows = db.execute(
        select(m.Product, m.Organization.slug, m.Organization.name, m.ProductVersion.profile)
        .join(m.ProductShare, m.ProductShare.product_id == m.Product.id)
        .join(m.Organization, m.Organization.id == m.Product.org_id)
        .join(
            m.ProductVersion,
            (m.ProductVersion.product_id == m.Product.id)
            & (m.ProductVersion.version == m.Product.latest_version),
        )
        .where(m.ProductShare.lab_cpsc_id == (who.lab_cpsc_id or ""))
        .order_by(m.Organization.name, m.Product.sku)
    ).all()
    today = _today()
    items = [
        {
            "sku": p.sku,
            "name": profile.get("name"),
            "org": org_name,
            "url": _product_url(p.sku, slug, who),
            "status": _state_status(db, p, today, request.app.state.store),
        }
        for p, slug, org_name, profile in rows
    ]
    return render(request, "inbox.html", {"items": items, "today": today})


# --- the product wizard ---------------------------------------------------------------------------

TEXT_FIELDS = (
    "name",
    "sku",
    "brand",
    "model",
    "gtin",
    "asins",
    "age_years",
    "age_months",
    "manufactured",
    "made_city",
    "made_country",
)
FIELD_LABELS = {
    "name": "Product name",
    "sku": "SKU",
    "brand": "Brand",
    "model": "Model",
    "gtin": "GTIN (barcode number)",
    "asins": "Amazon ASINs",
    "age_years": "Youngest intended age",
    "manufactured": "Month of manufacture",
    "made_city": "Made in: city",
    "made_country": "Made in: country",
    "features": "Features",
    "components": "Components",
}
COMPONENT_FIELDS = ("id", "name", "material", "fiber")
COMPONENT_FLAGS = ("accessible", "small_part", "unfinished")
COMPONENT_LABELS = {
    "id": "short ID",
    "name": "description",
    "material": "material",
    "fiber": "fibre",
    "accessible": "accessible",
    "small_part": "small part",
    "unfinished": "unfinished",
}


def _plain(phrase: str) -> str:
    text = phrase.removeprefix("the product ")
    return text[:1].upper() + text[1:]


FEATURE_CHOICES = [
    {
        "name": f.name,
        "label": _plain(f.present),
        "section": f.section,
        "params": [
            {
                "name": p,
                "label": p.replace("_", " "),
                "options": [(v, v.replace("_", " ")) for v in spec]
                if isinstance(spec, tuple)
                else [("true", "yes"), ("false", "no")],
            }
            for p, spec in f.params.items()
        ],
    }
    for f in FEATURES.values()
]
MATERIAL_CHOICES = [
    (x.name, f"{x.description[:1].upper()}{x.description[1:]} ({x.name})")
    for x in MATERIALS.values()
]
FIBER_CHOICES = [(f, f.replace("_", " ")) for f in FIBERS]


@dataclass
class Wizard:
    """The wizard's form as the person filled it in, and what is wrong with it."""

    values: dict[str, str] = field(default_factory=dict)
    features: dict[str, dict[str, str]] = field(default_factory=dict)
    components: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    focus: int | None = None

    def error_list(self) -> list[tuple[str, str, str]]:
        """The errors in the order of the form's fields."""
        return [
            (key, _field_label(key), self.errors[key]) for key in sorted(self.errors, key=_order)
        ]


def _order(key: str) -> tuple[int, int, str]:
    if key in TEXT_FIELDS:
        return (0, TEXT_FIELDS.index(key), "")
    if match := re.match(r"c-(\d+)-(\w+)$", key):
        return (2, int(match[1]), match[2])
    return (1, 0, key)


def _field_label(key: str) -> str:
    if match := re.match(r"c-(\d+)-(\w+)$", key):
        return f"Component {int(match[1]) + 1}: {COMPONENT_LABELS.get(match[2], match[2])}"
    if key.startswith("fp-"):
        _, feature, param = key.split("-", 2)
        return f"{_plain(FEATURES[feature].present)}: {param.replace('_', ' ')}"
    return FIELD_LABELS.get(key, key)


def _blank_component() -> dict[str, Any]:
    return {"id": "", "name": "", "material": "", "fiber": "", "accessible": True}


def wizard_from_form(form: FormData) -> Wizard:
    w = Wizard(values={k: str(form.get(k) or "").strip() for k in TEXT_FIELDS})
    for name in form.getlist("feature"):
        if name in FEATURES:
            w.features[str(name)] = {
                p: str(form.get(f"fp-{name}-{p}") or "") for p in FEATURES[str(name)].params
            }
    rows = sorted({int(k.split("-")[1]) for k in form if re.match(r"c-\d+-\w+$", k)})
    for i in rows:
        comp: dict[str, Any] = {
            f: str(form.get(f"c-{i}-{f}") or "").strip() for f in COMPONENT_FIELDS
        }
        comp.update({f: form.get(f"c-{i}-{f}") is not None for f in COMPONENT_FLAGS})
        w.components.append(comp)
    return w


def wizard_from_profile(data: dict[str, Any]) -> Wizard:
    """Prefill the wizard from a stored profile (editing makes a new version)."""
    age = int(data.get("age", {}).get("min_months", 0))
    made = data.get("made_in") or {}
    w = Wizard(
        values={
            "name": data.get("name", ""),
            "sku": data.get("sku", ""),
            "brand": data.get("brand", ""),
            "model": data.get("model", ""),
            "gtin": data.get("gtin", ""),
            "asins": ", ".join(data.get("asins", [])),
            "age_years": str(age // 12),
            "age_months": str(age % 12),
            "manufactured": str(data.get("manufactured", ""))[:7],
            "made_city": made.get("city", ""),
            "made_country": made.get("country", ""),
        }
    )
    for item in data.get("features", []):
        name, params = (item, {}) if isinstance(item, str) else next(iter(item.items()))
        w.features[name] = {k: str(v).lower() for k, v in (params or {}).items()}
    for c in data.get("components", []):
        w.components.append(
            {
                "id": c.get("id", ""),
                "name": c.get("name") or "",
                "material": c.get("material", ""),
                "fiber": c.get("fiber") or "",
                "accessible": c.get("accessible", True),
                "small_part": c.get("small_part", False),
                "unfinished": c.get("unfinished", False),
            }
        )
    return w


def _int(w: Wizard, key: str, low: int, high: int, required: bool) -> int | None:
    text = w.values.get(key, "")
    if not text:
        if required:
            w.errors[key] = "is required"
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        w.errors[key] = f"a whole number from {low} to {high}"
        return None
    return int(text)


def profile_data(w: Wizard, placeholders: bool = False) -> tuple[dict[str, Any], list[int]]:
    """The profile the form describes (errors go to ``w.errors``), and the form row of each
    component. With ``placeholders``, a missing name or SKU is filled in (live assessment)."""
    v = w.values
    data: dict[str, Any] = {"sku": v["sku"], "name": v["name"]}
    if placeholders:
        data["sku"] = data["sku"] or "NEW"
        data["name"] = data["name"] or "New product"
    for key in ("brand", "model", "gtin"):
        if v.get(key):
            data[key] = v[key]
    asins = [a.upper() for a in re.split(r"[\s,;]+", v.get("asins", "")) if a]
    bad = [a for a in asins if len(a) != 10 or not a.isalnum()]
    if bad:
        w.errors["asins"] = f"'{bad[0]}' is not an ASIN (10 letters or digits)"
    data["asins"] = asins
    years = _int(w, "age_years", 0, 99, True)
    months = _int(w, "age_months", 0, 11, False)
    if "age_months" in w.errors:
        w.errors.setdefault("age_years", "months: " + w.errors.pop("age_months"))
    if years is not None:
        data["age"] = {"min_months": years * 12 + (months or 0)}
    if v.get("manufactured"):
        data["manufactured"] = v["manufactured"]
    if v.get("made_city") or v.get("made_country"):
        data["made_in"] = {"city": v.get("made_city", ""), "country": v["made_country"].upper()}
    features: list[Any] = []
    for name, params in w.features.items():
        kept: dict[str, Any] = {}
        for p, value in params.items():
            if value:
                kept[p] = (value == "true") if FEATURES[name].params[p] is bool else value
        features.append({name: kept} if kept else name)
    data["features"] = features
    rows: list[int] = []
    components = []
    for i, c in enumerate(w.components):
        if not (c["id"] or c["name"] or c["material"]):
            continue
        item: dict[str, Any] = {
            "id": c["id"] or f"part-{i + 1}",
            "material": c["material"],
            **{f: bool(c.get(f)) for f in COMPONENT_FLAGS},
        }
        if c["name"]:
            item["name"] = c["name"]
        if c["fiber"]:
            item["fiber"] = c["fiber"]
        if not c["material"]:
            w.errors[f"c-{i}-material"] = "choose the material"
        components.append(item)
        rows.append(i)
    data["components"] = components
    return data, rows


def _error_key(loc: tuple[Any, ...], rows: list[int]) -> str:
    head = str(loc[0]) if loc else "profile"
    if head == "age":
        return "age_years"
    if head == "made_in":
        return "made_country" if "country" in loc else "made_city"
    if head == "components" and len(loc) >= 3 and isinstance(loc[1], int):
        return f"c-{rows[loc[1]]}-{loc[2]}"
    return head


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("missing", "string_too_short"):
        return "is required"
    if err["type"] == "string_pattern_mismatch":
        if "country" in err["loc"]:
            return "use the two-letter country code, e.g. CN or US"
        return "use letters, digits, '-', '_' or '.', starting with a letter or digit"
    return msg


def validate(w: Wizard, placeholders: bool = False) -> Profile | None:
    data, rows = profile_data(w, placeholders)
    if placeholders and "age" not in data:
        return None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            key = _error_key(tuple(err["loc"]), rows)
            if key == "components" and (match := re.match(r"\[(\d+)\]\.id: (.*)", err["msg"])):
                key = f"c-{rows[int(match[1])]}-id"
            w.errors.setdefault(key, _message(err))
        return None
    return None if w.errors else profile


def _assessment(w: Wizard) -> tuple[Assessment | None, dict[str, str]]:
    """The live assessment of the form as it stands, and what keeps it from being complete."""
    probe = Wizard(w.values, w.features, w.components)
    profile = validate(probe, placeholders=True)
    if profile is None:
        return None, probe.errors
    return assess(profile, default_kb(), _today()), {}


def _wizard_page(request: Request, w: Wizard, status: int = 200, editing: bool = False) -> Response:
    assessment, blockers = _assessment(w)
    return render(
        request,
        "wizard.html",
        {
            "w": w,
            "features": FEATURE_CHOICES,
            "materials": MATERIAL_CHOICES,
            "fibers": FIBER_CHOICES,
            "a": assessment,
            "blockers": [(k, _field_label(k), msg) for k, msg in blockers.items()],
            "editing": editing,
        },
        status,
    )


@router.get("/products/new", response_class=HTMLResponse)
@page
def wizard(request: Request, db: Db, edit: str | None = None, sku: str | None = None) -> Response:
    who = _who(request)
    require(who, "seller", "admin")
    if edit:
        product = find_product(db, who, edit, who.org_slug)
        profile = db.scalar(
            select(m.ProductVersion.profile).where(
                m.ProductVersion.product_id == product.id,
                m.ProductVersion.version == product.latest_version,
            )
        )
        return _wizard_page(request, wizard_from_profile(profile or {}), editing=True)
    w = Wizard(values=dict.fromkeys(TEXT_FIELDS, ""), components=[_blank_component()])
    w.values["sku"] = (sku or "").strip()[:100]
    return _wizard_page(request, w)


@router.post("/products/new/assess", response_class=HTMLResponse)
@page
def wizard_assess(request: Request, form: Form_) -> Response:
    """The live-assessment panel for the form as it stands (htmx)."""
    _who(request)
    _check_csrf(request, str(form.get("csrf") or ""))
    w = wizard_from_form(form)
    assessment, blockers = _assessment(w)
    return render(
        request,
        "_assessment.html",
        {
            "a": assessment,
            "blockers": [(k, _field_label(k), msg) for k, msg in blockers.items()],
            "oob": True,
        },
    )


@router.post("/products/new", response_class=HTMLResponse)
@page
def wizard_post(request: Request, form: Form_) -> Response:
    who = _who(request)
    _check_csrf(request, str(form.get("csrf") or ""))
    require(who, "seller", "admin")
    w = wizard_from_form(form)
    action = str(form.get("action") or "save")
    editing = form.get("editing") == "1"
    if action == "add_component":
        w.components.append(_blank_component())
        w.focus = len(w.components) - 1
        return _wizard_page(request, w, editing=editing)
    if action.startswith("remove:"):
        index = action.removeprefix("remove:")
        if index.isdigit() and int(index) < len(w.components):
            del w.components[int(index)]
        response = _wizard_page(request, w, editing=editing)
        if request.headers.get("hx-request"):  # the live assessment follows the change
            response.headers["HX-Trigger-After-Settle"] = "components-changed"
        return response
    if action != "save":
        return _wizard_page(request, w, editing=editing)
    profile = validate(w)
    if profile is None:
        return _wizard_page(request, w, 422, editing=editing)
    ws = Workspace(request.app.state.store, who.org_slug, who.email)
    (outcome,) = ws.add_profiles([profile], _today())
    text = {"added": "added", "new_version": "saved as a new version", "unchanged": "unchanged"}
    _flash(
        request, f"{profile.sku}: {text.get(outcome.outcome, outcome.outcome)} ({outcome.detail})"
    )
    return RedirectResponse(f"/products/{quote(profile.sku, safe='')}", status_code=303)


# --- the product page -----------------------------------------------------------------------------


def _product_page(
    request: Request,
    db: Session,
    who: Principal,
    product: m.Product,
    status: int = 200,
    problems: list[str] | None = None,
) -> Response:
    slug = _org_slug(db, product.org_id)
    ws = Workspace(request.app.state.store, slug)
    today = _today()
    profile, assessment, verification, reports, _, version = ws.evidence(product.sku, today)
    history = ws.history(product.sku)
    shares = db.execute(
        select(m.ProductShare.lab_cpsc_id, m.Lab.name)
        .outerjoin(m.Lab, m.Lab.cpsc_id == m.ProductShare.lab_cpsc_id)
        .where(m.ProductShare.product_id == product.id)
        .order_by(m.ProductShare.lab_cpsc_id)
    ).all()
    labs = sorted(
        db.execute(select(m.Lab.cpsc_id, m.Lab.name, m.Lab.status)).all(),
        key=lambda lab: (lab.status != "accepted", lab.name),
    )
    org = db.get(m.Organization, product.org_id)
    owner = who.role == "admin" or (who.role == "seller" and product.org_id == who.org_id)
    relied = {
        r.report_no: r
        for r in db.scalars(select(m.Report).where(m.Report.org_id == product.org_id))
    }
    return render(
        request,
        "product.html",
        {
            "p": profile,
            "org": slug,
            "org_query": "" if slug == who.org_slug else f"?org={quote(slug, safe='')}",
            "version": version,
            "a": assessment,
            "v": verification,
            "lab_checks": {c.id: c for c in verification.requirements},
            "reports": reports,
            "stored_reports": relied,
            "h": history,
            "status": _state_status(db, product, today, request.app.state.store),
            "shares": shares,
            "labs": labs,
            "owner": owner,
            "has_party": org is not None and org.party is not None,
            "problems": problems or [],
            "today": today,
        },
        status,
    )


@router.get("/products/{sku}", response_class=HTMLResponse)
@page
def product_page(request: Request, sku: str, db: Db, org: str | None = None) -> Response:
    who = _who(request)
    return _product_page(request, db, who, find_product(db, who, sku, org))


@router.post("/products/{sku}/certify", response_class=HTMLResponse)
@page
def certify(
    request: Request,
    sku: str,
    db: Db,
    org: str | None = None,
    csrf: Annotated[str, Form()] = "",
    lot: Annotated[str, Form()] = "",
) -> Response:
    from toysafe.certify import NotCertifiable, certify_stored
    from toysafe.core.party import Party

    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "admin")
    product = find_product(db, who, sku, org)
    if len(lot.strip()) > 60:
        return _product_page(request, db, who, product, 422, ["lot: at most 60 characters"])
    organization = db.get(m.Organization, product.org_id)
    if organization is None or organization.party is None:
        reason = "the organization has no party file (certifier, records custodian): ask an admin"
        return _product_page(request, db, who, product, 409, [reason])
    slug = str(organization.slug)
    try:
        doc, _ = certify_stored(
            Workspace(request.app.state.store, slug, who.email),
            sku,
            Party.model_validate(organization.party),
            request.app.state.signing_key,
            _today(),
            lot.strip() or None,
        )
    except NotCertifiable as e:
        findings = [
            f"{c.id} {c.status}: {f}"
            for c in e.verification.requirements
            if c.status != "pass"
            for f in c.findings[:2]
        ]
        return _product_page(request, db, who, product, 409, [str(e), *findings])
    c = doc["certificate"]
    _flash(request, f"Issued {c['type']} {c['id']} (version {c['version']}).")
    return RedirectResponse(_product_url(sku, slug, who), status_code=303)


@router.post("/products/{sku}/share", response_class=HTMLResponse)
@page
def share(
    request: Request,
    sku: str,
    db: Db,
    org: str | None = None,
    csrf: Annotated[str, Form()] = "",
    lab_id: Annotated[str, Form()] = "",
    revoke: Annotated[str, Form()] = "",
) -> Response:
    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "admin")
    product = find_product(db, who, sku, org)
    lab_id = lab_id.strip()
    if not (lab_id.isdigit() and len(lab_id) == 4):
        return _product_page(
            request, db, who, product, 422, ["lab_id: choose a lab (a 4-digit CPSC lab id)"]
        )
    slug = _org_slug(db, product.org_id)
    request.app.state.accounts.share(slug, sku, lab_id, not revoke)
    _flash(request, f"{sku} {'is no longer' if revoke else 'is now'} shared with lab {lab_id}.")
    return RedirectResponse(_product_url(sku, slug, who), status_code=303)


# --- certificates and audit packs -----------------------------------------------------------------


def _certificate(request: Request, db: Session, cert_id: str) -> tuple[m.Certificate, str]:
    who = _who(request)
    cert = db.get(m.Certificate, cert_id)
    product = db.get(m.Product, cert.product_id) if cert is not None else None
    if cert is None or product is None or not can_view(db, who, product):
        raise HTTPException(404, f"no certificate '{cert_id}'")
    return cert, _org_slug(db, product.org_id)


@router.get("/certificates/{cert_id}/pdf")
@page
def certificate_pdf(request: Request, cert_id: str, db: Db) -> Response:
    cert, slug = _certificate(request, db, cert_id)
    _, pdf = Workspace(request.app.state.store, slug).certificate(cert.id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{cert.id}.pdf"'},
    )


@router.get("/certificates/{cert_id}/json")
@page
def certificate_json(request: Request, cert_id: str, db: Db) -> Response:
    cert, slug = _certificate(request, db, cert_id)
    doc, _ = Workspace(request.app.state.store, slug).certificate(cert.id)
    return Response(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{cert.id}.json"'},
    )


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def pack_files(db: Session, ws: Workspace, cert: m.Certificate) -> dict[str, bytes]:
    """The audit package's files, from stored data: the certificate (JSON and PDF), the product
    profile it certifies, the reports it relies on, the assessment, verification and label."""
    from toysafe.audit_pack import buffer_json
    from toysafe.core.dates import ManufactureDate
    from toysafe.core.labels import make_label
    from toysafe.core.labreport import LabReport
    from toysafe.core.party import Party
    from toysafe.core.verify import verify
    from toysafe.render.labels_pdf import render_label

    doc, pdf = ws.certificate(cert.id)
    c = doc["certificate"]
    relied = sorted({t["report_no"] for t in c["testing"]})
    stored = list(
        db.scalars(
            select(m.Report).where(m.Report.org_id == cert.org_id, m.Report.report_no.in_(relied))
        )
    )
    data = db.scalar(
        select(m.ProductVersion.profile).where(
            m.ProductVersion.product_id == cert.product_id,
            m.ProductVersion.version == cert.product_version,
        )
    )
    profile = Profile.model_validate(data)
    kb = default_kb()
    assessment = assess(profile, kb, cert.issued)
    reports = [LabReport.model_validate(r.document) for r in stored]
    verification = verify(profile, assessment, reports, kb, cert.issued, ws.registry(db))
    files: dict[str, bytes] = {
        f"certificate/{cert.id}.json": buffer_json(doc),
        f"certificate/{cert.id}.pdf": pdf,
        f"product/{_safe_name(profile.sku)}.json": buffer_json(data),
        "assessment.json": buffer_json(assessment.to_dict()),
        "verification.json": buffer_json(verification.to_dict()),
    }
    for r in stored:
        files[f"reports/{_safe_name(r.report_no)}.json"] = buffer_json(r.document)
    org = db.get(m.Organization, cert.org_id)
    party = Party.model_validate(org.party) if org is not None and org.party else None
    made = ManufactureDate.parse(c["manufacture"]["date"])
    lot = c["manufacture"].get("lot") or "unspecified"
    label = make_label(profile, assessment, lot, made, party)
    files["labels/label.json"] = buffer_json(label.to_dict())
    files["labels/label.pdf"] = render_label(label)
    return files


@router.get("/certificates/{cert_id}/audit-pack")
@page
def audit_pack(request: Request, cert_id: str, db: Db) -> Response:
    from toysafe.audit_pack import write_pack

    cert, slug = _certificate(request, db, cert_id)
    ws = Workspace(request.app.state.store, slug)
    files = pack_files(db, ws, cert)
    folder = Path(tempfile.mkdtemp(prefix="toysafe-pack-"))
    out = write_pack(folder / f"{cert.id}.audit.zip", files, ws.certificate(cert.id)[0])
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# --- lab report upload ----------------------------------------------------------------------------


def _parse_reports(name: str, raw: bytes) -> list[tuple[str, Any]]:
    from toysafe.profile_io import parse_document
    from toysafe.report_io import report_from_data, reports_from_csv

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"file: {name} is not UTF-8 text (a JSON or CSV lab report)") from None
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
def upload_form(request: Request, sku: str | None = None) -> Response:
    who = _who(request)
    require(who, "seller", "lab", "admin")
    return render(request, "upload.html", {"sku": sku, "results": None})


@router.post("/reports/upload", response_class=HTMLResponse)
@page
def upload(
    request: Request,
    db: Db,
    csrf: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    from toysafe.web.api import store_report

    who = _who(request)
    _check_csrf(request, csrf)
    require(who, "seller", "lab", "admin")
    if file is None or not file.filename:
        return render(request, "upload.html", {"error": ["file: choose a report file"]}, 422)
    raw = file.file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return render(request, "upload.html", {"error": ["file: larger than 5 MB"]}, 413)
    name = Path(file.filename).name
    try:
        parsed = _parse_reports(name, raw)
    except InputError as e:
        return render(request, "upload.html", {"error": str(e).splitlines()}, 422)
    if not parsed:
        return render(request, "upload.html", {"error": [f"file: {name} has no report"]}, 422)
    results: list[dict[str, Any]] = []
    failures: list[int] = []
    for source, report in parsed:
        try:
            out = store_report(request, who, db, report, f"web:{source}", _today())
        except HTTPException as e:
            failures.append(e.status_code)
            results.append({"report_no": report.report_no, "error": _detail(e.detail)})
            continue
        out["links"] = {sku: _product_url(sku, out["org"], who) for sku in out["verification"]}
        results.append(out)
    status = failures[0] if failures and len(failures) == len(results) else 200
    return render(request, "upload.html", {"results": results, "filename": name}, status)
