"""The reviewer console in the store: the queue of requests that need a person (a few set-based
queries, ordered in Python by the pure risk key), claims, releases, escalations and internal
notes (each one transaction: the assignment, an append-only log or note row and a program
event with the actor), the evidence of one request side by side, the backlog over time, and
the marketplace admin's policy versions, diffs and dry runs.

Nothing here is written to a request's seller-visible history: claims, escalations and notes
are the marketplace's own business (the review page merges them into the history it shows).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.core.program import queue as q
from toysafe.core.program.decisions import Refusal
from toysafe.core.program.model import parse_request_ref, request_ref
from toysafe.core.program.policy import Policy, diff
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import policies, views
from toysafe.store.program import review_models as rm
from toysafe.store.program.casework import NotFound
from toysafe.store.program.feeds import chunks, table

Rq = table(pm.Request)
L = table(pm.ProgramListing)
T = table(pm.RequestTrigger)
H = table(pm.RequestHistory)
FI = table(pm.Finding)
C = table(pm.Complaint)
ACC = table(pm.AccountRow)
ORG = table(m.Organization)
RA = table(rm.ReviewAssignment)
MAX_NOTE = 4000
MAX_REASON = 500
DEFAULT_COMPLAINT_WINDOW = 90


@dataclass(frozen=True)
class QueueRow:
    """One request of the queue: the facts the order rests on, and what the page shows."""

    facts: q.QueueFacts
    ref: str
    seller: str
    listing_id: str
    title: str | None
    claimed_by: str | None
    claimed_at: datetime | None


@dataclass(frozen=True)
class QueueFilter:
    state: str | None = None
    trigger: str | None = None
    seller: str | None = None
    queue: str | None = None
    text: str | None = None  # a request id, a listing id, or words of the title
    claimed: str | None = None  # "me", "unclaimed", "claimed"


def _visible(column: Any, sellers: Collection[int] | None) -> ColumnElement[bool]:
    return true() if sellers is None else column.in_(sorted(sellers))


def _queue_of(queue: str | None) -> str:
    return queue or "standard"


def _in_queue(sellers: Collection[int] | None) -> ColumnElement[bool]:
    return and_(Rq.c.state.in_(q.QUEUE_STATES), _visible(Rq.c.seller_org_id, sellers))


def _arrived(sellers: Collection[int] | None, ids: Sequence[int] | None = None) -> Subquery:
    """When each request (of the queue, or of ``ids``) last reached a queue state."""
    where = [H.c.to_state.in_(q.QUEUE_STATES)]
    if ids is not None:
        where.append(H.c.request_id.in_(list(ids)))
    return (
        select(H.c.request_id, func.max(H.c.on).label("since"))
        .join(Rq, Rq.c.id == H.c.request_id)
        .where(_in_queue(sellers), *where)
        .group_by(H.c.request_id)
        .subquery()
    )


def _since(queue: Any, queue_since: Any, arrived: Any) -> ColumnElement[Any]:
    """Waiting since: the escalation for the senior queue, else the arrival in the queue."""
    return case(
        (and_(queue == "senior", queue_since.is_not(None)), queue_since),
        else_=func.coalesce(arrived, Rq.c.opened),
    )


def _queue_rows(as_of: date, policy: Policy, sellers: Collection[int] | None) -> Subquery:
    """Every request that needs a person among ``sellers`` (None: all), one row each, with the
    facts of the risk order and the order's keys computed in SQL from the same constants as
    ``core.program.queue.risk`` (tests/test_review_queue.py checks that both orders agree)."""
    in_queue = _in_queue(sellers)
    window = (
        policy.triggers.complaints.window_days
        if policy.triggers.complaints
        else DEFAULT_COMPLAINT_WINDOW
    )
    complaints = (
        select(C.c.listing_id, func.count().label("n"))
        .where(C.c.received_on > as_of - timedelta(days=window), C.c.received_on <= as_of)
        .group_by(C.c.listing_id)
        .subquery()
    )
    # Sets, not correlated subqueries: each is read once (a few per cent of the requests),
    # not probed once per request in the queue.
    forgery = Rq.c.id.in_(select(FI.c.request_id).where(FI.c.code == "forged_or_altered"))
    complaint = Rq.c.id.in_(select(T.c.request_id).where(T.c.kind == "complaint"))
    n = func.coalesce(complaints.c.n, 0)
    queue = func.coalesce(RA.c.queue, "standard")
    exposure = (
        case(
            (L.c.min_age_months.is_(None), q.POINTS_NO_AGE),
            (L.c.min_age_months < q.UNDER_36_MONTHS, q.POINTS_UNDER_36),
            else_=0,
        )
        + case(
            (n * q.POINTS_PER_COMPLAINT > q.MAX_COMPLAINT_POINTS, q.MAX_COMPLAINT_POINTS),
            else_=n * q.POINTS_PER_COMPLAINT,
        )
        + case(
            *((ACC.c.band == band, points) for band, points in q.POINTS_BAND.items()),
            else_=0,
        )
    )
    return (
        select(
            Rq.c.id,
            Rq.c.state,
            Rq.c.opened,
            Rq.c.due,
            L.c.listing_id,
            L.c.title,
            L.c.min_age_months,
            ORG.c.slug,
            ACC.c.band,
            queue.label("queue"),
            RA.c.claimed_by,
            RA.c.claimed_at,
            RA.c.queue_since,
            n.label("complaints"),
            forgery.label("forgery"),
            case(
                (forgery, int(q.Priority.forgery)),
                (complaint, int(q.Priority.complaint)),
                else_=int(q.Priority.routine),
            ).label("priority"),
            exposure.label("exposure"),
        )
        .join(L, L.c.id == Rq.c.listing_pk)
        .join(ORG, ORG.c.id == Rq.c.seller_org_id)
        .outerjoin(ACC, ACC.c.seller_org_id == Rq.c.seller_org_id)
        .outerjoin(RA, RA.c.request_id == Rq.c.id)
        .outerjoin(complaints, complaints.c.listing_id == L.c.listing_id)
        .where(in_queue)
        .subquery("queue_rows")
    )


def _filtered(rows: Subquery, filt: QueueFilter, me: str | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filt.state:
        where.append(rows.c.state == filt.state)
    if filt.trigger:
        where.append(exists().where(T.c.request_id == rows.c.id, T.c.kind == filt.trigger))
    if filt.seller:
        where.append(rows.c.slug == filt.seller)
    if filt.queue:
        where.append(rows.c.queue == filt.queue)
    if filt.claimed == "me":
        where.append(rows.c.claimed_by == (me or ""))
    elif filt.claimed == "unclaimed":
        where.append(rows.c.claimed_by.is_(None))
    elif filt.claimed == "claimed":
        where.append(rows.c.claimed_by.is_not(None))
    if filt.text:
        needle = filt.text.strip().lower()
        found: list[ColumnElement[bool]] = [
            func.lower(rows.c.listing_id).contains(needle, autoescape=True),
            func.lower(func.coalesce(rows.c.title, "")).contains(needle, autoescape=True),
        ]
        try:
            found.append(rows.c.id == parse_request_ref(needle.upper()))
        except ValueError:
            pass
        where.append(or_(*found))
    return where


def _row(r: Any, triggers: Sequence[str], arrived: date | None) -> QueueRow:
    facts = q.QueueFacts(
        request_id=r.id,
        state=r.state,
        opened=r.opened,
        due=r.due,
        triggers=tuple(triggers),
        forgery=bool(r.forgery),
        min_age_months=r.min_age_months,
        complaints=int(r.complaints),
        seller_band=r.band,
        queue=_queue_of(r.queue),
        waiting_since=(
            r.queue_since if r.queue == "senior" and r.queue_since else arrived or r.opened
        ),
    )
    return QueueRow(
        facts, request_ref(r.id), r.slug, r.listing_id, r.title, r.claimed_by, r.claimed_at
    )


def _triggers_of(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for part in chunks(list(ids)):
        for rid, kind in s.execute(
            select(T.c.request_id, T.c.kind).where(T.c.request_id.in_(part)).order_by(T.c.id)
        ):
            if kind not in out[rid]:
                out[rid].append(kind)
    return out


def load_queue(
    s: Session,
    as_of: date,
    policy: Policy,
    sellers: Collection[int] | None,
    filt: QueueFilter | None = None,
    me: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[QueueRow]:
    """The queue's requests in risk order (a page of them with ``limit``/``offset``)."""
    return _load_page(s, as_of, policy, sellers, filt, me, limit, offset)[0]


