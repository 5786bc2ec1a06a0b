"""Words for the reviewer and admin consoles, rendered from the queue's codes and facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toysafe.core.program.precheck import Finding
from toysafe.render.program import finding_text, next_step_text

TRIGGERS = {
    "new_listing": "New listing",
    "renewal": "Renewal",
    "complaint": "Complaints",
    "rule_change": "Rule change",
    "history": "Seller history",
    "random_audit": "Random audit",
}
QUEUES = {"standard": "Standard", "senior": "Senior"}
STATES = {"submitted": "Submitted", "in_review": "Sent to review by the pre-check"}
PRIORITY = {
    "forgery": ("Forgery finding", "bad"),
    "complaint": ("Complaint audit", "warn"),
    "routine": ("Routine", "muted"),
}
BANDS = {
    "healthy": "healthy",
    "at_risk": "at risk",
    "deactivation_eligible": "deactivation eligible",
}
ACTIONS = {
    "claimed": "claimed",
    "released": "released",
    "escalated": "escalated to the senior queue",
}
DECISIONS = {"approve": "Approve", "revise": "Ask for a revision", "reject": "Reject"}
REASONS = {
    "pre_check_clean": "the pre-check found nothing",
    "documents_verified": "the documents were checked by a reviewer",
    "missing_requirement": "a requirement has no passing result",
    "report_too_old": "a report is too old",
    "lab_not_accepted": "the lab was not CPSC-accepted",
    "tic_not_approved": "the TIC is not approved",
    "age_grade_mismatch": "the listing's age does not match the tested age grade",
    "warning_mismatch": "the listing's warning does not match the warnings due",
    "model_mismatch": "the listing's model is not the tested model",
    "certificate_element_missing": "the certificate lacks an element",
    "not_full_testing": "not every applicable requirement was tested",
    "failed_test": "the product failed a test",
    "forged_or_altered": "a document is forged or altered",
}


def factor_text(code: str, facts: Mapping[str, Any]) -> str:
    """One risk factor in words."""
    if code == "forgery_finding":
        return "a document does not match what was signed or is on file"
    if code == "complaint_audit":
        return "opened by complaints"
    if code == "under_36_months":
        return f"for children under 3 (from {facts.get('min_age_months')} months)"
    if code == "age_missing":
        return "the listing gives no minimum age"
    if code == "complaints":
        n = int(facts.get("complaints", 0))
        return f"{n} complaint{'s' if n != 1 else ''} in the complaint window"
    if code == "seller_band":
        return f"seller's account is {BANDS.get(str(facts.get('band')), facts.get('band'))}"
    return code.replace("_", " ")


def finding_words(f: Mapping[str, Any]) -> dict[str, str]:
    """A stored finding (code, requirement, facts) as a sentence and its next step."""
    try:
        typed = Finding(f["code"], f.get("requirement"), dict(f.get("facts") or {}))
        return {"text": finding_text(typed), "next": next_step_text(typed)}
    except KeyError:
        return {"text": str(f["code"]).replace("_", " "), "next": str(f.get("next_step") or "")}


def diff_value(v: Any) -> str:
    """A policy value as a reader wants to see it in a diff."""
    if v is None:
        return "(not set)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(diff_value(x) for x in v) or "(empty)"
    if isinstance(v, dict):
        return "; ".join(f"{k}: {diff_value(x)}" for k, x in v.items()) or "(empty)"
    return str(v)
