"""Words for the seller's and the TIC's consoles, from the program's typed states, codes and
dates (nothing here reads prose back): a request's countdown and next step, what each finding
asks for, and how each violation stops counting.

The trusted tier (P12) is never part of a seller's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from toysafe.core.program.model import SELLER_OWES
from toysafe.core.program.precheck import NEXT_STEP, Finding
from toysafe.render.program import _WHAT, finding_text, next_step_text

STATE_LABEL = {
    "open": ("Waiting for your documents", "warn"),
    "submitted": ("Submitted: being checked", "info"),
    "revision_requested": ("Revision requested", "bad"),
    "in_review": ("With a reviewer", "info"),
    "approved": ("Approved", "ok"),
    "rejected": ("Rejected", "bad"),
    "not_applicable": ("Does not apply", "muted"),
}
LISTING_LABEL = {
    "pending": ("Pending review", "warn"),
    "active": ("Active", "ok"),
    "suppressed": ("Suppressed", "bad"),
    "removed": ("Removed", "bad"),
    "out_of_scope": ("Out of scope", "muted"),
}
BAND_LABEL = {
    "healthy": ("Healthy", "ok"),
    "at_risk": ("At risk", "warn"),
    "deactivation_eligible": ("Eligible for deactivation", "bad"),
}
ACCOUNT_LABEL = {"active": ("Active", "ok"), "suspended": ("Suspended", "bad")}
TRIGGER_WORDS = {
    "new_listing": "a new listing is reviewed before it goes live",
    "renewal": "the approval is about to end",
    "complaint": "customers complained about a safety hazard",
    "rule_change": "a safety rule changed",
    "history": "earlier submissions of your account were rejected",
    "random_audit": "a random audit",
}
VIOLATION_WORDS = {
    "missing_documents": "documents were not sent by the due date",
    "failed_test": "the product failed a required test",
    "forged_or_altered": "a document was forged or altered",
}
SEVERITY_TONE = {"critical": "bad", "high": "bad", "medium": "warn", "low": "muted"}


def label(table: Mapping[str, tuple[str, str]], key: str) -> dict[str, str]:
    text, tone = table.get(key, (key.replace("_", " "), "muted"))
    return {"label": text, "tone": tone}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _days(n: int) -> str:
    return _count(n, "day")


def countdown(state: str, due: date, today: date) -> dict[str, str]:
    """The clock of a request as a badge: days left, due today, overdue by N days, or stopped
    while the marketplace has it."""
    if state in SELLER_OWES:
        left = (due - today).days
        if left < 0:
            return {"label": f"overdue by {_days(-left)}", "tone": "bad"}
        if left == 0:
            return {"label": "due today", "tone": "bad"}
        return {"label": f"{_days(left)} left", "tone": "warn" if left <= 7 else "info"}
    if state in ("submitted", "in_review"):
        return {"label": "with the marketplace: your clock is stopped", "tone": "muted"}
    return {"label": "closed", "tone": "muted"}


@dataclass(frozen=True)
class FindingView:
    code: str
    requirement: str | None
    what: str
    how: str
    on: str


_SCOPE_NOTES = {
    "age_grade_missing": (
        "the listing has no manufacturer minimum age",
        "Add the manufacturer's minimum age to the listing; it is checked against the age grade "
        "of the lab reports.",
    ),
    "product_not_linked": (
        "the listing is not linked to a product in your toysafe workspace",
        "Link the listing to its product (its SKU): the request then asks only for what applies "
        "to that product.",
    ),
}


def _pairs(raw: Any) -> Mapping[str, Any]:
    """Facts as stored: a mapping, or [key, value] pairs; anything else carries no facts."""
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, list) and all(isinstance(x, list | tuple) and len(x) == 2 for x in raw):
        return {str(k): v for k, v in raw}
    return {}


def finding_view(doc: Mapping[str, Any]) -> FindingView:
    """A stored finding (request@1 ``findings``) in words: what is wrong and how to answer it,
    rendered again from its code, requirement and facts."""
    code, req, on = doc["code"], doc.get("requirement"), str(doc.get("on", ""))
    if code in _WHAT and code in NEXT_STEP:
        f = Finding(code, req, _pairs(doc.get("facts")))
        return FindingView(code, req, finding_text(f), next_step_text(f), on)
    what, how = _SCOPE_NOTES.get(code, (code.replace("_", " "), str(doc.get("next_step", ""))))
    return FindingView(code, req, what, how, on)


def current_findings(findings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The findings of the latest submission (and the scope notes), the ones to answer now."""
    subs = [f["submission"] for f in findings if f.get("submission") is not None]
    latest = max(subs) if subs else None
    return [f for f in findings if f.get("submission") in (None, latest)]


def next_step(
    state: str,
    evidence: str,
    due: date,
    today: date,
    findings: int,
    listing_state: str,
) -> str:
    """The one thing the seller should do now, in plain words."""
    by = due.isoformat()
    late = state in SELLER_OWES and today > due
    down = (
        f" Your listing stays {listing_state} until the request is approved."
        if listing_state in ("suppressed", "removed", "pending")
        else ""
    )
    if state in SELLER_OWES and evidence == "direct_validation":
        return (
            "Ask one of the marketplace's approved testing labs (TICs) below to test the "
            f"product and send their validation; you cannot upload it yourself. Due {by}"
            f"{' (overdue)' if late else ''}.{down}"
        )
    if state == "revision_requested":
        return (
            f"Answer the {_count(findings, 'finding')} below and submit corrected "
            f"documents{' now: the request is overdue' if late else f' by {by}'}.{down}"
        )
    if state == "open":
        return (
            "Submit the product profile, the signed Children's Product Certificate and lab "
            "reports covering every requirement listed"
            f"{' now: the request is overdue' if late else f' by {by}'}.{down}"
        )
    if state in ("submitted", "in_review"):
        return "Nothing for now: a reviewer is checking your documents and you will be told."
    if state == "rejected":
        return "The request was rejected. Fix the product and retest it; you may appeal below."
    if state == "approved":
        return "Nothing: the listing is approved."
    return "Nothing: the program does not apply to this listing."


def restores(violation: Mapping[str, Any], request_state: str | None, stops: date) -> str:
    """What makes a violation stop counting, in plain words."""
    if violation.get("resolved"):
        return f"Resolved on {violation['resolved']}: it no longer counts."
    ref = violation.get("request")
    if ref and request_state in (*SELLER_OWES, "submitted", "in_review"):
        return (
            f"Get {ref} approved: approval resolves this violation at once. "
            f"Otherwise it stops counting on {stops.isoformat()}."
        )
    return (
        f"It stops counting on {stops.isoformat()}. If the decision was wrong, an appeal that "
        "succeeds removes it."
    )
