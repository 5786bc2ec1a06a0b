"""The reviewer queue as pure functions: the risk order of the requests that need a person,
each queue's SLA breaches, the backlog over time, and which evidence a finding points at.

Order (most urgent first): a forgery finding, then a complaint-triggered audit, then every
other request; within each, higher exposure first (a listing for children under 36 months or
without an age, complaints received, a seller's weak account band), then the earlier due date,
then the older request. Every key comes with the facts behind it, as codes for the edge to
put in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from typing import Any, NamedTuple

# Requests that need a person: sent by a seller or TIC and not decided by the pre-check
# (``submitted`` while a reviewer must look, ``in_review`` when the pre-check sent it there).
QUEUE_STATES = ("submitted", "in_review")
QUEUES = ("standard", "senior")
UNDER_36_MONTHS = 36
# Exposure points: a guide for the order only, never a decision.
POINTS_UNDER_36 = 3
POINTS_NO_AGE = 3
POINTS_PER_COMPLAINT = 1
MAX_COMPLAINT_POINTS = 5
POINTS_BAND = {"deactivation_eligible": 3, "at_risk": 2}


class Priority(IntEnum):
    """The first part of the risk order; lower goes first."""

    forgery = 0
    complaint = 1
    routine = 2


@dataclass(frozen=True)
class QueueFacts:
    """What the program knows of one request in the queue."""

    request_id: int
    state: str
    opened: date
    due: date
    triggers: tuple[str, ...]
    forgery: bool
    min_age_months: int | None
    complaints: int
    seller_band: str | None
    queue: str = "standard"
    waiting_since: date | None = None


@dataclass(frozen=True)
class Factor:
    """One reason a request ranks where it does: a code, its points, and its facts."""

    code: str
    points: int
    facts: Mapping[str, Any]


class RiskKey(NamedTuple):
    """Sorts ascending, most urgent first."""

    priority: int
    neg_exposure: int
    due: date
    request_id: int


@dataclass(frozen=True)
class Risk:
    key: RiskKey
    priority: Priority
    exposure: int
    factors: tuple[Factor, ...]


def risk(f: QueueFacts) -> Risk:
    """The risk key of one request and the facts behind it.

    >>> r = risk(QueueFacts(1, "in_review", date(2026, 1, 1), date(2026, 1, 15), ("complaint",),
    ...                     False, 24, 4, "at_risk"))
    >>> r.priority.name, r.exposure, [x.code for x in r.factors]
    ('complaint', 9, ['complaint_audit', 'under_36_months', 'complaints', 'seller_band'])
    """
    factors: list[Factor] = []
    if f.forgery:
        priority = Priority.forgery
        factors.append(Factor("forgery_finding", 0, {"code": "forged_or_altered"}))
    elif "complaint" in f.triggers:
        priority = Priority.complaint
    else:
        priority = Priority.routine
    if "complaint" in f.triggers:
        factors.append(Factor("complaint_audit", 0, {"trigger": "complaint"}))
    if f.min_age_months is None:
        factors.append(Factor("age_missing", POINTS_NO_AGE, {"min_age_months": None}))
    elif f.min_age_months < UNDER_36_MONTHS:
        factors.append(
            Factor("under_36_months", POINTS_UNDER_36, {"min_age_months": f.min_age_months})
        )
    if f.complaints > 0:
        points = min(f.complaints * POINTS_PER_COMPLAINT, MAX_COMPLAINT_POINTS)
        factors.append(Factor("complaints", points, {"complaints": f.complaints}))
    band_points = POINTS_BAND.get(f.seller_band or "", 0)
    if band_points:
        factors.append(Factor("seller_band", band_points, {"band": f.seller_band}))
    exposure = sum(x.points for x in factors)
    return Risk(
        RiskKey(int(priority), -exposure, f.due, f.request_id), priority, exposure, tuple(factors)
    )


def ordered(items: Iterable[QueueFacts]) -> list[tuple[QueueFacts, Risk]]:
    """The queue in risk order, each request with its risk."""
    return sorted(((f, risk(f)) for f in items), key=lambda x: x[1].key)


def waiting_days(f: QueueFacts, as_of: date) -> int:
    """Days a request has waited in its queue (since it came to a reviewer, or was escalated)."""
    return max(0, (as_of - (f.waiting_since or f.opened)).days)


def breached(f: QueueFacts, sla_days: Mapping[str, int], as_of: date) -> bool:
    """Waiting longer than its queue's SLA as of ``as_of``.

    >>> f = QueueFacts(1, "submitted", date(2026, 1, 1), date(2026, 1, 15), (), False, 60, 0,
    ...                None, "standard", date(2026, 1, 10))
    >>> sla = {"standard": 2}
    >>> breached(f, sla, date(2026, 1, 12)), breached(f, sla, date(2026, 1, 13))
    (False, True)
    """
    return waiting_days(f, as_of) > sla_days[f.queue]


def breaches(
    items: Iterable[QueueFacts], sla_days: Mapping[str, int], as_of: date
) -> dict[str, int]:
    """The number of SLA breaches per queue (every queue named, zero included)."""
    out = dict.fromkeys(sla_days, 0)
    for f in items:
        if breached(f, sla_days, as_of):
            out[f.queue] = out.get(f.queue, 0) + 1
    return out


@dataclass(frozen=True)
class Stay:
    """A stretch a request spent waiting for a reviewer: from ``start`` until ``end`` (the day
    it left the queue; None while it still waits), with the SLA of its queue."""

    start: date
    end: date | None
    sla_days: int


class BacklogPoint(NamedTuple):
    day: date
    waiting: int
    breaching: int


def backlog(stays: Sequence[Stay], first: date, last: date) -> list[BacklogPoint]:
    """For each day from ``first`` to ``last``: how many requests waited, and how many of them
    had waited longer than their SLA.

    >>> s = [Stay(date(2026, 1, 1), date(2026, 1, 5), 2), Stay(date(2026, 1, 3), None, 2)]
    >>> [(p.waiting, p.breaching) for p in backlog(s, date(2026, 1, 1), date(2026, 1, 6))]
    [(1, 0), (1, 0), (2, 0), (2, 1), (1, 0), (1, 1)]
    """
    days = (last - first).days + 1
    waiting = [0] * max(days, 0)
    breaching = [0] * max(days, 0)
    for st in stays:
        lo = max((st.start - first).days, 0)
        hi = days if st.end is None else min((st.end - first).days, days)
        over = (st.start - first).days + st.sla_days + 1  # first day past the SLA
        for i in range(lo, hi):
            waiting[i] += 1
            if i >= over:
                breaching[i] += 1
    return [BacklogPoint(first + timedelta(days=i), waiting[i], breaching[i]) for i in range(days)]


# --- which evidence a finding points at ---------------------------------------------------------


class Target(NamedTuple):
    """A place on the review page: ``pane`` (listing, report, certificate, assessment) and the
    ``key`` inside it (a listing field, a report number, a certificate element, a
    requirement id; ``*`` for the pane as a whole)."""

    pane: str
    key: str


_LISTING_FIELD = {
    "age_grade_mismatch": "min_age_months",
    "warning_mismatch": "cautionary_statement",
    "model_mismatch": "model",
}


def targets(code: str, requirement: str | None, facts: Mapping[str, Any]) -> set[Target]:
    """Where a pre-check finding (reason code + facts) shows on the evidence side by side.

    >>> sorted(targets("age_grade_mismatch", None, {"report_no": "R-1"}))
    [Target(pane='listing', key='min_age_months'), Target(pane='report', key='R-1')]
    """
    out: set[Target] = set()
    if code in _LISTING_FIELD:
        out.add(Target("listing", _LISTING_FIELD[code]))
    report_nos = [facts["report_no"]] if facts.get("report_no") else []
    report_nos += [str(r) for r in facts.get("reports") or []]
    for no in report_nos:
        out.add(Target("report", str(no)))
    if code == "certificate_element_missing" or (
        code == "forged_or_altered" and facts.get("document") != "report"
    ):
        element = facts.get("element") or ("signature" if "signature" in facts else "*")
        out.add(Target("certificate", str(element)))
    if requirement:
        out.add(Target("assessment", requirement))
    if code == "warning_mismatch":
        out.add(Target("assessment", "warnings"))
    return out
