"""Benchmark of the marketplace program's daily sweep (P14).

``sweep_100k_s``: one day's sweep over 100,000 listings of 1,000 sellers with a realistic mix:
most listings approved (validity spread over the year, so some renew today), some requests
waiting for review, some open with due dates spread around the day (reminders, ladder steps,
violations), new listings of the day, complaints over the last quarter, rejections behind
history triggers, the first day of a quarter (its random audit), one linked product per seller
(its assessment decides scope and requirements); the day before was swept as well.
``first_sweep_s``: the sweep that opened every listing's first request (setup).
Each backend runs in its own process so that ``peak_rss_mb`` (the process's peak resident
memory, setup included) is its own.

    python bench/program.py [--json] [--listings 100000] [--sellers 1000] [--backend both]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import yaml  # noqa: E402
from sqlalchemy import bindparam, func, insert, select, text, update  # noqa: E402

from profiles import profile  # noqa: E402
from toysafe.core.law.profile import Profile  # noqa: E402
from toysafe.io.program import ListingRow, policy_from_data  # noqa: E402
from toysafe.store import models as m  # noqa: E402
from toysafe.store.db import Store, make_engine, migrate  # noqa: E402
from toysafe.store.program import models as pm  # noqa: E402
from toysafe.store.program.feeds import chunks, import_listings, table  # noqa: E402
from toysafe.store.program.policies import load_policy  # noqa: E402
from toysafe.store.program.sweep import sweep  # noqa: E402
from toysafe.store.workspace import Workspace  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql+psycopg://root@127.0.0.1:5432/test"
DAY = date(2026, 10, 1)  # the first day of a quarter: its random audit runs
START = DAY - timedelta(days=60)
TARGET_S = 60.0
CATEGORIES = ["toys_and_games"] * 8 + ["baby_products", "garden"]
WORDS = ["choke", "fine", "battery", "sharp edge", "great", "magnet", "lead paint", "ok"]


def engine_for(backend: str, tmp: Path) -> tuple[Any, Any]:
    if backend == "sqlite":
        return make_engine(f"sqlite:///{tmp / 'bench.db'}"), None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return make_engine(url), drop


def build(store: Store, n: int, sellers: int, rng: random.Random) -> dict[str, float]:
    """The marketplace as it stands the day before: listings, requests in every state."""
    data = yaml.safe_load((ROOT / "examples" / "program" / "policy.yaml").read_text())
    load_policy(store, policy_from_data(data), START, "bench")
    slugs = [f"seller-{i:04d}" for i in range(sellers)]
    # One linked product per seller (P1/P4 from the assessment).
    linked: dict[str, str] = {}
    for i, slug in enumerate(slugs[: min(sellers, 1000)]):
        ws = Workspace(store, slug, who="bench")
        ws.init()
        p = Profile.model_validate(profile(rng, i))
        ws.add_profiles([p], START)
        linked[slug] = p.sku
    rows = []
    for i in range(n):
        slug = slugs[i % sellers]
        first = i < sellers  # the first listing of each seller links its product
        # The day's new listings (1 %) come on the day; everything else is on file.
        new = i >= n - n // 100
        listed = DAY if new else START - timedelta(days=rng.randint(0, 700))
        rows.append(
            ListingRow(
                listing_id=f"B0{i:08d}",
                seller=slug,
                category=rng.choice(CATEGORIES),
                title=f"Toy {i}",
                brand="Bench",
                model=f"M-{i}",
                min_age_months=rng.choice([None, 18, 36, 36, 36, 60, 96, 168]),
                listed_on=listed,
                sku=linked.get(slug) if first else None,
            )
        )
    t0 = time.perf_counter()
    import_listings(store, rows, START, "bench")
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sweep(store, START, "bench")  # every in-scope listing gets its first request
    first_s = time.perf_counter() - t0
    settle(store, rng)
    complaints(store, n, rng)
    t0 = time.perf_counter()
    sweep(store, DAY - timedelta(days=1), "bench")  # yesterday was swept too
    previous_s = time.perf_counter() - t0
    return {
        "import_s": round(import_s, 2),
        "first_sweep_s": round(first_s, 2),
        "previous_day_s": round(previous_s, 2),
    }


def settle(store: Store, rng: random.Random) -> None:
    """Decide the first requests in bulk: 80 % approved (validity spread so that some renew
    on the day), 8 % submitted or in review, the rest still open (due before the day: overdue);
    a few sellers with two rejections."""
    R, L, D = table(pm.Request), table(pm.ProgramListing), table(pm.DecisionRow)
    with store.transaction() as s:
        reqs = s.execute(select(R.c.id, R.c.listing_pk, R.c.seller_org_id)).all()
        approved, waiting, decisions, listings, still_open = [], [], [], [], []
        for rid, pk, seller in reqs:
            x = rng.random()
            if x < 0.80:
                on = START + timedelta(days=rng.randint(1, 50))
                until = on + timedelta(days=rng.randint(20, 365))
                approved.append({"b_id": rid, "b_on": on})
                listings.append({"b_pk": pk, "b_until": until, "b_on": on})
                decisions.append(
                    {
                        "request_id": rid,
                        "seller_org_id": seller,
                        "decided_on": on,
                        "decision": "approve",
                        "reason_code": None,
                        "policy_version": 1,
                        "actor": "bench",
                        "automatic": True,
                        "reasons": {},
                    }
                )
            elif x < 0.88:
                waiting.append({"b_id": rid, "b_state": rng.choice(["submitted", "in_review"])})
            else:  # still open, due dates spread around the day (ladder steps every day)
                due = DAY + timedelta(days=rng.randint(-40, 14))
                still_open.append({"b_id": rid, "b_due": due, "b_opened": due - timedelta(days=14)})
        for part in chunks(approved):
            s.connection().execute(
                update(R)
                .where(R.c.id == bindparam("b_id"))
                .values(state="approved", closed_on=bindparam("b_on")),
                list(part),
            )
        for part in chunks(waiting):
            s.connection().execute(
                update(R).where(R.c.id == bindparam("b_id")).values(state=bindparam("b_state")),
                list(part),
            )
        for part in chunks(still_open):
            s.connection().execute(
                update(R)
                .where(R.c.id == bindparam("b_id"))
                .values(due=bindparam("b_due"), opened=bindparam("b_opened")),
                list(part),
            )
        for part in chunks(listings):
            s.connection().execute(
                update(L)
                .where(L.c.id == bindparam("b_pk"))
                .values(
                    state="active",
                    valid_until=bindparam("b_until"),
                    last_approved_on=bindparam("b_on"),
                ),
                list(part),
            )
        sellers = sorted({r.seller_org_id for r in reqs})
        for seller in rng.sample(sellers, max(1, len(sellers) // 50)):
            rid = next(r.id for r in reqs if r.seller_org_id == seller)
            for k in range(2):
                decisions.append(
                    {
                        "request_id": rid,
                        "seller_org_id": seller,
                        "decided_on": DAY - timedelta(days=10 + k),
                        "decision": "reject",
                        "reason_code": "failed_test",
                        "policy_version": 1,
                        "actor": "bench",
                        "automatic": False,
                        "reasons": {},
                    }
                )
        for part in chunks(decisions):
            s.execute(insert(D), list(part))


def complaints(store: Store, n: int, rng: random.Random) -> None:
    rows = [
        {
            "complaint_id": f"C{i:07d}",
            "listing_id": f"B0{rng.randrange(n // 50):08d}",  # concentrated on few listings
            "received_on": DAY - timedelta(days=rng.randint(0, 89)),
            "reporter": f"r{i}",
            "text": f"the toy {rng.choice(WORDS)}",
            "imported_on": DAY,
        }
        for i in range(n // 20)
    ]
    with store.transaction() as s:
        for part in chunks(rows):
            s.execute(insert(table(pm.Complaint)), list(part))


def one(backend: str, n: int, sellers: int) -> dict[str, Any]:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        engine, drop = engine_for(backend, Path(tmp))
        try:
            migrate(engine)
            store = Store(engine)
            setup = build(store, n, sellers, rng)
            t0 = time.perf_counter()
            result = sweep(store, DAY, "bench")
            sweep_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = sweep(store, DAY, "bench")
            rerun_s = time.perf_counter() - t0
            with store.reader() as s:
                listings = s.scalar(select(func.count()).select_from(table(pm.ProgramListing)))
                orgs = s.scalar(select(func.count()).select_from(table(m.Organization)))
        finally:
            engine.dispose()
            if drop:
                drop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "backend": backend,
        "listings": listings,
        "organizations": orgs,
        "sweep_s": round(sweep_s, 2),
        "rerun_same_day_s": round(rerun_s, 2),
        "rerun_changed_nothing": not again.changed,
        "day": {
            "opened": len(result.opened),
            "updated": len(result.updated),
            "reminded": len(result.reminded),
            "actions": len(result.actions),
            "accounts_changed": len(result.accounts),
        },
        **setup,
        "peak_rss_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend != "both":
        print(json.dumps(one(args.backend, args.listings, args.sellers)))
        return
    runs = {}
    for backend in ("sqlite", "postgresql"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--listings",
                str(args.listings),
                "--sellers",
                str(args.sellers),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            check=True,
        )
        runs[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    key = "sweep_100k_s" if args.listings == 100_000 else f"sweep_{args.listings}_s"
    report = {
        "bench": "program",
        key: {b: r["sweep_s"] for b, r in runs.items()},
        "target_s": TARGET_S,
        "within_target": all(r["sweep_s"] <= TARGET_S for r in runs.values()),
        "peak_rss_mb": {b: r["peak_rss_mb"] for b, r in runs.items()},
        "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for b, r in runs.items():
            print(f"{b}: sweep {r['sweep_s']} s, {r['listings']} listings, {r['peak_rss_mb']} MB")


if __name__ == "__main__":
    main()
