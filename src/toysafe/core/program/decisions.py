"""P8 decisions, P9 approval, P11 appeals and P13 statements of reasons as pure transitions.

Each function takes what the store knows of a request (a :class:`RequestSnapshot`) and returns a
:class:`Transition`: the new states, the violation to open or the ones to resolve or remove, the
exemption a human decision grants, and the statement of reasons. The shell writes it, all or
nothing; a refusal is a :class:`Refusal` (exit 1), never a half-written change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from toysafe.core.law.dates import add_months
from toysafe.core.program.precheck import REJECT_CODES, REVISE_CODES
from toysafe.core.reasons import Reason

RequestState = Literal[
    "open", "submitted", "revision_requested", "in_review", "approved", "rejected", "not_applicable"
]
ListingState = Literal["pending", "active", "suppressed", "removed", "out_of_scope"]
Severity = Literal["critical", "high", "medium", "low"]
Decision = Literal["approve", "revise", "reject"]
Claim = Literal["not_applicable", "decision_wrong"]

OPEN_STATES: frozenset[str] = frozenset({"open", "submitted", "revision_requested", "in_review"})
DECIDABLE: frozenset[str] = frozenset({"submitted", "revision_requested", "in_review"})
DOWN: frozenset[str] = frozenset({"suppressed", "removed"})
REJECT_SEVERITY: dict[str, Severity] = {"failed_test": "high", "forged_or_altered": "critical"}
CLAIMS: frozenset[str] = frozenset({"not_applicable", "decision_wrong"})


class Refusal(Exception):
    """The program refuses an action; ``code`` says why (the CLI exits 1, the API answers 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Reasons:
    """P13: what was decided, the rule and facts it rests on, the policy version, the next step,
    and how and until when to appeal."""

    decision: str
    rule: str
    facts: tuple[str, ...]
    policy_version: int
    next_step: str  # a next-step code; words are rendered at the edge
    appeal_until: date
    request: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule": self.rule,
            "facts": list(self.facts),
            "policy_version": self.policy_version,
            "next_step": self.next_step,
            "appeal": {"how": f"appeal {self.request}", "until": self.appeal_until.isoformat()},
        }

    @property
    def complete(self) -> bool:
        return bool(self.decision and self.rule and self.facts and self.next_step)


@dataclass(frozen=True, slots=True)
class RequestSnapshot:
    """What a transition needs to know of a request and its listing."""

    id: str
    seller: str
    listing_id: str
    state: RequestState
    opened: date
    due: date
    policy_version: int
    triggers: tuple[str, ...]
    listing_state: ListingState
    approved_before: bool = False  # the listing was approved at least once (for restoring it)


@dataclass(frozen=True, slots=True)
class ViolationDraft:
    kind: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class ExemptionDraft:
    """A human decision that outranks automatic triggers of ``trigger_kinds`` until ``until``."""

    listing_id: str
    trigger_kinds: tuple[str, ...]
    until: date
    reason: str


@dataclass(frozen=True, slots=True)
class Transition:
    decision: str
    reason: str
    request_state: RequestState
    closed: bool
    reasons: Reasons
    listing_state: ListingState | None = None  # None: unchanged
    listing_action: str | None = None  # approved | reinstated | removed | ...
    violation: ViolationDraft | None = None
    resolve_violations: bool = False  # mark the request's violations resolved (they stay listed)
    remove_violations: bool = False  # take the request's violations out (a wrong decision)
    valid_until: date | None = None
    exemption: ExemptionDraft | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def appeal_until(on: date, appeal_window_days: int) -> date:
    """The last day an action taken ``on`` may be appealed."""
    return on + timedelta(days=appeal_window_days)


def _require_decidable(req: RequestSnapshot) -> None:
    if req.state not in OPEN_STATES:
        raise Refusal("request_closed", f"request {req.id} is {req.state}: it is closed")
    if req.state not in DECIDABLE:
        raise Refusal(
            "nothing_submitted",
            f"request {req.id} is {req.state}: nothing was submitted to decide on",
        )


