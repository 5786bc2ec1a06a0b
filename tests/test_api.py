"""The REST API (/api/v1) on SQLite and PostgreSQL: every endpoint, and who may see and do what.

Each test builds a workspace through the CLI (the example products, labs and party file) with
five users: a seller of ``default``, a seller of ``rival`` (which has its own MM-STK-07, the
same SKU as default's stacker), a lab user of CPSC lab 1234, a reviewer (``marketplace``, with
``default`` enrolled) and an admin; then drives the app in-process with a TestClient.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.store_fixtures import DB
from toysafe.cli.app import app as cli
from toysafe.io.reports import read_report_file
from toysafe.store.db import open_store
from toysafe.web.app import create_app

with warnings.catch_warnings():  # starlette's TestClient warns about httpx at import time
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
PRODUCTS = EX / "products"
STACKER_FILE = PRODUCTS / "painted-wooden-stacker.yaml"
CHEM_FILE = EX / "reports" / "stacker-chemistry-pass.json"
MECH_FILE = EX / "reports" / "stacker-mechanical-pass.csv"
STACKER = "MM-STK-07"
TEETHER = "CG-ELE-12"  # only in default's catalog
AS_OF = "2026-11-21"
A = {"as_of": AS_OF}
V1 = "/api/v1"
N_DEFAULT = len(list(PRODUCTS.glob("*.yaml")))
runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, f"toysafe {' '.join(args)}: {result.output}"
    return str(result.stdout)


def token_of(*args: str) -> str:
    token = ok("users", "add", *args, "--token").strip().splitlines()[-1]
    assert token.startswith("ts_"), token
    return token


def chem() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CHEM_FILE.read_text(encoding="utf-8"))
    return data


def mech() -> dict[str, Any]:
    report = read_report_file(MECH_FILE)[0][1]
    return report.model_dump(mode="json", by_alias=True, exclude_none=True)


def stacker_profile() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(STACKER_FILE.read_text(encoding="utf-8"))
    return data


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    backend: str

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(V1 + path, headers=self.auth(role), **kw)

    def post(self, role: str | None, path: str, **kw: Any) -> Any:
        headers = {**self.auth(role), **kw.pop("headers", {})}
        return self.client.post(V1 + path, headers=headers, **kw)

    def put(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.put(V1 + path, headers=self.auth(role), **kw)

    def delete(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.delete(V1 + path, headers=self.auth(role), **kw)

    def report(self, role: str, doc: dict[str, Any], as_of: str = AS_OF) -> Any:
        return self.post(role, "/reports", json=doc, params={"as_of": as_of})

    def status_row(self, role: str, sku: str, **params: str) -> dict[str, Any]:
        r = self.get(role, "/status", params={**A, **params})
        assert r.status_code == 200, r.text
        rows = [p for p in r.json()["products"] if p["sku"] == sku]
        assert len(rows) == 1, rows
        return rows[0]


@pytest.fixture
def api(ws_env: DB) -> Iterator[Api]:
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"), "--as-of", AS_OF)
    ok("product", "add", str(PRODUCTS), "--as-of", AS_OF)
    tokens = {
        "seller": token_of("seller@maplemoss.example", "--org", "default", "--role", "seller"),
        "rival": token_of("seller@rival.example", "--org", "rival", "--role", "seller"),
        "lab": token_of("lab@etc.example", "--org", "etc-lab", "--role", "lab", "--lab-id", "1234"),
        "reviewer": token_of("review@market.example", "--org", "marketplace", "--role", "reviewer"),
        "admin": token_of("admin@toysafe.example", "--org", "operators", "--role", "admin"),
    }
    # rival's own stacker: the same SKU as default's (the org exists once its seller does)
    ok("product", "add", str(STACKER_FILE), "--org", "rival", "--as-of", AS_OF)
    ok("enroll", "default", "--reviewer", "marketplace")
    store = open_store()
    app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    with TestClient(app) as client:
        yield Api(client, tokens, ws_env.backend)
    store.engine.dispose()


def detail_locs(r: Any) -> list[list[Any]]:
    return [d["loc"] for d in r.json()["detail"]]


def detail_msgs(r: Any) -> str:
    return " | ".join(d["msg"] for d in r.json()["detail"])


# --- meta, authentication ------------------------------------------------------------------------


def test_health_answers_without_credentials(api: Api) -> None:
    r = api.get(None, "/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


PROTECTED = [
    ("post", "/assess"),
    ("get", "/products"),
    ("post", "/products"),
    ("get", "/products/{sku}"),
    ("put", "/products/{sku}"),
    ("post", "/products/{sku}/revert"),
    ("post", "/reports/{report_no}/withdrawal"),
    ("get", "/products/{sku}/assessment"),
    ("get", "/products/{sku}/verification"),
    ("get", "/products/{sku}/history"),
    ("put", "/products/{sku}/shares/{lab_id}"),
    ("delete", "/products/{sku}/shares/{lab_id}"),
    ("post", "/reports"),
    ("get", "/listings"),
    ("post", "/listings"),
    ("get", "/labs"),
    ("post", "/labs"),
    ("post", "/products/{sku}/certificates"),
    ("get", "/certificates/{cert_id}"),
    ("get", "/certificates/{cert_id}/pdf"),
    ("get", "/status"),
    ("get", "/impact"),
    ("put", "/products/{sku}"),
    ("post", "/products/{sku}/revert"),
    ("post", "/reports/{report_no}/withdrawal"),
    ("get", "/program/requests"),
    ("get", "/program/requests/{request_id}"),
    ("get", "/program/listings/{listing_id}"),
    ("get", "/program/health"),
    ("get", "/program/health/{seller}"),
    ("post", "/program/requests/{request_id}/submission"),
    ("post", "/program/requests/{request_id}/decision"),
    ("post", "/program/requests/{request_id}/appeal"),
    ("get", "/program/appeals/{appeal_id}"),
    ("post", "/program/appeals/{appeal_id}/decision"),
    ("post", "/program/validations"),
    ("post", "/program/requests/{request_id}/extension"),
    ("get", "/program/queue"),
    ("get", "/program/requests/{request_id}/review"),
    ("post", "/program/requests/{request_id}/claim"),
    ("post", "/program/requests/{request_id}/release"),
    ("post", "/program/requests/{request_id}/escalate"),
    ("post", "/program/requests/{request_id}/notes"),
]


# answered without credentials: the health check and the password reset by e-mail
PUBLIC = [("get", "/health"), ("post", "/password-reset"), ("post", "/password-reset/confirm")]


def _concrete(path: str) -> str:
    return path.format(
        sku=STACKER,
        lab_id="1234",
        cert_id="CPC-MM-STK-07-20261121-V1",
        report_no="R-1",
        request_id="REQ-000001",
        listing_id="B0CW00DST7",
        seller="default",
        appeal_id="APL-000001",
    )


def test_every_protected_endpoint_answers_401_without_a_valid_token(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    documented = {
        (method, path.removeprefix(V1))
        for path, ops in schema["paths"].items()
        if path.startswith(V1)
        for method in ops
    }
    assert documented == {*PROTECTED, *PUBLIC}, "an endpoint is missing from PROTECTED"
    # every route is tried with unknown tokens from one client: lift the guessing throttle
    # (tested on its own) so that each answer is the route's 401
    api.client.app.state.throttle.token_clients.limit = 10 * len(PROTECTED)
    params = {"from": "2026-01-01", "to": AS_OF}
    for headers in ({}, {"Authorization": "Bearer ts_not-a-token"}, {"Authorization": "Basic x"}):
        for method, path in PROTECTED:
            r = api.client.request(method, V1 + _concrete(path), headers=headers, params=params)
            assert r.status_code == 401, f"{method.upper()} {path} with {headers}: {r.text}"
            assert r.headers["www-authenticate"] == "Bearer"
            assert "Bearer" in r.json()["detail"]


# --- assess ----------------------------------------------------------------------------------


def test_assess_a_valid_profile(api: Api) -> None:
    r = api.post("seller", "/assess", json=stacker_profile(), params=A)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["format"] == "toysafe/assessment@1"
    assert doc["sku"] == STACKER
    assert doc["as_of"] == AS_OF
    assert doc["certificate"] == "CPC"
    assert doc["toy_standard"] == "F963-23"
    # the same answer as the stored product's assessment
    stored = api.get("seller", f"/products/{STACKER}/assessment", params=A)
    assert stored.status_code == 200
    assert stored.json() == doc


def test_assess_rejects_invalid_profiles_naming_the_field(api: Api) -> None:
    missing = {k: v for k, v in stacker_profile().items() if k not in ("name", "age")}
    r = api.post("seller", "/assess", json=missing, params=A)
    assert r.status_code == 422
    assert ["body", "name"] in detail_locs(r) and ["body", "age"] in detail_locs(r)

    bad_age = stacker_profile()
    bad_age["age"] = {"min_months": "twelve"}
    r = api.post("seller", "/assess", json=bad_age)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "age", "min_months"]]

    r = api.post("seller", "/assess", json=[stacker_profile()])
    assert r.status_code == 422
    assert detail_locs(r) == [["body"]]

    r = api.post("seller", "/assess", json=stacker_profile(), params={"as_of": "21/11/2026"})
    assert r.status_code == 422
    assert detail_locs(r) == [["query", "as_of"]]


# --- products ----------------------------------------------------------------------------------


def skus(r: Any) -> list[tuple[str, str]]:
    assert r.status_code == 200, r.text
    return [(p["org"], p["sku"]) for p in r.json()]


def test_product_lists_are_scoped_by_role(api: Api) -> None:
    mine = skus(api.get("seller", "/products"))
    assert len(mine) == N_DEFAULT and {org for org, _ in mine} == {"default"}
    assert ("default", STACKER) in mine and ("default", TEETHER) in mine
    first = api.get("seller", "/products").json()[0]
    assert set(first) == {"sku", "org", "version", "model", "gtin"}
    assert skus(api.get("seller", "/products", params={"org": "rival"})) == []
    assert skus(api.get("rival", "/products")) == [("rival", STACKER)]
    assert skus(api.get("lab", "/products")) == []
    assert skus(api.get("reviewer", "/products")) == mine
    everything = skus(api.get("admin", "/products"))
    assert len(everything) == N_DEFAULT + 1 and ("rival", STACKER) in everything
    assert skus(api.get("admin", "/products", params={"org": "rival"})) == [("rival", STACKER)]


def test_add_product_added_unchanged_new_version(api: Api) -> None:
    profile = stacker_profile()
    profile["sku"] = "MM-STK-09"
    r = api.post("seller", "/products", json=profile, params=A)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "sku": "MM-STK-09",
        "org": "default",
        "outcome": "added",
        "detail": "version 1",
    }

    # contract 10: creating an SKU that exists is 409 naming it, never a silent new version
    r = api.post("seller", "/products", json=profile, params=A)
    assert r.status_code == 409 and "MM-STK-09" in r.json()["detail"]
    changed = copy.deepcopy(profile)
    changed["components"][2]["material"] = "ink_other"  # the red paint changed
    r = api.post("seller", "/products", json=changed, params=A)
    assert r.status_code == 409
    assert api.get("seller", "/products/MM-STK-09").json()["version"] == 1

    r = api.put("seller", "/products/MM-STK-09", json=profile, params=A)
    assert r.status_code == 200 and r.json()["outcome"] == "unchanged"
    r = api.put("seller", "/products/MM-STK-09", json=changed, params=A)
    assert r.status_code == 200
    assert r.json()["outcome"] == "new_version"
    assert "paint-red" in r.json()["detail"]
    assert r.json()["invalidates"]["material_change"] is True

    got = api.get("seller", "/products/MM-STK-09")
    assert got.status_code == 200
    assert got.json()["version"] == 2
    assert got.json()["profile"]["components"][2]["material"] == "ink_other"
    history = api.get("seller", "/products/MM-STK-09/history").json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert history["versions"][1]["changes"] == [
        {"component": "paint-red", "change": "changed", "fields": ["material"]}
    ]
    # in the caller's catalog only
    assert ("default", "MM-STK-09") in skus(api.get("seller", "/products"))
    assert ("default", "MM-STK-09") not in skus(api.get("rival", "/products"))
    assert api.get("rival", "/products/MM-STK-09").status_code == 404

    invalid = {**profile, "age": {"min_months": -3}}
    r = api.post("seller", "/products", json=invalid, params=A)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "age", "min_months"]]


def test_get_product_and_its_views(api: Api) -> None:
    r = api.get("seller", f"/products/{STACKER}")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["sku"], doc["org"], doc["version"]) == (STACKER, "default", 1)
    assert doc["profile"]["sku"] == STACKER and doc["profile"]["model"] == "MM-STK-07"
    assert doc["state"]["certificate_type"] == "CPC"
    assert doc["state"]["certifiable"] is False
    assert "16CFR1303" in doc["state"]["lab_requirements"]
    assert doc["certificates"] == []

    assessment = api.get("seller", f"/products/{STACKER}/assessment", params=A)
    assert assessment.status_code == 200
    assert assessment.json()["format"] == "toysafe/assessment@1"
    assert assessment.json()["sku"] == STACKER

    verification = api.get("seller", f"/products/{STACKER}/verification", params=A)
    assert verification.status_code == 200
    v = verification.json()
    assert (v["format"], v["sku"], v["as_of"], v["certifiable"]) == (
        "toysafe/verification@1",
        STACKER,
        AS_OF,
        False,
    )
    assert {req["status"] for req in v["requirements"]} == {"missing"}

    history = api.get("seller", f"/products/{STACKER}/history")
    assert history.status_code == 200
    h = history.json()
    assert h["sku"] == STACKER
    assert [x["version"] for x in h["versions"]] == [1]
    assert h["reports"] == [] and h["certificates"] == []

    assert api.get("rival", f"/products/{STACKER}").json()["org"] == "rival"
    assert api.get("seller", "/products/NO-SUCH-SKU").status_code == 404
    bad_date = api.get("seller", f"/products/{STACKER}/verification", params={"as_of": "x"})
    assert bad_date.status_code == 422 and detail_locs(bad_date) == [["query", "as_of"]]


@pytest.mark.parametrize("view", ["", "/assessment", "/verification", "/history"])
def test_another_organizations_product_is_not_found(api: Api, view: str) -> None:
    assert api.get("seller", f"/products/{TEETHER}{view}").status_code == 200
    r = api.get("rival", f"/products/{TEETHER}{view}")
    assert r.status_code == 404
    assert r.json() == {"detail": f"no product '{TEETHER}'"}
    # naming the other organization does not help
    r = api.get("rival", f"/products/{TEETHER}{view}", params={"org": "default"})
    assert r.status_code == 404
    r = api.get("seller", f"/products/{STACKER}{view}", params={"org": "rival"})
    assert r.status_code == 404
    # a lab sees nothing that is not shared with it
    assert api.get("lab", f"/products/{TEETHER}{view}").status_code == 404


# --- sharing with labs -------------------------------------------------------------------------


def test_share_and_unshare_with_a_lab(api: Api) -> None:
    r = api.put("seller", f"/products/{STACKER}/shares/12")
    assert r.status_code == 422
    assert detail_locs(r) == [["path", "lab_id"]]
    assert api.put("lab", f"/products/{STACKER}/shares/1234").status_code == 403
    assert api.put("reviewer", f"/products/{STACKER}/shares/1234").status_code == 403
    assert api.put("rival", f"/products/{TEETHER}/shares/1234").status_code == 404
    assert api.get("lab", f"/products/{STACKER}").status_code == 404

    r = api.put("seller", f"/products/{STACKER}/shares/1234")
    assert r.status_code == 204 and r.content == b""
    assert skus(api.get("lab", "/products")) == [("default", STACKER)]
    seen = api.get("lab", f"/products/{STACKER}")
    assert seen.status_code == 200 and seen.json()["org"] == "default"
    assert api.get("lab", f"/products/{STACKER}/verification", params=A).status_code == 200
    assert api.get("lab", f"/products/{TEETHER}").status_code == 404
    # sharing twice is idempotent
    assert api.put("seller", f"/products/{STACKER}/shares/1234").status_code == 204
    assert skus(api.get("lab", "/products")) == [("default", STACKER)]

    assert api.delete("lab", f"/products/{STACKER}/shares/1234").status_code == 403
    assert api.delete("reviewer", f"/products/{STACKER}/shares/1234").status_code == 403
    r = api.delete("seller", f"/products/{STACKER}/shares/1234")
    assert r.status_code == 204
    assert skus(api.get("lab", "/products")) == []
    assert api.get("lab", f"/products/{STACKER}").status_code == 404


# --- lab reports -------------------------------------------------------------------------------


def test_upload_reports_added_unchanged_conflict(api: Api) -> None:
    r = api.report("seller", chem())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["report_no"], body["org"], body["outcome"]) == (
        "ETC-2026-0612-01",
        "default",
        "added",
    )
    v = body["verification"][STACKER]
    assert v["format"] == "toysafe/verification@1" and v["certifiable"] is False
    by_id = {req["id"]: req for req in v["requirements"]}
    assert by_id["F963:4.3.5.1(2)"]["status"] == "pass"
    assert by_id["16CFR1303"]["status"] == "pass"
    assert by_id["F963:4.6"]["status"] == "missing"

    again = api.report("seller", chem())
    # a no-op answers 201 here, while an unchanged product answers 200 (see the report)
    assert again.status_code == 200  # a no-op, like an unchanged product
    assert again.json()["outcome"] == "unchanged"

    altered = chem()
    altered["results"][0]["value"] = 13
    r = api.report("seller", altered)
    assert r.status_code == 409
    assert "ETC-2026-0612-01" in r.json()["detail"]
    assert "different content" in r.json()["detail"]

    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert [x["report_no"] for x in history["reports"]] == ["ETC-2026-0612-01"]


def test_upload_report_rejects_bad_reports_naming_the_field(api: Api) -> None:
    future = chem()
    future["issued"] = "2026-12-01"
    r = api.report("seller", future)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "issued"]]
    assert "2026-12-01 is in the future" in detail_msgs(r)

    unit = chem()
    unit["results"][0]["unit"] = "zorkmids"
    r = api.report("seller", unit)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "results", 0, "unit"]]
    assert "unknown unit 'zorkmids'" in detail_msgs(r)

    bad_lab = chem()
    bad_lab["lab"]["cpsc_id"] = "12"
    r = api.report("seller", bad_lab)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "lab", "cpsc_id"]]

    no_results = chem()
    no_results["results"] = []
    r = api.report("seller", no_results)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "results"]]

    unknown = chem()
    unknown["products"] = [{"sku": "NO-SUCH-SKU"}]
    r = api.report("seller", unknown)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "products"]]

    # a product of another organization is not one the seller can see
    teether_only = chem()
    teether_only["products"] = [{"sku": TEETHER}]
    r = api.report("rival", teether_only)
    assert r.status_code == 422
    assert detail_locs(r) == [["body", "products"]]

    assert api.report("reviewer", chem()).status_code == 403
    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert history["reports"] == []


def test_lab_uploads_only_for_products_shared_with_it(api: Api) -> None:
    r = api.report("lab", chem())
    assert r.status_code == 403
    assert "not shared" in r.json()["detail"]

    assert api.put("seller", f"/products/{STACKER}/shares/1234").status_code == 204
    other_lab = chem()
    other_lab["lab"]["cpsc_id"] = "2468"
    r = api.report("lab", other_lab)
    assert r.status_code == 403
    assert "1234" in r.json()["detail"]

    r = api.report("lab", chem())
    assert r.status_code == 201, r.text
    assert (r.json()["org"], r.json()["outcome"]) == ("default", "added")
    assert list(r.json()["verification"]) == [STACKER]
    v = api.get("seller", f"/products/{STACKER}/verification", params=A).json()
    assert {q["id"]: q["status"] for q in v["requirements"]}["16CFR1303"] == "pass"

    # labs read, upload, but do not create products, certify or see catalogs
    assert api.post("lab", "/products", json=stacker_profile(), params=A).status_code == 403
    assert api.post("lab", f"/products/{STACKER}/certificates", params=A).status_code == 403
    assert api.get("lab", "/status", params=A).status_code == 403
    assert api.get("lab", "/listings").status_code == 403
    assert api.post("lab", "/listings", json=[]).status_code == 403
    params = {"from": "2026-01-01", "to": AS_OF}
    assert api.get("lab", "/impact", params=params).status_code == 403


def test_a_lab_report_for_a_rivals_product_does_not_leak_into_default(api: Api) -> None:
    assert api.put("rival", f"/products/{STACKER}/shares/1234").status_code == 204
    assert skus(api.get("lab", "/products")) == [("rival", STACKER)]
    r = api.report("lab", chem())
    assert r.status_code == 201, r.text
    assert (r.json()["org"], r.json()["outcome"]) == ("rival", "added")

    rival = api.get("rival", f"/products/{STACKER}/verification", params=A).json()
    assert {q["id"]: q["status"] for q in rival["requirements"]}["16CFR1303"] == "pass"
    rival_history = api.get("rival", f"/products/{STACKER}/history").json()
    assert [x["report_no"] for x in rival_history["reports"]] == ["ETC-2026-0612-01"]

    mine = api.get("seller", f"/products/{STACKER}/verification", params=A).json()
    for req in mine["requirements"]:
        assert req["status"] == "missing", req
        assert req["evidence"] == [], req
    assert api.get("seller", f"/products/{STACKER}/history").json()["reports"] == []
    assert (
        api.get("seller", f"/products/{STACKER}").json()["state"]["problems"][0].endswith("missing")
    )
    assert "ETC-2026-0612-01" not in json.dumps(api.get("seller", "/status", params=A).json())
    # the reviewer of default does not see it either
    reviewed = api.get("reviewer", f"/products/{STACKER}/verification", params=A).json()
    assert all(req["evidence"] == [] for req in reviewed["requirements"])

    # default may then store its own copy of the same report number
    r = api.report("seller", chem())
    assert (r.status_code, r.json()["org"], r.json()["outcome"]) == (201, "default", "added")


def test_history_does_not_show_another_organizations_events(api: Api) -> None:
    assert api.put("rival", f"/products/{STACKER}/shares/2468").status_code == 204
    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert "2468" not in json.dumps(history["events"])
    assert [e["kind"] for e in history["events"]] == ["product.add"]


def test_history_does_not_show_another_organizations_listings(api: Api) -> None:
    listing = [{"listing_id": "B0RIVAL001", "sku": STACKER, "title": "rival's stacker"}]
    assert api.post("rival", "/listings", json=listing).status_code == 200
    assert api.get("seller", "/listings").json() == []
    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert history["listings"] == []


def test_api_writes_record_the_signed_in_user(api: Api) -> None:
    profile = stacker_profile()
    profile["sku"] = "MM-STK-AUDIT"
    assert api.post("seller", "/products", json=profile, params=A).status_code == 201
    history = api.get("seller", "/products/MM-STK-AUDIT/history").json()
    assert history["versions"][0]["by"] == "seller@maplemoss.example"
    assert {e["actor"] for e in history["events"]} == {"seller@maplemoss.example"}


# --- listings --------------------------------------------------------------------------------


def test_listings_upsert_read_and_validation(api: Api) -> None:
    rows = [{"listing_id": "b0cw00dst7", "sku": STACKER, "title": "Stacker", "status": "Active"}]
    r = api.post("seller", "/listings", json=rows)
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 1, "updated": 0}
    rows[0]["status"] = "Inactive"
    assert api.post("seller", "/listings", json=rows).json() == {"added": 0, "updated": 1}

    expected = [
        {
            "org": "default",
            "marketplace": "amazon.com",
            "listing_id": "B0CW00DST7",
            "sku": STACKER,
            "title": "Stacker",
            "status": "Inactive",
        }
    ]
    assert api.get("seller", "/listings").json() == expected
    assert api.get("reviewer", "/listings").json() == expected
    assert api.get("admin", "/listings", params={"org": "default"}).json() == expected
    assert api.get("rival", "/listings").json() == []
    assert api.get("rival", "/listings", params={"org": "default"}).json() == []
    assert api.status_row("seller", STACKER)["listings"] == ["B0CW00DST7"]

    bad = api.post("seller", "/listings", json=[rows[0], {"listing_id": "B0CW", "sku": "X"}])
    assert bad.status_code == 422
    assert detail_locs(bad) == [["body", 1, "listing_id"]]
    no_sku = api.post("seller", "/listings", json=[{"listing_id": "B0CW00DST8", "sku": " "}])
    assert no_sku.status_code == 422 and detail_locs(no_sku) == [["body", 0, "sku"]]
    not_object = api.post("seller", "/listings", json=["B0CW00DST8"])
    assert not_object.status_code == 422 and detail_locs(not_object) == [["body", 0]]
    assert api.post("seller", "/listings", json={"listing_id": "B0CW00DST8"}).status_code == 422
    assert len(api.get("seller", "/listings").json()) == 1  # nothing half-written

    assert api.post("reviewer", "/listings", json=rows).status_code == 403
    # a listing without a profile shows in the status as no_profile
    orphan = [{"listing_id": "B0ORPHAN01", "sku": "NO-PROFILE"}]
    assert api.post("seller", "/listings", json=orphan).json() == {"added": 1, "updated": 0}
    assert api.status_row("seller", "NO-PROFILE")["status"] == "no_profile"


# --- labs ------------------------------------------------------------------------------------

NEW_LAB = (
    "cpsc_id,name,country,type,status,scope,accepted_on\n"
    "4321,New Lab (Xiamen),CN,independent,accepted,16CFR1303,2020-01-01\n"
    "4321,New Lab (Xiamen),CN,independent,accepted,16CFR1501,2020-02-01\n"
)
CSV = {"Content-Type": "text/csv"}


def test_labs_registry_read_by_all_imported_by_admins(api: Api) -> None:
    r = api.get("seller", "/labs")
    assert r.status_code == 200
    labs = {lab["cpsc_id"]: lab for lab in r.json()}
    assert sorted(labs) == ["1234", "2468", "5678"]
    assert labs["5678"]["status"] == "withdrawn"
    assert {"scope": "16CFR1303", "accepted_on": "2010-02-01"} in labs["1234"]["scopes"]
    assert api.get("lab", "/labs").json() == r.json()

    for role in ("seller", "lab", "reviewer"):
        denied = api.post(role, "/labs", content=NEW_LAB, headers=CSV, params=A)
        assert denied.status_code == 403, role
    r = api.post("admin", "/labs", content=NEW_LAB, headers=CSV, params=A)
    assert r.status_code == 200, r.text
    assert r.json() == {"labs": 1, "scopes": 2}
    labs = {lab["cpsc_id"]: lab for lab in api.get("seller", "/labs").json()}
    assert sorted(labs) == ["1234", "2468", "4321", "5678"]
    assert [s["scope"] for s in labs["4321"]["scopes"]] == ["16CFR1303", "16CFR1501"]

    bad = api.post("admin", "/labs", content="a,b\n1,2\n", headers=CSV)
    assert bad.status_code == 422
    assert detail_locs(bad) == [["body", "csv"]]
    assert "missing column" in detail_msgs(bad)


def test_a_registry_change_refreshes_every_organizations_state(api: Api) -> None:
    assert api.report("seller", chem()).status_code == 201
    assert api.report("seller", mech()).status_code == 201
    assert api.get("seller", f"/products/{STACKER}").json()["state"]["certifiable"] is True
    assert api.status_row("seller", STACKER)["status"] == "ready_to_certify"
    withdrawn = (EX / "labs.csv").read_text(encoding="utf-8")
    lines = [
        line.replace(",accepted,", ",withdrawn,").rstrip(",") + ",2026-01-15"
        if line.startswith("1234,")
        else line
        for line in withdrawn.splitlines()
    ]
    r = api.post("admin", "/labs", content="\n".join(lines) + "\n", headers=CSV, params=A)
    assert r.status_code == 200, r.text
    live = api.get("seller", f"/products/{STACKER}/verification", params=A).json()
    assert live["certifiable"] is False  # the live verification sees the withdrawal
    assert api.get("seller", f"/products/{STACKER}").json()["state"]["certifiable"] is False
    assert api.status_row("seller", STACKER)["status"] != "ready_to_certify"


# --- certificates ----------------------------------------------------------------------------


def test_certificate_refused_while_not_certifiable(api: Api) -> None:
    r = api.post("seller", f"/products/{STACKER}/certificates", params=A)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "verification does not pass" in detail["reason"]
    assert detail["verification"]["format"] == "toysafe/verification@1"
    assert detail["verification"]["sku"] == STACKER
    assert detail["verification"]["certifiable"] is False
    assert api.get("seller", f"/products/{STACKER}").json()["certificates"] == []
    # the rival's organization has no party file (certifier, custodian)
    r = api.post("rival", f"/products/{STACKER}/certificates", params=A)
    assert r.status_code == 409
    assert "party" in r.json()["detail"]
    assert api.post("seller", "/products/NO-SUCH-SKU/certificates", params=A).status_code == 404
    assert api.post("rival", f"/products/{TEETHER}/certificates", params=A).status_code == 404


def test_issue_read_and_download_a_certificate(api: Api) -> None:
    assert api.report("seller", chem()).status_code == 201
    assert api.report("seller", mech()).status_code == 201
    assert api.status_row("seller", STACKER)["status"] == "ready_to_certify"
    assert api.post("reviewer", f"/products/{STACKER}/certificates", params=A).status_code == 403

    r = api.post("seller", f"/products/{STACKER}/certificates", params={**A, "lot": "L-2026-11"})
    assert r.status_code == 201, r.text
    doc = r.json()
    cert = doc["certificate"]
    assert doc["format"] == "toysafe/certificate@1"
    assert cert["id"] == "CPC-MM-STK-07-20261121-V1"
    assert (cert["type"], cert["version"], cert["issued"]) == ("CPC", 1, AS_OF)
    assert cert["product"]["sku"] == STACKER
    assert {t["report_no"] for t in cert["testing"]} == {"ETC-2026-0612-01", "ETC-2026-0612-02"}
    assert doc["signature"]["digest"].startswith("sha256:")
    cid = cert["id"]

    got = api.get("seller", f"/certificates/{cid}")
    assert got.status_code == 200 and got.json() == doc
    pdf = api.get("seller", f"/certificates/{cid}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{cid}.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    product = api.get("seller", f"/products/{STACKER}").json()
    assert [(c["id"], c["version"], c["type"]) for c in product["certificates"]] == [
        (cid, 1, "CPC")
    ]
    row = api.status_row("seller", STACKER)
    assert row["status"] == "certified"
    assert row["certificate"] == cid
    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert [c["id"] for c in history["certificates"]] == [cid]
    assert [x["lot"] for x in history["lots"]] == ["L-2026-11"]

    # the reviewer and the admin read it; another seller and the lab do not see it
    assert api.get("reviewer", f"/certificates/{cid}").json() == doc
    assert api.get("admin", f"/certificates/{cid}/pdf").content == pdf.content
    for role in ("rival", "lab"):
        for suffix in ("", "/pdf"):
            r = api.get(role, f"/certificates/{cid}{suffix}")
            assert r.status_code == 404, (role, suffix)
            assert r.json() == {"detail": f"no certificate '{cid}'"}
    assert api.get("seller", "/certificates/CPC-NOPE-V1").status_code == 404

    # the next one is version 2
    r = api.post("seller", f"/products/{STACKER}/certificates", params=A)
    assert r.status_code == 201
    assert r.json()["certificate"]["version"] == 2


def test_a_certificate_is_not_dated_before_its_evidence(api: Api) -> None:
    assert api.report("seller", chem()).status_code == 201
    assert api.report("seller", mech()).status_code == 201
    r = api.post("seller", f"/products/{STACKER}/certificates", params={"as_of": "2000-01-01"})
    assert r.status_code == 409, r.json()["certificate"]["issued"]


def test_admin_can_name_the_organization_of_an_ambiguous_sku(api: Api) -> None:
    assert api.get("admin", f"/products/{STACKER}").status_code == 409
    assert api.get("admin", f"/products/{STACKER}", params={"org": "default"}).status_code == 200
    r = api.put("admin", f"/products/{STACKER}/shares/1234", params={"org": "default"})
    assert r.status_code == 204, r.text


# --- status and impact -----------------------------------------------------------------------


def test_status_of_a_catalog(api: Api) -> None:
    r = api.get("seller", "/status", params=A)
    assert r.status_code == 200
    doc = r.json()
    assert (doc["format"], doc["org"], doc["as_of"]) == ("toysafe/status@1", "default", AS_OF)
    assert sum(doc["summary"].values()) == N_DEFAULT == len(doc["products"])
    assert [p["sku"] for p in doc["products"]] == sorted(p["sku"] for p in doc["products"])
    row = next(p for p in doc["products"] if p["sku"] == STACKER)
    assert row["status"] == "missing_evidence"
    assert row["certificate"] is None

    assert api.get("reviewer", "/status", params={**A, "org": "default"}).json() == doc
    own = api.get("reviewer", "/status", params=A).json()
    assert (own["org"], own["products"]) == ("marketplace", [])
    assert api.get("reviewer", "/status", params={**A, "org": "rival"}).status_code == 404
    r = api.get("seller", "/status", params={**A, "org": "rival"})
    assert r.status_code == 404 and r.json() == {"detail": "no organization 'rival'"}
    assert api.get("seller", "/status", params={"org": "nowhere"}).status_code == 404
    rival = api.get("admin", "/status", params={**A, "org": "rival"}).json()
    assert [p["sku"] for p in rival["products"]] == [STACKER]
    bad = api.get("seller", "/status", params={"as_of": "2026-13-01"})
    assert bad.status_code == 422 and detail_locs(bad) == [["query", "as_of"]]


def test_status_at_the_end_of_the_calendar_is_not_a_server_error(api: Api) -> None:
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        r = client.get(V1 + "/status", headers=api.auth("seller"), params={"as_of": "9999-12-31"})
    assert r.status_code in (200, 422), r.text


def test_rule_change_impact(api: Api) -> None:
    params = {"from": "2020-01-01", "to": AS_OF}
    r = api.get("seller", "/impact", params=params)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["format"], doc["from"], doc["to"]) == ("toysafe/impact@1", "2020-01-01", AS_OF)
    changed = {i["sku"]: i for i in doc["changed"]}
    assert changed and set(changed) <= {p["sku"] for p in api.get("seller", "/products").json()}
    assert changed[STACKER]["toy_standard"] == {"from": "F963-17", "to": "F963-23"}
    same_day = api.get("seller", "/impact", params={"from": AS_OF, "to": AS_OF}).json()
    assert same_day["changed"] == []

    backwards = api.get("seller", "/impact", params={"from": AS_OF, "to": "2020-01-01"})
    assert backwards.status_code == 422
    assert detail_locs(backwards) == [["query", "from"]]
    missing = api.get("seller", "/impact", params={"from": "2020-01-01"})
    assert missing.status_code == 422 and detail_locs(missing) == [["query", "to"]]

    assert api.get("reviewer", "/impact", params={**params, "org": "default"}).json() == doc
    assert api.get("reviewer", "/impact", params={**params, "org": "rival"}).status_code == 404
    assert api.get("rival", "/impact", params={**params, "org": "default"}).status_code == 404


# --- the reviewer ----------------------------------------------------------------------------


def test_reviewer_reads_enrolled_catalogs_but_cannot_write(api: Api) -> None:
    for path in (
        f"/products/{STACKER}",
        f"/products/{STACKER}/assessment",
        f"/products/{STACKER}/verification",
        f"/products/{STACKER}/history",
    ):
        r = api.get("reviewer", path, params=A)
        assert r.status_code == 200, path
        assert r.json()["sku"] == STACKER
    assert api.get("reviewer", f"/products/{STACKER}").json()["org"] == "default"
    assert api.get("reviewer", f"/products/{STACKER}", params={"org": "rival"}).status_code == 404
    assert api.get("reviewer", "/products", params={"org": "rival"}).json() == []

    assert api.post("reviewer", "/products", json=stacker_profile(), params=A).status_code == 403
    assert api.post("reviewer", "/reports", json=chem(), params=A).status_code == 403
    assert api.post("reviewer", "/listings", json=[]).status_code == 403
    assert api.put("reviewer", f"/products/{STACKER}/shares/1234").status_code == 403
    assert api.delete("reviewer", f"/products/{STACKER}/shares/1234").status_code == 403
    assert api.post("reviewer", f"/products/{STACKER}/certificates", params=A).status_code == 403
    assert api.post("reviewer", "/labs", content=NEW_LAB, headers=CSV).status_code == 403
    # nothing was written
    mine = api.get("seller", f"/products/{STACKER}/history").json()
    assert ([v["version"] for v in mine["versions"]], mine["reports"]) == ([1], [])
    assert mine["certificates"] == [] and mine["listings"] == []
    assert api.get("lab", "/products").json() == []


# --- input the databases differ on -------------------------------------------------------------


def test_nul_characters_are_a_client_error_not_a_server_error(
    api: Api, request: pytest.FixtureRequest
) -> None:
    named = stacker_profile()
    named["sku"] = "MM\x00STK"
    report = chem()
    report["report_no"] = "ETC\x00-1"
    requests = [
        ("get", "/products/MM%00STK", {}),
        ("get", "/products", {"params": {"org": "def\x00ault"}}),
        ("get", "/status", {"params": {"org": "def\x00ault"}}),
        ("get", "/certificates/CPC%00X", {}),
        ("delete", f"/products/{STACKER}/shares/12%0034", {}),
        ("post", "/products", {"json": named, "params": A}),
        ("post", "/listings", {"json": [{"listing_id": "B0CW00DST7", "sku": "MM\x00STK"}]}),
        ("post", "/reports", {"json": report, "params": A}),
    ]
    statuses = {}
    with TestClient(api.client.app, raise_server_exceptions=False) as client:
        for method, path, kw in requests:
            r = client.request(method, V1 + path, headers=api.auth("seller"), **kw)
            statuses[f"{method.upper()} {path}"] = r.status_code
    assert all(code < 500 for code in statuses.values()), statuses
