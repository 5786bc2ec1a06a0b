"""The daily sweep (P14): one set-based pass of the program for a date.

Each step selects what changes with SQL over the tables (scope, triggers, reminders, the
ladder, health, the trusted tier), composes the new rows for that change set only, and writes
them in bulk. Nothing loops over listings in Python. Every step is idempotent for a date: it
looks for the rows an earlier run wrote (a trigger's ``ref``, an action's ``key``, a violation
per request and kind) and writes only what is missing, so a second run changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import BIT
from sqlalchemy.orm import Session

from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.program import reasons as R
from toysafe.core.program.model import (
    OPEN_STATES,
    SELLER_OWES,
    AccountState,
    ActionKind,
    RequestState,
    Severity,
    TriggerKind,
    ViolationKind,
    band_of,
    request_ref,
    score_of,
)
from toysafe.core.program.policy import Policy, audit_draw, period_of
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import policies, products
from toysafe.store.program.feeds import bulk_insert, chunks, insert_returning_ids, log, table

EPOCH = date(1900, 1, 1)
LOCK_KEY = 7_461_002_011  # pg_advisory_xact_lock key of the sweep
SEVERITY_RANK = {"pending": 0, "active": 0, "suppressed": 1, "removed": 2}

L = table(pm.ProgramListing)
Rq = table(pm.Request)
T = table(pm.RequestTrigger)
H = table(pm.RequestHistory)
C = table(pm.Complaint)
F = table(pm.ProductFacts)
RD = table(pm.ProductRuleDate)
E = table(pm.Exemption)
D = table(pm.DecisionRow)
V = table(pm.ViolationRow)
A = table(pm.ActionRow)
ACC = table(pm.AccountRow)
OUT = table(pm.Outbox)
ORG = table(m.Organization)

Progress = Callable[[str], None]


@dataclass
class SweepResult:
    as_of: date
    policy_version: int
    dry_run: bool = False
    opened: list[dict[str, Any]] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)
    reminded: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    products_assessed: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.opened
            or self.updated
            or self.reminded
            or self.actions
            or self.accounts
            or self.closed
            or self.products_assessed
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": "toysafe/sweep@1",
            "as_of": self.as_of.isoformat(),
            "policy_version": self.policy_version,
            "opened": self.opened,
            "updated": self.updated,
            "reminded": self.reminded,
            "actions": self.actions,
            "accounts": self.accounts,
            "closed": self.closed,
        }
        if self.dry_run:
            out["dry_run"] = True
        return out


def sweep(
    store: Store,
    as_of: date,
    actor: str,
    candidate: Policy | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    kb: KnowledgeBase | None = None,
    engine: str | None = None,
    spark_session: Any = None,
) -> SweepResult:
    """Run the sweep for ``as_of`` in one transaction; a dry run rolls it back at the end.

    ``engine`` (``duckdb`` or ``spark``) computes the same decisions as a compiled plan over a
    snapshot of the tables and writes the change set back in bulk (``compiled_sweep``)."""
    with store.sessions() as s:
        tx = s.begin()
        try:
            lock(s)
            if candidate is not None:
                policies.load(s, candidate, as_of, actor)
            version, policy = policies.get(s)
            steps = progress or (lambda _: None)
            if engine is None:
                result = Sweep(s, as_of, actor, version, policy, steps).run(kb)
            else:
                from toysafe.store.program.compiled_sweep import CompiledSweep

                result = CompiledSweep(
                    s, as_of, actor, version, policy, steps, engine, spark_session
                ).run(kb)
            result.dry_run = dry_run
            if dry_run:
                tx.rollback()
            else:
                if result.changed:
                    log(s, as_of, actor, "sweep", f"sweep {as_of}", version, _counts(result))
                record_run(s, as_of, version, actor, _counts(result))
                tx.commit()
        except BaseException:
            if tx.is_active:
                tx.rollback()
            raise
    return result


def _counts(r: SweepResult) -> dict[str, int]:
    return {
        "opened": len(r.opened),
        "updated": len(r.updated),
        "reminded": len(r.reminded),
        "actions": len(r.actions),
        "accounts": len(r.accounts),
        "closed": len(r.closed),
    }


def lock(s: Session) -> None:
    """Serialize sweeps: PostgreSQL's advisory lock for this transaction; on SQLite the
    writer's BEGIN IMMEDIATE already holds the database's write lock."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def record_run(s: Session, as_of: date, version: int, worker: str, summary: dict[str, int]) -> None:
    SW = table(pm.SweepRun)
    if s.scalar(select(SW.c.as_of).where(SW.c.as_of == as_of)) is None:
        s.execute(
            insert(SW),
            [
                {
                    "as_of": as_of,
                    "policy_version": version,
                    "worker": worker,
                    "finished": True,
                    "summary": summary,
                }
            ],
        )


