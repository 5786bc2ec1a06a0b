"""Program casework through the CLI on SQLite and PostgreSQL: submit and its pre-check (P7),
decisions (P8, P9), appeals (P11), seller keys; state changes, decisions, actions, violations,
exemptions and outbox rows written whole."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from typer.testing import CliRunner

from tests.program_seed import EX, open_request, policy, seed_listing, seed_policy
from tests.store_fixtures import DB
from toysafe.cli.app import app
from toysafe.core.certificates import seal
from toysafe.core.program.model import Reasons, parse_request_ref
from toysafe.store.db import Store, open_store
from toysafe.store.program import models as pm

STACKER = EX / "products" / "painted-wooden-stacker.yaml"
REPORTS = [
    EX / "reports" / "stacker-chemistry-pass.json",
    EX / "reports" / "stacker-mechanical-pass.csv",
]
FAIL = EX / "reports" / "stacker-chemistry-fail.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
AS_OF = "2026-11-21"
runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def ok(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


class World:
    def __init__(self, tmp: Path, store: Store, cert: Path) -> None:
        self.tmp = tmp
        self.store = store
        self.cert = cert
        self.listing_pk = 0

    def submit(
        self,
        ref: str,
        *,
        cert: Path | None = None,
        reports: list[Path] = REPORTS,
        as_of: str = AS_OF,
    ) -> Any:
        return run(
            "program",
            "submit",
            ref,
            "--profile",
            STACKER,
            "--certificate",
            cert or self.cert,
            "--reports",
            *reports,
            "--as-of",
            as_of,
            "--format",
            "json",
        )

    def request(self, ref: str) -> pm.Request:
        with self.store.reader() as s:
            row = s.get(pm.Request, parse_request_ref(ref))
            assert row is not None
            return row

    def listing(self) -> pm.ProgramListing:
        with self.store.reader() as s:
            row = s.get(pm.ProgramListing, self.listing_pk)
            assert row is not None
            return row

    def rows(self, model: Any, **where: Any) -> list[Any]:
        with self.store.reader() as s:
            q = select(model)
            for k, v in where.items():
                q = q.where(getattr(model, k) == v)
            return list(s.scalars(q))


def make_world(tmp_path: Path, pol: Any = None, **listing: Any) -> World:
    ok("init", "--party", EX / "party.yaml")
    ok("labs", "import", EX / "labs.csv")
    out = tmp_path / "cert"
    ok(
        "certify",
        STACKER,
        "--reports",
        *REPORTS,
        "--labs",
        EX / "labs.csv",
        "--party",
        EX / "party.yaml",
        "--as-of",
        AS_OF,
        "--out",
        out,
    )
    store = open_store()
    seed_policy(store, pol)
    w = World(tmp_path, store, out / "MM-STK-07.cpc.json")
    w.listing_pk = seed_listing(store, **listing)
    return w


@pytest.fixture
def world(ws_env: DB, tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_a_clean_submission_is_approved_at_once(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    result = world.submit(ref)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["state"] == "approved" and out["pre_check"]["findings"] == []
    assert out["reasons"]["rule"] == "P9" and out["reasons"]["appeal"]["until"]
    req = world.request(ref)
    assert req.state == "approved" and req.closed_on == date(2026, 11, 21)
    listing = world.listing()
    assert listing.state == "active" and listing.valid_until == date(2027, 6, 12)
    events = [h.event for h in world.rows(pm.RequestHistory, request_id=req.id)]
    assert events == ["opened", "submitted", "pre_check", "decided"]
    (decision,) = world.rows(pm.DecisionRow, request_id=req.id)
    assert decision.automatic and decision.decision == "approve" and decision.policy_version == 1
    kinds = sorted(o.kind for o in world.rows(pm.Outbox, request_id=req.id))
    assert kinds == ["action", "decision"]
    (action,) = world.rows(pm.ActionRow, request_id=req.id)
    assert action.action == "approved" and action.reasons["policy_version"] == 1
    Reasons.model_validate(action.reasons)  # the program's statement-of-reasons model (P13)
    Reasons.model_validate(decision.reasons)


def test_findings_send_it_back_with_the_deadline_kept(world: World, tmp_path: Path) -> None:
    ref = open_request(world.store, world.listing_pk)
    result = world.submit(ref, reports=[REPORTS[0]])  # the mechanical tests are missing
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["state"] == "revision_requested"
    codes = {f["code"] for f in out["pre_check"]["findings"]}
    assert "missing_requirement" in codes
    f = out["pre_check"]["findings"][0]
    assert f["message"] and f["next_step"] and f["next_step_code"]
    req = world.request(ref)
    assert req.state == "revision_requested" and req.due == date(2026, 11, 15)
    stored = world.rows(pm.Finding, request_id=req.id)
    assert {x.code for x in stored} == codes
    (decision,) = world.rows(pm.DecisionRow, request_id=req.id)
    assert decision.decision == "revise" and decision.automatic
    # the corrected submission is approved
    again = world.submit(ref)
    assert again.exit_code == 0, again.output
    assert world.request(ref).state == "approved"


def test_a_reviewer_decides_when_auto_approve_is_off(ws_env: DB, tmp_path: Path) -> None:
    pol = policy()
    data = pol.model_dump(mode="json")
    data["categories"]["toys"]["auto_approve"] = False
    w = make_world(tmp_path, type(pol).model_validate(data))
    ref = open_request(w.store, w.listing_pk)
    assert json.loads(w.submit(ref).stdout)["state"] == "in_review"
    result = ok(
        "program",
        "decide",
        ref,
        "--decision",
        "approve",
        "--reason",
        "evidence_complete",
        "--as-of",
        "2026-11-22",
        "--format",
        "json",
    )
    out = json.loads(result.stdout)
    assert out["state"] == "approved" and out["action"]["action"] == "approved"
    assert w.listing().valid_until == date(2027, 6, 12)
    (decision,) = w.rows(pm.DecisionRow)
    assert not decision.automatic and decision.actor == "tester"


def test_revise_by_a_reviewer_keeps_the_due_date(ws_env: DB, tmp_path: Path) -> None:
    pol = policy()
    data = pol.model_dump(mode="json")
    data["categories"]["toys"]["auto_approve"] = False
    w = make_world(tmp_path, type(pol).model_validate(data))
    ref = open_request(w.store, w.listing_pk)
    w.submit(ref)
    ok(
        "program",
        "decide",
        ref,
        "--decision",
        "revise",
        "--reason",
        "model_mismatch",
        "--as-of",
        "2026-11-22",
    )
    req = w.request(ref)
    assert req.state == "revision_requested" and req.due == date(2026, 11, 15)
    (finding,) = w.rows(pm.Finding, request_id=req.id)
    assert finding.code == "model_mismatch" and finding.next_step


def test_a_forged_certificate_goes_to_a_person_who_rejects_it(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    doc = json.loads(world.cert.read_text())
    doc["certificate"]["product"]["model"] = "SOMETHING-ELSE"
    forged = world.tmp / "forged.json"
    forged.write_text(json.dumps(doc))
    out = json.loads(world.submit(ref, cert=forged).stdout)
    assert out["state"] == "in_review"
    assert "forged_or_altered" in {f["code"] for f in out["pre_check"]["findings"]}
    ok(
        "program",
        "decide",
        ref,
        "--decision",
        "reject",
        "--reason",
        "forged_or_altered",
        "--as-of",
        "2026-11-23",
    )
    req = world.request(ref)
    assert req.state == "rejected" and req.closed_on == date(2026, 11, 23)
    (v,) = world.rows(pm.ViolationRow, request_id=req.id)
    assert (v.kind, v.severity, v.resolved) == ("forged_or_altered", "critical", None)
    assert world.listing().state == "removed"


def test_a_failed_test_rejected_then_overturned_on_appeal(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    out = json.loads(world.submit(ref, reports=[FAIL, MECH]).stdout)
    assert out["state"] == "revision_requested"
    assert "failed_test" in {f["code"] for f in out["pre_check"]["findings"]}
    ok(
        "program",
        "decide",
        ref,
        "--decision",
        "reject",
        "--reason",
        "failed_test",
        "--as-of",
        "2026-11-22",
    )
    (v,) = world.rows(pm.ViolationRow)
    assert v.severity == "high"
    evidence = world.tmp / "lab-letter.txt"
    evidence.write_text("The lab confirms the lead result was a transcription error.")
    result = ok(
        "program",
        "appeal",
        ref,
        "--claim",
        "decision_wrong",
        "--root-cause",
        "lab typo",
        "--fix",
        "corrected report",
        "--prevention",
        "double entry",
        "--evidence",
        evidence,
        "--as-of",
        "2026-11-25",
        "--format",
        "json",
    )
    appeal = json.loads(result.stdout)
    assert appeal["format"] == "toysafe/appeal@1" and appeal["id"].startswith("APL-")
    assert appeal["state"] == "pending" and appeal["evidence"][0]["name"] == "lab-letter.txt"
    # one pending appeal at a time
    again = run(
        "program",
        "appeal",
        ref,
        "--claim",
        "decision_wrong",
        "--root-cause",
        "x",
        "--fix",
        "y",
        "--prevention",
        "z",
        "--as-of",
        "2026-11-25",
    )
    assert again.exit_code == 1
    decided = json.loads(
        ok(
            "program",
            "decide-appeal",
            appeal["id"],
            "--overturn",
            "--reason",
            "the lab confirmed the error",
            "--as-of",
            "2026-11-26",
            "--format",
            "json",
        ).stdout
    )
    assert decided["state"] == "overturned"
    req = world.request(ref)
    assert req.state == "in_review" and req.closed_on is None
    (v,) = world.rows(pm.ViolationRow)
    assert v.resolved == date(2026, 11, 26) and v.resolution == "overturned"
    assert world.listing().state == "pending"  # never approved: back to pre-listing review


def test_overturning_not_applicable_exempts_the_listing(world: World) -> None:
    ref = open_request(world.store, world.listing_pk, triggers=("new_listing", "complaint"))
    out = json.loads(
        ok(
            "program",
            "appeal",
            ref,
            "--claim",
            "not_applicable",
            "--root-cause",
            "an adult collectible",
            "--fix",
            "category corrected",
            "--prevention",
            "catalog review",
            "--as-of",
            "2026-11-05",
            "--format",
            "json",
        ).stdout
    )
    ok(
        "program",
        "decide-appeal",
        out["id"],
        "--overturn",
        "--reason",
        "for adults",
        "--as-of",
        "2026-11-06",
    )
    req = world.request(ref)
    assert req.state == "not_applicable" and req.closed_on == date(2026, 11, 6)
    assert world.listing().state == "active"
    ex = world.rows(pm.Exemption, listing_pk=world.listing_pk)
    assert sorted(e.trigger_kind for e in ex) == ["complaint", "new_listing"]
    assert all(e.until == date(2027, 11, 6) and e.appeal_id for e in ex)


def test_upholding_an_appeal_changes_nothing(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    out = json.loads(
        ok(
            "program",
            "appeal",
            ref,
            "--claim",
            "not_applicable",
            "--root-cause",
            "r",
            "--fix",
            "f",
            "--prevention",
            "p",
            "--as-of",
            "2026-11-05",
            "--format",
            "json",
        ).stdout
    )
    ok(
        "program",
        "decide-appeal",
        out["id"],
        "--uphold",
        "--reason",
        "it is a toy",
        "--as-of",
        "2026-11-06",
    )
    assert world.request(ref).state == "open"
    assert world.rows(pm.Exemption) == []
    twice = run("program", "decide-appeal", out["id"], "--uphold", "--reason", "again")
    assert twice.exit_code == 1


def test_the_appeal_window_closes(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    result = run(
        "program",
        "appeal",
        ref,
        "--claim",
        "not_applicable",
        "--root-cause",
        "r",
        "--fix",
        "f",
        "--prevention",
        "p",
        "--as-of",
        "2027-06-01",
    )
    assert result.exit_code == 1
    assert "appeal window" in result.output


def test_a_seller_key_makes_its_certificates_count(world: World) -> None:
    key = Ed25519PrivateKey.generate()
    doc = json.loads(world.cert.read_text())
    own = world.tmp / "own.json"
    own.write_text(json.dumps(seal.sign(doc, key)))
    ref = open_request(world.store, world.listing_pk)
    out = json.loads(world.submit(ref, cert=own).stdout)
    assert out["state"] == "in_review"  # signed by a key nobody registered
    public = "ed25519:" + base64.b64encode(seal.public_key_bytes(key.public_key())).decode()
    added = json.loads(ok("program", "keys", "add", "default", public, "--format", "json").stdout)
    assert added["added"] and added["key_id"] == seal.key_id(key.public_key())
    assert not json.loads(
        ok("program", "keys", "add", "default", public, "--format", "json").stdout
    )["added"]
    # a reviewer sends it back; the resubmission with the registered key is approved
    ok(
        "program",
        "decide",
        ref,
        "--decision",
        "revise",
        "--reason",
        "certificate_element_missing",
        "--as-of",
        AS_OF,
    )
    assert world.submit(ref, cert=own).exit_code == 0
    assert world.request(ref).state == "approved"


@pytest.mark.parametrize(
    "args",
    [
        ["program", "decide", "REQ-999999", "--decision", "approve", "--reason", "x"],
        ["program", "decide", "nonsense", "--decision", "approve", "--reason", "x"],
        ["program", "keys", "add", "default", "ed25519:not-base64!"],
        ["program", "keys", "add", "nobody", "ed25519:" + "A" * 43 + "="],
        ["program", "decide-appeal", "APL-000001", "--uphold", "--overturn", "--reason", "x"],
    ],
)
def test_bad_input_exits_2(world: World, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output


def test_a_reason_that_does_not_fit_the_decision_is_bad_input(world: World) -> None:
    ref = open_request(world.store, world.listing_pk, state="in_review")
    result = run("program", "decide", ref, "--decision", "reject", "--reason", "model_mismatch")
    assert result.exit_code == 2 and "reason" in result.output


def test_a_closed_request_is_a_refusal(world: World) -> None:
    ref = open_request(world.store, world.listing_pk)
    world.submit(ref)
    result = run("program", "decide", ref, "--decision", "revise", "--reason", "model_mismatch")
    assert result.exit_code == 1 and "closed" in result.output
    result = world.submit(ref)
    assert result.exit_code == 1
