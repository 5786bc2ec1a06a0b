"""The program's REST API (contract 8.6) on SQLite and PostgreSQL: every endpoint, the same
documents as the CLI, and who may see and do what (401, 403, 404, 409, 422)."""

from __future__ import annotations

import base64
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

from tests.program_seed import EX, open_request, seed_listing, seed_policy
from tests.store_fixtures import DB
from toysafe.cli.app import app as cli
from toysafe.io.reports import read_report_file
from toysafe.store.db import Store, open_store
from toysafe.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
AS_OF = "2026-11-21"
P = "/api/v1/program"
runner = CliRunner()


def ok(*args: Any) -> str:
    result = runner.invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def token_of(*args: str) -> str:
    return ok("users", "add", *args, "--token").strip().splitlines()[-1]


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    store: Store
    cert: dict[str, Any]
    mine: str  # default's request
    theirs: str  # rival's request
    listing_pk: int

    def auth(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.get(P + path, headers=self.auth(role), **kw)

    def post(self, role: str | None, path: str, **kw: Any) -> Any:
        return self.client.post(P + path, headers=self.auth(role), **kw)

    def submission(self, **changes: Any) -> dict[str, Any]:
        body = {
            "profile": yaml.safe_load(STACKER.read_text()),
            "certificate": self.cert,
            "reports": [
                json.loads(CHEM.read_text()),
                read_report_file(MECH)[0][1].model_dump(
                    mode="json", by_alias=True, exclude_none=True
                ),
            ],
        }
        body.update(changes)
        return body


@pytest.fixture
def api(ws_env: DB, tmp_path: Path) -> Iterator[Api]:
    ok("init", "--party", EX / "party.yaml")
    ok("labs", "import", EX / "labs.csv", "--as-of", AS_OF)
    out = tmp_path / "cert"
    ok(
        "certify",
        STACKER,
        "--reports",
        CHEM,
        MECH,
        "--labs",
        EX / "labs.csv",
        "--party",
        EX / "party.yaml",
        "--as-of",
        AS_OF,
        "--out",
        out,
    )
    tokens = {
        "seller": token_of("seller@maplemoss.example", "--org", "default", "--role", "seller"),
        "rival": token_of("seller@rival.example", "--org", "rival", "--role", "seller"),
        "lab": token_of("lab@etc.example", "--org", "etc-lab", "--role", "lab", "--lab-id", "1234"),
        "reviewer": token_of("review@market.example", "--org", "demo-market", "--role", "reviewer"),
        "outsider": token_of("review@other.example", "--org", "other-market", "--role", "reviewer"),
        "admin": token_of("admin@toysafe.example", "--org", "operators", "--role", "admin"),
    }
    ok("enroll", "default", "--reviewer", "demo-market")
    ok("enroll", "rival", "--reviewer", "demo-market")
    store = open_store()
    seed_policy(store)
    pk = seed_listing(store)
    mine = open_request(store, pk)
    theirs = open_request(store, seed_listing(store, "B0RIVAL001", "rival", model="RV-1"))
    app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    cert = json.loads((out / "MM-STK-07.cpc.json").read_text())
    with TestClient(app) as client:
        yield Api(client, tokens, store, cert, mine, theirs, pk)
    store.engine.dispose()


ENDPOINTS = [
    ("get", "/requests"),
    ("get", "/requests/REQ-000001"),
    ("post", "/requests/REQ-000001/submission"),
    ("post", "/requests/REQ-000001/decision"),
    ("post", "/requests/REQ-000001/appeal"),
    ("get", "/listings/B0CW00DST7"),
    ("get", "/health"),
    ("get", "/health/default"),
    ("get", "/queue"),
    ("get", "/requests/REQ-000001/review"),
    ("post", "/requests/REQ-000001/claim"),
    ("post", "/requests/REQ-000001/release"),
    ("post", "/requests/REQ-000001/escalate"),
    ("post", "/requests/REQ-000001/notes"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_needs_credentials(api: Api, method: str, path: str) -> None:
    r = getattr(api.client, method)(P + path, **({"json": {}} if method == "post" else {}))
    assert r.status_code == 401


def test_a_seller_sees_its_own_requests_only(api: Api) -> None:
    mine = api.get("seller", "/requests", params={"as_of": AS_OF}).json()
    assert [d["id"] for d in mine] == [api.mine]
    assert mine[0]["format"] == "toysafe/request@1" and mine[0]["overdue"] is True
    assert api.get("seller", f"/requests/{api.theirs}").status_code == 404
    assert api.get("seller", "/requests", params={"seller": "rival"}).json() == []
    assert api.get("seller", "/listings/B0RIVAL001").status_code == 404
    assert api.get("seller", "/requests/garbage").status_code == 404


def test_a_reviewer_sees_the_enrolled_sellers_and_an_outsider_none(api: Api) -> None:
    ids = [d["id"] for d in api.get("reviewer", "/requests").json()]
    assert ids == [api.mine, api.theirs]
    assert [
        d["id"] for d in api.get("reviewer", "/requests", params={"seller": "rival"}).json()
    ] == [api.theirs]
    assert api.get("outsider", "/requests").json() == []
    assert api.get("outsider", f"/requests/{api.mine}").status_code == 404
    assert api.get("admin", f"/requests/{api.theirs}").status_code == 200
    assert api.get("lab", "/requests").status_code == 403


def test_the_same_document_as_the_cli(api: Api) -> None:
    via_api = api.get("reviewer", f"/requests/{api.mine}", params={"as_of": AS_OF}).json()
    via_cli = json.loads(
        ok("program", "requests", "--seller", "default", "--format", "json", "--as-of", AS_OF)
    )
    assert via_api == via_cli[0]


def test_a_seller_submits_and_is_approved_at_once(api: Api) -> None:
    r = api.post(
        "seller", f"/requests/{api.mine}/submission", json=api.submission(), params={"as_of": AS_OF}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "approved" and out["request_document"]["state"] == "approved"
    listing = api.get("seller", "/listings/B0CW00DST7", params={"as_of": AS_OF}).json()
    assert listing["state"] == "active" and listing["valid_until"] == "2027-06-12"
    assert listing["actions"][0]["reasons"]["rule"] == "P9"
    again = api.post("seller", f"/requests/{api.mine}/submission", json=api.submission())
    assert (
        again.status_code == 409 and again.json()["detail"]["refused"] == "not_awaiting_submission"
    )


def test_a_submission_with_findings_is_sent_back(api: Api) -> None:
    body = api.submission(reports=[json.loads(CHEM.read_text())])
    out = api.post(
        "seller", f"/requests/{api.mine}/submission", json=body, params={"as_of": AS_OF}
    ).json()
    assert out["state"] == "revision_requested"
    doc = api.get("seller", f"/requests/{api.mine}").json()
    assert {f["code"] for f in doc["findings"]} >= {"missing_requirement"}
    assert all(f["next_step"] for f in doc["findings"])


def test_only_the_seller_submits_and_only_its_own(api: Api) -> None:
    assert (
        api.post("reviewer", f"/requests/{api.mine}/submission", json=api.submission()).status_code
        == 403
    )
    assert (
        api.post("rival", f"/requests/{api.mine}/submission", json=api.submission()).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"profile": {"name": "no sku"}}, ["body", "profile", "sku"]),
        ({"reports": [{"report_no": "X"}]}, ["body", "reports", 0, "lab"]),
        ({"certificate": {"format": "nope"}}, ["body", "certificate", "format"]),
        ({"reports": []}, ["body", "reports"]),
    ],
)
def test_a_bad_submission_is_422_naming_the_field(
    api: Api, change: dict[str, Any], loc: list[Any]
) -> None:
    r = api.post("seller", f"/requests/{api.mine}/submission", json=api.submission(**change))
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]]