def claim(store: Store, as_of: date, worker: str) -> bool:
    """Claim the sweep of ``as_of`` for this worker (``toysafe serve``): True for exactly one
    of several workers racing for the same day; the row is the lock."""
    from sqlalchemy.exc import IntegrityError

    SW = table(pm.SweepRun)
    try:
        with store.transaction() as s:
            if s.scalar(select(SW.c.as_of).where(SW.c.as_of == as_of)) is not None:
                return False
            version = policies.current(s)
            s.execute(
                insert(SW),
                [
                    {
                        "as_of": as_of,
                        "policy_version": version[0] if version else 0,
                        "worker": worker,
                        "finished": False,
                        "summary": {},
                    }
                ],
            )
        return True
    except IntegrityError:
        return False


def finish(store: Store, as_of: date, summary: dict[str, int]) -> None:
    SW = table(pm.SweepRun)
    with store.transaction() as s:
        s.execute(update(SW).where(SW.c.as_of == as_of).values(finished=True, summary=summary))


class Sweep:
    def __init__(
        self,
        s: Session,
        as_of: date,
        actor: str,
        version: int,
        policy: Policy,
        progress: Progress,
    ) -> None:
        self.s = s
        self.day = as_of
        self.actor = actor
        self.version = version
        self.policy = policy
        self.progress = progress
        self.result = SweepResult(as_of, version)
        self.pg = s.get_bind().dialect.name == "postgresql"
        self.trusted: dict[int, bool] = {}
        self.slugs: dict[int, str] = {}
        self.only: int | None = None  # tier and health of this seller only (a decision's)

    def _mine(self, column: Any) -> ColumnElement[bool]:
        """Every seller, or only ``self.only``."""
        return true() if self.only is None else column == self.only

    # --- helpers -------------------------------------------------------------------------

    def ex(self, stmt: Any, rows: Sequence[dict[str, Any]] | None = None) -> Any:
        if rows is not None:
            if not rows:
                return None
            for part in chunks(list(rows)):
                self.s.execute(stmt, list(part))
            return None
        return self.s.execute(stmt)

    def put(self, t: Any, rows: Sequence[dict[str, Any]]) -> None:
        bulk_insert(self.s, t, rows)

    def category_case(self) -> ColumnElement[Any]:
        whens = [
            (L.c.category.in_(cat.listing_categories), literal(key))
            for key, cat in self.policy.categories.items()
        ]
        return case(*whens, else_=null())

    def per_category(self, column: Any, value: Callable[[str], Any]) -> ColumnElement[Any]:
        return case(
            *[(column == key, literal(value(key))) for key in self.policy.categories],
            else_=null(),
        )

    def slug(self, org_id: int) -> str:
        if not self.slugs:
            self.slugs = dict(self.s.execute(select(ORG.c.id, ORG.c.slug)).all())
        return self.slugs.get(org_id) or str(org_id)

    def outbox(self, rows: list[dict[str, Any]]) -> None:
        """Notifications as rows, once each (``key``)."""
        if not rows:
            return
        keys = [r["key"] for r in rows]
        have: set[str] = set()
        for part in chunks(keys):
            have.update(self.s.scalars(select(OUT.c.key).where(OUT.c.key.in_(part))))
        self.put(OUT, [r for r in rows if r["key"] not in have])

    # --- the pass ------------------------------------------------------------------------

    def run(self, kb: KnowledgeBase | None) -> SweepResult:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("linking products", lambda: self.link(kb)),
            ("scope (P1)", self.scope),
            ("trusted tier (P12)", self.tier),
            ("triggers (P2, P3)", self.triggers),
            ("reminders (P5)", self.reminders),
            ("ladder (P6)", self.ladder),
            ("account health (P10)", self.health),
        ]
        for label, step in steps:
            self.progress(label)
            step()
        return self.result

    def link(self, kb: KnowledgeBase | None) -> None:
        products.link(self.s)
        self.result.products_assessed = products.refresh(self.s, self.day, kb)

    def scope(self) -> None:
        """P1: in the program when the category is covered and it is a children's toy (the
        linked product's assessment, else ``min_age_months`` under the category's limit)."""
        cat = self.category_case()
        max_age = self.per_category(cat, lambda k: self.policy.categories[k].max_age_months)
        children = select(F.c.children_product).where(F.c.product_id == L.c.product_id)
        by_age = or_(L.c.min_age_months.is_(None), L.c.min_age_months < max_age)
        new_scope = and_(
            cat.is_not(None),
            case((children.exists(), children.scalar_subquery()), else_=by_age),
        )
        pre_review = self.per_category(
            L.c.program_category, lambda k: self.policy.categories[k].pre_listing_review
        )
        valid = and_(L.c.valid_until.is_not(None), L.c.valid_until >= self.day)
        # The category first, so that the states below read the new one.
        self.ex(
            update(L).where(L.c.program_category.is_distinct_from(cat)).values(program_category=cat)
        )
        self.ex(
            update(L)
            .where(~new_scope, L.c.state != "out_of_scope")
            .values(state="out_of_scope", state_since=self.day, in_scope=false())
        )
        self.ex(
            update(L)
            .where(new_scope, or_(L.c.in_scope.is_(None), L.c.state == "out_of_scope"))
            .values(
                state=case((and_(pre_review == true(), ~valid), "pending"), else_="active"),
                state_since=self.day,
                in_scope=true(),
            )
        )
        self.ex(update(L).where(new_scope, L.c.in_scope.is_not(True)).values(in_scope=true()))
        self.ex(update(L).where(~new_scope, L.c.in_scope.is_not(False)).values(in_scope=false()))
        # A listing that left the program takes its open request with it.
        gone = self.s.execute(
            select(Rq.c.id, Rq.c.state, Rq.c.listing_pk, L.c.listing_id)
            .join(L, L.c.id == Rq.c.listing_pk)
            .where(Rq.c.state.in_(OPEN_STATES), L.c.in_scope == false())
            .order_by(Rq.c.id)
        ).all()
        if gone:
            ids = [g.id for g in gone]
            for part in chunks(ids):
                self.ex(
                    update(Rq)
                    .where(Rq.c.id.in_(part))
                    .values(state=RequestState.not_applicable.value, closed_on=self.day)
                )
            self.ex(
                insert(H),
                [
                    {
                        "request_id": g.id,
                        "on": self.day,
                        "event": "closed",
                        "from_state": g.state,
                        "to_state": RequestState.not_applicable.value,
                        "ref": "out_of_scope",
                        "actor": self.actor,
                        "detail": {"reason": "the listing is no longer in the program (P1)"},
                    }
                    for g in gone
                ],
            )
            self.result.closed += [
                {
                    "request": request_ref(g.id),
                    "listing_id": g.listing_id,
                    "state": "not_applicable",
                }
                for g in gone
            ]

    def tier(self) -> None:
        """P12, as of the start of the day (violations opened before it), so that a second
        run for the same date reaches the same tier."""
        t = self.policy.trusted
        sellers = self.s.execute(
            select(L.c.seller_org_id, func.min(L.c.listed_on))
            .where(self._mine(L.c.seller_org_id))
            .group_by(L.c.seller_org_id)
        ).all()
        self.since = dict(sellers)
        if t is None:
            self.trusted = dict.fromkeys(self.since, False)
            return
        start = self.day - timedelta(days=self.policy.account_health.window_days)
        approvals: dict[int, int] = dict(
            self.s.execute(
                select(D.c.seller_org_id, func.count())
                .where(
                    D.c.decision == "approve",
                    D.c.decided_on <= self.day,
                    self._mine(D.c.seller_org_id),
                )
                .group_by(D.c.seller_org_id)
            ).all()
        )
        violations: dict[int, int] = dict(
            self.s.execute(
                select(V.c.seller_org_id, func.count())
                .where(V.c.opened < self.day, V.c.opened > start, self._mine(V.c.seller_org_id))
                .group_by(V.c.seller_org_id)
            ).all()
        )
        self.trusted = {
            sid: (self.day - since).days >= t.min_account_age_days
            and approvals.get(sid, 0) >= t.min_approved
            and violations.get(sid, 0) <= t.max_violations_in_window
            for sid, since in self.since.items()
        }

    # --- P3 triggers ------------------------------------------------------------------------

    def _eligible(self, kind: TriggerKind) -> ColumnElement[bool]:
        exempt = exists().where(
            E.c.listing_pk == L.c.id,
            E.c.trigger_kind == kind.value,
            E.c.starts <= self.day,
            E.c.until >= self.day,
        )
        return and_(
            L.c.in_scope == true(), L.c.state != "removed", L.c.listed_on <= self.day, ~exempt
        )

    def _had(self, kind: TriggerKind, ref: Any | None = None) -> ColumnElement[bool]:
        cond = [T.c.listing_pk == L.c.id, T.c.kind == kind.value]
        if ref is not None:
            cond.append(T.c.ref == ref)
        return exists().where(*cond)

    def candidates(self) -> dict[int, list[tuple[str, str, dict[str, Any]]]]:
        """Every trigger that fires today, by listing: (kind, ref, facts)."""
        out: dict[int, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
        day, pol = self.day, self.policy
        rows: Any

        rows = self.s.execute(
            select(L.c.id, L.c.listed_on).where(
                self._eligible(TriggerKind.new_listing),
                L.c.last_approved_on.is_(None),
                ~self._had(TriggerKind.new_listing),
            )
        )
        for pk, listed in rows:
            out[pk].append(("new_listing", "", {"listed_on": listed.isoformat()}))

        for key, cat in pol.categories.items():
            horizon = day + timedelta(days=cat.renewal_notice_days)
            rows = self.s.execute(
                select(L.c.id, L.c.valid_until).where(
                    self._eligible(TriggerKind.renewal),
                    L.c.program_category == key,
                    L.c.valid_until.is_not(None),
                    L.c.valid_until <= horizon,
                    ~self._had(TriggerKind.renewal, cast(L.c.valid_until, String)),
                )
            )
            for pk, until in rows:
                out[pk].append(("renewal", until.isoformat(), {"valid_until": until.isoformat()}))

        if (ct := pol.triggers.complaints) is not None:
            since = day - timedelta(days=ct.window_days)
            last = (
                select(func.max(T.c.on))
                .where(T.c.listing_pk == L.c.id, T.c.kind == "complaint")
                .scalar_subquery()
            )
            words = or_(*[func.lower(C.c.text).contains(w, autoescape=True) for w in ct.keywords])
            rows = self.s.execute(
                select(L.c.id, func.count(), func.max(C.c.received_on))
                .join(C, C.c.listing_id == L.c.listing_id)
                .where(
                    self._eligible(TriggerKind.complaint),
                    C.c.received_on > since,
                    C.c.received_on <= day,
                    C.c.received_on > func.coalesce(last, EPOCH),
                    words,
                )
                .group_by(L.c.id)
                .having(func.count() >= ct.threshold)
            )
            for pk, n, latest in rows:
                out[pk].append(
                    (
                        "complaint",
                        latest.isoformat(),
                        {"complaints": n, "window_days": ct.window_days, "keywords": ct.keywords},
                    )
                )

        if (rc := pol.triggers.rule_change) is not None:
            horizon = day + timedelta(days=rc.notice_days)
            ref = RD.c.requirement + literal("@") + cast(RD.c.effective, String)
            since_ = func.coalesce(L.c.last_approved_on, L.c.listed_on)
            rows = self.s.execute(
                select(L.c.id, RD.c.requirement, RD.c.effective)
                .join(RD, RD.c.product_id == L.c.product_id)
                .where(
                    self._eligible(TriggerKind.rule_change),
                    or_(
                        and_(RD.c.effective >= day, RD.c.effective <= horizon),
                        and_(RD.c.effective > since_, RD.c.effective <= day),
                    ),
                    ~self._had(TriggerKind.rule_change, ref),
                )
                .order_by(L.c.id, RD.c.requirement, RD.c.effective)
            )
            for pk, req, eff in rows:
                out[pk].append(
                    (
                        "rule_change",
                        f"{req}@{eff.isoformat()}",
                        {"requirement": req, "effective": eff.isoformat()},
                    )
                )

        if (ht := pol.triggers.history) is not None:
            since = day - timedelta(days=ht.window_days)
            last = (
                select(func.max(T.c.on))
                .where(T.c.listing_pk == L.c.id, T.c.kind == "history")
                .scalar_subquery()
            )
            rows = self.s.execute(
                select(L.c.id, func.count(), func.max(D.c.decided_on))
                .join(D, D.c.seller_org_id == L.c.seller_org_id)
                .where(
                    self._eligible(TriggerKind.history),
                    D.c.decision == "reject",
                    D.c.decided_on > since,
                    D.c.decided_on <= day,
                    D.c.decided_on > func.coalesce(last, EPOCH),
                )
                .group_by(L.c.id)
                .having(func.count() >= ht.rejections)
            )
            for pk, n, latest in rows:
                out[pk].append(
                    (
                        "history",
                        latest.isoformat(),
                        {"rejections": n, "window_days": ht.window_days},
                    )
                )

        if (ra := pol.triggers.random_audit) is not None:
            period = period_of(day, ra.period)
            trusted_rate = pol.trusted.random_audit_rate if pol.trusted else ra.rate
            top = max(ra.rate, trusted_rate)
            draw = self._draw(period)
            rows = self.s.execute(
                select(L.c.id, L.c.seller_org_id, draw).where(
                    self._eligible(TriggerKind.random_audit),
                    draw < top,
                    ~self._had(TriggerKind.random_audit, literal(period)),
                )
            )
            for pk, seller, value in rows:
                rate = trusted_rate if self.trusted.get(seller) else ra.rate
                if value < rate:
                    out[pk].append(("random_audit", period, {"period": period, "rate": rate}))
        return out

    def _draw(self, period: str) -> ColumnElement[Any]:
        """The contract's sample value for each listing, computed by the database."""
        if self.pg:
            key = literal(f"{self.version}:") + L.c.listing_id + literal(f":{period}")
            digest = func.encode(func.sha256(func.convert_to(key, literal("UTF8"))), literal("hex"))
            bits = cast(literal("x").op("||")(func.substr(digest, 1, 8)), BIT(32))
            return cast(bits, BigInteger) / literal(4294967296.0)
        raw = self.s.connection().connection.driver_connection
        assert raw is not None
        raw.create_function("toysafe_audit_draw", 3, audit_draw, deterministic=True)
        return func.toysafe_audit_draw(self.version, L.c.listing_id, period)

    def triggers(self) -> None:
        """P2 and P3: a trigger joins the listing's open request, or opens one."""
        found = self.candidates()
        if not found:
            return
        open_by_listing = dict(
            self.s.execute(
                select(Rq.c.listing_pk, Rq.c.id).where(Rq.c.state.in_(OPEN_STATES))
            ).all()
        )
        info: dict[int, Any] = {}
        pks = sorted(found)
        for part in chunks(pks):
            for got_row in self.s.execute(
                select(
                    L.c.id,
                    L.c.listing_id,
                    L.c.seller_org_id,
                    L.c.program_category,
                    L.c.min_age_months,
                    F.c.requirements,
                )
                .outerjoin(F, F.c.product_id == L.c.product_id)
                .where(L.c.id.in_(part))
            ):
                info[got_row.id] = got_row
        new_pks = sorted(
            (pk for pk in pks if pk not in open_by_listing), key=lambda p: info[p].listing_id
        )
        if new_pks:
            fresh: list[dict[str, Any]] = []
            for pk in new_pks:
                i = info[pk]
                cat = self.policy.categories[i.program_category]
                trusted = bool(self.trusted.get(i.seller_org_id))
                days = (
                    self.policy.trusted.response_days
                    if trusted and self.policy.trusted
                    else self.policy.clocks.response_days
                )
                reqs = i.requirements if i.requirements is not None else list(cat.baseline)
                fresh.append(
                    {
                        "listing_pk": pk,
                        "seller_org_id": i.seller_org_id,
                        "category": i.program_category,
                        "state": RequestState.open.value,
                        "opened": self.day,
                        "due": self.day + timedelta(days=days),
                        "policy_version": self.version,
                        "requirements": reqs,
                        "requirements_basis": "assessment"
                        if i.requirements is not None
                        else "baseline",
                        "extended_days": 0,
                        "trusted": trusted,
                    }
                )
            ids = insert_returning_ids(self.s, Rq, fresh)
            for pk, rid in zip(new_pks, ids, strict=True):
                open_by_listing[pk] = rid
            history, findings, notes = [], [], []
            for pk, rid, row in zip(new_pks, ids, fresh, strict=True):
                i = info[pk]
                kinds = _kinds(found[pk])
                basis = row["requirements_basis"]
                history.append(
                    {
                        "request_id": rid,
                        "on": self.day,
                        "event": "opened",
                        "from_state": None,
                        "to_state": "open",
                        "ref": None,
                        "actor": self.actor,
                        "detail": {"triggers": kinds, "due": row["due"].isoformat()},
                    }
                )
                if basis == "baseline":
                    findings.append(
                        {
                            "request_id": rid,
                            "submission_id": None,
                            "code": "product_not_linked",
                            "requirement": None,
                            "facts": ["the listing links no product in the workspace (sku)"],
                            "next_step": "link the listing to its product (sku): the assessment "
                            "narrows what this request asks for",
                            "found_on": self.day,
                        }
                    )
                if i.min_age_months is None:
                    findings.append(
                        {
                            "request_id": rid,
                            "submission_id": None,
                            "code": "age_grade_missing",
                            "requirement": None,
                            "facts": ["the listing states no manufacturer minimum age"],
                            "next_step": "add the manufacturer's minimum age (months) to "
                            "the listing",
                            "found_on": self.day,
                        }
                    )
                notes.append(
                    {
                        "key": f"opened:{rid}",
                        "seller_org_id": i.seller_org_id,
                        "created_on": self.day,
                        "kind": "request_opened",
                        "request_id": rid,
                        "listing_pk": pk,
                        "payload": {
                            "request": request_ref(rid),
                            "listing_id": i.listing_id,
                            "due": row["due"].isoformat(),
                            "triggers": kinds,
                            "requirements": row["requirements"],
                        },
                    }
                )
                self.result.opened.append(
                    {"request": request_ref(rid), "listing_id": i.listing_id, "triggers": kinds}
                )
            self.put(H, history)
            self.put(table(pm.Finding), findings)
            self.outbox(notes)
        new_set = set(new_pks)
        trig_rows, added_hist = [], []
        for pk in pks:
            rid = open_by_listing[pk]
            for kind, ref, facts in found[pk]:
                trig_rows.append(
                    {
                        "request_id": rid,
                        "listing_pk": pk,
                        "kind": kind,
                        "ref": ref,
                        "on": self.day,
                        "facts": {**facts, "reason": R.trigger_reason(kind, ref, facts)},
                    }
                )
            if pk not in new_set:
                kinds = _kinds(found[pk])
                added_hist.append(
                    {
                        "request_id": rid,
                        "on": self.day,
                        "event": "trigger_added",
                        "from_state": None,
                        "to_state": None,
                        "ref": ",".join(kinds),
                        "actor": self.actor,
                        "detail": {"triggers": kinds},
                    }
                )
                self.result.updated.append(
                    {
                        "request": request_ref(rid),
                        "listing_id": info[pk].listing_id,
                        "added_triggers": kinds,
                    }
                )
        # An open request may already hold this (kind, ref): then it is not added again.
        have: set[tuple[int, str, str]] = set()
        rids = sorted({r["request_id"] for r in trig_rows})
        for part in chunks(rids):
            have.update(
                self.s.execute(
                    select(T.c.request_id, T.c.kind, T.c.ref).where(T.c.request_id.in_(part))
                ).all()
            )
        self.put(T, [r for r in trig_rows if (r["request_id"], r["kind"], r["ref"]) not in have])
        self.put(H, added_hist)

    # --- P5 reminders -------------------------------------------------------------------

    def reminders(self) -> None:
        days = self.policy.clocks.reminder_days_before_due
        if not days:
            return
        rows = self.s.execute(
            select(
                Rq.c.id, Rq.c.due, Rq.c.opened, Rq.c.seller_org_id, Rq.c.listing_pk, L.c.listing_id
            )
            .join(L, L.c.id == Rq.c.listing_pk)
            .where(
                Rq.c.state.in_(SELLER_OWES),
                Rq.c.due > self.day,
                Rq.c.due <= self.day + timedelta(days=max(days)),
            )
            .order_by(Rq.c.id)
        ).all()
        if not rows:
            return
        sent: set[tuple[int, str]] = set()
        for part in chunks([r.id for r in rows]):
            sent.update(
                self.s.execute(
                    select(H.c.request_id, H.c.ref).where(
                        H.c.request_id.in_(part), H.c.event == "reminded"
                    )
                ).all()
            )
        history, notes = [], []
        for r in rows:
            due_in = (r.due - self.day).days
            todo = [d for d in days if d >= due_in and r.due - timedelta(days=d) >= r.opened]
            todo = [d for d in todo if (r.id, str(d)) not in sent]
            if not todo:
                continue
            for d in todo:
                history.append(
                    {
                        "request_id": r.id,
                        "on": self.day,
                        "event": "reminded",
                        "from_state": None,
                        "to_state": None,
                        "ref": str(d),
                        "actor": self.actor,
                        "detail": {"days_before_due": d, "due": r.due.isoformat()},
                    }
                )
            notes.append(
                {
                    "key": f"reminder:{r.id}:{min(todo)}",
                    "seller_org_id": r.seller_org_id,
                    "created_on": self.day,
                    "kind": "reminder",
                    "request_id": r.id,
                    "listing_pk": r.listing_pk,
                    "payload": {
                        "request": request_ref(r.id),
                        "listing_id": r.listing_id,
                        "due": r.due.isoformat(),
                        "days_left": due_in,
                    },
                }
            )
            self.result.reminded.append({"request": request_ref(r.id), "due": r.due.isoformat()})
        self.put(H, history)
        self.outbox(notes)

    # --- P6 ladder ------------------------------------------------------------------------

    def ladder(self) -> None:
        rows = self.s.execute(
            select(
                Rq.c.id,
                Rq.c.due,
                Rq.c.state,
                Rq.c.seller_org_id,
                Rq.c.listing_pk,
                Rq.c.requirements,
                L.c.listing_id,
                L.c.state.label("listing_state"),
            )
            .join(L, L.c.id == Rq.c.listing_pk)
            .where(Rq.c.state.in_(SELLER_OWES), Rq.c.due < self.day)
            .order_by(Rq.c.id)
        ).all()
        if not rows:
            return
        ids = [r.id for r in rows]
        done_keys: set[str] = set()
        has_violation: set[int] = set()
        for part in chunks(ids):
            done_keys.update(self.s.scalars(select(A.c.key).where(A.c.request_id.in_(part))))
            has_violation.update(
                self.s.scalars(
                    select(V.c.request_id).where(
                        V.c.request_id.in_(part), V.c.kind == ViolationKind.missing_documents.value
                    )
                )
            )
        actions, states, violations, history, notes = [], {}, [], [], []
        for r in rows:
            late = (self.day - r.due).days
            state = r.listing_state
            for i, step in enumerate(self.policy.ladder):
                if late < max(step.days_overdue, 1):
                    break
                key = f"ladder:{r.id}:{i}"
                if key in done_keys:
                    state = _worse(state, step.listing)
                    continue
                why = R.ladder_step(
                    self.policy,
                    self.version,
                    self.day,
                    i,
                    r.id,
                    r.listing_id,
                    r.due,
                    list(r.requirements),
                ).to_dict()
                actions.append(
                    {
                        "key": key,
                        "seller_org_id": r.seller_org_id,
                        "listing_pk": r.listing_pk,
                        "request_id": r.id,
                        "action": step.listing,
                        "on": self.day,
                        "prior_state": state,
                        "policy_version": self.version,
                        "actor": self.actor,
                        "reasons": why,
                    }
                )
                notes.append(
                    {
                        "key": f"action:{key}",
                        "seller_org_id": r.seller_org_id,
                        "created_on": self.day,
                        "kind": "action",
                        "request_id": r.id,
                        "listing_pk": r.listing_pk,
                        "payload": {
                            "listing_id": r.listing_id,
                            "action": step.listing,
                            "reasons": why,
                        },
                    }
                )
                self.result.actions.append(
                    {
                        "listing_id": r.listing_id,
                        "action": step.listing,
                        "request": request_ref(r.id),
                        "reasons": why,
                    }
                )
                state = _worse(state, step.listing)
            if state != r.listing_state and state in ("suppressed", "removed"):
                states[r.listing_pk] = state
            if r.id not in has_violation:
                violations.append(
                    {
                        "seller_org_id": r.seller_org_id,
                        "listing_pk": r.listing_pk,
                        "request_id": r.id,
                        "kind": ViolationKind.missing_documents.value,
                        "severity": Severity.medium.value,
                        "opened": self.day,
                        "resolved": None,
                        "resolution": None,
                        "policy_version": self.version,
                    }
                )
                history.append(
                    {
                        "request_id": r.id,
                        "on": self.day,
                        "event": "overdue",
                        "from_state": None,
                        "to_state": None,
                        "ref": r.due.isoformat(),
                        "actor": self.actor,
                        "detail": {"violation": "missing_documents", "severity": "medium"},
                    }
                )
        self.put(A, actions)
        self.put(V, violations)
        self.put(H, history)
        self.outbox(notes)
        self._set_states(states)

    def _set_states(self, states: dict[int, str]) -> None:
        by_state: dict[str, list[int]] = defaultdict(list)
        for pk, st in states.items():
            by_state[st].append(pk)
        for st, pks in by_state.items():
            for part in chunks(pks):
                self.ex(update(L).where(L.c.id.in_(part)).values(state=st, state_since=self.day))

    # --- P10 account health -----------------------------------------------------------------

    def health(self) -> None:
        ah = self.policy.account_health
        start = self.day - timedelta(days=ah.window_days)
        unresolved = and_(
            or_(V.c.resolved.is_(None), V.c.resolved > self.day), self._mine(V.c.seller_org_id)
        )
        points: dict[int, list[int]] = defaultdict(list)
        for sid, sev, n in self.s.execute(
            select(V.c.seller_org_id, V.c.severity, func.count())
            .where(unresolved, V.c.opened <= self.day, V.c.opened > start)
            .group_by(V.c.seller_org_id, V.c.severity)
        ):
            points[sid] += [ah.points.of(sev)] * n
        critical: dict[int, list[str]] = defaultdict(list)
        if ah.suspend_on_critical:
            for sid, vid, req in self.s.execute(
                select(V.c.seller_org_id, V.c.id, V.c.request_id)
                .where(unresolved, V.c.opened <= self.day, V.c.severity == "critical")
                .order_by(V.c.id)
            ):
                critical[sid].append(
                    f"violation {vid}" + (f" on {request_ref(req)}" if req else "")
                )
        stored = {
            r.seller_org_id: r
            for r in self.s.execute(select(ACC).where(self._mine(ACC.c.seller_org_id))).all()
        }
        sellers = set(self.since) | set(points)
        new_rows: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        suspend: list[int] = []
        lift: list[int] = []
        for sid in sorted(sellers):
            score = score_of(ah.start, points.get(sid, []))
            band = band_of(score, ah.bands.healthy, ah.bands.at_risk).value
            state = AccountState.suspended.value if critical.get(sid) else AccountState.active.value
            trusted = bool(self.trusted.get(sid))
            row = {
                "seller_org_id": sid,
                "since": self.since.get(sid, self.day),
                "score": score,
                "band": band,
                "state": state,
                "trusted": trusted,
                "computed_on": self.day,
                "policy_version": self.version,
            }
            old = stored.get(sid)
            if old is None:
                new_rows.append(row)
            elif (old.score, old.band, old.state, old.trusted) == (score, band, state, trusted):
                continue
            else:
                changed.append({f"b_{k}": v for k, v in row.items()})
            prior = old.state if old is not None else AccountState.active.value
            if state != prior:
                (suspend if state == AccountState.suspended.value else lift).append(sid)
            self.result.accounts.append(
                {"seller": self.slug(sid), "score": score, "band": band, "state": state}
            )
        self.put(ACC, new_rows)
        if changed:
            from sqlalchemy import bindparam

            stmt = (
                update(ACC)
                .where(ACC.c.seller_org_id == bindparam("b_seller_org_id"))
                .values(
                    **{
                        k: bindparam(f"b_{k}")
                        for k in (
                            "since",
                            "score",
                            "band",
                            "state",
                            "trusted",
                            "computed_on",
                            "policy_version",
                        )
                    }
                )
            )
            self.s.connection().execute(stmt, changed)
        if suspend:
            self._suspend(suspend, critical)
        if lift:
            self._lift(lift)

    def _suspend(self, sellers: list[int], critical: dict[int, list[str]]) -> None:
        """P10: a critical violation suspends the account and suppresses all its listings."""
        actions, notes, states = [], [], {}
        listings = self.s.execute(
            select(L.c.id, L.c.listing_id, L.c.seller_org_id, L.c.state)
            .where(L.c.seller_org_id.in_(sellers), L.c.state.in_(("pending", "active")))
            .order_by(L.c.id)
        ).all()
        for sid in sellers:
            why = R.suspension(self.policy, self.version, self.day, critical[sid], None).to_dict()
            key = f"suspend:{sid}:{self.day.isoformat()}"
            actions.append(action_row(self, key, sid, None, None, "suspended", None, why))
            self.result.actions.append(
                {"seller": self.slug(sid), "action": "suspended", "reasons": why}
            )
        for lst in listings:
            why = R.suspension(
                self.policy, self.version, self.day, critical[lst.seller_org_id], lst.listing_id
            ).to_dict()
            key = f"suspend:{lst.seller_org_id}:{self.day.isoformat()}:{lst.id}"
            actions.append(
                action_row(self, key, lst.seller_org_id, lst.id, None, "suppressed", lst.state, why)
            )
            states[lst.id] = "suppressed"
            self.result.actions.append(
                {"listing_id": lst.listing_id, "action": "suppressed", "reasons": why}
            )
        for a in actions:
            notes.append(
                {
                    "key": f"action:{a['key']}",
                    "seller_org_id": a["seller_org_id"],
                    "created_on": self.day,
                    "kind": "action",
                    "request_id": None,
                    "listing_pk": a["listing_pk"],
                    "payload": {"action": a["action"], "reasons": a["reasons"]},
                }
            )
        self.put(A, actions)
        self.outbox(notes)
        self._set_states(states)

    def _lift(self, sellers: list[int]) -> None:
        """No critical violation remains: the account is active again, and listings it had
        suppressed for the suspension go back to what they were (unless a ladder step holds
        them)."""
        held = select(Rq.c.listing_pk).where(Rq.c.state.in_(SELLER_OWES), Rq.c.due < self.day)
        listings = self.s.execute(
            select(L.c.id, L.c.listing_id, L.c.seller_org_id, L.c.valid_until)
            .where(L.c.seller_org_id.in_(sellers), L.c.state == "suppressed", L.c.id.not_in(held))
            .order_by(L.c.id)
        ).all()
        actions, states = [], {}
        for sid in sellers:
            why = R.unsuspension(self.policy, self.version, self.day, None).to_dict()
            actions.append(
                action_row(
                    self,
                    f"unsuspend:{sid}:{self.day.isoformat()}",
                    sid,
                    None,
                    None,
                    "unsuspended",
                    None,
                    why,
                )
            )
            self.result.actions.append(
                {"seller": self.slug(sid), "action": "unsuspended", "reasons": why}
            )
        for lst in listings:
            back = "active" if lst.valid_until and lst.valid_until >= self.day else "pending"
            why = R.unsuspension(self.policy, self.version, self.day, lst.listing_id).to_dict()
            key = f"unsuspend:{lst.seller_org_id}:{self.day.isoformat()}:{lst.id}"
            actions.append(
                action_row(
                    self,
                    key,
                    lst.seller_org_id,
                    lst.id,
                    None,
                    ActionKind.reinstated.value,
                    "suppressed",
                    why,
                )
            )
            states[lst.id] = back
            self.result.actions.append(
                {"listing_id": lst.listing_id, "action": "reinstated", "reasons": why}
            )
        self.put(A, actions)
        by: dict[str, list[int]] = defaultdict(list)
        for pk, st in states.items():
            by[st].append(pk)
        for st, pks in by.items():
            for part in chunks(pks):
                self.ex(update(L).where(L.c.id.in_(part)).values(state=st, state_since=self.day))


class SweepContext(Protocol):
    """What every row a sweep writes is stamped with."""

    day: date
    version: int
    actor: str


def action_row(
    at: SweepContext,
    key: str,
    seller: int,
    listing_pk: int | None,
    request: int | None,
    action: str,
    prior: str | None,
    why: dict[str, Any],
) -> dict[str, Any]:
    """One ``program_actions`` row: the SQL and the compiled sweep write exactly this shape."""
    return {
        "key": key,
        "seller_org_id": seller,
        "listing_pk": listing_pk,
        "request_id": request,
        "action": action,
        "on": at.day,
        "prior_state": prior,
        "policy_version": at.version,
        "actor": at.actor,
        "reasons": why,
    }


def _kinds(triggers: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return list(dict.fromkeys(k for k, _, _ in triggers))


def _worse(a: str, b: str) -> str:
    return b if SEVERITY_RANK.get(b, 0) > SEVERITY_RANK.get(a, 0) else a


def refresh_accounts(
    s: Session, as_of: date, actor: str, seller_org_id: int | None = None
) -> SweepResult:
    """Recompute the trusted tier and account health (P10, P12) now, inside the caller's
    transaction: for a decision that opened or resolved a violation (a critical one suspends at
    once). ``seller_org_id``: that seller's account only (each seller's tier and score depend on
    its own records alone; the others are recomputed by the next sweep). Returns what changed,
    as the sweep reports it."""
    version, policy = policies.get(s)
    sw = Sweep(s, as_of, actor, version, policy, lambda _: None)
    sw.only = seller_org_id
    sw.tier()
    sw.health()
    return sw.result