def _load_page(
    s: Session,
    as_of: date,
    policy: Policy,
    sellers: Collection[int] | None,
    filt: QueueFilter | None,
    me: str | None,
    limit: int | None,
    offset: int,
) -> tuple[list[QueueRow], int | None]:
    """A page in risk order and the number of requests the filter keeps (None when the page
    is past the end). Two steps: the order is taken over the narrow key alone (request id and
    the key's columns, with the total as ``count(*) over ()``), then only the page's requests
    are read in full (listing, seller, claim, triggers, arrival)."""
    rows = _queue_rows(as_of, policy, sellers)
    keyed = (
        select(rows.c.id, func.count().over().label("total"))
        .where(*_filtered(rows, filt or QueueFilter(), me))
        .order_by(rows.c.priority, rows.c.exposure.desc(), rows.c.due, rows.c.id)
        .offset(offset)
    )
    if limit is not None:
        keyed = keyed.limit(limit)
    page = s.execute(keyed).all()
    ids = [r.id for r in page]
    total = int(page[0].total) if page else None
    by_id: dict[int, Any] = {}
    for part in chunks(ids):
        by_id.update((r.id, r) for r in s.execute(select(rows).where(rows.c.id.in_(part))))
    # A request that left the queue between the two reads (another statement's snapshot on
    # PostgreSQL) is left out of the page rather than failing it.
    found = [by_id[i] for i in ids if i in by_id]
    ids = [r.id for r in found]
    triggers = _triggers_of(s, ids)
    arrived: dict[int, date] = {}
    for part in chunks(ids):
        a = _arrived(sellers, part)
        arrived.update((rid, on) for rid, on in s.execute(select(a.c.request_id, a.c.since)))
    return [_row(r, triggers[r.id], arrived.get(r.id)) for r in found], total


