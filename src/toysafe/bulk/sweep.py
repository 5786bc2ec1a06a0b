"""The program's daily sweep (P1, P3, P5, P6, P10, P12) as a compiled plan of ibis expressions.

Input: a snapshot of the program tables as Arrow (``SNAPSHOT``, read by the store). Output: the
day's decisions as tables — listings with their new scope and state, requests closed because
their listing left the program, the triggers that fire (with the open request they join, if
any), reminders due, ladder steps passed, violations to open, accounts whose health changed,
suspensions and their lifting. Each stage is one ibis expression over the snapshot and the
stages before it, materialized on the engine (DuckDB embedded, or Spark) so that the next
stage reads it as a table. The store composes the rows of the change set from these tables
(statements of reasons from ``core.program.reasons``) and writes them in one transaction.

The rules are those of ``toysafe.store.program.sweep`` (the SQL path over the workspace
database); tests/test_sweep_compiled.py proves that both give the same documents and tables.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from toysafe.core.program.model import OPEN_STATES, SELLER_OWES
from toysafe.core.program.policy import Policy, period_of

EPOCH = date(1900, 1, 1)
OPEN = [s.value for s in OPEN_STATES]
OWES = [s.value for s in SELLER_OWES]
#: The order in which the SQL path collects a listing's triggers.
KIND_ORDER = ("new_listing", "renewal", "complaint", "rule_change", "history", "random_audit")
RANK = {"suppressed": 1, "removed": 2}  # every other listing state ranks 0 (see sweep._worse)

_D, _S, _I, _B, _F = pa.date32(), pa.string(), pa.int64(), pa.bool_(), pa.float64()

#: The snapshot the plan reads: table -> (column, Arrow type).
SNAPSHOT: dict[str, list[tuple[str, pa.DataType]]] = {
    "listings": [
        ("id", _I),
        ("listing_id", _S),
        ("seller_org_id", _I),
        ("category", _S),
        ("min_age_months", _I),
        ("listed_on", _D),
        ("sku", _S),
        ("product_id", _I),
        ("program_category", _S),
        ("in_scope", _B),
        ("state", _S),
        ("state_since", _D),
        ("valid_until", _D),
        ("last_approved_on", _D),
    ],
    "products": [("id", _I), ("org_id", _I), ("sku", _S)],
    "facts": [("product_id", _I), ("children_product", _B), ("requirements", _S)],
    "rule_dates": [("product_id", _I), ("requirement", _S), ("effective", _D)],
    "requests": [
        ("id", _I),
        ("listing_pk", _I),
        ("seller_org_id", _I),
        ("state", _S),
        ("opened", _D),
        ("due", _D),
        ("requirements", _S),
    ],
    "triggers": [("request_id", _I), ("listing_pk", _I), ("kind", _S), ("ref", _S), ("on", _D)],
    "reminded": [("request_id", _I), ("ref", _S)],
    "complaints": [("listing_id", _S), ("received_on", _D), ("text", _S)],
    "exemptions": [("listing_pk", _I), ("trigger_kind", _S), ("starts", _D), ("until", _D)],
    "decisions": [("seller_org_id", _I), ("decision", _S), ("decided_on", _D)],
    "violations": [
        ("id", _I),
        ("seller_org_id", _I),
        ("request_id", _I),
        ("kind", _S),
        ("severity", _S),
        ("opened", _D),
        ("resolved", _D),
    ],
    "ladder_keys": [("request_id", _I), ("key", _S)],
    "accounts": [
        ("seller_org_id", _I),
        ("score", _I),
        ("band", _S),
        ("state", _S),
        ("trusted", _B),
    ],
}


def schema_of(name: str) -> pa.Schema:
    return pa.schema(SNAPSHOT[name])


class Frames:
    """Arrow tables registered on an engine as named tables, and ibis expressions run there."""

    def __init__(self, engine: str = "duckdb", session: Any = None, threads: int | None = None):
        self.engine = engine
        self.session = session
        if engine == "duckdb":
            self.con: Any = ibis.duckdb.connect(**({"threads": threads} if threads else {}))
        else:
            self.con = ibis.pyspark.connect(session)
        self.seq = 0

    def put(self, name: str, table: pa.Table) -> ir.Table:
        if self.engine == "duckdb":
            self.con.con.register(name, table)
        else:
            self.session.createDataFrame(table).createOrReplaceTempView(name)
        return self.con.table(name)

    def arrow(self, expr: ir.Table) -> pa.Table:
        got: pa.Table = self.con.to_pyarrow(expr)
        return got

    def keep(self, name: str, expr: ir.Table) -> tuple[ir.Table, pa.Table]:
        """Run ``expr`` and register the result as the table ``name`` for the next stages."""
        got = self.arrow(expr)
        return self.put(name, got), got

    def close(self) -> None:
        if self.engine == "duckdb":
            self.con.disconnect()


@dataclass
class Decisions:
    """What the plan decided, stage by stage, as Arrow tables (the change set's inputs)."""

    listings: pa.Table  # every listing whose row changes: final values
    closed: pa.Table  # requests closed because their listing left the program
    tier: pa.Table  # seller -> since, trusted
    found: pa.Table  # triggers firing today, with the open request they join (rid) if any
    reminders: pa.Table  # (rid, d, dpos) reminders to send; rid < 0 names a new request
    ladder: pa.Table  # overdue requests, the steps passed and done, the violation to open
    accounts: pa.Table  # sellers whose account row is new or changes
    suspended: pa.Table  # listings suppressed by a suspension, in id order
    lifted: pa.Table  # listings reinstated when a suspension lifts, in id order
    critical: pa.Table  # unresolved critical violations of the sellers being suspended
    timings: dict[str, float] = field(default_factory=dict)


def _j(left: ir.Table, right: ir.Table, on: list[tuple[str, str]], how: str = "inner") -> ir.Table:
    """Join on column names (left, right): a plain table of the left's columns, then the
    right's that the left lacks (anti and semi joins: the left's only)."""
    lv, rv = left.view(), right.view()
    j = lv.join(rv, [lv[a] == rv[b] for a, b in on], how=how)
    if how in ("anti", "semi"):
        return j.select(*lv.columns)
    return j.select(*lv.columns, *(c for c in rv.columns if c not in lv.columns))


def _day(d: date) -> ir.DateValue:
    return ibis.date(d.year, d.month, d.day)


def _rank(state: ir.StringValue) -> ir.IntegerValue:
    return ibis.cases(
        *((state == s, ibis.literal(r, "int8")) for s, r in RANK.items()),
        else_=ibis.literal(0, "int8"),
    )


def _hex8(h: ir.StringValue) -> ir.FloatingValue:
    """The first 8 hex digits of ``h`` as a number (exact in a double: below 2^32), with no
    engine-specific hex parsing and no 32-bit products (Spark's ANSI mode rejects overflow)."""
    digits = ibis.literal("0123456789abcdef")
    total: ir.FloatingValue = ibis.literal(0.0, "float64")
    for i in range(8):
        digit = digits.find(h.substr(i, 1)).cast("float64")
        total = total + digit * ibis.literal(float(16 ** (7 - i)), "float64")
    return total


def _date_str(d: ir.DateValue) -> ir.StringValue:
    return d.cast("string")


class Plan:
    """The sweep of one day under one policy, stage by stage, on ``frames``."""

    def __init__(
        self,
        frames: Frames | None,
        policy: Policy,
        version: int,
        day: date,
        period: str | None = None,
    ) -> None:
        self.f = frames
        self.policy = policy
        self.version = version
        self.day = day
        self.today = _day(day)
        self.period = period  # the random audit's period, when not that of ``day`` (SQL cache)

    # --- stages -----------------------------------------------------------------------------

    def scope(self, listings: ir.Table, products: ir.Table, facts: ir.Table) -> ir.Table:
        """Linking by sku, then P1: the category, whether in scope, the state it takes."""
        pol, lt = self.policy, listings
        p = products.select(p_org=products.org_id, p_sku=products.sku, p_id=products.id)
        j = _j(lt, p, [("seller_org_id", "p_org"), ("sku", "p_sku")], "left")
        lt = j.select(
            *[c for c in listings.columns if c != "product_id"],
            product_id=ibis.coalesce(j.product_id, j.p_id),
            orig_product_id=j.product_id,
        )
        fx = facts.select(
            f_pid=facts.product_id, f_children=facts.children_product, f_reqs=facts.requirements
        )
        j = _j(lt, fx, [("product_id", "f_pid")], "left")
        lt = j.select(*lt.columns, "f_pid", "f_children", "f_reqs")
        cat = ibis.cases(
            *((lt.category.isin(c.listing_categories), key) for key, c in pol.categories.items()),
            else_=ibis.null("string"),
        )
        max_age = ibis.cases(
            *((cat == key, c.max_age_months) for key, c in pol.categories.items()),
            else_=ibis.null("int64"),
        )
        has_facts = lt.f_pid.notnull()
        by_age = lt.min_age_months.isnull() | (lt.min_age_months < max_age).fill_null(False)
        scope = cat.notnull() & ibis.ifelse(has_facts, lt.f_children.fill_null(False), by_age)
        pre = ibis.cases(
            *((cat == key, c.pre_listing_review) for key, c in pol.categories.items()),
            else_=ibis.literal(False),
        )
        valid = lt.valid_until.notnull() & (lt.valid_until >= self.today).fill_null(False)
        leaving = ~scope & (lt.state != "out_of_scope")
        entering = scope & (lt.in_scope.isnull() | (lt.state == "out_of_scope"))
        state = ibis.cases(
            (leaving, ibis.literal("out_of_scope")),
            (entering, ibis.ifelse(pre & ~valid, "pending", "active")),
            else_=lt.state,
        )
        since = ibis.ifelse(leaving | entering, self.today, lt.state_since)
        return lt.select(
            "id",
            "listing_id",
            "seller_org_id",
            "listed_on",
            "min_age_months",
            "valid_until",
            "last_approved_on",
            "product_id",
            "orig_product_id",
            orig_category=lt.program_category,
            orig_in_scope=lt.in_scope,
            orig_state=lt.state,
            orig_since=lt.state_since,
            program_category=cat,
            in_scope=scope,
            state=state,
            state_since=since,
            has_facts=has_facts,
            f_reqs=lt.f_reqs,
        )

    def closed(self, l2: ir.Table, requests: ir.Table) -> ir.Table:
        rq = requests.filter(requests.state.isin(OPEN))
        gone = l2.filter(~l2.in_scope).select(g_pk=l2.id, g_lid=l2.listing_id)
        j = _j(rq, gone, [("listing_pk", "g_pk")])
        return j.select(j.id, j.state, j.listing_pk, listing_id=j.g_lid).order_by("id")

    def tier(self, l2: ir.Table, decisions: ir.Table, violations: ir.Table) -> ir.Table:
        """P12 as of the start of the day: account age, approvals, violations in the window."""
        t, day = self.policy.trusted, self.day
        sellers = l2.group_by("seller_org_id").aggregate(since=l2.listed_on.min())
        if t is None:
            return sellers.mutate(trusted=ibis.literal(False))
        start = day - timedelta(days=self.policy.account_health.window_days)
        d = decisions.filter(
            (decisions.decision == "approve") & (decisions.decided_on <= self.today)
        )
        ap = d.group_by(a_seller=d.seller_org_id).aggregate(approvals=d.count())
        v = violations.filter((violations.opened < self.today) & (violations.opened > _day(start)))
        vc = v.group_by(v_seller=v.seller_org_id).aggregate(viol=v.count())
        j = _j(
            _j(sellers, ap, [("seller_org_id", "a_seller")], "left"),
            vc,
            [("seller_org_id", "v_seller")],
            "left",
        )
        old_enough = j.since <= _day(day - timedelta(days=t.min_account_age_days))
        trusted = (
            old_enough
            & (j.approvals.fill_null(0) >= t.min_approved)
            & (j.viol.fill_null(0) <= t.max_violations_in_window)
        )
        return j.select("seller_org_id", "since", trusted=trusted.fill_null(False))

    def _eligible(self, l2: ir.Table, exemptions: ir.Table, kind: str) -> ir.Table:
        ex = exemptions.filter(
            (exemptions.trigger_kind == kind)
            & (exemptions.starts <= self.today)
            & (exemptions.until >= self.today)
        ).select(x_pk=exemptions.listing_pk)
        base = l2.filter(l2.in_scope & (l2.state != "removed") & (l2.listed_on <= self.today))
        return _j(base, ex, [("id", "x_pk")], "anti")

    def _had(self, triggers: ir.Table, kind: str) -> ir.Table:
        t = triggers.filter(triggers.kind == kind)
        return t.select(h_pk=t.listing_pk, h_ref=t.ref)

    def _last(self, triggers: ir.Table, kind: str) -> ir.Table:
        t = triggers.filter(triggers.kind == kind)
        return t.group_by(z_pk=t.listing_pk).aggregate(last=t.on.max())

    @staticmethod
    def _shape(t: ir.Table, kind: str, ref: Any, d: Any, n: Any, req: Any, rate: Any) -> ir.Table:
        return t.select(
            pk=t.id,
            k=ibis.literal(KIND_ORDER.index(kind), "int8"),
            kind=ibis.literal(kind),
            ref=ref,
            d=d,
            n=n,
            req=req,
            rate=rate,
        )

    def candidates(
        self,
        l2: ir.Table,
        tier: ir.Table,
        triggers: ir.Table,
        complaints: ir.Table,
        rule_dates: ir.Table,
        decisions: ir.Table,
        exemptions: ir.Table,
        hashes: ir.Table | None = None,
    ) -> ir.Table:
        """P3: every trigger that fires today, one row each (the SQL path's ``candidates``);
        ``hashes``: the stage of ``hashes`` (with a random audit)."""
        pol, day, today = self.policy, self.day, self.today
        nil_s, nil_i, nil_f = ibis.null("string"), ibis.null("int64"), ibis.null("float64")
        parts: list[ir.Table] = []

        e = self._eligible(l2, exemptions, "new_listing")
        had = self._had(triggers, "new_listing")
        e = _j(e.filter(e.last_approved_on.isnull()), had, [("id", "h_pk")], "anti")
        parts.append(
            self._shape(e, "new_listing", ibis.literal(""), e.listed_on, nil_i, nil_s, nil_f)
        )

        e = self._eligible(l2, exemptions, "renewal")
        horizon = ibis.cases(
            *(
                (e.program_category == key, _day(day + timedelta(days=c.renewal_notice_days)))
                for key, c in pol.categories.items()
            ),
            else_=ibis.null("date"),
        )
        e = e.filter(e.valid_until.notnull() & (e.valid_until <= horizon).fill_null(False))
        e = e.mutate(ref=_date_str(e.valid_until))
        had = self._had(triggers, "renewal")
        e = _j(e, had, [("id", "h_pk"), ("ref", "h_ref")], "anti")
        parts.append(self._shape(e, "renewal", e.ref, e.valid_until, nil_i, nil_s, nil_f))

        if (ct := pol.triggers.complaints) is not None:
            e = self._eligible(l2, exemptions, "complaint")
            since = day - timedelta(days=ct.window_days)
            last = self._last(triggers, "complaint")
            text = complaints.text.lower()
            words = ibis.or_(*(text.contains(w) for w in ct.keywords))
            c = complaints.filter(
                (complaints.received_on > _day(since)) & (complaints.received_on <= today) & words
            ).select(c_lid=complaints.listing_id, c_on=complaints.received_on)
            j = _j(e.select("id", "listing_id"), c, [("listing_id", "c_lid")])
            j = _j(j, last, [("id", "z_pk")], "left")
            j = j.filter(j.c_on > ibis.coalesce(j.last, _day(EPOCH)))
            g = j.group_by("id").aggregate(n=j.count(), d=j.c_on.max())
            g = g.filter(g.n >= ct.threshold)
            parts.append(self._shape(g, "complaint", _date_str(g.d), g.d, g.n, nil_s, nil_f))

        if (rc := pol.triggers.rule_change) is not None:
            e = self._eligible(l2, exemptions, "rule_change")
            horizon_d = _day(day + timedelta(days=rc.notice_days))
            rd = rule_dates.select(
                r_pid=rule_dates.product_id, req=rule_dates.requirement, eff=rule_dates.effective
            )
            j = _j(e, rd, [("product_id", "r_pid")])
            since_ = ibis.coalesce(j.last_approved_on, j.listed_on)
            j = j.filter(
                ((j.eff >= today) & (j.eff <= horizon_d)) | ((j.eff > since_) & (j.eff <= today))
            )
            j = j.mutate(ref=j.req + ibis.literal("@") + _date_str(j.eff))
            had = self._had(triggers, "rule_change")
            j = _j(j, had, [("id", "h_pk"), ("ref", "h_ref")], "anti")
            parts.append(self._shape(j, "rule_change", j.ref, j.eff, nil_i, j.req, nil_f))

        if (ht := pol.triggers.history) is not None:
            e = self._eligible(l2, exemptions, "history")
            since = day - timedelta(days=ht.window_days)
            last = self._last(triggers, "history")
            d = decisions.filter(
                (decisions.decision == "reject")
                & (decisions.decided_on > _day(since))
                & (decisions.decided_on <= today)
            ).select(d_seller=decisions.seller_org_id, d_on=decisions.decided_on)
            j = _j(e.select("id", "seller_org_id"), d, [("seller_org_id", "d_seller")])
            j = _j(j, last, [("id", "z_pk")], "left")
            j = j.filter(j.d_on > ibis.coalesce(j.last, _day(EPOCH)))
            g = j.group_by("id").aggregate(n=j.count(), d=j.d_on.max())
            g = g.filter(g.n >= ht.rejections)
            parts.append(self._shape(g, "history", _date_str(g.d), g.d, g.n, nil_s, nil_f))

        if (ra := pol.triggers.random_audit) is not None:
            e = self._eligible(l2, exemptions, "random_audit")
            period = self.period or period_of(day, ra.period)
            trusted_rate = pol.trusted.random_audit_rate if pol.trusted else ra.rate
            ts = tier.select(t_seller=tier.seller_org_id, t_trusted=tier.trusted)
            j = _j(e, ts, [("seller_org_id", "t_seller")], "left")
            assert hashes is not None, "the random audit needs the stage of Plan.hashes"
            j = _j(j, hashes, [("id", "a_pk")])
            draw = _hex8(j.a_hash) / ibis.literal(4294967296.0, "float64")
            rate = ibis.ifelse(j.t_trusted.fill_null(False), trusted_rate, ra.rate).cast("float64")
            j = j.mutate(draw=draw, rate=rate).filter(lambda t: t.draw < t.rate)
            had = self._had(triggers, "random_audit")
            had = had.filter(had.h_ref == period)
            j = _j(j, had, [("id", "h_pk")], "anti")
            parts.append(
                self._shape(
                    j, "random_audit", ibis.literal(period), ibis.null("date"), nil_i, nil_s, j.rate
                )
            )
        return ibis.union(*parts, distinct=False)

    def hashes(self, l2: ir.Table) -> ir.Table | None:
        """P3 random audit: the sha256 of each listing that may be drawn, as a stage of its
        own: the draw reads eight digits of it, and engines compute a hash used eight times
        in a filter eight times (DuckDB: 9 of the sweep's 12 s at 1M listings)."""
        ra = self.policy.triggers.random_audit
        if ra is None:
            return None
        period = self.period or period_of(self.day, ra.period)
        base = l2.filter(l2.in_scope & (l2.state != "removed") & (l2.listed_on <= self.today))
        key = ibis.literal(f"{self.version}:") + base.listing_id + ibis.literal(f":{period}")
        return base.select(a_pk=base.id, a_hash=key.hexdigest("sha256"))

    def found(
        self, cand: ir.Table, l2: ir.Table, tier: ir.Table, requests: ir.Table, closed: ir.Table
    ) -> ir.Table:
        """P2: each trigger with the open request it joins (``rid``), or none (a new request),
        and what a new request needs (category, trusted, age, facts)."""
        rq = requests.filter(requests.state.isin(OPEN))
        cl = closed.select(x_id=closed.id)
        rq = _j(rq, cl, [("id", "x_id")], "anti")
        rq = rq.select(o_pk=rq.listing_pk, rid=rq.id)
        info = l2.select(
            i_pk=l2.id,
            listing_id=l2.listing_id,
            seller_org_id=l2.seller_org_id,
            program_category=l2.program_category,
            min_age_months=l2.min_age_months,
            has_facts=l2.has_facts,
            f_reqs=l2.f_reqs,
        )
        ts = tier.select(t_seller=tier.seller_org_id, trusted=tier.trusted)
        j = _j(_j(cand, info, [("pk", "i_pk")]), rq, [("pk", "o_pk")], "left")
        j = _j(j, ts, [("seller_org_id", "t_seller")], "left")
        return j.select(
            "pk",
            "k",
            "kind",
            "ref",
            "d",
            "n",
            "req",
            "rate",
            "rid",
            "listing_id",
            "seller_org_id",
            "program_category",
            "min_age_months",
            "has_facts",
            "f_reqs",
            trusted=j.trusted.fill_null(False),
        )

    def new_requests(self, found: ir.Table) -> ir.Table:
        """The requests to open, in listing-id order (``rank``); their provisional id is
        ``-rank`` until the database numbers them."""
        pol = self.policy
        n = found.filter(found.rid.isnull())
        n = n.select("pk", "listing_id", "seller_org_id", "trusted").distinct()
        days_t = pol.trusted.response_days if pol.trusted else pol.clocks.response_days
        due = ibis.ifelse(
            n.trusted,
            _day(self.day + timedelta(days=days_t)),
            _day(self.day + timedelta(days=pol.clocks.response_days)),
        )
        w = ibis.row_number().over(order_by=n.listing_id)
        return n.select(
            rid=-(w.cast("int64") + 1),
            listing_pk=n.pk,
            seller_org_id=n.seller_org_id,
            opened=self.today,
            due=due,
            listing_id=n.listing_id,
        )

    def reminders(
        self, requests: ir.Table, closed: ir.Table, new: ir.Table, reminded: ir.Table, l2: ir.Table
    ) -> ir.Table | None:
        """P5: each reminder day reached for a request the seller owes, not sent before."""
        days = self.policy.clocks.reminder_days_before_due
        if not days:
            return None
        rq = requests.filter(requests.state.isin(OWES))
        cl = closed.select(x_id=closed.id)
        rq = _j(rq, cl, [("id", "x_id")], "anti")
        lid = l2.select(n_pk=l2.id, listing_id=l2.listing_id)
        rq = _j(rq, lid, [("listing_pk", "n_pk")])
        rq = rq.select(
            rid=rq.id,
            listing_pk=rq.listing_pk,
            seller_org_id=rq.seller_org_id,
            opened=rq.opened,
            due=rq.due,
            listing_id=rq.listing_id,
        )
        owed = ibis.union(rq, new.select(*rq.columns), distinct=False)
        parts = []
        for pos, d in enumerate(days):
            t = owed.filter(
                (owed.due > self.today)
                & (owed.due <= _day(self.day + timedelta(days=d)))
                & (owed.due.delta(owed.opened, unit="day") >= d)
            )
            sent = reminded.filter(reminded.ref == str(d)).select(s_id=reminded.request_id)
            t = _j(t, sent, [("rid", "s_id")], "anti")
            parts.append(
                t.select(
                    "rid",
                    "listing_pk",
                    "seller_org_id",
                    "due",
                    "listing_id",
                    d=ibis.literal(d, "int64"),
                    dpos=ibis.literal(pos, "int64"),
                )
            )
        return ibis.union(*parts, distinct=False)

    def ladder(
        self,
        requests: ir.Table,
        closed: ir.Table,
        l2: ir.Table,
        ladder_keys: ir.Table,
        violations: ir.Table,
    ) -> ir.Table | None:
        """P6: each overdue request, the ladder steps it has passed (``reached_i``), those
        already taken (``done_i``), the listing's state after them, and its violation."""
        steps = self.policy.ladder
        rq = requests.filter(requests.state.isin(OWES) & (requests.due < self.today))
        cl = closed.select(x_id=closed.id)
        rq = _j(rq, cl, [("id", "x_id")], "anti")
        lst = l2.select(n_pk=l2.id, listing_id=l2.listing_id, listing_state=l2.state)
        t = _j(rq, lst, [("listing_pk", "n_pk")]).drop("n_pk")
        md = violations.filter(violations.kind == "missing_documents")
        md = md.select(m_id=md.request_id, has_violation=ibis.literal(True)).distinct()
        t = _j(t, md, [("id", "m_id")], "left").drop("m_id")
        cols: dict[str, Any] = {}
        reached: ir.BooleanValue = ibis.literal(True)
        state: ir.StringValue = t.listing_state
        for i, step in enumerate(steps):
            reached = reached & (
                t.due <= _day(self.day - timedelta(days=max(step.days_overdue, 1)))
            )
            cols[f"reached_{i}"] = reached
            state = ibis.ifelse(
                reached & (_rank(ibis.literal(step.listing)) > _rank(state)), step.listing, state
            )
        t = t.mutate(**cols, final_state=state, needs_violation=~t.has_violation.fill_null(False))
        for i, _ in enumerate(steps):
            k = ladder_keys.filter(
                ladder_keys.key.endswith(f":{i}") & ladder_keys.key.startswith("ladder:")
            )
            k = k.select(k_id=k.request_id, **{f"done_{i}": ibis.literal(True)}).distinct()
            t = _j(t, k, [("id", "k_id")], "left").drop("k_id")
            t = t.mutate(**{f"done_{i}": t[f"done_{i}"].fill_null(False)})
        return t.order_by("id")

    def after_ladder(self, l2: ir.Table, ladder: ir.Table | None) -> ir.Table:
        if ladder is None:
            return l2
        moved = ladder.filter(
            (ladder.final_state != ladder.listing_state)
            & ladder.final_state.isin(["suppressed", "removed"])
        ).select(m_pk=ladder.listing_pk, m_state=ladder.final_state)
        j = _j(l2, moved, [("id", "m_pk")], "left")
        return j.select(
            *[c for c in l2.columns if c not in ("state", "state_since")],
            state=ibis.coalesce(j.m_state, j.state),
            state_since=ibis.ifelse(j.m_state.notnull(), self.today, j.state_since),
        )

    def accounts(
        self,
        l3: ir.Table,
        tier: ir.Table,
        violations: ir.Table,
        new_violations: ir.Table | None,
        stored: ir.Table,
    ) -> ir.Table:
        """P10: score, band and state of every seller (with P12's tier); the rows that change."""
        ah, day = self.policy.account_health, self.day
        v = violations.select("seller_org_id", "severity", "opened", "resolved")
        if new_violations is not None:
            v = ibis.union(v, new_violations.select(*v.columns), distinct=False)
        unresolved = v.resolved.isnull() | (v.resolved > self.today).fill_null(False)
        start = _day(day - timedelta(days=ah.window_days))
        pts = ibis.cases(
            *(
                (v.severity == s, ibis.literal(ah.points.of(s), "int64"))
                for s in ("critical", "high", "medium", "low")
            ),
            else_=ibis.literal(0, "int64"),
        )
        w = v.filter(unresolved & (v.opened <= self.today) & (v.opened > start))
        w = w.mutate(pts=pts)
        points = w.group_by(p_seller=w.seller_org_id).aggregate(total=w.pts.sum())
        c = v.filter(unresolved & (v.opened <= self.today) & (v.severity == "critical"))
        crit = c.select(c_seller=c.seller_org_id, critical=ibis.literal(True)).distinct()
        sellers = ibis.union(
            tier.select(sid=tier.seller_org_id), points.select(sid=points.p_seller), distinct=True
        )
        j = _j(sellers, tier, [("sid", "seller_org_id")], "left").drop("seller_org_id")
        j = _j(j, points, [("sid", "p_seller")], "left").drop("p_seller")
        if ah.suspend_on_critical:
            j = _j(j, crit, [("sid", "c_seller")], "left").drop("c_seller")
            suspended = j.critical.fill_null(False)
        else:
            suspended = ibis.literal(False)
        st = stored.select(
            o_seller=stored.seller_org_id,
            o_score=stored.score,
            o_band=stored.band,
            o_state=stored.state,
            o_trusted=stored.trusted,
        )
        score = ibis.greatest(ibis.literal(0, "int64"), ah.start - j.total.fill_null(0))
        band = ibis.cases(
            (score >= ah.bands.healthy, "healthy"),
            (score >= ah.bands.at_risk, "at_risk"),
            else_="deactivation_eligible",
        )
        j = j.mutate(
            score=score,
            band=band,
            state=ibis.ifelse(suspended, "suspended", "active"),
            trusted=j.trusted.fill_null(False),
            since=ibis.coalesce(j.since, self.today),
        )
        j = _j(j, st, [("sid", "o_seller")], "left").drop("o_seller")
        new = j.o_score.isnull()
        same = (
            (j.o_score == j.score)
            & (j.o_band == j.band)
            & (j.o_state == j.state)
            & (j.o_trusted == j.trusted)
        ).fill_null(False)
        prior = ibis.coalesce(j.o_state, ibis.literal("active"))
        j = j.filter(new | ~same)
        return j.select(
            seller_org_id=j.sid,
            since=j.since,
            score=j.score,
            band=j.band,
            state=j.state,
            trusted=j.trusted,
            is_new=new,
            suspend=(j.state == "suspended") & (prior != "suspended"),
            lift=(j.state == "active") & (prior != "active"),
        ).order_by("seller_org_id")

    def suspensions(
        self, l3: ir.Table, accounts: ir.Table, requests: ir.Table, closed: ir.Table
    ) -> tuple[ir.Table, ir.Table]:
        """P10: the listings a new suspension suppresses, and those a lifted one reinstates
        (unless a ladder step still holds them)."""
        sus = accounts.filter(accounts.suspend).select(s_seller=accounts.seller_org_id)
        up = accounts.filter(accounts.lift).select(s_seller=accounts.seller_org_id)
        a = _j(l3, sus, [("seller_org_id", "s_seller")])
        a = a.filter(a.state.isin(["pending", "active"]))
        a = a.select("id", "listing_id", "seller_org_id", "state").order_by("id")
        rq = requests.filter(requests.state.isin(OWES) & (requests.due < self.today))
        cl = closed.select(x_id=closed.id)
        held = _j(rq, cl, [("id", "x_id")], "anti")
        held = held.select(h_pk=held.listing_pk)
        b = _j(l3, up, [("seller_org_id", "s_seller")])
        b = _j(b.filter(b.state == "suppressed"), held, [("id", "h_pk")], "anti")
        valid = b.valid_until.notnull() & (b.valid_until >= self.today).fill_null(False)
        b = b.select(
            "id", "listing_id", "seller_org_id", back=ibis.ifelse(valid, "active", "pending")
        )
        return a, b.order_by("id")

    def final_listings(self, l3: ir.Table, suspended: ir.Table, lifted: ir.Table) -> ir.Table:
        s = suspended.select(s_pk=suspended.id, s_state=ibis.literal("suppressed"))
        b = lifted.select(b_pk=lifted.id, b_state=lifted.back)
        j = _j(_j(l3, s, [("id", "s_pk")], "left"), b, [("id", "b_pk")], "left")
        moved = j.s_state.notnull() | j.b_state.notnull()
        j = j.mutate(
            state=ibis.coalesce(j.s_state, j.b_state, j.state),
            state_since=ibis.ifelse(moved, self.today, j.state_since),
        )
        changed = (
            j.product_id.identical_to(j.orig_product_id)
            & j.program_category.identical_to(j.orig_category)
            & j.in_scope.identical_to(j.orig_in_scope)
            & j.state.identical_to(j.orig_state)
            & j.state_since.identical_to(j.orig_since)
        )
        j = j.filter(~changed)
        return j.select(
            "id", "product_id", "program_category", "in_scope", "state", "state_since"
        ).order_by("id")


Tables = dict[str, pa.Table]
Timer = Callable[[str], None]
#: keep(name, expr, output): the stage ``name`` materialized, as a table the next stages read;
#: ``output``: its rows are one of the plan's decisions.
Keep = Callable[[str, ir.Table, bool], ir.Table]
#: Decisions field -> the stage that holds it (None: the stage does not exist for the policy).
OUTPUTS = (
    ("listings", "s_final"),
    ("closed", "s_closed"),
    ("tier", "s_tier"),
    ("found", "s_found"),
    ("reminders", "s_reminders"),
    ("ladder", "s_ladder"),
    ("accounts", "s_accounts"),
    ("suspended", "s_suspended"),
    ("lifted", "s_lifted"),
    ("critical", "s_critical"),
)
_EMPTY = {
    "reminders": pa.table({"rid": pa.array([], _I)}),
    "ladder": pa.table({"id": pa.array([], _I)}),
}


def stages(p: Plan, t: dict[str, ir.Table], keep: Keep, tick: Timer = lambda _: None) -> None:
    """The plan's stages in order, each handed to ``keep`` (which materializes it)."""
    tick("scope (P1)")
    l2 = keep("s_l2", p.scope(t["listings"], t["products"], t["facts"]), False)
    closed = keep("s_closed", p.closed(l2, t["requests"]), True)
    tick("trusted tier (P12)")
    tier = keep("s_tier", p.tier(l2, t["decisions"], t["violations"]), True)
    tick("triggers (P2, P3)")
    hashes_e = p.hashes(l2)
    hashes = keep("s_hashes", hashes_e, False) if hashes_e is not None else None
    cand = p.candidates(
        l2,
        tier,
        t["triggers"],
        t["complaints"],
        t["rule_dates"],
        t["decisions"],
        t["exemptions"],
        hashes,
    )
    found = keep("s_found", p.found(cand, l2, tier, t["requests"], closed), True)
    new = keep("s_new", p.new_requests(found), False)
    tick("reminders (P5)")
    rem = p.reminders(t["requests"], closed, new, t["reminded"], l2)
    if rem is not None:
        keep("s_reminders", rem, True)
    tick("ladder (P6)")
    lad_e = p.ladder(t["requests"], closed, l2, t["ladder_keys"], t["violations"])
    lad = keep("s_ladder", lad_e, True) if lad_e is not None else None
    l3 = keep("s_l3", p.after_ladder(l2, lad), False)
    tick("account health (P10)")
    newv = None
    if lad is not None:
        nv = lad.filter(lad.needs_violation)
        newv = nv.select(
            seller_org_id=nv.seller_org_id,
            severity=ibis.literal("medium"),
            opened=p.today,
            resolved=ibis.null("date"),
        )
    acc = keep("s_accounts", p.accounts(l3, tier, t["violations"], newv, t["accounts"]), True)
    sus_e, lift_e = p.suspensions(l3, acc, t["requests"], closed)
    sus = keep("s_suspended", sus_e, True)
    lift = keep("s_lifted", lift_e, True)
    v = t["violations"]
    sellers = acc.filter(acc.suspend).select(c_seller=acc.seller_org_id)
    crit = v.filter(
        (v.resolved.isnull() | (v.resolved > p.today).fill_null(False))
        & (v.opened <= p.today)
        & (v.severity == "critical")
    )
    crit = _j(crit, sellers, [("seller_org_id", "c_seller")])
    keep("s_critical", crit.select("id", "seller_org_id", "request_id").order_by("id"), True)
    keep("s_final", p.final_listings(l3, sus, lift), True)


def run_plan(
    frames: Frames,
    policy: Policy,
    version: int,
    day: date,
    snapshot: Tables,
    on_stage: Timer | None = None,
) -> Decisions:
    """Run the sweep's plan over ``snapshot`` (every table of ``SNAPSHOT``) on ``frames``,
    stage by stage through ibis (the Spark path; DuckDB runs ``compiled_plan``'s SQL)."""
    t = {name: frames.put(f"snap_{name}", snapshot[name]) for name in SNAPSHOT}
    p = Plan(frames, policy, version, day)
    got: dict[str, pa.Table] = {}

    def keep(name: str, expr: ir.Table, output: bool) -> ir.Table:
        ref, arrow = frames.keep(name, expr)
        got[name] = arrow
        return ref

    stages(p, t, keep, on_stage or (lambda _: None))
    return _decisions(got)


def _decisions(got: dict[str, pa.Table]) -> Decisions:
    return Decisions(**{f: got[s] if s in got else _EMPTY[f] for f, s in OUTPUTS})


# --- the plan as SQL, compiled once per policy (DuckDB) -------------------------------------------

#: The day the SQL is compiled for: every date the plan uses is this day plus a number of days
#: that depends on the policy only, so the SQL of any day is this SQL with each of these dates
#: moved by (day - SENTINEL). The dates are far from any real one (years 1400-1600).
SENTINEL = date(1500, 1, 1)
PERIOD = "@@toysafe-period@@"
_DATE = re.compile(r"MAKE_DATE\((\d+), (\d+), (\d+)\)")


@dataclass(frozen=True)
class Stage:
    name: str
    sql: str
    output: bool
    schema: str = ""  # an output's Arrow schema (IPC, base64): what ibis would have returned


def plan_key(policy: Policy, version: int) -> str:
    """What the compiled SQL depends on: the policy, its version, this module's source, and
    the ibis and sqlglot versions."""
    import sqlglot

    h = hashlib.sha256()
    h.update(json.dumps([policy.canonical(), version], sort_keys=True, default=str).encode())
    h.update(Path(__file__).read_bytes())
    h.update(f"{ibis.__version__}|{sqlglot.__version__}".encode())
    return h.hexdigest()


_PLANS: dict[str, list[Stage]] = {}


def compile_plan(policy: Policy, version: int) -> list[Stage]:
    """The plan's stages as DuckDB SQL for the day ``SENTINEL``: kept in memory and on disk
    (``toysafe.bulk.run.cache_dir``), since building and compiling the ibis expressions costs
    seconds whatever the size of the data."""
    from toysafe.bulk.run import cache_dir

    key = plan_key(policy, version)
    if key in _PLANS:
        return _PLANS[key]
    where = cache_dir()
    path = where / "sweep-sql" / f"{key}.json" if where else None
    if path is not None and path.is_file():
        try:
            got = [Stage(**st) for st in json.loads(path.read_text())]
            _PLANS[key] = got
            return got
        except (OSError, ValueError, TypeError):
            pass  # a damaged cache file: compile again
    out: list[Stage] = []
    t = {
        name: ibis.table(ibis.Schema.from_pyarrow(schema_of(name)), name=f"snap_{name}")
        for name in SNAPSHOT
    }

    def keep(name: str, expr: ir.Table, output: bool) -> ir.Table:
        sql = str(ibis.to_sql(expr, dialect="duckdb", pretty=False))
        schema = expr.schema().to_pyarrow().serialize().to_pybytes() if output else b""
        out.append(Stage(name, sql, output, base64.b64encode(schema).decode()))
        return ibis.table(expr.schema(), name=name)

    stages(Plan(None, policy, version, SENTINEL, PERIOD), t, keep)
    _PLANS[key] = out
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps([st.__dict__ for st in out]))
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: compile every run
    return out


