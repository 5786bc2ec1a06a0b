"""P8 decisions, P9 approval, P11 appeals, P13 statements of reasons (pure transitions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from toysafe.core.program.decisions import (
    PlanError,
    Refusal,
    RequestSnapshot,
    check_appeal,
    decide,
    decide_appeal,
    plan_of_action,
    precheck_reasons,
)
from toysafe.core.program.precheck import REJECT_CODES, REVISE_CODES

AS_OF = date(2026, 3, 1)
REQ = RequestSnapshot(
    id="REQ-000001",
    seller="hoppy",
    listing_id="B0TOY00001",
    state="in_review",
    opened=date(2026, 2, 1),
    due=date(2026, 2, 15),
    policy_version=3,
    triggers=("new_listing",),
    listing_state="pending",
)


def test_revise_keeps_the_deadline_and_the_request_open() -> None:
    t = decide(REQ, "revise", "model_mismatch", AS_OF)
    assert t.request_state == "revision_requested" and not t.closed
    assert t.violation is None and t.listing_state is None
    assert "due: 2026-02-15" in t.reasons.facts


def test_reject_for_a_failed_test_is_a_high_violation_and_closes() -> None:
    t = decide(REQ, "reject", "failed_test", AS_OF)
    assert t.request_state == "rejected" and t.closed
    assert t.violation is not None and (t.violation.kind, t.violation.severity) == (
        "failed_test",
        "high",
    )
    assert t.listing_state == "removed"


def test_reject_for_forgery_is_critical() -> None:
    t = decide(REQ, "reject", "forged_or_altered", AS_OF)
    assert t.violation is not None and t.violation.severity == "critical"


@pytest.mark.parametrize(
    ("decision", "reason"), [("revise", "failed_test"), ("reject", "model_mismatch")]
)
def test_a_reason_code_must_fit_the_decision(decision: str, reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        decide(REQ, decision, reason, AS_OF)


def test_an_unknown_decision_names_the_field() -> None:
    with pytest.raises(ValueError, match="decision"):
        decide(REQ, "maybe", "x", AS_OF)


@pytest.mark.parametrize("state", ["approved", "rejected", "not_applicable"])
def test_a_closed_request_cannot_be_decided(state: str) -> None:
    with pytest.raises(Refusal) as e:
        decide(replace(REQ, state=state), "revise", "model_mismatch", AS_OF)  # type: ignore[arg-type]
    assert e.value.code == "request_closed"


def test_an_open_request_with_nothing_submitted_cannot_be_decided() -> None:
    with pytest.raises(Refusal) as e:
        decide(replace(REQ, state="open"), "approve", "ok", AS_OF, relied_on=[date(2026, 1, 1)])
    assert e.value.code == "nothing_submitted"


def test_approval_is_valid_from_the_oldest_report_relied_on() -> None:
    t = decide(
        replace(REQ, listing_state="suppressed"),
        "approve",
        "evidence_complete",
        AS_OF,
        relied_on=[date(2026, 1, 20), date(2025, 12, 5)],
        validity_months=12,
    )
    assert t.request_state == "approved" and t.closed
    assert t.valid_until == date(2026, 12, 5)
    assert t.listing_state == "active" and t.listing_action == "reinstated"
    assert t.resolve_violations and not t.remove_violations


def test_approval_of_a_pending_listing_is_not_a_reinstatement() -> None:
    t = decide(REQ, "approve", "ok", AS_OF, relied_on=[date(2026, 1, 20)])
    assert t.listing_action == "approved"


def test_approval_needs_evidence_still_valid() -> None:
    with pytest.raises(Refusal) as e:
        decide(REQ, "approve", "ok", AS_OF, relied_on=[date(2025, 1, 1)], validity_months=12)
    assert e.value.code == "evidence_expired"
    with pytest.raises(Refusal):
        decide(REQ, "approve", "ok", AS_OF, relied_on=[])


def test_a_plan_of_action_needs_root_cause_fix_and_prevention() -> None:
    poa = plan_of_action("not_applicable", "adult collectible", "relisted", "category check")
    assert poa.to_dict()["claim"] == "not_applicable"
    with pytest.raises(PlanError, match="fix") as e:
        plan_of_action("not_applicable", "x", " ", "y")
    assert e.value.field == "fix" and e.value.reason.code == "plan_part_missing"
    with pytest.raises(PlanError, match="claim") as e:
        plan_of_action("please", "x", "y", "z")
    assert e.value.field == "claim" and e.value.reason.facts == {"claim": "please"}


def test_an_appeal_is_accepted_within_the_window_only() -> None:
    rejected = replace(REQ, state="rejected")
    until = check_appeal(rejected, date(2026, 3, 1), date(2026, 8, 28), 180, False)
    assert until == date(2026, 8, 28)
    with pytest.raises(Refusal) as e:
        check_appeal(rejected, date(2026, 3, 1), date(2026, 8, 29), 180, False)
    assert e.value.code == "appeal_window_closed"


def test_one_appeal_at_a_time_and_nothing_to_appeal_on_an_approval() -> None:
    with pytest.raises(Refusal) as e:
        check_appeal(REQ, None, AS_OF, 180, True)
    assert e.value.code == "appeal_pending"
    with pytest.raises(Refusal) as e:
        check_appeal(replace(REQ, state="approved"), None, AS_OF, 180, False)
    assert e.value.code == "nothing_to_appeal"


def test_overturning_not_applicable_closes_reinstates_removes_and_exempts() -> None:
    down = replace(
        REQ, state="open", listing_state="suppressed", triggers=("complaint", "random_audit")
    )
    t = decide_appeal(down, "not_applicable", True, "an adult collectible", AS_OF, 12, 180)
    assert t.request_state == "not_applicable" and t.closed
    assert t.listing_state == "active" and t.listing_action == "reinstated"
    assert t.remove_violations
    assert t.exemption is not None
    assert t.exemption.trigger_kinds == ("complaint", "random_audit")
    assert t.exemption.until == date(2027, 3, 1)


def test_overturning_a_wrong_decision_removes_its_violation_and_reviews_again() -> None:
    rejected = replace(REQ, state="rejected", listing_state="removed", approved_before=True)
    t = decide_appeal(rejected, "decision_wrong", True, "the lab confirmed", AS_OF, 12, 180)
    assert t.request_state == "in_review" and not t.closed
    assert t.remove_violations and t.listing_state == "active"
    never = replace(rejected, approved_before=False)
    assert (
        decide_appeal(never, "decision_wrong", True, "x", AS_OF, 12, 180).listing_state == "pending"
    )


def test_upholding_changes_nothing() -> None:
    t = decide_appeal(
        replace(REQ, state="rejected"), "decision_wrong", False, "no new facts", AS_OF, 12, 180
    )
    assert t.request_state == "rejected" and t.listing_state is None
    assert not (t.remove_violations or t.resolve_violations) and t.exemption is None
    with pytest.raises(ValueError, match="reason"):
        decide_appeal(REQ, "decision_wrong", False, " ", AS_OF, 12, 180)


def test_the_precheck_outcome_carries_its_statement() -> None:
    r = precheck_reasons(REQ, "revision_requested", ["model_mismatch"], AS_OF, 180)
    assert r.rule == "P7" and r.appeal_until == date(2026, 8, 28)
    assert r.to_dict()["appeal"]["until"] == "2026-08-28"


@given(
    decision=st.sampled_from(["approve", "revise", "reject"]),
    revise_code=st.sampled_from(sorted(REVISE_CODES)),
    reject_code=st.sampled_from(sorted(REJECT_CODES)),
    days=st.integers(0, 400),
    version=st.integers(1, 50),
)
def test_every_decision_carries_a_complete_statement_of_reasons(
    decision: str, revise_code: str, reject_code: str, days: int, version: int
) -> None:
    from datetime import timedelta

    as_of = date(2026, 2, 2) + timedelta(days=days)
    req = replace(REQ, policy_version=version)
    reason = {"approve": "ok", "revise": revise_code, "reject": reject_code}[decision]
    try:
        t = decide(req, decision, reason, as_of, relied_on=[as_of - timedelta(days=10)])
    except Refusal:
        return
    d = t.reasons.to_dict()
    assert t.reasons.complete
    assert d["policy_version"] == version and d["rule"] and d["facts"] and d["next_step"]
    assert set(d["appeal"]) >= {"how", "until"}
    if t.closed and t.request_state == "rejected":
        assert d["appeal"]["until"] is not None