def sla_days(policy: Policy) -> dict[str, int]:
    return {name: policy.review.sla_days(name) for name in q.QUEUES}


@dataclass
class QueuePage:
    """One page of the queue, in risk order, with the totals of the whole (visible) queue."""

    as_of: date
    policy_version: int
    sla_days: dict[str, int]
    items: list[dict[str, Any]]
    total: int  # after the filter
    page: int
    per_page: int
    queue_sizes: dict[str, int] = field(default_factory=dict)
    breaches: dict[str, int] = field(default_factory=dict)
    by_trigger: dict[str, int] = field(default_factory=dict)
    sellers: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "toysafe/review-queue@1",
            "as_of": self.as_of.isoformat(),
            "policy_version": self.policy_version,
            "sla_days": self.sla_days,
            "queues": {
                k: {"size": self.queue_sizes.get(k, 0), "breaches": self.breaches.get(k, 0)}
                for k in self.sla_days
            },
            "by_trigger": self.by_trigger,
            "total": self.total,
            "page": self.page,
            "per_page": self.per_page,
            "pages": self.pages,
            "items": self.items,
        }


def item_dict(row: QueueRow, r: q.Risk, sla: dict[str, int], as_of: date) -> dict[str, Any]:
    f = row.facts
    return {
        "request": row.ref,
        "seller": row.seller,
        "listing_id": row.listing_id,
        "title": row.title,
        "state": f.state,
        "opened": f.opened.isoformat(),
        "due": f.due.isoformat(),
        "triggers": list(f.triggers),
        "queue": f.queue,
        "waiting_since": f.waiting_since.isoformat() if f.waiting_since else None,
        "waiting_days": q.waiting_days(f, as_of),
        "sla_breached": q.breached(f, sla, as_of),
        "claimed_by": row.claimed_by,
        "claimed_at": iso_at(row.claimed_at),
        "risk": {
            "priority": r.priority.name,
            "exposure": r.exposure,
            "factors": [
                {"code": x.code, "points": x.points, "facts": dict(x.facts)} for x in r.factors
            ],
        },
    }


