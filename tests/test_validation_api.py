"""``POST /api/v1/program/validations`` and the TIC extension over HTTP, on SQLite and
PostgreSQL: who may upload (a lab user of an approved TIC; never a seller), what is refused
with nothing stored, revisions, and what a filed validation does to the listing's request."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.store_fixtures import DB
from tests.validation_helpers import Tic, document, make_tic, signed
from toysafe.cli.app import app as cli
from toysafe.core.program.validation import dumps
from toysafe.store.db import open_store
from toysafe.store.program import models as pm
from toysafe.store.program import validation_models as vm
from toysafe.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EX = Path(__file__).resolve().parent.parent / "examples"
STACKER = "B0CW00DST7"  # the stacker's listing in examples/program/listings.csv (seller default)
TILES = "B0BMT60CLR"
AS_OF = "2026-11-06"
SGS = make_tic("sgs-us", ("1001",))
BV = make_tic("bv-us", ("2002",))
runner = CliRunner()


def ok(*args: str) -> str:
    r = runner.invoke(cli, list(args))
    assert r.exit_code == 0, f"toysafe {' '.join(args)}: {r.output}"
    return str(r.stdout)


def token_of(*args: str) -> str:
    return ok("users", "add", *args, "--token").strip().splitlines()[-1]


def stacker_doc(tic: Tic, **kw: Any) -> dict[str, Any]:
    kw.setdefault("listing_ids", [STACKER])
    kw.setdefault("issued", date(2026, 11, 5))
    kw.setdefault("report_issued", date(2026, 10, 20))
    return document(tic, seller="default", lab_id="1234", **kw)


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    store: Any

    def post(self, role: str | None, path: str, **kw: Any) -> Any:
        headers = {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}
        headers.update(kw.pop("headers", {}))
        kw.setdefault("params", {"as_of": AS_OF})
        return self.client.post("/api/v1/program" + path, headers=headers, **kw)

    def upload(self, role: str | None, doc: dict[str, Any] | bytes) -> Any:
        body = doc if isinstance(doc, bytes) else dumps(doc)
        return self.post(
            role, "/validations", content=body, headers={"Content-Type": "application/json"}
        )

    def stored(self) -> tuple[int, int]:
        with self.store.reader() as s:
            return (
                s.scalar(select(func.count()).select_from(pm.Validation)) or 0,
                s.scalar(select(func.count()).select_from(vm.ValidationFiling)) or 0,
            )

    def request_state(self, listing_id: str) -> str:
        with self.store.reader() as s:
            state = s.scalar(
                select(pm.Request.state)
                .join(pm.ProgramListing, pm.ProgramListing.id == pm.Request.listing_pk)
                .where(pm.ProgramListing.listing_id == listing_id)
            )
            return str(state)

    def request_ref(self, listing_id: str) -> str:
        with self.store.reader() as s:
            rid = s.scalar(
                select(pm.Request.id)
                .join(pm.ProgramListing, pm.ProgramListing.id == pm.Request.listing_pk)
                .where(pm.ProgramListing.listing_id == listing_id)
            )
            return f"REQ-{rid:06d}"


@pytest.fixture
def api(ws_env: DB, tmp_path: Path) -> Iterator[Api]:
    policy = yaml.safe_load((EX / "program" / "policy.yaml").read_text())
    policy["categories"]["toys"]["evidence"] = "direct_validation"
    policy["approved_tics"] = [SGS.policy_entry(), BV.policy_entry()]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    ok("init", "--party", str(EX / "party.yaml"))
    ok("labs", "import", str(EX / "labs.csv"))
    ok("program", "policy", "load", str(path), "--as-of", "2026-11-01")
    ok(
        "program",
        "listings",
        "import",
        str(EX / "program" / "listings.csv"),
        "--as-of",
        "2026-11-01",
    )
    ok("program", "sweep", "--as-of", "2026-11-02")
    tokens = {
        "seller": token_of("seller@maplemoss.example", "--org", "default", "--role", "seller"),
        "sgs": token_of("lab@sgs.example", "--org", "sgs", "--role", "lab", "--lab-id", "1001"),
        "bv": token_of("lab@bv.example", "--org", "bv", "--role", "lab", "--lab-id", "2002"),
        "lab": token_of("lab@etc.example", "--org", "etc", "--role", "lab", "--lab-id", "1234"),
        "reviewer": token_of("r@market.example", "--org", "demo-market", "--role", "reviewer"),
    }
    store = open_store()
    app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
    with TestClient(app) as client:
        yield Api(client, tokens, store)
    store.engine.dispose()


def test_an_approved_tic_uploads_and_the_request_is_approved(api: Api) -> None:
    assert api.request_state(STACKER) == "open"
    r = api.upload("sgs", signed(SGS, stacker_doc(SGS)))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["accepted"] and out["counts"] and out["requests"][0]["state"] == "approved"
    assert api.request_state(STACKER) == "approved"
    again = api.upload("sgs", signed(SGS, stacker_doc(SGS)))
    assert again.status_code == 200 and again.json()["unchanged"] is True
    assert api.stored() == (1, 1)


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("seller", 403), ("reviewer", 403), ("lab", 403)]
)
def test_only_a_lab_user_of_an_approved_tic_may_upload(
    api: Api, role: str | None, status: int
) -> None:
    r = api.upload(role, signed(SGS, stacker_doc(SGS)))
    assert r.status_code == status, r.text
    assert api.stored() == (0, 0)


def test_a_tic_cannot_upload_another_tics_document(api: Api) -> None:
    r = api.upload("bv", signed(SGS, stacker_doc(SGS)))
    assert r.status_code == 403 and r.json()["detail"]["refused"] == "wrong_tic"
    stranger = make_tic("acme", ("1001",))
    r = api.upload("sgs", signed(stranger, stacker_doc(stranger)))
    assert r.status_code == 403
    assert api.stored() == (0, 0)


def test_tampered_and_wrong_key_are_422_on_the_signature(api: Api) -> None:
    raw = dumps(signed(SGS, stacker_doc(SGS))).replace(b"Yunhe", b"Yunhf")
    r = api.upload("sgs", raw)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "signature", "value"]
    impostor = make_tic("sgs-us")
    r = api.upload("sgs", signed(impostor, stacker_doc(impostor)))
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "bad_signature"
    assert api.stored() == (0, 0)
    assert api.request_state(STACKER) == "open"


def test_a_bad_field_is_422_naming_it(api: Api) -> None:
    doc = signed(SGS, stacker_doc(SGS))
    doc["parameters"][2]["verdict"] = "ok"
    r = api.upload("sgs", doc)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "parameters", 2, "verdict"]
    r = api.upload("sgs", b'{"a": 1, "a": 2}')
    assert r.status_code == 422 and "duplicate key" in r.json()["detail"][0]["msg"]
    unknown = signed(SGS, stacker_doc(SGS, listing_ids=["B0NOPE"]))
    r = api.upload("sgs", unknown)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "listing_ids", 0]
    assert api.stored() == (0, 0)


def test_partial_testing_and_wrong_n_a_ask_for_a_revision(api: Api) -> None:
    doc = stacker_doc(SGS)
    doc["parameters"] = [p for p in doc["parameters"] if p["requirement"] != "16CFR1501"]
    for p in doc["parameters"]:
        if p["requirement"] == "16CFR1303":
            p.clear()
            p.update(requirement="16CFR1303", verdict="n/a", justification="not painted")
    r = api.upload("sgs", signed(SGS, doc))
    assert r.status_code == 201, r.text
    found = {(f["check"], f["requirement"]) for f in r.json()["findings"]}
    assert found == {("missing", "16CFR1501"), ("na_applies", "16CFR1303")}
    assert api.request_state(STACKER) == "revision_requested"


def test_replay_of_a_lower_revision_is_409(api: Api) -> None:
    doc = stacker_doc(SGS, revision=1)
    doc["parameters"] = doc["parameters"][1:]  # not full testing: the request stays open
    assert api.upload("sgs", signed(SGS, doc)).status_code == 201
    r = api.upload("sgs", signed(SGS, stacker_doc(SGS, revision=0)))
    assert r.status_code == 409 and r.json()["detail"]["refused"] == "replayed_revision"
    assert api.stored() == (1, 1)


def test_a_forged_report_number_goes_to_a_reviewer(api: Api) -> None:
    assert api.upload("sgs", signed(SGS, stacker_doc(SGS))).status_code == 201
    # another TIC, another listing, the same report number with another issue date
    tiles = stacker_doc(BV, listing_ids=[TILES], trf="TRF-2026-000777")
    tiles["reports"][0]["issued"] = "2026-10-21"
    r = api.upload("bv", signed(BV, tiles))
    assert r.status_code == 201, r.text
    assert "forged_or_altered" in [f["code"] for f in r.json()["findings"]]
    assert api.request_state(TILES) == "in_review"


def test_the_handling_tic_extends_once(api: Api) -> None:
    doc = stacker_doc(SGS)
    doc["parameters"] = doc["parameters"][1:]  # findings: the request stays open
    assert api.upload("sgs", signed(SGS, doc)).status_code == 201
    ref = api.request_ref(STACKER)
    path = f"/requests/{ref}/extension"
    assert api.post(None, path).status_code == 401
    assert api.post("seller", path).status_code == 403
    assert api.post("bv", path).status_code == 404  # not handling it: out of its sight
    assert api.post("sgs", path, json={"tic": "bv-us"}).status_code == 403
    r = api.post("sgs", path)
    assert r.status_code == 200, r.text
    assert r.json()["days"] == 60 and r.json()["due"] == "2027-01-15"
    r = api.post("sgs", path)
    assert r.status_code == 409 and r.json()["detail"]["refused"] == "already_extended"
    assert api.post("sgs", "/requests/REQ-999999/extension").status_code == 404


def test_openapi_lists_the_endpoints(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/program/validations" in paths
    assert "/api/v1/program/requests/{request_id}/extension" in paths
    assert json.dumps(paths["/api/v1/program/validations"]["post"]["requestBody"])
