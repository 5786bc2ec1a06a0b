"""The product wizard: the form as the person filled it in, its validation into a profile,
and the live assessment of the form as it stands."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from toysafe.core.law.assessment import Assessment
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.workspace import Workspace
from toysafe.web.access import find_product, require
from toysafe.web.deps import Db
from toysafe.web.pages.common import Form_, _check_csrf, _flash, _today, _who, page, render

router = APIRouter(include_in_schema=False)


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


def _error_key(err: Mapping[str, Any], rows: list[int]) -> str:
    """The form field a pydantic error belongs to, from its structured ``loc`` (and ``ctx``:
    a duplicate component id names the component by index)."""
    loc = tuple(err["loc"])
    head = str(loc[0]) if loc else "profile"
    if head == "age":
        return "age_years"
    if head == "made_in":
        return "made_country" if "country" in loc else "made_city"
    if head == "components" and len(loc) >= 3 and isinstance(loc[1], int):
        return f"c-{rows[loc[1]]}-{loc[2]}"
    if err["type"] == "duplicate_component_id":
        return f"c-{rows[int(err['ctx']['index'])]}-id"
    return head


def _message(err: Mapping[str, Any]) -> str:
    """The words for one pydantic error, chosen by its ``type`` and ``ctx`` (never by reading
    its ``msg``); a validator's own ``value_error`` keeps the validator's words."""
    kind, ctx, loc = err["type"], err.get("ctx") or {}, tuple(err["loc"])
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length", 1) <= 1):
        return "is required"
    if "country" in loc and kind.startswith("string_"):
        return "use the two-letter country code, e.g. CN or US"
    if kind == "string_too_short":
        return f"at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return "use letters, digits, '-', '_' or '.', starting with a letter or digit"
    if kind == "duplicate_component_id":
        return f"'{ctx['id']}' is the id of another component too: give each a different id"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        return f"at least {bound}" if kind == "greater_than_equal" else f"at most {bound}"
    if kind == "literal_error":
        return f"choose one of {ctx['expected']}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(err["msg"])


def validate(w: Wizard, placeholders: bool = False) -> Profile | None:
    data, rows = profile_data(w, placeholders)
    if placeholders and "age" not in data:
        return None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            w.errors.setdefault(_error_key(err, rows), _message(err))
        return None
    return None if w.errors else profile


def _assessment(w: Wizard) -> tuple[Assessment | None, dict[str, str]]:
    """The live assessment of the form as it stands, and what keeps it from being complete."""
    probe = Wizard(w.values, w.features, w.components)
    profile = validate(probe, placeholders=True)
    if profile is None:
        return None, probe.errors
    return assess(profile, default_kb(), _today()), {}


def _wizard_page(
    request: Request,
    w: Wizard,
    status: int = 200,
    editing: bool = False,
    invalidates: dict[str, Any] | None = None,
) -> Response:
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
            "invalidates": invalidates,
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
    from toysafe.store.record import Conflict, change, create

    ws = Workspace(request.app.state.store, who.org_slug, who.email)
    if not editing:  # "Add a product" creates; it never silently changes an existing one
        try:
            outcome = create(ws, profile, _today())
        except Conflict:
            w.errors["sku"] = (
                f"a product '{profile.sku}' already exists: open it from the catalog and "
                "choose Edit to change it"
            )
            return _wizard_page(request, w, 409)
    else:
        preview = change(ws, profile, _today(), dry_run=True).invalidates
        costly = (
            preview["material_change"]
            or preview["reports_no_longer_evidence"]
            or preview["requirements_no_longer_met"]
            or preview["certificates"]
        )
        if costly and form.get("confirm") != "1":  # say what it invalidates before saving
            return _wizard_page(request, w, 200, editing=True, invalidates=preview)
        outcome = change(ws, profile, _today()).outcome
    text = {"added": "added", "new_version": "saved as a new version", "unchanged": "unchanged"}
    _flash(
        request, f"{profile.sku}: {text.get(outcome.outcome, outcome.outcome)} ({outcome.detail})"
    )
    return RedirectResponse(f"/products/{quote(profile.sku, safe='')}", status_code=303)
