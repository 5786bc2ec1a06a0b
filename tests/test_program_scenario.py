"""A listing's life through the real program code, on SQLite and PostgreSQL: new, pre-check
with findings, approved, renewal, complaint audit, overdue, suppressed, appeal, reinstated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.program_seed import EX, POLICY_FILE
from tests.store_fixtures import DB
from toysafe.cli.app import app

STACKER = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
LISTING = "B0CW00DST7"
runner = CliRunner()


def run(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: Any) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def js(*args: Any) -> Any:
    return json.loads(ok(*args, "--format", "json").stdout)


def sweep(day: str) -> dict[str, Any]:
    out: dict[str, Any] = js("program", "sweep", "--as-of", day)
    assert out["format"] == "toysafe/sweep@1"
    return out


def listing(day: str) -> dict[str, Any]:
    doc: dict[str, Any] = js("program", "listing", LISTING, "--as-of", day)
    return doc


def requests(day: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = js("program", "requests", "--listing", LISTING, "--as-of", day)
    return docs


def test_a_listing_through_its_life(ws_env: DB, tmp_path: Path) -> None:
    ok("init", "--party", EX / "party.yaml")
    ok("labs", "import", EX / "labs.csv")
    ok("product", "add", STACKER, "--as-of", "2026-07-01")
    ok("program", "policy", "load", POLICY_FILE, "--as-of", "2026-07-01")
    feed = tmp_path / "listings.csv"
    feed.write_text(
        "listing_id,seller,category,title,brand,model,min_age_months,cautionary_statement,"
        "listed_on,sku\n"
        f"{LISTING},default,toys_and_games,Rainbow stacker,Maple & Moss,MM-STK-07,12,,"
        "2026-07-01,MM-STK-07\n"
    )
    ok("program", "listings", "import", feed, "--as-of", "2026-07-01")
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
        "2026-07-02",
        "--out",
        out,
    )
    cert = out / "MM-STK-07.cpc.json"

    # new: the pre-listing review opens a request; the listing waits
    s1 = sweep("2026-07-01")
    assert [o["triggers"] for o in s1["opened"]] == [["new_listing"]]
    first = s1["opened"][0]["request"]
    assert listing("2026-07-01")["state"] == "pending"
    assert sweep("2026-07-01")["opened"] == []  # idempotent

    # pre-check with findings: the mechanical report is missing
    r = run(
        "program",
        "submit",
        first,
        "--profile",
        STACKER,
        "--certificate",
        cert,
        "--reports",
        CHEM,
        "--as-of",
        "2026-07-03",
        "--format",
        "json",
    )
    assert r.exit_code == 1, r.output
    sent_back = json.loads(r.stdout)
    assert sent_back["state"] == "revision_requested"
    assert any(f["code"] == "missing_requirement" for f in sent_back["pre_check"]["findings"])

    # approved: the complete submission is approved at once and the listing goes live
    approved = js(
        "program",
        "submit",
        first,
        "--profile",
        STACKER,
        "--certificate",
        cert,
        "--reports",
        CHEM,
        MECH,
        "--as-of",
        "2026-07-04",
    )
    assert approved["state"] == "approved"
    live = listing("2026-07-04")
    assert live["state"] == "active" and live["valid_until"] == "2027-06-12"

    # renewal: 30 days before the approval ends, a renewal request opens
    assert sweep("2027-05-12")["opened"] == []
    s2 = sweep("2027-05-13")
    assert [o["triggers"] for o in s2["opened"]] == [["renewal"]]
    renewal = s2["opened"][0]["request"]

    # complaint audit: three complaints with keywords join the open request (P2)
    complaints = tmp_path / "complaints.csv"
    complaints.write_text(
        "complaint_id,listing_id,received_on,reporter,text\n"
        f"C1,{LISTING},2027-05-10,a,paint chip near the mouth and worried about lead\n"
        f"C2,{LISTING},2027-05-11,b,my baby started to choke on a ring\n"
        f"C3,{LISTING},2027-05-14,c,sharp splinter on the base\n"
    )
    ok("program", "complaints", "import", complaints, "--as-of", "2027-05-14")
    s3 = sweep("2027-05-14")
    assert s3["opened"] == []
    assert [u["added_triggers"] for u in s3["updated"]] == [["complaint"]]
    (open_req,) = [d for d in requests("2027-05-14") if d["id"] == renewal]
    assert [t["kind"] for t in open_req["triggers"]] == ["renewal", "complaint"]

    # overdue, suppressed: due 14 days after opening; the ladder's first step
    s4 = sweep("2027-05-28")
    assert [(a["listing_id"], a["action"]) for a in s4["actions"]] == [(LISTING, "suppressed")]
    reasons = s4["actions"][0]["reasons"]
    assert reasons["rule"] == "ladder[0]" and reasons["appeal"]["until"]
    assert listing("2027-05-28")["state"] == "suppressed"
    health = js("program", "health", "default", "--as-of", "2027-05-28")
    assert health["score"] == 900
    assert [v["kind"] for v in health["violations"]] == ["missing_documents"]

    # appeal: the seller shows the renewal was lost in transit; a reviewer overturns
    appeal = js(
        "program",
        "appeal",
        renewal,
        "--claim",
        "decision_wrong",
        "--root-cause",
        "the renewal notice went to a closed mailbox",
        "--fix",
        "contact updated",
        "--prevention",
        "two contacts on file",
        "--as-of",
        "2027-05-29",
    )
    assert appeal["format"] == "toysafe/appeal@1" and appeal["id"]
    js(
        "program",
        "decide-appeal",
        appeal["id"],
        "--overturn",
        "--reason",
        "notice undeliverable",
        "--as-of",
        "2027-05-30",
    )

    # reinstated: the listing is live again and the violation no longer counts
    back = listing("2027-05-30")
    assert back["state"] == "active"
    assert [a["action"] for a in back["actions"]][-1] == "reinstated"
    assert js("program", "health", "default", "--as-of", "2027-05-30")["score"] == 1000
    sweep("2027-05-31")  # the next sweep leaves the human decision in place
    assert listing("2027-05-31")["state"] == "active"
