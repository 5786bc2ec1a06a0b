"""Record safety (contract 10) over the API and the command line, on SQLite and PostgreSQL:
create vs change, what a change invalidates, revert, report withdrawal, actors, the
withdrawn-lab warning, duplicate listing rows, concurrent certificates."""

from __future__ import annotations

import copy
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.test_api import (
    AS_OF,
    CHEM_FILE,
    EX,
    MECH_FILE,
    STACKER,
    Api,
    chem,
    mech,
    ok,
    stacker_profile,
)
from tests.test_api import api as _api_fixture  # noqa: F401 - a fixture, used by name
from toysafe.cli.app import app as cli

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

A = {"as_of": AS_OF}


@pytest.fixture
def api(_api_fixture: Api) -> Api:  # noqa: F811 - the fixture imported above
    """The workspace and users of tests/test_api.py."""
    return _api_fixture


CHEM_NO = "ETC-2026-0612-01"
runner = CliRunner()


def _with_evidence(api: Api) -> None:
    assert api.report("seller", chem()).status_code == 201
    assert api.report("seller", mech()).status_code == 201
    assert api.status_row("seller", STACKER)["status"] == "ready_to_certify"


def _repainted() -> dict[str, Any]:
    changed = copy.deepcopy(stacker_profile())
    changed["components"][2]["material"] = "ink_other"  # the red paint is another coating
    return changed


def test_a_change_says_what_it_invalidates_and_a_dry_run_stores_nothing(api: Api) -> None:
    _with_evidence(api)
    dry = api.put("seller", f"/products/{STACKER}", json=_repainted(), params={**A, "dry_run": 1})
    assert dry.status_code == 200, dry.text
    inv = dry.json()["invalidates"]
    assert inv["material_change"] is True and inv["citation"] == "16 CFR 1107.23"
    assert inv["components"] == [
        {"component": "paint-red", "change": "changed", "fields": ["material"]}
    ]
    assert any(CHEM_NO in r["reports"] for r in inv["requirements_no_longer_met"])
    assert api.get("seller", f"/products/{STACKER}").json()["version"] == 1
    assert api.status_row("seller", STACKER)["status"] == "ready_to_certify"

    done = api.put("seller", f"/products/{STACKER}", json=_repainted(), params=A)
    assert done.status_code == 200 and done.json()["version"] == 2
    assert done.json()["invalidates"] == inv
    assert api.status_row("seller", STACKER)["status"] != "ready_to_certify"
    # the URL and the profile must name the same SKU; unknown SKUs are 404
    other = {**stacker_profile(), "sku": "ELSE-1"}
    r = api.put("seller", f"/products/{STACKER}", json=other, params=A)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "sku"]
    assert api.put("seller", "/products/ELSE-1", json=other, params=A).status_code == 404
    assert api.put("reviewer", f"/products/{STACKER}", json=other, params=A).status_code == 403


def test_revert_restores_an_earlier_version_and_its_evidence(api: Api) -> None:
    _with_evidence(api)
    assert api.put("seller", f"/products/{STACKER}", json=_repainted(), params=A).status_code == 200
    r = api.post("seller", f"/products/{STACKER}/revert", json={"to": 1}, params=A)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 3 and r.json()["restored"] == 1
    again_met = r.json()["invalidates"]["requirements_met_again"]
    assert any(CHEM_NO in x["reports"] for x in again_met)
    assert api.status_row("seller", STACKER)["status"] == "ready_to_certify"
    history = api.get("seller", f"/products/{STACKER}/history").json()
    assert [v["version"] for v in history["versions"]] == [1, 2, 3]
    assert any(e["kind"] == "product.revert" for e in history["events"])
    again = api.post("seller", f"/products/{STACKER}/revert", json={"to": 3}, params=A)
    assert again.status_code == 409
    bad = api.post("seller", f"/products/{STACKER}/revert", json={"to": 9}, params=A)
    assert bad.status_code == 422
    assert api.post("rival", "/products/CG-ELE-12/revert", json={"to": 1}).status_code == 404


