"""What a simulation measured (``toysafe/simulation@1``), per day and in total.

The program's outcomes are read back from the workspace's own records (requests and their
triggers, decisions, actions, appeals, violations); the reviewers' queue and the ground truth
(which listings really meet the rules) come from the simulation, since the program cannot see
them. Nothing here reads the clock or a path: the same run gives the same bytes.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from toysafe.core.program.model import TriggerKind
from toysafe.core.program.policy import Policy
from toysafe.sim import calibration
from toysafe.sim.actors import SimConfig
from toysafe.store.db import Store
from toysafe.store.program import models as pm

FORMAT = "toysafe/simulation@1"
TRIGGERS = tuple(k.value for k in TriggerKind)
CHANNELS = ("documents", "direct_validation")


@dataclass
class QueueItem:
    """A case waiting for a reviewer: a request in review, or an appeal."""

    kind: str  # request | appeal
    ref: str
    request: str
    entered: int  # day index
    claim: str | None


@dataclass
class Observed:
    """Counters the simulation keeps itself, one slot per day."""

    days: int
    complaints: list[int] = field(init=False)
    submissions: list[int] = field(init=False)
    failed_tests: list[int] = field(init=False)
    appeals_filed: list[int] = field(init=False)
    overturns: list[int] = field(init=False)
    backlog: list[int] = field(init=False)
    sla_breaches: list[int] = field(init=False)
    reviewer_decisions: list[int] = field(init=False)
    trusted: list[int] = field(init=False)
    tic_requested: list[int] = field(init=False)
    tic_filed: list[int] = field(init=False)
    tic_backlog: list[int] = field(init=False)
    tic_started: list[int] = field(init=False)
    waits: list[int] = field(default_factory=list)
    tic_waits: list[int] = field(default_factory=list)
    breached: set[str] = field(default_factory=set)
    campaigns: int = 0
    tic_refused: int = 0

    def __post_init__(self) -> None:
        for name in (
            "complaints",
            "submissions",
            "failed_tests",
            "appeals_filed",
            "overturns",
            "backlog",
            "sla_breaches",
            "reviewer_decisions",
            "trusted",
            "tic_requested",
            "tic_filed",
            "tic_backlog",
            "tic_started",
        ):
            setattr(self, name, [0] * self.days)

    def reviewed(self, item: QueueItem, day: int, sla_days: int) -> None:
        wait = day - item.entered
        self.waits.append(wait)
        self._breach(item, wait, day, sla_days)

    def end_of_day(self, day: int, queue: Sequence[QueueItem], sla_days: int, done: int) -> None:
        self.backlog[day] = len(queue)
        self.reviewer_decisions[day] = done
        for item in queue:
            self._breach(item, day - item.entered, day, sla_days)

    def _breach(self, item: QueueItem, wait: int, day: int, sla_days: int) -> None:
        key = f"{item.kind}:{item.ref}"
        if wait > sla_days and key not in self.breached:
            self.breached.add(key)
            self.sla_breaches[day] += 1


def percentile(xs: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile (an observed value, no interpolation)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def median(xs: Sequence[int]) -> float | None:
    return float(statistics.median(xs)) if xs else None


def collect(
    store: Store,
    cfg: SimConfig,
    policy: Policy,
    obs: Observed,
    truth: Callable[[str, date], bool],
) -> dict[str, Any]:
    """The metrics document of a finished run."""
    n = cfg.days

    def idx(d: date) -> int | None:
        i = (d - cfg.start).days
        return i if 0 <= i < n else None

    L, Rq, Tr = pm.ProgramListing, pm.Request, pm.RequestTrigger
    with store.reader() as s:
        listing_of: dict[int, str] = {
            r.id: r.listing_id for r in s.execute(select(L.id, L.listing_id))
        }
        final_states = Counter(s.scalars(select(L.state)))
        requests = s.execute(
            select(Rq.id, Rq.listing_pk, Rq.opened, Rq.state, Rq.closed_on).order_by(Rq.id)
        ).all()
        triggers = s.execute(select(Tr.request_id, Tr.kind, Tr.on).order_by(Tr.id)).all()
        decisions = s.execute(
            select(
                pm.DecisionRow.decided_on,
                pm.DecisionRow.decision,
                pm.DecisionRow.reason_code,
                pm.DecisionRow.request_id,
            ).order_by(pm.DecisionRow.id)
        ).all()
        actions = s.execute(
            select(
                pm.ActionRow.on, pm.ActionRow.action, pm.ActionRow.listing_pk, pm.ActionRow.reasons
            ).order_by(pm.ActionRow.id)
        ).all()
        submissions = s.execute(
            select(pm.Submission.request_id, pm.Submission.channel).order_by(pm.Submission.id)
        ).all()
        appeals = s.execute(
            select(pm.AppealRow.filed_on, pm.AppealRow.state, pm.AppealRow.decided_on)
        ).all()
        violations = Counter(s.scalars(select(pm.ViolationRow.severity)))
        suspended = s.scalar(
            select(pm.AccountRow.seller_org_id).where(pm.AccountRow.state == "suspended").limit(1)
        )
        accounts = Counter(s.scalars(select(pm.AccountRow.state)))

    day: dict[str, list[Any]] = defaultdict(lambda: [0] * n)
    opened_by: dict[str, list[int]] = {k: [0] * n for k in TRIGGERS}
    added_by: dict[str, list[int]] = {k: [0] * n for k in TRIGGERS}
    seen: set[int] = set()
    for rid, kind, on in triggers:
        i = idx(on)
        if i is None:
            continue
        (added_by if rid in seen else opened_by)[kind][i] += 1
        seen.add(rid)
    opened_request: dict[int, date] = {r.id: r.opened for r in requests}
    listing_of_request = {r.id: listing_of[r.listing_pk] for r in requests}
    ttc_by_day: dict[int, list[int]] = defaultdict(list)
    channel_of: dict[int, str] = {}  # a request's latest submission channel
    for rid, channel in submissions:
        channel_of[rid] = channel
    ttc_by_channel: dict[str, list[int]] = {c: [] for c in CHANNELS}
    approved_listings: list[tuple[str, date]] = []
    for decided_on, decision, reason, rid in decisions:
        i = idx(decided_on)
        if i is None:
            continue
        if decision == "approve":
            day["approvals"][i] += 1
            ttc_by_day[i].append((decided_on - opened_request[rid]).days)
            ch = channel_of.get(rid, "documents")
            ttc_by_channel.setdefault(ch, []).append((decided_on - opened_request[rid]).days)
            day[f"approvals_{ch}"][i] += 1
            approved_listings.append((listing_of_request[rid], decided_on))
        elif decision == "revise":
            day["revisions"][i] += 1
        elif decision == "reject":
            day["rejections"][i] += 1
            if reason == "forged_or_altered":
                day["forgery_rejections"][i] += 1
    false_positive: set[str] = set()
    fp_rules: Counter[str] = Counter()
    for on, action, pk, reasons in actions:
        i = idx(on)
        if i is None:
            continue
        day[action][i] += 1
        if action == "suppressed" and pk is not None:
            lid = listing_of[pk]
            if truth(lid, on):
                day["false_positive_suppressions"][i] += 1
                false_positive.add(lid)
                fp_rules[str((reasons or {}).get("rule", "?"))] += 1
    for _filed, state, decided in appeals:
        if decided is not None and (i := idx(decided)) is not None:
            day["appeals_upheld" if state == "upheld" else "appeals_overturned"][i] += 1
    ttc = [t for ts in ttc_by_day.values() for t in ts]
    missed = sorted({lid for lid, on in approved_listings if not truth(lid, on)})

    days_out = []
    for i in range(n):
        opened = {k: opened_by[k][i] for k in TRIGGERS}
        days_out.append(
            {
                "day": cfg.day(i).isoformat(),
                "requests_opened": sum(opened.values()),
                "opened_by_trigger": opened,
                "triggers_added": {k: added_by[k][i] for k in TRIGGERS},
                "submissions": obs.submissions[i],
                "approvals": day["approvals"][i],
                "revisions": day["revisions"][i],
                "rejections": day["rejections"][i],
                "time_to_compliance_median_days": median(ttc_by_day.get(i, [])),
                "suppressions": day["suppressed"][i],
                "false_positive_suppressions": day["false_positive_suppressions"][i],
                "removals": day["removed"][i],
                "reinstatements": day["reinstated"][i],
                "suspensions": day["suspended"][i],
                "appeals_filed": obs.appeals_filed[i],
                "appeals_overturned": day["appeals_overturned"][i],
                "appeals_upheld": day["appeals_upheld"][i],
                "complaints": obs.complaints[i],
                "reviewer_decisions": obs.reviewer_decisions[i],
                "reviewer_backlog": obs.backlog[i],
                "sla_breaches": obs.sla_breaches[i],
                "approvals_by_channel": {c: day[f"approvals_{c}"][i] for c in CHANNELS},
                "tic_requests": obs.tic_requested[i],
                "tic_validations_filed": obs.tic_filed[i],
                "tic_started": obs.tic_started[i],
                "tic_backlog": obs.tic_backlog[i],
                "trusted_accounts": obs.trusted[i],
            }
        )

    def total(key: str) -> int:
        return sum(int(x[key]) for x in days_out)

    totals = {
        "requests_opened": total("requests_opened"),
        "opened_by_trigger": {k: sum(opened_by[k]) for k in TRIGGERS},
        "triggers_added": {k: sum(added_by[k]) for k in TRIGGERS},
        "submissions": total("submissions"),
        "approvals": total("approvals"),
        "revisions": total("revisions"),
        "rejections": total("rejections"),
        "forgery_rejections": sum(day["forgery_rejections"]),
        "time_to_compliance_days": {
            "median": median(ttc),
            "p90": percentile(ttc, 0.9),
            "count": len(ttc),
        },
        "suppressions": total("suppressions"),
        "false_positive_suppressions": total("false_positive_suppressions"),
        "false_positive_rate": (
            round(total("false_positive_suppressions") / total("suppressions"), 4)
            if total("suppressions")
            else None
        ),
        "false_positives_by_rule": dict(sorted(fp_rules.items())),
        "false_positive_listings": sorted(false_positive),
        "removals": total("removals"),
        "reinstatements": total("reinstatements"),
        "suspensions": total("suspensions"),
        "appeals_filed": total("appeals_filed"),
        "appeals_overturned": total("appeals_overturned"),
        "appeals_upheld": total("appeals_upheld"),
        "overturn_rate": (
            round(total("appeals_overturned") / heard, 4)
            if (heard := total("appeals_overturned") + total("appeals_upheld"))
            else None
        ),
        "complaints": total("complaints"),
        "false_complaint_campaigns": obs.campaigns,
        "failed_lab_tests": sum(obs.failed_tests),
        "reviewer_decisions": total("reviewer_decisions"),
        "reviewer_capacity_per_day": cfg.reviewers * cfg.capacity,
        "reviewer_backlog_max": max(obs.backlog, default=0),
        "reviewer_backlog_end": obs.backlog[-1] if obs.backlog else 0,
        "reviewer_wait_days": {
            "median": median(obs.waits),
            "p90": percentile(obs.waits, 0.9),
        },
        "sla_breaches": total("sla_breaches"),
        "approvals_by_channel": {c: len(ttc_by_channel.get(c, [])) for c in CHANNELS},
        "share_approved_via_tic": (
            round(len(ttc_by_channel["direct_validation"]) / len(ttc), 4) if ttc else None
        ),
        "time_to_compliance_by_channel": {
            c: {"median": median(xs), "p90": percentile(xs, 0.9), "count": len(xs)}
            for c, xs in sorted(ttc_by_channel.items())
        },
        "tic": {
            "requests": total("tic_requests"),
            "validations_filed": total("tic_validations_filed"),
            "validations_refused": obs.tic_refused,
            "backlog_max": max(obs.tic_backlog, default=0),
            "backlog_end": obs.tic_backlog[-1] if obs.tic_backlog else 0,
            "wait_to_start_days": {
                "median": median(obs.tic_waits),
                "p90": percentile(obs.tic_waits, 0.9),
            },
            "fees_usd": total("tic_validations_filed") * int(calibration.TIC_FEE_USD.value),
        },
        "trusted_accounts_max": max(obs.trusted, default=0),
        "approved_non_compliant_listings": missed,
        "violations_by_severity": dict(sorted(violations.items())),
        "accounts": dict(sorted(accounts.items())),
        "any_account_suspended": suspended is not None,
        "listings_final_state": dict(sorted(final_states.items())),
    }
    return {
        "format": FORMAT,
        "config": {
            "sellers": cfg.sellers,
            "listings": cfg.listings,
            "days": cfg.days,
            "seed": cfg.seed,
            "start": cfg.start.isoformat(),
            "reviewers": cfg.reviewers,
            "capacity_per_reviewer": cfg.capacity,
            "sla_days": cfg.sla_days,
            "history": cfg.history,
        },
        "policy": {
            "marketplace": policy.marketplace,
            "digest": policy.digest(),
            "response_days": policy.clocks.response_days,
            "auto_approve": {k: c.auto_approve for k, c in sorted(policy.categories.items())},
            "evidence": {k: c.evidence for k, c in sorted(policy.categories.items())},
            "approved_tics": sorted(t.id for t in policy.approved_tics),
            "ladder": [
                {"days_overdue": s.days_overdue, "listing": s.listing} for s in policy.ladder
            ],
        },
        "calibration": calibration.all_figures(),
        "totals": totals,
        "days": days_out,
    }
