"""The program's read models (contract 8.5): ``toysafe/request@1``,
``toysafe/listing-status@1`` and ``toysafe/account-health@1``.

``marketplace=True`` is the marketplace's own view (the CLI, reviewers): it adds the trusted
tier. A seller's view never carries it (P12).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.core.program.model import SELLER_OWES, band_of, request_ref, score_of
from toysafe.core.program.policy import Policy
from toysafe.core.program.reasons import trigger_reason
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.program import models as pm
from toysafe.store.program import policies
from toysafe.store.program.feeds import chunks, table

L = table(pm.ProgramListing)
Rq = table(pm.Request)
T = table(pm.RequestTrigger)
H = table(pm.RequestHistory)
FI = table(pm.Finding)
V = table(pm.ViolationRow)
A = table(pm.ActionRow)
ACC = table(pm.AccountRow)
ORG = table(m.Organization)


def seller_id(s: Session, slug: str) -> int:
    oid = s.scalar(select(ORG.c.id).where(ORG.c.slug == slug))
    if oid is None:
        raise InputError(f"seller: no organization '{slug}' in the workspace")
    return oid


def requests(
    s: Session,
    as_of: date,
    seller: str | None = None,
    listing: str | None = None,
    state: str | None = None,
    ids: Sequence[int] | None = None,
    sellers: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """``toysafe/request@1`` documents, oldest first, with triggers, findings and history."""
    q = (
        select(Rq, L.c.listing_id, ORG.c.slug)
        .join(L, L.c.id == Rq.c.listing_pk)
        .join(ORG, ORG.c.id == Rq.c.seller_org_id)
        .order_by(Rq.c.id)
    )
    if seller is not None:
        q = q.where(Rq.c.seller_org_id == seller_id(s, seller))
    if sellers is not None:
        q = q.where(Rq.c.seller_org_id.in_(list(sellers)))
    if listing is not None:
        q = q.where(L.c.listing_id == listing)
    if state is not None:
        q = q.where(Rq.c.state == state)
    if ids is not None:
        q = q.where(Rq.c.id.in_(list(ids)))
    rows = s.execute(q).all()
    rids = [r.id for r in rows]
    triggers: dict[int, list[dict[str, Any]]] = defaultdict(list)
    findings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for part in chunks(rids):
        for t in s.execute(select(T).where(T.c.request_id.in_(part)).order_by(T.c.id)):
            facts = dict(t.facts)
            reason = facts.pop("reason", None) or trigger_reason(t.kind, t.ref, facts)
            triggers[t.request_id].append(
                {"kind": t.kind, "on": t.on.isoformat(), "reason": reason, "ref": t.ref}
            )
        for f in s.execute(select(FI).where(FI.c.request_id.in_(part)).order_by(FI.c.id)):
            findings[f.request_id].append(
                {
                    "code": f.code,
                    "requirement": f.requirement,
                    "facts": f.facts,
                    "next_step": f.next_step,
                    "on": f.found_on.isoformat(),
                    "submission": f.submission_id,
                }
            )
        for h in s.execute(select(H).where(H.c.request_id.in_(part)).order_by(H.c.id)):
            history[h.request_id].append(
                {
                    "on": h.on.isoformat(),
                    "event": h.event,
                    "from": h.from_state,
                    "to": h.to_state,
                    "ref": h.ref,
                    "actor": h.actor,
                    "detail": h.detail,
                }
            )
    out = []
    for r in rows:
        doc: dict[str, Any] = {
            "format": "toysafe/request@1",
            "id": request_ref(r.id),
            "seller": r.slug,
            "listing_id": r.listing_id,
            "category": r.category,
            "state": r.state,
            "opened": r.opened.isoformat(),
            "due": r.due.isoformat(),
            "policy_version": r.policy_version,
            "triggers": triggers[r.id],
            "requirements": list(r.requirements),
            "requirements_basis": r.requirements_basis,
            "findings": findings[r.id],
            "history": history[r.id],
        }
        if r.closed_on is not None:
            doc["closed_on"] = r.closed_on.isoformat()
        if r.state in SELLER_OWES and as_of > r.due:
            doc["overdue"] = True
        out.append(doc)
    return out


def listing_status(s: Session, listing_id: str, as_of: date) -> dict[str, Any]:
    row = s.execute(
        select(L, ORG.c.slug)
        .join(ORG, ORG.c.id == L.c.seller_org_id)
        .where(L.c.listing_id == listing_id)
    ).first()
    if row is None:
        raise InputError(f"listing: no listing '{listing_id}' in the program")
    reqs = s.execute(
        select(Rq.c.id, Rq.c.state, Rq.c.opened, Rq.c.due)
        .where(Rq.c.listing_pk == row.id)
        .order_by(Rq.c.id)
    ).all()
    actions = s.execute(select(A).where(A.c.listing_pk == row.id).order_by(A.c.id)).all()
    return {
        "format": "toysafe/listing-status@1",
        "listing_id": row.listing_id,
        "seller": row.slug,
        "state": row.state,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "in_scope": row.in_scope,
        "program_category": row.program_category,
        "category": row.category,
        "title": row.title,
        "sku": row.sku,
        "requests": [
            {
                "id": request_ref(q.id),
                "state": q.state,
                "opened": q.opened.isoformat(),
                "due": q.due.isoformat(),
                **({"overdue": True} if q.state in SELLER_OWES and as_of > q.due else {}),
            }
            for q in reqs
        ],
        "actions": [
            {
                "action": a.action,
                "on": a.on.isoformat(),
                "request": request_ref(a.request_id) if a.request_id else None,
                "policy_version": a.policy_version,
                "reasons": a.reasons,
            }
            for a in actions
        ],
    }


def health(s: Session, seller: str, as_of: date, marketplace: bool = False) -> dict[str, Any]:
    """``toysafe/account-health@1`` of a seller as of a date (P10), computed from its
    violations by the policy's formula; ``trusted`` only in the marketplace's view."""
    version, policy = policies.get(s)
    sid = seller_id(s, seller)
    return health_of(s, policy, version, sid, seller, as_of, marketplace)


def health_of(
    s: Session,
    policy: Policy,
    version: int,
    sid: int,
    seller: str,
    as_of: date,
    marketplace: bool,
) -> dict[str, Any]:
    ah = policy.account_health
    start = as_of - timedelta(days=ah.window_days)
    rows = s.execute(
        select(V, L.c.listing_id)
        .outerjoin(L, L.c.id == V.c.listing_pk)
        .where(V.c.seller_org_id == sid, V.c.opened <= as_of)
        .order_by(V.c.id)
    ).all()
    violations, counted = [], []
    critical = False
    for v in rows:
        unresolved = v.resolved is None or v.resolved > as_of
        in_window = v.opened > start
        if unresolved and in_window:
            counted.append(ah.points.of(v.severity))
        if unresolved and v.severity == "critical":
            critical = True
        violations.append(
            {
                "kind": v.kind,
                "severity": v.severity,
                "points": ah.points.of(v.severity),
                "listing_id": v.listing_id,
                "request": request_ref(v.request_id) if v.request_id else None,
                "opened": v.opened.isoformat(),
                "resolved": v.resolved.isoformat() if v.resolved and not unresolved else None,
                "counts": unresolved and in_window,
            }
        )
    score = score_of(ah.start, counted)
    stored = s.execute(select(ACC).where(ACC.c.seller_org_id == sid)).first()
    suspended = critical and ah.suspend_on_critical
    doc: dict[str, Any] = {
        "format": "toysafe/account-health@1",
        "seller": seller,
        "as_of": as_of.isoformat(),
        "score": score,
        "band": band_of(score, ah.bands.healthy, ah.bands.at_risk).value,
        "state": "suspended" if suspended else "active",
        "policy_version": version,
        "violations": violations,
    }
    if marketplace:
        doc["trusted"] = bool(stored.trusted) if stored is not None else False
    return doc
