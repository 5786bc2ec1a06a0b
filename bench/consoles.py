"""Benchmark of the reviewer console with 10,000 requests waiting for a person.

Builds a marketplace (the example policy, ``--sellers`` sellers enrolled with it, one listing per
request) and seeds ``--requests`` requests in ``submitted`` / ``in_review`` directly with bulk
inserts: history rows arriving over the last 20 days, triggers (2 % complaint, 3 % random
audit, the rest new listings), 1 % with a forgery finding, complaints on 5 % of the listings,
account bands, 5 % escalated to the senior queue and 10 % claimed. Then times, through the
real app (TestClient, a reviewer's bearer token): the queue API (first page, a filter, a
search, a late page), the queue page, the backlog chart and one request's review page.
Prints median and p95 in milliseconds (``--json``: one JSON document).

    python bench/consoles.py [--json] [--requests 10000] [--sellers 500] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import yaml  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from program import engine_for  # noqa: E402
from toysafe.io.program import ListingRow, policy_from_data  # noqa: E402
from toysafe.store import models as m  # noqa: E402
from toysafe.store.accounts import Accounts  # noqa: E402
from toysafe.store.db import Store, migrate  # noqa: E402
from toysafe.store.program import models as pm  # noqa: E402
from toysafe.store.program import review_models as rm  # noqa: E402
from toysafe.store.program.feeds import bulk_insert, enroll, import_listings, table  # noqa: E402
from toysafe.store.program.policies import load_policy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 11, 21)
REVIEWER = "bench-reviewer@market.example"


def build(store: Store, n: int, sellers: int, rng: random.Random) -> dict[str, float]:
    t0 = time.perf_counter()
    data = yaml.safe_load((ROOT / "examples" / "program" / "policy.yaml").read_text())
    policy = policy_from_data(data)
    load_policy(store, policy, DAY - timedelta(days=60), "bench")
    slugs = [f"seller-{i:04d}" for i in range(sellers)]
    rows = [
        ListingRow(
            listing_id=f"B0Q{i:07d}",
            seller=slugs[i % sellers],
            category="toys_and_games",
            title=f"Wooden toy {i} for toddlers" if i % 3 else f"Building set {i}",
            brand="Bench",
            model=f"M-{i}",
            min_age_months=rng.choice([None, 12, 18, 36, 36, 60, 96]),
            listed_on=DAY - timedelta(days=rng.randint(20, 400)),
        )
        for i in range(n)
    ]
    import_listings(store, rows, DAY - timedelta(days=30), "bench")
    with store.transaction() as s:
        market = s.scalar(
            select(m.Organization.id).where(m.Organization.slug == policy.marketplace)
        )
        assert market is not None
        orgs = dict(s.execute(select(m.Organization.slug, m.Organization.id)).all())
        enroll(s, market, [orgs[x] for x in slugs])
        listings = s.execute(select(pm.ProgramListing.id, pm.ProgramListing.seller_org_id)).all()
        bands = ["healthy"] * 8 + ["at_risk", "deactivation_eligible"]
        bulk_insert(
            s,
            table(pm.AccountRow),
            [
                {
                    "seller_org_id": orgs[x],
                    "since": DAY - timedelta(days=800),
                    "score": 1000,
                    "band": rng.choice(bands),
                    "state": "active",
                    "trusted": False,
                    "computed_on": DAY,
                    "policy_version": 1,
                }  # fmt: skip
                for x in slugs
            ],
        )
        reqs, hist, trig, finds, assign, comps = [], [], [], [], [], []
        now = datetime.now(UTC)
        for k, (lpk, seller) in enumerate(listings, start=1):
            opened = DAY - timedelta(days=rng.randint(1, 20))
            arrived = opened + timedelta(days=rng.randint(0, 3))
            state = rng.choice(["submitted", "in_review"])
            reqs.append(
                {
                    "id": k,
                    "listing_pk": lpk,
                    "seller_org_id": seller,
                    "category": "toys",
                    "state": state,
                    "opened": opened,
                    "due": opened + timedelta(days=14),
                    "policy_version": 1,
                    "requirements": ["F963"],
                    "requirements_basis": "baseline",
                    "extended_days": 0,
                    "trusted": False,
                    "closed_on": None,
                }  # fmt: skip
            )
            for on, event, frm, to in (
                (opened, "opened", None, "open"),
                (arrived, "submitted", "open", "submitted"),
                (arrived, "pre_check", "submitted", state),
            ):
                hist.append(
                    {
                        "request_id": k,
                        "on": on,
                        "event": event,
                        "from_state": frm,
                        "to_state": to,
                        "ref": None,
                        "actor": "bench",
                        "detail": {},
                    }  # fmt: skip
                )
            draw = rng.random()
            kind = "complaint" if draw < 0.02 else "random_audit" if draw < 0.05 else "new_listing"
            trig.append({"request_id": k, "listing_pk": lpk, "kind": kind, "ref": "",
                         "on": opened, "facts": {}})  # fmt: skip
            if rng.random() < 0.01:
                finds.append(
                    {
                        "request_id": k,
                        "submission_id": None,
                        "code": "forged_or_altered",
                        "requirement": None,
                        "facts": [["document", "certificate"]],
                        "next_step": "-",
                        "found_on": arrived,
                    }  # fmt: skip
                )
            r = rng.random()
            if r < 0.15:
                escalated = r < 0.05
                assign.append(
                    {
                        "request_id": k,
                        "queue": "senior" if escalated else "standard",
                        "queue_since": arrived + timedelta(days=1) if escalated else None,
                        "claimed_by": None if escalated else "someone@market.example",
                        "claimed_at": None if escalated else now,
                        "claimed_on": None if escalated else DAY,
                        "updated_at": now,
                    }  # fmt: skip
                )
            if rng.random() < 0.05:
                for c in range(rng.randint(1, 4)):
                    comps.append(
                        {
                            "complaint_id": f"C-{k}-{c}",
                            "listing_id": f"B0Q{k - 1:07d}",
                            "received_on": DAY - timedelta(days=rng.randint(0, 80)),
                            "reporter": None,
                            "text": "choke",
                            "imported_on": DAY,
                        }  # fmt: skip
                    )
        for t, rows_ in (
            (table(pm.Request), reqs),
            (table(pm.RequestHistory), hist),
            (table(pm.RequestTrigger), trig),
            (table(pm.Finding), finds),
            (table(rm.ReviewAssignment), assign),
            (table(pm.Complaint), comps),
        ):
            bulk_insert(s, t, rows_)
    accounts = Accounts(store)
    accounts.add_user(REVIEWER, policy.marketplace, "reviewer")
    # Fresh bulk loads have no planner statistics yet (autovacuum would gather them in time).
    with store.engine.begin() as c:
        c.execute(text("ANALYZE"))
    return {"build_s": round(time.perf_counter() - t0, 2)}


def timed(fn: Any, repeat: int) -> dict[str, float]:
    fn()  # warm: templates compiled, caches filled
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1)}


def one(backend: str, n: int, sellers: int, repeat: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from toysafe.web.app import create_app
    from toysafe.web.pages import common
    from toysafe.web.pages import review as pages_review

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        engine, drop = engine_for(backend, Path(tmp))
        try:
            migrate(engine)
            store = Store(engine)
            setup = build(store, n, sellers, rng)
            token = Accounts(store).new_token(REVIEWER, "bench")
            common._today = lambda: DAY  # the program's day
            app = create_app(store, Path(tmp) / "ws", secure_cookies=False)
            headers = {"Authorization": f"Bearer {token}"}
            out: dict[str, Any] = {"backend": backend, "requests": n, "sellers": sellers, **setup}
            with TestClient(app) as c:

                def get(path: str, **params: Any) -> Any:
                    def call() -> None:
                        r = c.get(path, headers=headers, params={"as_of": DAY, **params})
                        assert r.status_code == 200, r.text[:300]

                    return call

                def drawn(path: str) -> Any:
                    call = get(path)

                    def fresh() -> None:
                        pages_review._CHARTS.pop(next(iter(pages_review._CHARTS._data), None))
                        call()

                    return fresh

                first = c.get("/api/v1/program/queue", headers=headers,
                              params={"as_of": DAY}).json()  # fmt: skip
                assert first["total"] == n, first["total"]
                top = first["items"][0]["request"]
                out["queue_total"] = first["total"]
                out["breaches"] = {k: v["breaches"] for k, v in first["queues"].items()}
                out["top_priority"] = first["items"][0]["risk"]["priority"]
                cases = {
                    "api_queue_page1": get("/api/v1/program/queue"),
                    "api_queue_complaints": get("/api/v1/program/queue", trigger="complaint"),
                    "api_queue_search": get("/api/v1/program/queue", q="B0Q00012"),
                    "api_queue_page200": get("/api/v1/program/queue", page=200, per_page=25),
                    "page_queue": get("/review"),
                    "page_queue_filtered": get("/review", queue="senior", state="in_review"),
                    "chart_backlog_svg_drawn": drawn("/review/charts/backlog.svg"),
                    "chart_backlog_svg_cached": get("/review/charts/backlog.svg"),
                    "page_request": get(f"/review/requests/{top}"),
                }
                out["timings"] = {name: timed(fn, repeat) for name, fn in cases.items()}
        finally:
            engine.dispose()
            if drop:
                drop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--sellers", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    a = ap.parse_args()
    backends = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
    results = [one(b, a.requests, a.sellers, a.repeat) for b in backends]
    if a.json:
        print(json.dumps({"bench": "consoles", "results": results}, indent=2))
    else:
        for r in results:
            print(f"{r['backend']}: {r['requests']} requests, built in {r['build_s']} s")
            for name, t in r["timings"].items():
                print(f"  {name:24s} median {t['median_ms']:8.1f} ms   p95 {t['p95_ms']:8.1f} ms")


if __name__ == "__main__":
    main()
