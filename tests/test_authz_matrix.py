"""The authorization matrix, generated from /openapi.json: every API route x every role
(anonymous, seller, lab, reviewer, admin) x the caller's own organization's objects and another
organization's. Expected: 401 without credentials (public routes aside), never a 5xx, never a
cross-tenant read (no 2xx answer shows the other organization's data) or write (nothing of the
other organization changes), and a reviewer never changes anything."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.test_api import AS_OF, EX, STACKER, Api, chem, mech, ok, stacker_profile
from tests.test_api import api as _api_fixture  # noqa: F401 - a fixture, used by name
from toysafe.store import models as m
from toysafe.store.db import open_store

ROLES = [None, "seller", "lab", "reviewer", "admin"]
PUBLIC = {("get", "/api/v1/health"), ("post", "/api/v1/password-reset"),
          ("post", "/api/v1/password-reset/confirm")}  # fmt: skip
RIVAL_SKU = "RIV-ONLY-1"
RIVAL_REPORT = "RIV-2026-0001"
MARKERS = (RIVAL_SKU, RIVAL_REPORT, '"rival"')


@pytest.fixture
def api(_api_fixture: Api, tmp_path: Path) -> Api:  # noqa: F811 - the fixture imported above
    """tests/test_api.py's workspace, plus: a certificate of default's stacker, and rival's own
    certified product RIV-ONLY-1 with its own report."""
    api = _api_fixture
    assert api.report("seller", chem()).status_code == 201
    assert api.report("seller", mech()).status_code == 201
    assert api.post("seller", f"/products/{STACKER}/certificates", params={"as_of": AS_OF})
    ok("init", "--org", "rival", "--party", str(EX / "party.yaml"))
    profile = {**stacker_profile(), "sku": RIVAL_SKU, "model": RIVAL_SKU, "gtin": None}
    path = tmp_path / "rival.json"
    path.write_text(json.dumps({k: v for k, v in profile.items() if v is not None}))
    ok("product", "add", str(path), "--org", "rival", "--as-of", AS_OF)
    for n, doc in enumerate((chem(), mech())):
        doc = {**doc, "report_no": f"{RIVAL_REPORT}-{n}" if n else RIVAL_REPORT}
        doc["products"] = [{"sku": RIVAL_SKU}]
        assert api.report("rival", doc).status_code == 201
    r = api.post("rival", f"/products/{RIVAL_SKU}/certificates", params={"as_of": AS_OF})
    assert r.status_code == 201, r.text
    api.tokens["rival_cert"] = r.json()["certificate"]["id"]
    api.tokens["own_cert"] = api.get("seller", f"/products/{STACKER}").json()["certificates"][0][
        "id"
    ]
    return api


def _rival_snapshot() -> tuple[int, ...]:
    """Counts of everything of the rival organization that a write could change."""
    store = open_store()
    try:
        with store.reader() as s:
            org = s.scalar(select(m.Organization.id).where(m.Organization.slug == "rival"))
            products = select(m.Product.id).where(m.Product.org_id == org)
            reports = select(m.Report.id).where(m.Report.org_id == org)
            return tuple(
                int(s.scalar(q) or 0)
                for q in (
                    select(func.count()).select_from(m.Event).where(m.Event.org_id == org),
                    select(func.max(m.Event.id)).where(m.Event.org_id == org),
                    select(func.count()).select_from(m.Product).where(m.Product.org_id == org),
                    select(func.count())
                    .select_from(m.ProductVersion)
                    .where(m.ProductVersion.product_id.in_(products)),
                    select(func.count()).select_from(m.Report).where(m.Report.org_id == org),
                    select(func.count())
                    .select_from(m.ReportWithdrawal)
                    .where(m.ReportWithdrawal.report_id.in_(reports)),
                    select(func.count())
                    .select_from(m.ProductShare)
                    .where(m.ProductShare.product_id.in_(products)),
                    select(func.count())
                    .select_from(m.Certificate)
                    .where(m.Certificate.product_id.in_(products)),
                    select(func.count()).select_from(m.Listing).where(m.Listing.org_id == org),
                )
            )
    finally:
        store.engine.dispose()


def _events() -> int:
    store = open_store()
    try:
        with store.reader() as s:
            return int(s.scalar(select(func.count()).select_from(m.Event)) or 0)
    finally:
        store.engine.dispose()


def _request(api: Api, method: str, path: str, op: dict[str, Any], other: bool, n: int) -> Any:
    """Fill in the route's parameters for the own or the other organization's objects."""
    sku = RIVAL_SKU if other else STACKER
    values = {
        "sku": sku,
        "lab_id": "1234",
        "cert_id": api.tokens["rival_cert"] if other else api.tokens["own_cert"],
        "report_no": RIVAL_REPORT if other else "ETC-2026-0612-01",
    }
    url = path
    for name, value in values.items():
        url = url.replace("{" + name + "}", value)
    assert "{" not in url, f"no test value for a parameter of {path}"
    names = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
    params: dict[str, str] = {}
    if "as_of" in names:
        params["as_of"] = AS_OF
    if "from" in names:
        params.update({"from": "2026-01-01", "to": AS_OF})
    if "org" in names:
        params["org"] = "rival" if other else "default"
    kwargs: dict[str, Any] = {"params": params}
    key = (method, path.removeprefix("/api/v1"))
    profile = {**stacker_profile(), "sku": sku}
    bodies: dict[tuple[str, str], Any] = {
        ("post", "/assess"): stacker_profile(),
        ("post", "/products"): {**stacker_profile(), "sku": f"MATRIX-{n}"},
        ("put", "/products/{sku}"): {**profile, "name": f"Renamed {n}"},
        ("post", "/products/{sku}/revert"): {"to": 1},
        ("post", "/reports/{report_no}/withdrawal"): {"reason": "matrix"},
        ("post", "/listings"): [{"listing_id": f"B0MATRIX{n % 100:02d}", "sku": f"LST-{n}"}],
        ("post", "/password-reset"): {"email": "nobody@example.com"},
        ("post", "/password-reset/confirm"): {"token": "x", "password": "0123456789ab"},
    }
    if key == ("post", "/reports"):
        doc = copy.deepcopy(chem())
        doc["report_no"] = f"MATRIX-{n}"
        doc["products"] = [{"sku": sku}]
        kwargs["json"] = doc
    elif key == ("post", "/labs"):
        kwargs["content"] = (EX / "labs.csv").read_bytes()
        kwargs["headers"] = {"Content-Type": "text/csv"}
    elif key in bodies:
        kwargs["json"] = bodies[key]
    elif method in ("post", "put", "patch"):
        kwargs["json"] = {}
    return url, kwargs


def test_every_route_every_role_own_and_other_organization(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    routes = [
        (method, path, op)
        for path, ops in schema["paths"].items()
        # The program's routes (contract 8.6) have their own matrix, where a reviewer does
        # decide: tests/test_program_api.py and tests/test_validation_api.py.
        if path.startswith("/api/") and not path.startswith("/api/v1/program/")
        for method, op in ops.items()
    ]
    problems: list[str] = []
    cases = 0
    for n, ((method, path, op), role, other) in enumerate(
        itertools.product(routes, ROLES, (False, True))
    ):
        cases += 1
        url, kwargs = _request(api, method, path, op, other, n)
        headers = {**api.auth(role), **kwargs.pop("headers", {})}
        before_rival, before_all = _rival_snapshot(), _events()
        r = api.client.request(method.upper(), url, headers=headers, **kwargs)
        case = f"{role or 'anonymous'} {method.upper()} {url} ({'other' if other else 'own'})"
        if r.status_code >= 500:
            problems.append(f"{case}: {r.status_code} {r.text[:200]}")
        if role is None and (method, path) not in PUBLIC and r.status_code != 401:
            problems.append(f"{case}: {r.status_code} without credentials")
        if role in ("seller", "lab", "reviewer"):
            if 200 <= r.status_code < 300 and any(x in r.text for x in MARKERS):
                found = next(x for x in MARKERS if x in r.text)
                at = r.text.index(found)
                problems.append(
                    f"{case}: {r.status_code} shows the other organization's data: "
                    f"{r.text[max(0, at - 150) : at + 50]}"
                )
            if _rival_snapshot() != before_rival:
                problems.append(f"{case}: {r.status_code} changed the other organization")
        if role == "reviewer" and "/password-reset" not in path and _events() != before_all:
            problems.append(f"{case}: {r.status_code} a reviewer changed something")
    print(f"authorization matrix: {len(routes)} routes x {len(ROLES)} roles x 2 = {cases} cases")
    assert cases == len(routes) * len(ROLES) * 2 and len(routes) >= 25
    assert problems == [], "\n".join(problems)