def test_a_withdrawn_report_is_no_evidence_but_stays_in_the_history(api: Api) -> None:
    _with_evidence(api)
    r = api.post("seller", f"/reports/{CHEM_NO}/withdrawal", json={"reason": "lab recalled it"})
    assert r.status_code == 201, r.text
    assert r.json()["withdrawn_by"] == "seller@maplemoss.example"
    assert api.status_row("seller", STACKER)["status"] != "ready_to_certify"
    verification = api.get("seller", f"/products/{STACKER}/verification", params=A).json()
    assert CHEM_NO not in {x["report_no"] for x in verification["reports"]}
    history = api.get("seller", f"/products/{STACKER}/history").json()
    (gone,) = history["withdrawn_reports"]
    assert gone["report_no"] == CHEM_NO and gone["reason"] == "lab recalled it"
    assert gone["by"] == "seller@maplemoss.example"
    twice = api.post("seller", f"/reports/{CHEM_NO}/withdrawal", json={"reason": "again"})
    assert twice.status_code == 409
    assert (
        api.post("rival", f"/reports/{CHEM_NO}/withdrawal", json={"reason": "x"}).status_code == 404
    )
    assert api.post("seller", "/reports/NOPE/withdrawal", json={"reason": "x"}).status_code == 404
    empty = api.post("seller", f"/reports/{CHEM_NO}/withdrawal", json={"reason": ""})
    assert empty.status_code == 422


def test_the_command_line_reverts_withdraws_and_names_its_actor(api: Api, tmp_path: Path) -> None:
    import yaml

    ok("report", "add", str(CHEM_FILE), str(MECH_FILE), "--as-of", AS_OF)
    changed = tmp_path / "repainted.yaml"
    changed.write_text(yaml.safe_dump(_repainted()), encoding="utf-8")
    ok("--actor", "alice@maplemoss.example", "product", "add", str(changed), "--as-of", AS_OF)
    out = ok("product", "revert", STACKER, "--to", "1", "--as-of", AS_OF)
    assert "version 3 restores version 1" in out and "met again" in out and CHEM_NO in out
    done = runner.invoke(cli, ["report", "withdraw", CHEM_NO, "--reason", "wrong sample"])
    assert done.exit_code == 0 and "withdrawn by tester" in done.output
    again = runner.invoke(cli, ["report", "withdraw", CHEM_NO, "--reason", "wrong sample"])
    assert again.exit_code == 2 and "withdrawn already" in again.output
    history = api.get("seller", f"/products/{STACKER}/history").json()
    by = {v["version"]: v["by"] for v in history["versions"]}
    assert by[2] == "alice@maplemoss.example" and by[3] == "tester"
    assert runner.invoke(cli, ["product", "revert", STACKER, "--to", "7"]).exit_code == 2


def test_without_an_actor_the_os_user_is_marked_as_such(monkeypatch: Any) -> None:
    from toysafe.store.workspace import actor

    monkeypatch.delenv("TOYSAFE_ACTOR", raising=False)
    assert actor().startswith("os:")


def test_sharing_with_a_withdrawn_lab_warns(api: Api) -> None:
    r = api.put("seller", f"/products/{STACKER}/shares/5678")
    assert r.status_code == 204
    assert "withdrawn" in r.headers["warning"] and "5678" in r.headers["warning"]
    fine = api.put("seller", f"/products/{STACKER}/shares/1234")
    assert fine.status_code == 204 and "warning" not in fine.headers


def test_duplicate_listing_rows_are_a_422_naming_the_row(api: Api) -> None:
    row = {"listing_id": "B0CW00DST7", "sku": STACKER, "title": "x", "status": "Active"}
    r = api.post("seller", "/listings", json=[row, dict(row)])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", 1, "listing_id"]


def test_two_simultaneous_certify_requests_are_safe(api: Api) -> None:
    _with_evidence(api)
    clients = [TestClient(api.client.app) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def issue(client: TestClient) -> None:
        barrier.wait()
        results.append(
            client.post(
                f"/api/v1/products/{STACKER}/certificates",
                params=A,
                headers=api.auth("seller"),
            )
        )

    threads = [threading.Thread(target=issue, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes in ([201, 201], [201, 409]), [r.text for r in results]
    issued = api.get("seller", f"/products/{STACKER}").json()["certificates"]
    assert len(issued) == codes.count(201)
    assert len({c["id"] for c in issued}) == len(issued)


def test_verify_without_labs_says_acceptance_was_not_checked() -> None:
    result = runner.invoke(cli, ["verify", str(EX / "products" / "painted-wooden-stacker.yaml"),
                                 "--reports", str(CHEM_FILE), str(MECH_FILE)])  # fmt: skip
    assert "lab acceptance was not checked" in result.stdout
    assert "CERTIFIABLE" in result.stdout and "(lab acceptance not checked)" in result.stdout
