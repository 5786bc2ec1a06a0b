"""The sweep on an engine (``toysafe program sweep --engine duckdb|spark``).

A snapshot of the program tables is read from the workspace database as Arrow (SQLite: one
cursor per table; PostgreSQL: ``COPY ... TO STDOUT``), linked products whose facts are stale are
assessed in bulk (the knowledge base compiled for the engine, under the rules of the sweep's date
and of the last date any rule takes effect), the day's decisions are computed by the plan in
``toysafe.bulk.sweep``, and the change set is written back in bulk (executemany; COPY on
PostgreSQL) inside the sweep's one transaction, in the same order as the SQL path writes it, so
that both give the same rows and ids.
"""

from __future__ import annotations

import io
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
from sqlalchemy import Select, and_, delete, select, update
from sqlalchemy.orm import Session

from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.program import reasons as R
from toysafe.core.program.model import RequestState, Severity, ViolationKind, request_ref
from toysafe.core.program.policy import Policy
from toysafe.store import models as m
from toysafe.store.program import models as pm
from toysafe.store.program.feeds import (
    bulk_insert,
    bulk_update,
    chunks,
    insert_returning_ids,
    table,
)
from toysafe.store.program.sweep import (
    SEVERITY_RANK,
    Progress,
    SweepResult,
    _worse,
    action_row,
)

L = table(pm.ProgramListing)
Rq = table(pm.Request)
T = table(pm.RequestTrigger)
H = table(pm.RequestHistory)
OUT = table(pm.Outbox)
ACC = table(pm.AccountRow)
A = table(pm.ActionRow)
V = table(pm.ViolationRow)
F = table(pm.ProductFacts)
RD = table(pm.ProductRuleDate)
ORG = table(m.Organization)

_ = SEVERITY_RANK  # the ranks the plan's RANK mirrors


def _queries() -> dict[str, Select[Any]]:
    from toysafe.bulk.sweep import OPEN

    C, E, D, P = (
        table(pm.Complaint),
        table(pm.Exemption),
        table(pm.DecisionRow),
        table(m.Product),
    )
    open_ids = select(Rq.c.id).where(Rq.c.state.in_(OPEN))
    return {
        "listings": select(
            *(
                L.c[n]
                for n in (
                    "id",
                    "listing_id",
                    "seller_org_id",
                    "category",
                    "min_age_months",
                    "listed_on",
                    "sku",
                    "product_id",
                    "program_category",
                    "in_scope",
                    "state",
                    "state_since",
                    "valid_until",
                    "last_approved_on",
                )
            )
        ),
        "products": select(P.c.id, P.c.org_id, P.c.sku),
        "facts": select(F.c.product_id, F.c.children_product, F.c.requirements),
        "rule_dates": select(RD.c.product_id, RD.c.requirement, RD.c.effective),
        "requests": select(
            Rq.c.id,
            Rq.c.listing_pk,
            Rq.c.seller_org_id,
            Rq.c.state,
            Rq.c.opened,
            Rq.c.due,
            Rq.c.requirements,
        ).where(Rq.c.state.in_(OPEN)),
        "triggers": select(T.c.request_id, T.c.listing_pk, T.c.kind, T.c.ref, T.c.on),
        "reminded": select(H.c.request_id, H.c.ref).where(
            H.c.event == "reminded", H.c.request_id.in_(open_ids)
        ),
        "complaints": select(table(pm.Complaint).c.listing_id, C.c.received_on, C.c.text),
        "exemptions": select(E.c.listing_pk, E.c.trigger_kind, E.c.starts, E.c.until),
        "decisions": select(D.c.seller_org_id, D.c.decision, D.c.decided_on).where(
            D.c.decision.in_(("approve", "reject"))
        ),
        "violations": select(
            V.c.id,
            V.c.seller_org_id,
            V.c.request_id,
            V.c.kind,
            V.c.severity,
            V.c.opened,
            V.c.resolved,
        ),
        "ladder_keys": select(A.c.request_id, A.c.key).where(
            A.c.key.like("ladder:%"), A.c.request_id.in_(open_ids)
        ),
        "accounts": select(
            ACC.c.seller_org_id, ACC.c.score, ACC.c.band, ACC.c.state, ACC.c.trusted
        ),
    }


