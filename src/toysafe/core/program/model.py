"""Typed values of the marketplace program (contract 8.4, 8.5): states, trigger kinds,
severities, reason codes, and the statement of reasons every action carries (P13)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RequestState(StrEnum):
    open = "open"
    submitted = "submitted"
    revision_requested = "revision_requested"
    in_review = "in_review"
    approved = "approved"
    rejected = "rejected"
    not_applicable = "not_applicable"


OPEN_STATES = (
    RequestState.open,
    RequestState.submitted,
    RequestState.revision_requested,
    RequestState.in_review,
)
CLOSED_STATES = (RequestState.approved, RequestState.rejected, RequestState.not_applicable)
# States in which the seller owes an answer: the only ones that run late (P5, P6). A request
# waiting for the marketplace (submitted, in_review) is never the seller's fault.
SELLER_OWES = (RequestState.open, RequestState.revision_requested)


class ListingState(StrEnum):
    pending = "pending"
    active = "active"
    suppressed = "suppressed"
    removed = "removed"
    out_of_scope = "out_of_scope"


class AccountState(StrEnum):
    active = "active"
    suspended = "suspended"


class Band(StrEnum):
    healthy = "healthy"
    at_risk = "at_risk"
    deactivation_eligible = "deactivation_eligible"


class TriggerKind(StrEnum):
    new_listing = "new_listing"
    renewal = "renewal"
    complaint = "complaint"
    rule_change = "rule_change"
    history = "history"
    random_audit = "random_audit"


class Severity(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


class ViolationKind(StrEnum):
    missing_documents = "missing_documents"
    failed_test = "failed_test"
    forged_or_altered = "forged_or_altered"


class Decision(StrEnum):
    approve = "approve"
    revise = "revise"
    reject = "reject"


class ReviseReason(StrEnum):
    """P8 reason codes for ``revise``: the seller can fix these and resubmit."""

    missing_requirement = "missing_requirement"
    report_too_old = "report_too_old"
    lab_not_accepted = "lab_not_accepted"
    tic_not_approved = "tic_not_approved"
    age_grade_mismatch = "age_grade_mismatch"
    warning_mismatch = "warning_mismatch"
    model_mismatch = "model_mismatch"
    certificate_element_missing = "certificate_element_missing"
    not_full_testing = "not_full_testing"


class RejectReason(StrEnum):
    """P8 reason codes for ``reject``: they close the request with a violation."""

    failed_test = "failed_test"
    forged_or_altered = "forged_or_altered"


REJECT_SEVERITY = {
    RejectReason.failed_test: Severity.high,
    RejectReason.forged_or_altered: Severity.critical,
}


class ActionKind(StrEnum):
    """What the program did to a listing or an account (each carries reasons, P13)."""

    suppressed = "suppressed"
    removed = "removed"
    reinstated = "reinstated"
    suspended = "suspended"
    unsuspended = "unsuspended"
    decided = "decided"


class AppealClaim(StrEnum):
    not_applicable = "not_applicable"
    decision_wrong = "decision_wrong"


class AppealState(StrEnum):
    pending = "pending"
    upheld = "upheld"
    overturned = "overturned"


class AppealRoute(BaseModel):
    """How and until when a seller may appeal an action."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    how: str
    until: date


class Reasons(BaseModel):
    """P13 statement of reasons: what was decided, the rule and the facts it rests on, the
    policy version, the next step, and how and until when to appeal."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    decision: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    facts: list[str] = Field(min_length=1)
    policy_version: int = Field(ge=1)
    next_step: str = Field(min_length=1)
    appeal: AppealRoute

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def appeal_until(day: date, appeal_window_days: int) -> date:
    return day + timedelta(days=appeal_window_days)


_REQ = re.compile(r"^REQ-(\d{6,})$")
_APL = re.compile(r"^APL-(\d{6,})$")


def request_ref(number: int) -> str:
    """``REQ-000007`` for request 7.

    >>> request_ref(7)
    'REQ-000007'
    """
    return f"REQ-{number:06d}"


def parse_request_ref(ref: str) -> int:
    """The number of ``REQ-000007`` (ValueError when it is not a request id)."""
    m = _REQ.match(ref.strip())
    if not m:
        raise ValueError(f"'{ref}' is not a request id (REQ-000001)")
    return int(m[1])


def appeal_ref(number: int) -> str:
    return f"APL-{number:06d}"


def parse_appeal_ref(ref: str) -> int:
    m = _APL.match(ref.strip())
    if not m:
        raise ValueError(f"'{ref}' is not an appeal id (APL-000001)")
    return int(m[1])


def band_of(score: int, healthy: int, at_risk: int) -> Band:
    """P10 bands: score >= healthy is healthy, >= at_risk at risk, else eligible for
    deactivation.

    >>> band_of(150, 200, 100).value
    'at_risk'
    """
    if score >= healthy:
        return Band.healthy
    if score >= at_risk:
        return Band.at_risk
    return Band.deactivation_eligible


def score_of(start: int, points: list[int]) -> int:
    """P10: ``max(0, start - sum of points of unresolved violations in the window)``."""
    return max(0, start - sum(points))