def queue_page(
    s: Session,
    as_of: date,
    sellers: Collection[int] | None,
    filt: QueueFilter,
    me: str | None,
    page: int = 1,
    per_page: int = 25,
) -> QueuePage:
    """One page of the queue and the whole queue's sizes, SLA breaches and triggers: six
    set-based queries whatever the number of requests."""
    version, policy = policies.get(s)
    sla = sla_days(policy)
    shown, total = _load_page(s, as_of, policy, sellers, filt, me, per_page, (page - 1) * per_page)
    sizes, breaches = queue_stats(s, as_of, sla, sellers)
    if total is None:  # past the last page (or nothing to show): count without a page
        rows = _queue_rows(as_of, policy, sellers)
        where = _filtered(rows, filt, me)
        total = (
            s.scalar(select(func.count()).select_from(rows).where(*where))
            if where
            else sum(sizes.values())
        )
    in_queue = select(Rq.c.id).where(_in_queue(sellers))
    kinds = s.execute(
        select(T.c.kind, func.count(func.distinct(T.c.request_id)))
        .where(T.c.request_id.in_(in_queue))
        .group_by(T.c.kind)
        .order_by(T.c.kind)
    ).all()
    slugs = s.scalars(
        select(ORG.c.slug)
        .where(ORG.c.id.in_(select(Rq.c.seller_org_id).where(_in_queue(sellers))))
        .order_by(ORG.c.slug)
    ).all()
    return QueuePage(
        as_of=as_of,
        policy_version=version,
        sla_days=sla,
        items=[item_dict(r, q.risk(r.facts), sla, as_of) for r in shown],
        total=int(total or 0),
        page=page,
        per_page=per_page,
        queue_sizes=sizes,
        breaches=breaches,
        by_trigger={k: int(n) for k, n in kinds},
        sellers=list(slugs),
    )


def queue_stats(
    s: Session, as_of: date, sla: dict[str, int], sellers: Collection[int] | None
) -> tuple[dict[str, int], dict[str, int]]:
    """Each queue's size and SLA breaches (waiting longer than its SLA as of ``as_of``), in one
    aggregate query; the same rule as ``core.program.queue.breached``."""
    arrived = _arrived(sellers)
    queue = func.coalesce(RA.c.queue, "standard")
    since = _since(queue, RA.c.queue_since, arrived.c.since)
    late = case(
        *((queue == name, since < as_of - timedelta(days=d)) for name, d in sla.items()),
        else_=false(),
    )
    sizes: dict[str, int] = dict.fromkeys(sla, 0)
    breaches: dict[str, int] = dict.fromkeys(sla, 0)
    for name, size, over in s.execute(
        select(queue, func.count(), func.sum(case((late, 1), else_=0)))
        .select_from(Rq)
        .outerjoin(RA, RA.c.request_id == Rq.c.id)
        .outerjoin(arrived, arrived.c.request_id == Rq.c.id)
        .where(_in_queue(sellers))
        .group_by(queue)
    ):
        sizes[name], breaches[name] = int(size), int(over or 0)
    return sizes, breaches


