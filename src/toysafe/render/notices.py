"""The program's notices in words, for e-mail: rendered from the typed outbox payload
(``toysafe.core.program.delivery.Notice``), never stored as prose."""

from __future__ import annotations

from typing import Any

from toysafe.core.program.delivery import Notice, NoticeKind
from toysafe.render.program import next_step_words

_ACTION = {
    "suppressed": "is suppressed (hidden from buyers)",
    "removed": "is removed from the marketplace",
    "reinstated": "is reinstated",
    "suspended": "is suspended",
    "unsuspended": "is active again",
}
_DECISION = {
    "approve": "approved",
    "reject": "rejected",
    "revise": "returned for revision",
}


def _listing(n: Notice) -> str:
    return f"listing {n.listing_id}" if n.listing_id else "account"


def _reasons(reasons: dict[str, Any] | None) -> list[str]:
    if not reasons:
        return []
    lines = []
    facts = reasons.get("facts") or []
    if facts:
        lines.append("Why:")
        lines += [f"  - {f}" for f in facts]
    step = reasons.get("next_step")
    if step:
        lines.append(f"What to do next: {step}")
    appeal = reasons.get("appeal") or {}
    if appeal.get("until"):
        lines.append(f"You may appeal until {appeal['until']}. {appeal.get('how', '')}".rstrip())
    if reasons.get("policy_version") is not None:
        lines.append(f"(policy version {reasons['policy_version']})")
    return lines


def subject(n: Notice) -> str:
    ref = f" ({n.request})" if n.request else ""
    match n.kind:
        case NoticeKind.request_opened:
            return f"Proof of compliance requested for {_listing(n)}{ref}"
        case NoticeKind.reminder:
            return f"Reminder: {n.days_left} days left for {_listing(n)}{ref}"
        case NoticeKind.action:
            what = _ACTION.get(n.action or "", f"is now {n.action}")
            return f"Your {_listing(n)} {what}"
        case NoticeKind.decision:
            if n.decision:
                return f"Decision on {n.request}: {_DECISION.get(n.decision, n.decision)}"
            return f"Your documents for {n.request} need attention"
        case NoticeKind.appeal_received:
            return f"Appeal {n.appeal} received{ref}"
    return f"Notice about {_listing(n)}"  # pragma: no cover - every kind is matched above


def text(n: Notice, seller_name: str) -> str:
    """The message body: what happened, why, and the next step, in plain words."""
    lines = [f"Hello {seller_name},", ""]
    match n.kind:
        case NoticeKind.request_opened:
            lines.append(
                f"The marketplace asks for proof that {_listing(n)} complies, "
                f"by {n.due.isoformat() if n.due else 'the due date'} (request {n.request})."
            )
            if n.triggers:
                lines.append("Why: " + ", ".join(t.replace("_", " ") for t in n.triggers) + ".")
            if n.requirements:
                lines.append("Requirements to cover: " + ", ".join(n.requirements) + ".")
            lines.append("What to do next: " + next_step_words("test_requirement", "each one"))
        case NoticeKind.reminder:
            lines.append(
                f"Request {n.request} for {_listing(n)} is due on "
                f"{n.due.isoformat() if n.due else '?'} ({n.days_left} days left)."
            )
            lines.append("Submit the documents before then to keep the listing up.")
        case NoticeKind.action:
            what = _ACTION.get(n.action or "", f"is now {n.action}")
            lines.append(f"Your {_listing(n)} {what}.")
        case NoticeKind.decision:
            if n.decision:
                said = _DECISION.get(n.decision, n.decision)
                lines.append(f"Request {n.request} for {_listing(n)} was {said}.")
            else:
                lines.append(
                    f"The documents for request {n.request} ({_listing(n)}) did not pass the "
                    f"automatic check; the request is now {str(n.state).replace('_', ' ')}."
                )
            for f in n.findings:
                if f.get("message"):
                    lines.append(f"  - {f['message']}")
        case NoticeKind.appeal_received:
            lines.append(f"Your appeal {n.appeal} of request {n.request} was received.")
            lines.append("A reviewer who did not make the decision will hear it.")
    lines += _reasons(n.reasons)
    lines += ["", "-- toysafe, for the marketplace's certification program"]
    return "\n".join(lines) + "\n"
