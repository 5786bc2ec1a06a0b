"""Statements of reasons (P13) and trigger explanations, built from typed facts.

Pure: the sweep and the decisions pass in what happened; these functions say it for the seller
(what was decided, the rule, the facts, the policy version, the next step, how and until when to
appeal). Nothing parses these words back.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from toysafe.core.program.model import AppealRoute, Reasons, TriggerKind, request_ref
from toysafe.core.program.policy import Policy


def appeal_route(policy: Policy, on: date, request: int | None) -> AppealRoute:
    until = on + timedelta(days=policy.clocks.appeal_window_days)
    if request is None:
        how = "reply to this notice with a plan of action (root cause, fix, prevention)"
    else:
        how = (
            f"toysafe program appeal {request_ref(request)} --claim not_applicable|decision_wrong"
            " --root-cause TEXT --fix TEXT --prevention TEXT (or POST "
            f"/api/v1/program/requests/{request_ref(request)}/appeal)"
        )
    return AppealRoute(how=how, until=until)


def ladder_step(
    policy: Policy,
    version: int,
    on: date,
    step: int,
    request: int,
    listing_id: str,
    due: date,
    requirements: list[str],
) -> Reasons:
    s = policy.ladder[step]
    late = (on - due).days
    return Reasons(
        decision=f"listing {listing_id} {s.listing}",
        rule=f"ladder[{step}]",
        facts=[
            f"{request_ref(request)} was due on {due.isoformat()} and is {late} day(s) overdue",
            f"ladder[{step}]: {s.listing} once {s.days_overdue} day(s) overdue",
            "not yet evidenced: " + ", ".join(requirements),
        ],
        policy_version=version,
        next_step=(
            f"submit the certificate and test reports asked by {request_ref(request)} "
            f"(toysafe program submit {request_ref(request)}); approval reinstates the listing"
        ),
        appeal=appeal_route(policy, on, request),
    )


def suspension(
    policy: Policy, version: int, on: date, violations: list[str], listing_id: str | None
) -> Reasons:
    what = f"listing {listing_id} suppressed" if listing_id else "account suspended"
    return Reasons(
        decision=what,
        rule="account_health.suspend_on_critical",
        facts=[f"unresolved critical violation: {v}" for v in violations]
        + (["the account is suspended, so all its listings are suppressed"] if listing_id else []),
        policy_version=version,
        next_step="appeal the decision that found the critical violation with a plan of action",
        appeal=appeal_route(policy, on, None),
    )


def unsuspension(policy: Policy, version: int, on: date, listing_id: str | None) -> Reasons:
    what = f"listing {listing_id} reinstated" if listing_id else "account reinstated"
    return Reasons(
        decision=what,
        rule="account_health.suspend_on_critical",
        facts=["no unresolved critical violation remains on the account"],
        policy_version=version,
        next_step="none: the account is active again",
        appeal=appeal_route(policy, on, None),
    )


def trigger_reason(kind: str, ref: str, facts: dict[str, Any]) -> str:
    """Why a trigger opened (or joined) a request, in words."""
    k = TriggerKind(kind)
    if k is TriggerKind.new_listing:
        return f"new listing (listed on {facts.get('listed_on', ref)}): pre-listing review"
    if k is TriggerKind.renewal:
        return f"approval ends on {ref}: renewal"
    if k is TriggerKind.complaint:
        return (
            f"{facts.get('complaints')} safety complaint(s) within {facts.get('window_days')} "
            f"days mention {', '.join(facts.get('keywords', []))}"
        )
    if k is TriggerKind.rule_change:
        req, _, day = ref.partition("@")
        return f"{req} takes effect for this product on {day}"
    if k is TriggerKind.history:
        return (
            f"the seller had {facts.get('rejections')} rejected submission(s) within "
            f"{facts.get('window_days')} days"
        )
    return f"random audit for {ref} (rate {facts.get('rate')})"