def trigger_counts(s: Session, sellers: Collection[int] | None) -> dict[str, int]:
    """Requests in the queue by trigger kind (a request with two kinds counts in both)."""
    return {
        k: int(n)
        for k, n in s.execute(
            select(T.c.kind, func.count(func.distinct(T.c.request_id)))
            .where(T.c.request_id.in_(select(Rq.c.id).where(_in_queue(sellers))))
            .group_by(T.c.kind)
            .order_by(T.c.kind)
        )
    }


def backlog(
    s: Session, sellers: Collection[int] | None, first: date, last: date
) -> list[q.BacklogPoint]:
    """The queue's backlog for each day from ``first`` to ``last`` against its SLA: from the
    requests' history, a stay in the queue starts when a request reaches a queue state and ends
    when it leaves (the SLA of the request's queue today)."""
    _, policy = policies.get(s)
    sla = sla_days(policy)
    concerned = select(Rq.c.id).where(
        _visible(Rq.c.seller_org_id, sellers),
        or_(Rq.c.state.in_(q.QUEUE_STATES), Rq.c.closed_on >= first),
    )
    queues = dict(
        s.execute(select(RA.c.request_id, RA.c.queue).where(RA.c.request_id.in_(concerned))).all()
    )
    rows = s.execute(
        select(H.c.request_id, H.c.on, H.c.from_state, H.c.to_state)
        .where(
            H.c.request_id.in_(concerned),
            H.c.on <= last,
            or_(H.c.to_state.in_(q.QUEUE_STATES), H.c.from_state.in_(q.QUEUE_STATES)),
        )
        .order_by(H.c.request_id, H.c.id)
    ).all()
    stays: list[q.Stay] = []
    open_since: dict[int, date] = {}
    for rid, on, _, to_state in rows:
        inside = to_state in q.QUEUE_STATES
        if inside and rid not in open_since:
            open_since[rid] = on
        elif not inside and to_state is not None and rid in open_since:
            stays.append(q.Stay(open_since.pop(rid), on, sla[_queue_of(queues.get(rid))]))
    for rid, start in open_since.items():
        stays.append(q.Stay(start, None, sla[_queue_of(queues.get(rid))]))
    return q.backlog(stays, first, last)


# --- claims, releases, escalations, notes -----------------------------------------------------