def sql_for_day(sql: str, day: date, period: str) -> str:
    """``sql`` (compiled for ``SENTINEL``) as the SQL of ``day``."""

    def move(m: re.Match[str]) -> str:
        d = date(int(m[1]), int(m[2]), int(m[3]))
        if not 1400 <= d.year <= 1600:
            return m[0]
        real = day + (d - SENTINEL)
        return f"MAKE_DATE({real.year}, {real.month}, {real.day})"

    return _DATE.sub(move, sql).replace(PERIOD, period)


_LABELS = {
    "s_l2": "scope (P1)",
    "s_tier": "trusted tier (P12)",
    "s_found": "triggers (P2, P3)",
    "s_reminders": "reminders (P5)",
    "s_ladder": "ladder (P6)",
    "s_accounts": "account health (P10)",
}


def run_sql_plan(
    policy: Policy,
    version: int,
    day: date,
    snapshot: Tables,
    on_stage: Timer | None = None,
    threads: int | None = None,
) -> Decisions:
    """The plan on an embedded DuckDB from its cached SQL: the snapshot registered as Arrow
    (no copy), the intermediate stages kept inside DuckDB as temporary tables, the decisions
    read out as Arrow."""
    import duckdb

    tick = on_stage or (lambda _: None)
    ra = policy.triggers.random_audit
    period = period_of(day, ra.period) if ra is not None else ""
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        for name in SNAPSHOT:
            con.register(f"snap_{name}", snapshot[name])
        got: dict[str, pa.Table] = {}
        took: dict[str, float] = {}
        for st in compile_plan(policy, version):
            t0 = time.perf_counter()
            if st.name in _LABELS:
                tick(_LABELS[st.name])
            sql = sql_for_day(st.sql, day, period)
            if st.output:
                want = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(st.schema)))
                got[st.name] = con.sql(sql).to_arrow_table().cast(want)
                con.register(st.name, got[st.name])
            else:
                con.execute(f'CREATE TEMP TABLE "{st.name}" AS {sql}')
            took[st.name] = round(time.perf_counter() - t0, 3)
        out = _decisions(got)
        out.timings.update(took)
        return out
    finally:
        con.close()