def revise(req: RequestSnapshot, reason: str, as_of: date, appeal_window_days: int) -> Transition:
    """P8 revise: the seller gets the finding; the deadline stays."""
    _require_decidable(req)
    if reason not in REVISE_CODES:
        raise ValueError(
            f"reason: '{reason}' is not a revise reason ({', '.join(sorted(REVISE_CODES))})"
        )
    reasons = Reasons(
        "revision_requested",
        "P8",
        (f"reason: {reason}", f"due: {req.due.isoformat()}"),
        req.policy_version,
        "resubmit_before_due",
        appeal_until(as_of, appeal_window_days),
        req.id,
    )
    return Transition("revise", reason, "revision_requested", False, reasons)


def reject(req: RequestSnapshot, reason: str, as_of: date, appeal_window_days: int) -> Transition:
    """P8 reject: closes the request, takes the listing down, opens a violation."""
    _require_decidable(req)
    if reason not in REJECT_CODES:
        raise ValueError(
            f"reason: '{reason}' is not a reject reason ({', '.join(sorted(REJECT_CODES))})"
        )
    severity = REJECT_SEVERITY[reason]
    reasons = Reasons(
        "rejected",
        "P8",
        (f"reason: {reason}", f"violation: {reason} ({severity})", f"listing: {req.listing_id}"),
        req.policy_version,
        "fix_product_and_retest" if reason == "failed_test" else "appeal_with_evidence",
        appeal_until(as_of, appeal_window_days),
        req.id,
    )
    return Transition(
        "reject",
        reason,
        "rejected",
        True,
        reasons,
        listing_state="removed",
        listing_action="removed",
        violation=ViolationDraft(reason, severity),
    )


def approve(
    req: RequestSnapshot,
    relied_on: Sequence[date],
    as_of: date,
    validity_months: int,
    appeal_window_days: int,
    reason: str = "evidence_complete",
) -> Transition:
    """P9: closes the request, the listing active (reinstated when it was down), the request's
    violations resolved, valid until the oldest relied-on report's issue + validity_months."""
    _require_decidable(req)
    if not relied_on:
        raise Refusal(
            "no_evidence", f"request {req.id}: no report was relied on; nothing to approve"
        )
    oldest = min(relied_on)
    valid_until = add_months(oldest, validity_months)
    if valid_until <= as_of:
        raise Refusal(
            "evidence_expired",
            f"request {req.id}: the oldest report relied on ({oldest.isoformat()}) gives a "
            f"validity ending {valid_until.isoformat()}, not after {as_of.isoformat()}",
        )
    action = "reinstated" if req.listing_state in DOWN else "approved"
    reasons = Reasons(
        "approved",
        "P9",
        (
            f"oldest report relied on: {oldest.isoformat()}",
            f"validity_months: {validity_months}",
            f"valid_until: {valid_until.isoformat()}",
        ),
        req.policy_version,
        "renew_before_valid_until",
        appeal_until(as_of, appeal_window_days),
        req.id,
    )
    return Transition(
        "approve",
        reason,
        "approved",
        True,
        reasons,
        listing_state="active",
        listing_action=action,
        resolve_violations=True,
        valid_until=valid_until,
        facts={"oldest_report": oldest.isoformat()},
    )


def decide(
    req: RequestSnapshot,
    decision: str,
    reason: str,
    as_of: date,
    *,
    relied_on: Sequence[date] = (),
    validity_months: int = 12,
    appeal_window_days: int = 180,
) -> Transition:
    """A reviewer's decision (``toysafe program decide``)."""
    if decision == "approve":
        return approve(req, relied_on, as_of, validity_months, appeal_window_days, reason)
    if decision == "revise":
        return revise(req, reason, as_of, appeal_window_days)
    if decision == "reject":
        return reject(req, reason, as_of, appeal_window_days)
    raise ValueError(f"decision: '{decision}' is not approve, revise or reject")


# --- appeals (P11) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanOfAction:
    claim: Claim
    root_cause: str
    fix: str
    prevention: str
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "root_cause": self.root_cause,
            "fix": self.fix,
            "prevention": self.prevention,
            "evidence": list(self.evidence),
        }


class PlanError(ValueError):
    """A bad field of a plan of action: the ``field`` and a ``reason`` (a code with facts)."""

    def __init__(self, field: str, reason: Reason) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def plan_of_action(
    claim: str, root_cause: str, fix: str, prevention: str, evidence: Sequence[str] = ()
) -> PlanOfAction:
    """A validated plan of action; a bad field raises PlanError naming it (exit 2, 422)."""
    if claim not in CLAIMS:
        raise PlanError("claim", Reason("unknown_claim", {"claim": claim}))
    for name, text in (("root_cause", root_cause), ("fix", fix), ("prevention", prevention)):
        if not text or not text.strip():
            raise PlanError(name, Reason("plan_part_missing"))
    return PlanOfAction(claim, root_cause.strip(), fix.strip(), prevention.strip(), tuple(evidence))  # type: ignore[arg-type]