class Desk:
    """A reviewer's actions on the queue; each method is one transaction."""

    def __init__(self, store: Store, actor: str, admin: bool = False) -> None:
        self.store = store
        self.actor = actor
        self.admin = admin

    def _request(self, s: Session, ref: str) -> pm.Request:
        try:
            number = parse_request_ref(ref)
        except ValueError as e:
            raise NotFound(f"REQUEST: {e}") from None
        req = s.scalar(select(pm.Request).where(pm.Request.id == number).with_for_update())
        if req is None:
            raise NotFound(f"REQUEST: no request {ref}")
        return req

    def _awaiting(self, req: pm.Request) -> None:
        if req.state not in q.QUEUE_STATES:
            raise Refusal(
                "not_awaiting_review",
                f"request {request_ref(req.id)} is {req.state}: it is not waiting for a reviewer",
            )

    def _assignment(self, s: Session, req: pm.Request) -> rm.ReviewAssignment:
        row = s.get(rm.ReviewAssignment, req.id)
        if row is None:
            row = rm.ReviewAssignment(request_id=req.id, queue="standard")
            s.add(row)
        return row

    def _record(
        self,
        s: Session,
        req: pm.Request,
        as_of: date,
        now: datetime,
        action: str,
        queue: str,
        reason: str | None = None,
    ) -> None:
        s.add(
            rm.ReviewLog(
                request_id=req.id,
                on=as_of,
                at=now,
                actor=self.actor,
                action=action,
                queue=queue,
                reason=reason,
            )
        )
        detail: dict[str, Any] = {"queue": queue}
        if reason is not None:
            detail["reason"] = reason
        self._event(s, req, as_of, f"review.{action}", detail)

    def _event(
        self, s: Session, req: pm.Request, as_of: date, kind: str, detail: dict[str, Any]
    ) -> None:
        s.add(
            pm.ProgramEvent(
                on=as_of,
                actor=self.actor,
                kind=kind,
                subject=request_ref(req.id),
                policy_version=req.policy_version,
                detail=detail,
            )
        )

    @staticmethod
    def _state(row: rm.ReviewAssignment, ref: str) -> dict[str, Any]:
        return {
            "request": ref,
            "queue": row.queue,
            "queue_since": row.queue_since.isoformat() if row.queue_since else None,
            "claimed_by": row.claimed_by,
            "claimed_at": iso_at(row.claimed_at),
        }

    def claim(self, ref: str, as_of: date) -> dict[str, Any]:
        """Take a request: the claim is refused while someone else holds it."""
        now = datetime.now(UTC)
        with self.store.transaction() as s:
            req = self._request(s, ref)
            self._awaiting(req)
            row = self._assignment(s, req)
            if row.claimed_by == self.actor:
                return self._state(row, ref)  # claiming one's own claim again changes nothing
            if row.claimed_by is not None:
                raise Refusal("claimed_by_other", f"request {ref} is claimed by {row.claimed_by}")
            row.claimed_by, row.claimed_at, row.claimed_on, row.updated_at = (
                self.actor,
                now,
                as_of,
                now,
            )
            self._record(s, req, as_of, now, "claimed", row.queue)
            s.flush()
            return self._state(row, ref)

    def release(self, ref: str, as_of: date) -> dict[str, Any]:
        """Give a claimed request back to its queue (the claimer, or an admin)."""
        now = datetime.now(UTC)
        with self.store.transaction() as s:
            req = self._request(s, ref)
            row = self._assignment(s, req)
            if row.claimed_by is None:
                raise Refusal("not_claimed", f"request {ref} is not claimed")
            if row.claimed_by != self.actor and not self.admin:
                raise Refusal("claimed_by_other", f"request {ref} is claimed by {row.claimed_by}")
            held_by = row.claimed_by
            row.claimed_by, row.claimed_at, row.claimed_on, row.updated_at = None, None, None, now
            self._record(s, req, as_of, now, "released", row.queue, f"held by {held_by}")
            s.flush()
            return self._state(row, ref)

    def escalate(self, ref: str, reason: str, as_of: date) -> dict[str, Any]:
        """Send a request to the senior queue with a reason; the claim ends with it."""
        text = reason.strip()
        if not text:
            raise InputError("reason: say why the request goes to the senior queue")
        if len(text) > MAX_REASON:
            raise InputError(f"reason: at most {MAX_REASON} characters")
        now = datetime.now(UTC)
        with self.store.transaction() as s:
            req = self._request(s, ref)
            self._awaiting(req)
            row = self._assignment(s, req)
            if row.queue == "senior":
                raise Refusal("already_escalated", f"request {ref} is in the senior queue")
            if row.claimed_by not in (None, self.actor) and not self.admin:
                raise Refusal("claimed_by_other", f"request {ref} is claimed by {row.claimed_by}")
            row.queue, row.queue_since = "senior", as_of
            row.claimed_by, row.claimed_at, row.claimed_on, row.updated_at = None, None, None, now
            self._record(s, req, as_of, now, "escalated", "senior", text)
            s.flush()
            return self._state(row, ref)

    def note(self, ref: str, body: str, as_of: date) -> dict[str, Any]:
        """An internal note (never shown to the seller)."""
        text = body.strip()
        if not text:
            raise InputError("body: the note is empty")
        if len(text) > MAX_NOTE:
            raise InputError(f"body: at most {MAX_NOTE} characters")
        now = datetime.now(UTC)
        with self.store.transaction() as s:
            req = self._request(s, ref)
            note = rm.ReviewNote(request_id=req.id, on=as_of, at=now, actor=self.actor, body=text)
            s.add(note)
            s.flush()
            # The event names the note, not its words: notes stay in their own table.
            self._event(s, req, as_of, "review.note", {"note": note.id})
            return note_dict(note)