def test_a_reviewer_decides_and_a_seller_may_not(api: Api) -> None:
    cert = dict(api.cert)
    cert["certificate"] = {**cert["certificate"], "toy_standard": "F963-17"}  # altered
    out = api.post(
        "seller",
        f"/requests/{api.mine}/submission",
        json=api.submission(certificate=cert),
        params={"as_of": AS_OF},
    ).json()
    assert out["state"] == "in_review"
    assert (
        api.post(
            "seller",
            f"/requests/{api.mine}/decision",
            json={"decision": "reject", "reason": "forged_or_altered"},
        ).status_code
        == 403
    )
    bad = api.post(
        "reviewer",
        f"/requests/{api.mine}/decision",
        json={"decision": "reject", "reason": "model_mismatch"},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "reason"]
    assert (
        api.post(
            "reviewer", f"/requests/{api.mine}/decision", json={"decision": "maybe", "reason": "x"}
        ).status_code
        == 422
    )
    r = api.post(
        "reviewer",
        f"/requests/{api.mine}/decision",
        json={"decision": "reject", "reason": "forged_or_altered"},
        params={"as_of": "2026-11-22"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "rejected"
    health = api.get("seller", "/health", params={"as_of": "2026-11-22"}).json()
    assert health["state"] == "suspended" and health["score"] == 0
    assert "trusted" not in health
    market = api.get("reviewer", "/health/default", params={"as_of": "2026-11-22"}).json()
    assert "trusted" in market and market["violations"][0]["severity"] == "critical"
    assert api.get("seller", "/health/default").status_code == 403
    assert api.get("reviewer", "/health").status_code == 403
    assert api.get("outsider", "/health/default").status_code == 404


def test_an_appeal_through_the_api(api: Api) -> None:
    evidence = [{"name": "manual.txt", "content_base64": base64.b64encode(b"for adults").decode()}]
    body = {
        "claim": "not_applicable",
        "root_cause": "an adult collectible",
        "fix": "category corrected",
        "prevention": "catalog review",
        "evidence": evidence,
    }
    assert api.post("reviewer", f"/requests/{api.mine}/appeal", json=body).status_code == 403
    assert api.post("rival", f"/requests/{api.mine}/appeal", json=body).status_code == 404
    missing = api.post("seller", f"/requests/{api.mine}/appeal", json={**body, "fix": ""})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "fix"]
    r = api.post(
        "seller", f"/requests/{api.mine}/appeal", json=body, params={"as_of": "2026-11-05"}
    )
    assert r.status_code == 201, r.text
    appeal = r.json()
    assert appeal["format"] == "toysafe/appeal@1" and appeal["state"] == "pending"
    assert api.get("seller", f"/appeals/{appeal['id']}").json()["id"] == appeal["id"]
    assert api.get("rival", f"/appeals/{appeal['id']}").status_code == 404
    assert (
        api.post(
            "seller",
            f"/appeals/{appeal['id']}/decision",
            json={"outcome": "overturn", "reason": "x"},
        ).status_code
        == 403
    )
    d = api.post(
        "reviewer",
        f"/appeals/{appeal['id']}/decision",
        json={"outcome": "overturn", "reason": "for adults"},
        params={"as_of": "2026-11-06"},
    )
    assert d.status_code == 200, d.text
    assert api.get("seller", f"/requests/{api.mine}").json()["state"] == "not_applicable"
    late = api.post("seller", f"/requests/{api.theirs}/appeal", json=body)
    assert late.status_code == 404  # rival's request, out of reach
