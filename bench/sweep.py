"""Benchmark of the compiled sweep (``toysafe program sweep --engine duckdb``), contract 9.

The workspace (SQLite) is seeded directly in bulk, as a marketplace looks on an ordinary day:
most listings approved with validity spread over the coming year (those ending within the
renewal notice already have their renewal request; today's day-30 ones renew), 5% pending with
their first request open and due dates spread around today (reminders, ladder steps,
violations), 1% listed today, 3% out of scope, complaints over the last quarter, approvals and
rejections of 2,000 sellers, a few critical violations; the day is the first of a quarter (its
random audit draws 2%).

Figures: ``sweep_1m_s`` (one day's compiled sweep over 1,000,000 listings on DuckDB: snapshot,
plan, change set written back; target at most 20 s), with ``peak_rss_mb`` of that process and
its phases; ``existing_s`` / ``compiled_s`` at ``--compare-n`` listings (the SQL path and the
compiled one on two copies of the same workspace, whose sweep@1 documents must be equal);
``sweep_10m_s`` with ``--ten-million``. With ``--engine spark`` the figure is ``sweep_spark_s``
(the same day's sweep of ``--n`` listings on Spark local[2], its session started first and timed
apart as ``spark_session_s``), with ``duckdb_s`` on a copy of the same workspace and
``spark_same_document_as_duckdb`` (the two sweep@1 documents are equal); its ``peak_rss_mb`` is
the Python process's (the JVM's memory is not in it). Every figure carries the load average when
it was taken.

    python bench/sweep.py [--json] [--n 1000000] [--compare-n 100000] [--ten-million]
                          [--engine duckdb|spark]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from toysafe.core.program.policy import audit_draw, period_of
from toysafe.io.program import policy_from_data
from toysafe.store.db import Store, make_engine, migrate
from toysafe.store.program import policies

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 10, 15)  # mid-2026Q4: the quarter's random audit was drawn on its first day
SELLERS = 2000
TARGETS = {"sweep_1m_s": 20.0}


def _policy() -> Any:
    import yaml

    data = yaml.safe_load((ROOT / "examples" / "program" / "policy.yaml").read_text())
    return policy_from_data(data)


def seed(path: Path, n: int, rnd_seed: int = 5) -> None:
    """A workspace of ``n`` listings at ``path``, written with executemany in one transaction."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    store = Store(engine)
    policies.load_policy(store, _policy(), DAY - timedelta(days=800), "bench")
    engine.dispose()
    rnd = random.Random(rnd_seed)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    iso = date.isoformat
    con.executemany(
        "INSERT INTO organizations (id, slug, name, created_at) VALUES (?, ?, ?, '2024-01-01')",
        [(i, f"seller-{i:05d}", f"Seller {i}") for i in range(2, SELLERS + 2)],
    )
    listings, requests, triggers, complaints = [], [], [], []
    history: list[tuple[Any, ...]] = []
    actions: list[tuple[Any, ...]] = []
    overdue: list[tuple[Any, ...]] = []
    audited: list[int] = []
    period = period_of(DAY, "quarter")
    rid = 0
    for pk in range(1, n + 1):
        seller = rnd.randrange(2, SELLERS + 2)
        u = rnd.random()
        lid = f"B{pk:09d}"
        cat, age, state, since = "toys_and_games", rnd.choice((12, 36, 60, 96)), "active", None
        valid = last = None
        listed = DAY - timedelta(days=rnd.randrange(30, 1500))
        in_scope, pcat = 1, "toys"
        if u < 0.03:
            cat, state, in_scope, pcat = "electronics", "out_of_scope", 0, None
        elif u < 0.033:
            listed, state, in_scope, pcat = DAY, "pending", None, None  # listed today: new
        elif u < 0.083:
            state = "pending"
            opened = DAY - timedelta(days=rnd.randrange(0, 60))
            due = opened + timedelta(days=14)
            rid += 1
            requests.append((rid, pk, seller, "open", iso(opened), iso(due)))
            triggers.append((rid, pk, "new_listing", "", iso(opened)))
            listed = min(listed, opened)
            # What the sweeps of the days before did: reminders sent, ladder steps taken.
            due_in = (due - DAY).days
            for d in (7, 1):
                if d > due_in and due - timedelta(days=d) >= opened:
                    history.append((rid, iso(due - timedelta(days=d)), str(d)))
            late = (DAY - due).days
            for i, (days, step) in enumerate(((0, "suppressed"), (30, "removed"))):
                if max(days, 1) < late:
                    actions.append((f"ladder:{rid}:{i}", seller, pk, rid, step, iso(due)))
                    state = step
            if late > 1:
                overdue.append((seller, pk, rid, iso(due + timedelta(days=1))))
        else:
            valid = DAY + timedelta(days=rnd.randrange(0, 365))
            last = valid - timedelta(days=365)
            if valid < DAY + timedelta(days=30):
                opened = valid - timedelta(days=30)
                rid += 1
                # The seller answered: its submission waits for a reviewer.
                due = iso(opened + timedelta(days=14))
                requests.append((rid, pk, seller, "submitted", iso(opened), due))
                triggers.append((rid, pk, "renewal", iso(valid), iso(opened)))
        since = iso(listed)
        listings.append(
            (pk, lid, seller, cat, f"Toy {pk}", "Brand", f"M-{pk % 97}", age, iso(listed),
             pcat, in_scope, state, since, iso(valid) if valid else None,
             iso(last) if last else None, iso(listed), iso(listed))
        )  # fmt: skip
        if audit_draw(1, lid, period) < 0.02:
            audited.append(pk)
        if rnd.random() < 0.03:
            for k in range(rnd.choice((1, 2, 3, 4))):
                on = DAY - timedelta(days=rnd.randrange(0, 100))
                text = rnd.choice(
                    ("small parts came off, choking risk", "great", "Battery got hot")
                )
                complaints.append((f"C{pk}-{k}", lid, iso(on), "buyer", text, iso(on)))
    con.executemany(
        "INSERT INTO program_listings (id, listing_id, seller_org_id, category, title, brand, "
        "model, min_age_months, listed_on, program_category, in_scope, state, state_since, "
        "valid_until, last_approved_on, imported_on, updated_on) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        listings,
    )
    base = '["ASTMF963", "16CFR1303"]'
    con.executemany(
        "INSERT INTO program_requests (id, listing_pk, seller_org_id, category, state, opened, "
        "due, policy_version, requirements, requirements_basis, extended_days, trusted) "
        f"VALUES (?,?,?,'toys',?,?,?,1,'{base}','baseline',0,0)",
        requests,
    )
    con.executemany(
        'INSERT INTO program_request_triggers (request_id, listing_pk, kind, ref, "on", facts) '
        "VALUES (?,?,?,?,?,'{}')",
        triggers,
    )
    con.executemany(
        "INSERT INTO program_complaints (complaint_id, listing_id, received_on, reporter, text, "
        "imported_on) VALUES (?,?,?,?,?,?)",
        complaints,
    )
    # Decisions on one closed request per seller: approvals (the trusted tier), rejections.
    closed = [(rid + i, 1, s) for i, s in enumerate(range(2, SELLERS + 2), start=1)]
    con.executemany(
        "INSERT INTO program_requests (id, listing_pk, seller_org_id, category, state, opened, "
        "due, policy_version, requirements, requirements_basis, extended_days, trusted, "
        "closed_on) VALUES (?,?,?,'toys','approved','2024-01-01','2024-01-15',1,'[]',"
        "'baseline',0,0,'2024-01-10')",
        closed,
    )
    seller_of = {row[0]: row[2] for row in listings}
    # The quarter's audits, drawn on its first day, already approved.
    first = rid + len(closed) + 1
    audits = [(first + k, pk, seller_of[pk]) for k, pk in enumerate(audited)]
    con.executemany(
        "INSERT INTO program_requests (id, listing_pk, seller_org_id, category, state, opened, "
        "due, policy_version, requirements, requirements_basis, extended_days, trusted, "
        f"closed_on) VALUES (?,?,?,'toys','approved','{iso(DAY.replace(day=1))}',"
        f"'{iso(DAY.replace(day=15))}',1,'[]','baseline',0,0,'{iso(DAY.replace(day=10))}')",
        audits,
    )
    con.executemany(
        'INSERT INTO program_request_triggers (request_id, listing_pk, kind, ref, "on", facts) '
        f"VALUES (?,?,'random_audit','{period}','{iso(DAY.replace(day=1))}','{{}}')",
        [(r, pk) for r, pk, _ in audits],
    )
    con.executemany(
        'INSERT INTO program_request_history (request_id, "on", event, ref, actor, detail) '
        "VALUES (?,?,'reminded',?,'bench','{}')",
        history,
    )
    con.executemany(
        'INSERT INTO program_actions (key, seller_org_id, listing_pk, request_id, action, "on", '
        "policy_version, actor, reasons) VALUES (?,?,?,?,?,?,1,'bench','{}')",
        actions,
    )
    con.executemany(
        "INSERT INTO program_violations (seller_org_id, listing_pk, request_id, kind, severity, "
        "opened, policy_version) VALUES (?,?,?,'missing_documents','medium',?,1)",
        overdue,
    )
    decisions = []
    for req, _, s in closed:
        for _k in range(rnd.randrange(0, 14)):
            on = DAY - timedelta(days=rnd.randrange(1, 700))
            decisions.append((req, s, iso(on), "approve"))
        u = rnd.random()
        if u < 0.05:  # one rejection: below the history trigger's two
            decisions.append((req, s, iso(DAY - timedelta(days=rnd.randrange(1, 300))), "reject"))
        if u < 0.005:  # and a second one today: every listing of the seller is reviewed
            decisions.append((req, s, iso(DAY), "reject"))
    con.executemany(
        "INSERT INTO program_decisions (request_id, seller_org_id, decided_on, decision, "
        "policy_version, actor, automatic, reasons) VALUES (?,?,?,?,1,'bench',0,'{}')",
        decisions,
    )
    violations = [
        (s, rnd.choice(("low", "medium", "high", "critical" if rnd.random() < 0.05 else "low")),
         iso(DAY - timedelta(days=rnd.randrange(1, 200))))
        for s in range(2, SELLERS + 2) if rnd.random() < 0.2
    ]  # fmt: skip
    con.executemany(
        "INSERT INTO program_violations (seller_org_id, kind, severity, opened, policy_version) "
        "VALUES (?,'failed_test',?,?,1)",
        violations,
    )
    con.commit()
    con.close()


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def one(path: Path, engine: str | None) -> dict[str, Any]:
    """One sweep of ``DAY`` in this process (``--one``): its time, phases and peak memory."""
    from toysafe.store.program import compiled_sweep
    from toysafe.store.program.sweep import sweep

    store = Store(make_engine(f"sqlite:///{path}"))
    phases: dict[str, float] = {}
    original = compiled_sweep.CompiledSweep.run

    def timed(self: Any, kb: Any) -> Any:
        out = original(self, kb)
        phases.update(self.timings)
        return out

    compiled_sweep.CompiledSweep.run = timed  # type: ignore[method-assign]
    session, started = None, {}
    if engine == "spark":
        from toysafe.bulk.run import spark_session

        t = time.perf_counter()
        session = spark_session("local[2]", "toysafe-bench-sweep")
        session.sparkContext.setLogLevel("ERROR")
        started = {"spark_session_s": round(time.perf_counter() - t, 2)}
    load = _load()
    try:
        t = time.perf_counter()
        doc = sweep(store, DAY, "bench", engine=engine, spark_session=session).to_dict()
        took = time.perf_counter() - t
    finally:
        if session is not None:
            session.stop()
    counts = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    return {
        **started,
        "s": round(took, 2),
        "load1": load,
        "load1_after": _load(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "phases": phases,
        "counts": counts,
        "digest": hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest(),
    }


def run_one(path: Path, engine: str | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(path), "--engine", engine or "sql"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--compare-n", type=int, default=100_000)
    ap.add_argument("--ten-million", action="store_true")
    ap.add_argument("--one")
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "spark", "sql"])
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(Path(a.one), None if a.engine == "sql" else a.engine)))
        return
    out: dict[str, Any] = {"targets": TARGETS, "cores": os.cpu_count()}
    tmp = Path(tempfile.mkdtemp(prefix="toysafe-bench-sweep-"))
    try:
        if a.compare_n:
            src = tmp / "cmp.db"
            t = time.perf_counter()
            seed(src, a.compare_n)
            out["compare_seed_s"] = round(time.perf_counter() - t, 2)
            shutil.copy(src, tmp / "cmp2.db")
            sql = run_one(src, None)
            comp = run_one(tmp / "cmp2.db", "duckdb")
            out["compare_n"] = a.compare_n
            out["existing"] = sql
            out["compiled"] = comp
            out["same_document"] = sql["digest"] == comp["digest"]
        spark = a.engine == "spark"
        runs = [("sweep_spark", a.n)] if spark else [("sweep_1m", a.n)]
        if a.ten_million and not spark:
            runs.append(("sweep_10m", 10_000_000))
        for label, n in runs:
            path = tmp / f"{label}.db"
            t = time.perf_counter()
            seed(path, n)
            out[f"{label}_seed_s"] = round(time.perf_counter() - t, 2)
            if spark:
                shutil.copy(path, tmp / f"{label}-duckdb.db")
            got = run_one(path, a.engine)
            out[f"{label}_s"] = got["s"]
            out[label] = got
            path.unlink()
            if spark:
                duck = run_one(tmp / f"{label}-duckdb.db", "duckdb")
                out["spark_n"] = n
                out["spark_session_s"] = got.get("spark_session_s")
                out["duckdb_s"] = duck["s"]
                out["spark_same_document_as_duckdb"] = got["digest"] == duck["digest"]
                (tmp / f"{label}-duckdb.db").unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