def note_dict(n: rm.ReviewNote) -> dict[str, Any]:
    return {"id": n.id, "on": n.on.isoformat(), "at": iso_at(n.at), "actor": n.actor,
            "body": n.body}  # fmt: skip


def review_state(s: Session, request_id: int) -> dict[str, Any]:
    """The marketplace-only part of a request: queue, claim, the review log and the notes."""
    row = s.get(rm.ReviewAssignment, request_id)
    log = s.scalars(
        select(rm.ReviewLog).where(rm.ReviewLog.request_id == request_id).order_by(rm.ReviewLog.id)
    ).all()
    notes = s.scalars(
        select(rm.ReviewNote)
        .where(rm.ReviewNote.request_id == request_id)
        .order_by(rm.ReviewNote.id)
    ).all()
    return {
        "format": "toysafe/review@1",
        "request": request_ref(request_id),
        "queue": row.queue if row else "standard",
        "queue_since": row.queue_since.isoformat() if row and row.queue_since else None,
        "claimed_by": row.claimed_by if row else None,
        "claimed_at": iso_at(row.claimed_at) if row else None,
        "log": [
            {
                "on": x.on.isoformat(),
                "at": iso_at(x.at),
                "actor": x.actor,
                "action": x.action,
                "queue": x.queue,
                "reason": x.reason,
            }  # fmt: skip
            for x in log
        ],
        "notes": [note_dict(n) for n in notes],
    }


# --- one request's evidence side by side ------------------------------------------------------


LISTING_FIELDS = ("listing_id", "title", "brand", "model", "category", "min_age_months",
                  "cautionary_statement", "listed_on", "sku", "state")  # fmt: skip


def evidence(s: Session, request_id: int, as_of: date) -> dict[str, Any]:
    """What a reviewer compares: the request (marketplace view), the listing's attributes, the
    latest submission's reports and certificate (or the TIC's validation), toysafe's
    assessment of the submitted (else the linked) profile, and where each finding of the
    latest pre-check points."""
    (doc,) = views.requests(s, as_of, ids=[request_id])
    req = s.get(pm.Request, request_id)
    assert req is not None
    listing = s.get(pm.ProgramListing, req.listing_pk)
    assert listing is not None
    sub = s.scalar(
        select(pm.Submission)
        .where(pm.Submission.request_id == request_id)
        .order_by(pm.Submission.id.desc())
        .limit(1)
    )
    findings = [f for f in doc["findings"] if sub is None or f["submission"] in (sub.id, None)]
    marks: dict[str, set[str]] = defaultdict(set)
    shown = []
    for f in findings:
        facts = dict(f["facts"]) if isinstance(f["facts"], list) else dict(f["facts"] or {})
        where = q.targets(f["code"], f["requirement"], facts)
        for t in where:
            marks[t.pane].add(t.key)
        shown.append({**f, "facts": facts, "targets": sorted(f"{t.pane}:{t.key}" for t in where)})
    validation = sub.validation if sub else None
    profile_doc = (
        (sub.profile if sub else None)
        or (validation.get("profile") if isinstance(validation, dict) else None)
        or _linked_profile(s, listing.product_id)
    )
    profile = _profile(profile_doc)
    assessment = None
    if profile is not None:
        a = assess(profile, default_kb(), sub.submitted_on if sub else as_of)
        assessment = {
            "sku": a.sku,
            "children_product": a.children_product,
            "certificate": str(a.certificate),
            "requirements": [
                {
                    "id": r.id,
                    "title": r.title,
                    "citation": r.citation,
                    "third_party_testing": r.third_party_testing,
                }  # fmt: skip
                for r in a.requirements
            ],
            "warnings": [w.key for w in a.warnings],
        }
    return {
        "request": doc,
        "listing": {k: _plain(getattr(listing, k)) for k in LISTING_FIELDS},
        "submission": None
        if sub is None
        else {
            "id": sub.id,
            "on": sub.submitted_on.isoformat(),
            "channel": sub.channel,
            "actor": sub.actor,
            "outcome": sub.outcome,
            "reports": sub.reports or [],
            "certificate": sub.certificate,
            "validation": sub.validation,
        },
        "assessment": assessment,
        "findings": shown,
        "marks": {k: sorted(v) for k, v in marks.items()},
    }