def read_arrow(s: Session, stmt: Select[Any], schema: pa.Schema) -> pa.Table:
    """One query's rows as an Arrow table of ``schema`` (column order as selected)."""
    conn = s.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        buf = io.BytesIO()
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as cp:
            for data in cp:
                buf.write(data)
        if buf.tell() == 0:
            return schema.empty_table()
        buf.seek(0)
        return pcsv.read_csv(
            buf,
            read_options=pcsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={f.name: f.type for f in schema},
                true_values=["t"],
                false_values=["f"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        ).cast(schema)
    rows = raw.execute(sql).fetchall()
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for f, values in zip(schema, cols, strict=True):
        if pa.types.is_date(f.type):
            arrays.append(pa.array(values, pa.string()).cast(f.type))
        elif pa.types.is_boolean(f.type):
            arrays.append(pa.array(values, pa.int64()).cast(f.type))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _conform(got: pa.Table, schema: pa.Schema) -> pa.Table:
    """SQLite's dynamic types (dates as text, booleans as integers) as ``schema``."""
    cols = []
    for f, col in zip(schema, got.columns, strict=True):
        if col.type == f.type:
            cols.append(col)
        elif pa.types.is_null(col.type) or col.null_count == len(col):
            cols.append(pa.nulls(len(col), f.type))
        elif pa.types.is_boolean(f.type):
            cols.append(col.cast(pa.int64()).cast(f.type))
        else:
            cols.append(col.cast(f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _adbc_snapshot(s: Session, queries: dict[str, Select[Any]]) -> dict[str, pa.Table] | None:
    """SQLite read straight into Arrow by the ADBC driver (C, no Python row objects), on a
    second connection: the sweep holds the write lock (BEGIN IMMEDIATE) and has written nothing
    to these tables yet, so that connection reads exactly what the sweep's transaction sees.
    None when the driver is missing or the file is not a plain database file."""
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return None
    from toysafe.bulk.sweep import schema_of

    conn = s.connection()
    path = conn.engine.url.database
    if not path or path == ":memory:":
        return None
    out: dict[str, pa.Table] = {}
    with adbc.connect(f"file:{path}?mode=ro") as db, db.cursor() as cur:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "1000000"})
        for name, stmt in queries.items():
            sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            cur.execute(sql)
            out[name] = _conform(cur.fetch_arrow_table(), schema_of(name))
    return out


def snapshot(s: Session) -> dict[str, pa.Table]:
    from toysafe.bulk.sweep import SNAPSHOT, schema_of

    q = _queries()
    if s.connection().dialect.name == "sqlite":
        try:
            got = _adbc_snapshot(s, q)
        except Exception:  # noqa: BLE001 - any driver trouble: the cursor path below
            got = None
        if got is not None:
            return got
    return {name: read_arrow(s, q[name], schema_of(name)) for name in SNAPSHOT}


@dataclass(frozen=True)
class _Engine:
    """What the bulk assessment of linked products needs to know of the engine."""

    engine: str
    session: Any


class CompiledSweep:
    """The sweep of one day computed by the plan on an engine, written back in bulk."""

    def __init__(
        self,
        s: Session,
        as_of: date,
        actor: str,
        version: int,
        policy: Policy,
        progress: Progress,
        engine: str = "duckdb",
        spark_session: Any = None,
    ) -> None:
        self.s = s
        self.day = as_of
        self.actor = actor
        self.version = version
        self.policy = policy
        self.progress = progress
        self.engine = engine
        self.spark = spark_session
        self.result = SweepResult(as_of, version)
        self.timings: dict[str, float] = {}
        self._t = time.perf_counter()

    def _lap(self, label: str) -> None:
        now = time.perf_counter()
        self.timings[label] = round(now - self._t, 3)
        self._t = now

    def run(self, kb: KnowledgeBase | None) -> SweepResult:
        from toysafe.bulk.sweep import Frames, run_plan, run_sql_plan

        self.progress("snapshot")
        snap = snapshot(self.s)
        self._lap("snapshot_s")
        self.progress("linking products")
        if self.engine == "duckdb":
            # The plan's SQL is compiled once per policy and cached; DuckDB runs it directly.
            snap = self.refresh_facts(_Engine("duckdb", None), snap, kb)
            self._lap("facts_s")
            d = run_sql_plan(self.policy, self.version, self.day, snap, self.progress)
            self._lap("plan_s")
            self.timings.update({f"plan.{k}": v for k, v in d.timings.items()})
        else:
            frames = Frames(self.engine, self.spark)
            try:
                snap = self.refresh_facts(frames, snap, kb)
                self._lap("facts_s")
                d = run_plan(frames, self.policy, self.version, self.day, snap, self.progress)
                self._lap("plan_s")
            finally:
                frames.close()
        self.apply(d, snap)
        self._lap("apply_s")
        return self.result

    # --- linked products (P1, P3 rule_change, P4) ----------------------------------------------

    def refresh_facts(
        self, frames: Any, snap: dict[str, pa.Table], kb: KnowledgeBase | None
    ) -> dict[str, pa.Table]:
        """Assess in bulk every linked product whose cached facts are missing or stale, and
        put the new facts into the snapshot (they are written with the change set)."""
        from toysafe.io.kb import default_kb
        from toysafe.store.program.products import fingerprint

        kb = kb or default_kb()
        rules = fingerprint(kb)
        lst = snap["listings"].select(["product_id", "seller_org_id", "sku"])
        linked = set(pc.unique(lst.column("product_id").drop_null()).to_pylist())
        unlinked = lst.filter(pc.and_(pc.is_null(lst["product_id"]), pc.is_valid(lst["sku"])))
        if unlinked.num_rows and snap["products"].num_rows:
            prods = snap["products"].rename_columns(["p_id", "seller_org_id", "sku"])
            got = unlinked.select(["seller_org_id", "sku"]).join(
                prods, ["seller_org_id", "sku"], join_type="inner"
            )
            linked |= set(got.column("p_id").to_pylist())
        self.stale: list[dict[str, Any]] = []
        self.stale_dates: list[dict[str, Any]] = []
        if not linked:
            return snap
        Pt, Vt = table(m.Product), table(m.ProductVersion)
        fresh: set[int] = set()
        ids = sorted(linked)
        for part in chunks(ids):
            fresh.update(
                self.s.scalars(
                    select(Pt.c.id)
                    .join(Vt, and_(Vt.c.product_id == Pt.c.id, Vt.c.version == Pt.c.latest_version))
                    .join(F, F.c.product_id == Pt.c.id)
                    .where(Pt.c.id.in_(part), F.c.digest == Vt.c.digest, F.c.rules == rules)
                )
            )
        stale_ids = [i for i in ids if i not in fresh]
        if not stale_ids:
            return snap
        docs: list[tuple[int, str, Any]] = []
        for part in chunks(stale_ids):
            docs += self.s.execute(
                select(Pt.c.id, Vt.c.digest, Vt.c.profile)
                .join(Vt, and_(Vt.c.product_id == Pt.c.id, Vt.c.version == Pt.c.latest_version))
                .where(Pt.c.id.in_(part))
            ).all()
        from toysafe.bulk.facts import assess_facts
        from toysafe.core.law.profile import Profile

        got = assess_facts(
            kb, [Profile.model_validate(doc) for _, _, doc in docs], self.day, frames
        )
        for (pid, digest, _), (children, reqs, warns, dates) in zip(docs, got, strict=True):
            self.stale.append(
                {
                    "product_id": pid,
                    "digest": digest,
                    "rules": rules,
                    "children_product": children,
                    "requirements": reqs,
                    "warnings": warns,
                    "computed_on": self.day,
                }
            )
            self.stale_dates += [
                {"product_id": pid, "requirement": r, "effective": d} for r, d in dates
            ]
        self.result.products_assessed = len(self.stale)
        gone = set(stale_ids)
        facts = snap["facts"].to_pylist()
        facts = [f for f in facts if f["product_id"] not in gone] + [
            {
                "product_id": f["product_id"],
                "children_product": f["children_product"],
                "requirements": json.dumps(f["requirements"]),
            }
            for f in self.stale
        ]
        rdates = [r for r in snap["rule_dates"].to_pylist() if r["product_id"] not in gone]
        rdates += self.stale_dates
        out = dict(snap)
        out["facts"] = pa.Table.from_pylist(facts, schema=snap["facts"].schema)
        out["rule_dates"] = pa.Table.from_pylist(rdates, schema=snap["rule_dates"].schema)
        return out

    # --- the change set ------------------------------------------------------------------------

    def put(self, t: Any, rows: list[dict[str, Any]]) -> None:
        bulk_insert(self.s, t, rows)

    def outbox(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        have: set[str] = set()
        for part in chunks([r["key"] for r in rows]):
            have.update(self.s.scalars(select(OUT.c.key).where(OUT.c.key.in_(part))))
        self.put(OUT, [r for r in rows if r["key"] not in have])

    def slug(self, org_id: int) -> str:
        if not hasattr(self, "slugs"):
            self.slugs: dict[int, str] = dict(self.s.execute(select(ORG.c.id, ORG.c.slug)).all())
        return self.slugs.get(org_id) or str(org_id)

    def _history(
        self, rid: int, event: str, ref: str | None, detail: dict[str, Any], **kw: Any
    ) -> dict[str, Any]:
        return {
            "request_id": rid,
            "on": self.day,
            "event": event,
            "from_state": kw.get("from_state"),
            "to_state": kw.get("to_state"),
            "ref": ref,
            "actor": self.actor,
            "detail": detail,
        }

    def apply(self, d: Any, snap: dict[str, pa.Table]) -> None:
        """Write the change set in the SQL path's order (so ids agree)."""
        s, day, res = self.s, self.day, self.result
        self.snap = snap
        # Linked products first: their facts.
        if self.stale:
            ids = [f["product_id"] for f in self.stale]
            for part in chunks(ids):
                s.execute(delete(F).where(F.c.product_id.in_(part)))
                s.execute(delete(RD).where(RD.c.product_id.in_(part)))
            bulk_insert(s, F, self.stale)
            bulk_insert(s, RD, self.stale_dates)
        # Every listing whose row changes, with its final values.
        bulk_update(s, L, "id", d.listings.to_pylist())
        # P1: requests of listings that left the program.
        closed = d.closed.to_pylist()
        if closed:
            for part in chunks([c["id"] for c in closed]):
                s.execute(
                    update(Rq)
                    .where(Rq.c.id.in_(part))
                    .values(state=RequestState.not_applicable.value, closed_on=day)
                )
            self.put(
                H,
                [
                    self._history(
                        c["id"],
                        "closed",
                        "out_of_scope",
                        {"reason": "the listing is no longer in the program (P1)"},
                        from_state=c["state"],
                        to_state=RequestState.not_applicable.value,
                    )
                    for c in closed
                ],
            )
            res.closed += [
                {
                    "request": request_ref(c["id"]),
                    "listing_id": c["listing_id"],
                    "state": "not_applicable",
                }
                for c in closed
            ]
        new_ids = self.triggers(d)
        self.reminders(d, new_ids)
        self.ladder(d)
        self.health(d)

    def triggers(self, d: Any) -> dict[int, int]:
        """P2, P3: open the new requests (numbered by the database in listing-id order) and
        add every trigger; returns provisional id -> request id."""
        s, day, pol, res = self.s, self.day, self.policy, self.result
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in sorted(
            d.found.to_pylist(),
            key=lambda r: (r["pk"], r["k"], r["req"] or "", r["d"] or date.min),
        ):
            found[r["pk"]].append(r)
        if not found:
            return {}
        pks = sorted(found)
        new_pks = sorted(
            (pk for pk in pks if found[pk][0]["rid"] is None),
            key=lambda p: found[p][0]["listing_id"],
        )
        open_by = {pk: found[pk][0]["rid"] for pk in pks if found[pk][0]["rid"] is not None}
        provisional: dict[int, int] = {}
        if new_pks:
            fresh = []
            for pk in new_pks:
                i = found[pk][0]
                cat = pol.categories[i["program_category"]]
                trusted = bool(i["trusted"])
                days = (
                    pol.trusted.response_days
                    if trusted and pol.trusted
                    else pol.clocks.response_days
                )
                linked = i["has_facts"]
                reqs = json.loads(i["f_reqs"]) if linked else list(cat.baseline)
                fresh.append(
                    {
                        "listing_pk": pk,
                        "seller_org_id": i["seller_org_id"],
                        "category": i["program_category"],
                        "state": RequestState.open.value,
                        "opened": day,
                        "due": day + timedelta(days=days),
                        "policy_version": self.version,
                        "requirements": reqs,
                        "requirements_basis": "assessment" if linked else "baseline",
                        "extended_days": 0,
                        "trusted": trusted,
                    }
                )
            ids = insert_returning_ids(s, Rq, fresh)
            history, findings, notes = [], [], []
            for n, (pk, rid, row) in enumerate(zip(new_pks, ids, fresh, strict=True)):
                open_by[pk] = rid
                provisional[-(n + 1)] = rid
                i = found[pk][0]
                kinds = list(dict.fromkeys(t["kind"] for t in found[pk]))
                history.append(
                    self._history(
                        rid,
                        "opened",
                        None,
                        {"triggers": kinds, "due": row["due"].isoformat()},
                        to_state="open",
                    )
                )
                if row["requirements_basis"] == "baseline":
                    findings.append(
                        {
                            "request_id": rid,
                            "submission_id": None,
                            "code": "product_not_linked",
                            "requirement": None,
                            "facts": ["the listing links no product in the workspace (sku)"],
                            "next_step": "link the listing to its product (sku): the assessment "
                            "narrows what this request asks for",
                            "found_on": day,
                        }
                    )
                if i["min_age_months"] is None:
                    findings.append(
                        {
                            "request_id": rid,
                            "submission_id": None,
                            "code": "age_grade_missing",
                            "requirement": None,
                            "facts": ["the listing states no manufacturer minimum age"],
                            "next_step": "add the manufacturer's minimum age (months) to "
                            "the listing",
                            "found_on": day,
                        }
                    )
                notes.append(
                    {
                        "key": f"opened:{rid}",
                        "seller_org_id": i["seller_org_id"],
                        "created_on": day,
                        "kind": "request_opened",
                        "request_id": rid,
                        "listing_pk": pk,
                        "payload": {
                            "request": request_ref(rid),
                            "listing_id": i["listing_id"],
                            "due": row["due"].isoformat(),
                            "triggers": kinds,
                            "requirements": row["requirements"],
                        },
                    }
                )
                res.opened.append(
                    {"request": request_ref(rid), "listing_id": i["listing_id"], "triggers": kinds}
                )
            self.put(H, history)
            self.put(table(pm.Finding), findings)
            self.outbox(notes)
        new_set = set(new_pks)
        trig_rows, added = [], []
        for pk in pks:
            rid = open_by[pk]
            for t in found[pk]:
                facts = _facts(t, pol)
                trig_rows.append(
                    {
                        "request_id": rid,
                        "listing_pk": pk,
                        "kind": t["kind"],
                        "ref": t["ref"],
                        "on": day,
                        "facts": {**facts, "reason": R.trigger_reason(t["kind"], t["ref"], facts)},
                    }
                )
            if pk not in new_set:
                kinds = list(dict.fromkeys(t["kind"] for t in found[pk]))
                added.append(
                    self._history(rid, "trigger_added", ",".join(kinds), {"triggers": kinds})
                )
                res.updated.append(
                    {
                        "request": request_ref(rid),
                        "listing_id": found[pk][0]["listing_id"],
                        "added_triggers": kinds,
                    }
                )
        # The triggers the open requests already have: the snapshot's (nothing wrote any since).
        fresh_ids = set(provisional.values())
        rids = sorted({r["request_id"] for r in trig_rows if r["request_id"] not in fresh_ids})
        old = self.snap["triggers"]
        old = old.filter(pc.is_in(old["request_id"], pa.array(rids, pa.int64())))
        have = set(
            zip(
                old["request_id"].to_pylist(),
                old["kind"].to_pylist(),
                old["ref"].to_pylist(),
                strict=True,
            )
        )
        self.put(T, [r for r in trig_rows if (r["request_id"], r["kind"], r["ref"]) not in have])
        self.put(H, added)
        return provisional

    def reminders(self, d: Any, provisional: dict[int, int]) -> None:
        day = self.day
        rows = d.reminders.to_pylist()
        if not rows:
            return
        by: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            rid = provisional.get(r["rid"], r["rid"])
            by[rid].append(r)
        history, notes = [], []
        for rid in sorted(by):
            todo = sorted(by[rid], key=lambda r: r["dpos"])
            r = todo[0]
            for t in todo:
                history.append(
                    self._history(
                        rid,
                        "reminded",
                        str(t["d"]),
                        {"days_before_due": t["d"], "due": r["due"].isoformat()},
                    )
                )
            notes.append(
                {
                    "key": f"reminder:{rid}:{min(t['d'] for t in todo)}",
                    "seller_org_id": r["seller_org_id"],
                    "created_on": day,
                    "kind": "reminder",
                    "request_id": rid,
                    "listing_pk": r["listing_pk"],
                    "payload": {
                        "request": request_ref(rid),
                        "listing_id": r["listing_id"],
                        "due": r["due"].isoformat(),
                        "days_left": (r["due"] - day).days,
                    },
                }
            )
            self.result.reminded.append({"request": request_ref(rid), "due": r["due"].isoformat()})
        self.put(H, history)
        self.outbox(notes)

    def ladder(self, d: Any) -> None:
        day, pol = self.day, self.policy
        lad = d.ladder
        if lad.num_rows and pol.ladder:
            # Only the requests with a step to take or a violation to open write anything:
            # most overdue requests took their steps on earlier days.
            todo = lad.column("needs_violation")
            for i in range(len(pol.ladder)):
                step = pc.and_kleene(lad.column(f"reached_{i}"), pc.invert(lad.column(f"done_{i}")))
                todo = pc.or_kleene(todo, step)
            lad = lad.filter(todo)
        rows = lad.to_pylist()
        if not rows:
            return
        actions, violations, history, notes = [], [], [], []
        for r in rows:
            state = r["listing_state"]
            reqs = json.loads(r["requirements"]) if r["requirements"] else []
            for i, step in enumerate(pol.ladder):
                if not r[f"reached_{i}"]:
                    break
                key = f"ladder:{r['id']}:{i}"
                if r[f"done_{i}"]:
                    state = _worse(state, step.listing)
                    continue
                why = R.ladder_step(
                    pol, self.version, day, i, r["id"], r["listing_id"], r["due"], list(reqs)
                ).to_dict()
                actions.append(
                    action_row(
                        self,
                        key,
                        r["seller_org_id"],
                        r["listing_pk"],
                        r["id"],
                        step.listing,
                        state,
                        why,
                    )
                )
                notes.append(
                    {
                        "key": f"action:{key}",
                        "seller_org_id": r["seller_org_id"],
                        "created_on": day,
                        "kind": "action",
                        "request_id": r["id"],
                        "listing_pk": r["listing_pk"],
                        "payload": {
                            "listing_id": r["listing_id"],
                            "action": step.listing,
                            "reasons": why,
                        },
                    }
                )
                self.result.actions.append(
                    {
                        "listing_id": r["listing_id"],
                        "action": step.listing,
                        "request": request_ref(r["id"]),
                        "reasons": why,
                    }
                )
                state = _worse(state, step.listing)
            if r["needs_violation"]:
                violations.append(
                    {
                        "seller_org_id": r["seller_org_id"],
                        "listing_pk": r["listing_pk"],
                        "request_id": r["id"],
                        "kind": ViolationKind.missing_documents.value,
                        "severity": Severity.medium.value,
                        "opened": day,
                        "resolved": None,
                        "resolution": None,
                        "policy_version": self.version,
                    }
                )
                history.append(
                    self._history(
                        r["id"],
                        "overdue",
                        r["due"].isoformat(),
                        {"violation": "missing_documents", "severity": "medium"},
                    )
                )
        self.put(A, actions)
        self.put(V, violations)
        self.put(H, history)
        self.outbox(notes)

    def health(self, d: Any) -> None:
        s, day, pol = self.s, self.day, self.policy
        accounts = d.accounts.to_pylist()
        new_rows: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for a in accounts:
            row = {
                "seller_org_id": a["seller_org_id"],
                "since": a["since"],
                "score": a["score"],
                "band": a["band"],
                "state": a["state"],
                "trusted": bool(a["trusted"]),
                "computed_on": day,
                "policy_version": self.version,
            }
            (new_rows if a["is_new"] else changed).append(row)
            self.result.accounts.append(
                {
                    "seller": self.slug(a["seller_org_id"]),
                    "score": a["score"],
                    "band": a["band"],
                    "state": a["state"],
                }
            )
        self.put(ACC, new_rows)
        bulk_update(s, ACC, "seller_org_id", changed)
        suspend = [a["seller_org_id"] for a in accounts if a["suspend"]]
        lift = [a["seller_org_id"] for a in accounts if a["lift"]]
        critical: dict[int, list[str]] = defaultdict(list)
        for c in d.critical.to_pylist():
            critical[c["seller_org_id"]].append(
                f"violation {c['id']}"
                + (f" on {request_ref(c['request_id'])}" if c["request_id"] else "")
            )
        if suspend:
            actions, notes = [], []
            for sid in suspend:
                why = R.suspension(pol, self.version, day, critical[sid], None).to_dict()
                actions.append(
                    action_row(
                        self,
                        f"suspend:{sid}:{day.isoformat()}",
                        sid,
                        None,
                        None,
                        "suspended",
                        None,
                        why,
                    )
                )
                self.result.actions.append(
                    {"seller": self.slug(sid), "action": "suspended", "reasons": why}
                )
            for lst in d.suspended.to_pylist():
                why = R.suspension(
                    pol, self.version, day, critical[lst["seller_org_id"]], lst["listing_id"]
                ).to_dict()
                key = f"suspend:{lst['seller_org_id']}:{day.isoformat()}:{lst['id']}"
                actions.append(
                    action_row(
                        self,
                        key,
                        lst["seller_org_id"],
                        lst["id"],
                        None,
                        "suppressed",
                        lst["state"],
                        why,
                    )
                )
                self.result.actions.append(
                    {"listing_id": lst["listing_id"], "action": "suppressed", "reasons": why}
                )
            for a in actions:
                notes.append(
                    {
                        "key": f"action:{a['key']}",
                        "seller_org_id": a["seller_org_id"],
                        "created_on": day,
                        "kind": "action",
                        "request_id": None,
                        "listing_pk": a["listing_pk"],
                        "payload": {"action": a["action"], "reasons": a["reasons"]},
                    }
                )
            self.put(A, actions)
            self.outbox(notes)
        if lift:
            actions = []
            for sid in lift:
                why = R.unsuspension(pol, self.version, day, None).to_dict()
                actions.append(
                    action_row(
                        self,
                        f"unsuspend:{sid}:{day.isoformat()}",
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
            for lst in d.lifted.to_pylist():
                why = R.unsuspension(pol, self.version, day, lst["listing_id"]).to_dict()
                key = f"unsuspend:{lst['seller_org_id']}:{day.isoformat()}:{lst['id']}"
                actions.append(
                    action_row(
                        self,
                        key,
                        lst["seller_org_id"],
                        lst["id"],
                        None,
                        "reinstated",
                        "suppressed",
                        why,
                    )
                )
                self.result.actions.append(
                    {"listing_id": lst["listing_id"], "action": "reinstated", "reasons": why}
                )
            self.put(A, actions)


def _facts(t: dict[str, Any], pol: Policy) -> dict[str, Any]:
    """A trigger's facts, as the SQL path records them."""
    kind = t["kind"]
    if kind == "new_listing":
        return {"listed_on": t["d"].isoformat()}
    if kind == "renewal":
        return {"valid_until": t["d"].isoformat()}
    if kind == "complaint":
        ct = pol.triggers.complaints
        assert ct is not None
        return {"complaints": t["n"], "window_days": ct.window_days, "keywords": ct.keywords}
    if kind == "rule_change":
        return {"requirement": t["req"], "effective": t["d"].isoformat()}
    if kind == "history":
        ht = pol.triggers.history
        assert ht is not None
        return {"rejections": t["n"], "window_days": ht.window_days}
    return {"period": t["ref"], "rate": t["rate"]}