def check_appeal(
    req: RequestSnapshot,
    last_action_on: date | None,
    as_of: date,
    appeal_window_days: int,
    open_appeal: bool,
) -> date:
    """Whether the request may be appealed now; returns the last day of the window.

    What is appealed is the request's last decision or action (a rejection, a suppression, a
    removal) or, with none yet, the request itself ("this does not apply to my product")."""
    if open_appeal:
        raise Refusal("appeal_pending", f"request {req.id} already has an appeal under review")
    if req.state in ("approved", "not_applicable"):
        raise Refusal("nothing_to_appeal", f"request {req.id} is {req.state}: nothing to appeal")
    start = last_action_on or req.opened
    until = appeal_until(start, appeal_window_days)
    if as_of > until:
        raise Refusal(
            "appeal_window_closed",
            f"request {req.id}: the appeal window ({appeal_window_days} days from "
            f"{start.isoformat()}) closed on {until.isoformat()}",
        )
    return until


def decide_appeal(
    req: RequestSnapshot,
    claim: Claim,
    overturn: bool,
    reason: str,
    as_of: date,
    validity_months: int,
    appeal_window_days: int,
) -> Transition:
    """P11: uphold leaves everything as it is; overturning ``not_applicable`` closes the request
    as not applicable, reinstates the listing, removes its violations and exempts the listing from
    the same trigger kinds; overturning ``decision_wrong`` removes the violations, restores the
    listing and hands the request back to a reviewer."""
    if not reason.strip():
        raise ValueError("reason: say why the appeal is decided so")
    if not overturn:
        reasons = Reasons(
            "appeal_upheld",
            "P11",
            (f"claim: {claim}", f"reason: {reason}", f"request state: {req.state}"),
            req.policy_version,
            "resubmit_before_due" if req.state in OPEN_STATES else "none",
            appeal_until(as_of, appeal_window_days),
            req.id,
        )
        return Transition("uphold", reason, req.state, req.state not in OPEN_STATES, reasons)
    if claim == "not_applicable":
        until = add_months(as_of, validity_months)
        reasons = Reasons(
            "appeal_overturned",
            "P11",
            (
                "claim: not_applicable",
                f"reason: {reason}",
                f"exempt from: {', '.join(req.triggers) or 'none'} until {until.isoformat()}",
            ),
            req.policy_version,
            "none",
            appeal_until(as_of, appeal_window_days),
            req.id,
        )
        return Transition(
            "overturn",
            reason,
            "not_applicable",
            True,
            reasons,
            listing_state="active",
            listing_action="reinstated",
            remove_violations=True,
            exemption=ExemptionDraft(req.listing_id, req.triggers, until, reason),
        )
    restored: ListingState = "active" if req.approved_before else "pending"
    reasons = Reasons(
        "appeal_overturned",
        "P11",
        ("claim: decision_wrong", f"reason: {reason}", "request back to review"),
        req.policy_version,
        "await_review",
        appeal_until(as_of, appeal_window_days),
        req.id,
    )
    return Transition(
        "overturn",
        reason,
        "in_review",
        False,
        reasons,
        listing_state=restored if req.listing_state in DOWN else None,
        listing_action="reinstated" if req.listing_state in DOWN else None,
        remove_violations=True,
    )


def precheck_reasons(
    req: RequestSnapshot,
    state: str,
    codes: Sequence[str],
    as_of: date,
    appeal_window_days: int,
) -> Reasons:
    """P13 for the pre-check's own decision (P7)."""
    if state == "approved":
        nxt = "renew_before_valid_until"
    elif state == "in_review":
        nxt = "await_review"
    else:
        nxt = "resubmit_before_due"
    facts = tuple(f"finding: {c}" for c in codes) or ("pre-check clean",)
    return Reasons(
        f"pre_check_{state}",
        "P7",
        facts,
        req.policy_version,
        nxt,
        appeal_until(as_of, appeal_window_days),
        req.id,
    )