def iso_at(v: datetime | None) -> str | None:
    """A stored moment as ISO 8601 in UTC (SQLite gives them back without their zone)."""
    if v is None:
        return None
    return (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def _profile(doc: Any) -> Profile | None:
    """A stored profile as a Profile. Submissions stored before they kept the
    ``toysafe/product@1`` form hold the model's dump: its manufacture date is then an object
    with the original text, and features a mapping."""
    if not isinstance(doc, dict):
        return None
    data = dict(doc)
    if isinstance(data.get("manufactured"), dict):
        data["manufactured"] = data["manufactured"].get("text")
    if isinstance(data.get("features"), dict):
        data["features"] = [
            name if not params else {name: params} for name, params in data["features"].items()
        ]
    try:
        return Profile.model_validate(data)
    except ValueError:
        return None


def _linked_profile(s: Session, product_id: int | None) -> dict[str, Any] | None:
    if product_id is None:
        return None
    doc = s.scalar(
        select(m.ProductVersion.profile)
        .join(m.Product, m.Product.id == m.ProductVersion.product_id)
        .where(m.Product.id == product_id, m.ProductVersion.version == m.Product.latest_version)
    )
    return dict(doc) if doc else None


# --- the marketplace admin: policy versions, diffs, dry runs -----------------------------------


def policy_versions(s: Session) -> list[dict[str, Any]]:
    rows = s.execute(
        select(
            pm.PolicyVersion.version,
            pm.PolicyVersion.digest,
            pm.PolicyVersion.marketplace,
            pm.PolicyVersion.loaded_on,
            pm.PolicyVersion.loaded_by,
        ).order_by(pm.PolicyVersion.version.desc())
    ).all()
    return [
        {
            "version": r.version,
            "digest": r.digest,
            "marketplace": r.marketplace,
            "loaded_on": r.loaded_on.isoformat(),
            "loaded_by": r.loaded_by,
        }  # fmt: skip
        for r in rows
    ]


def policy_diff(s: Session, a: int, b: int) -> list[dict[str, Any]]:
    """Every key that differs from version ``a`` to version ``b`` (InputError naming the
    version that does not exist)."""
    _, pa = policies.get(s, a)
    _, pb = policies.get(s, b)
    return diff(pa, pb)


def dry_run(store: Store, candidate: Policy, as_of: date, actor: str) -> dict[str, Any]:
    """What the candidate policy would do today (the sweep's own dry run: nothing is stored)."""
    from toysafe.store.program.sweep import sweep

    with store.reader() as s:
        current = policies.current(s)
    result = sweep(store, as_of, actor, candidate, dry_run=True)
    actions = Counter(a["action"] for a in result.actions)
    return {
        "as_of": as_of.isoformat(),
        "requests": len(result.opened),
        "suppressions": actions.get("suppressed", 0),
        "updated": len(result.updated),
        "reminded": len(result.reminded),
        "actions": dict(sorted(actions.items())),
        "diff": diff(current[1], candidate) if current else [],
        "compared_with": current[0] if current else None,
        "opened": result.opened[:50],
    }
