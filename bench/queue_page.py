"""Benchmark of one page of the reviewer queue at 10,000 requests, by part.

Seeds the marketplace of ``bench/consoles.py`` (same builder) and times, in-process with no
web layer, ``review.queue_page`` (page 1, page 200, a filter) and its parts: ``load_queue``
(the page itself, in risk order), ``queue_stats``, the trigger counts and the backlog chart's
data (30 days). Reports CPU time of this process (``time.process_time``: SQLite runs
in-process, so this is all of its work; for PostgreSQL the server's time is not in it) and
wall time, median of ``--repeat`` runs after one warm run, with the load average.

    python bench/queue_page.py [--json] [--requests 10000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from consoles import DAY, build  # noqa: E402
from program import engine_for  # noqa: E402
from toysafe.store.db import Store, migrate  # noqa: E402
from toysafe.store.program import policies, review  # noqa: E402


def timed(fn: Any, repeat: int) -> dict[str, float]:
    fn()
    cpu, wall = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {
        "cpu_ms": round(statistics.median(cpu), 1),
        "wall_ms": round(statistics.median(wall), 1),
    }


def one(backend: str, n: int, sellers: int, repeat: int) -> dict[str, Any]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        engine, drop = engine_for(backend, Path(tmp))
        try:
            migrate(engine)
            store = Store(engine)
            setup = build(store, n, sellers, rng)
            out: dict[str, Any] = {"backend": backend, "requests": n, **setup}
            with store.reader() as s:
                _, policy = policies.get(s)
                sla = review.sla_days(policy)
                none = review.QueueFilter()
                senior = review.QueueFilter(queue="senior", state="in_review")
                first = review.queue_page(s, DAY, None, none, None)
                assert first.total == n, first.total
                cases = {
                    "queue_page_1": lambda: review.queue_page(s, DAY, None, none, None),
                    "queue_page_200": lambda: review.queue_page(s, DAY, None, none, None, 200),
                    "queue_page_filtered": lambda: review.queue_page(s, DAY, None, senior, None),
                    "load_queue_page_1": lambda: review.load_queue(
                        s, DAY, policy, None, none, None, 25, 0
                    ),
                    "load_queue_page_200": lambda: review.load_queue(
                        s, DAY, policy, None, none, None, 25, 199 * 25
                    ),
                    "queue_stats": lambda: review.queue_stats(s, DAY, sla, None),
                    "trigger_counts": lambda: review.trigger_counts(s, None),
                    "backlog_30_days": lambda: review.backlog(
                        s, None, DAY - timedelta(days=29), DAY
                    ),
                }
                out["timings"] = {k: timed(fn, repeat) for k, fn in cases.items()}
        finally:
            engine.dispose()
            if drop:
                drop()
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--sellers", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    a = ap.parse_args()
    backends = ["sqlite", "postgresql"] if a.backend == "both" else [a.backend]
    results = [one(b, a.requests, a.sellers, a.repeat) for b in backends]
    if a.json:
        print(json.dumps({"bench": "queue_page", "results": results}, indent=2))
    else:
        for r in results:
            print(f"{r['backend']}: {r['requests']} requests (load {r['load']})")
            for name, t in r["timings"].items():
                print(f"  {name:22s} cpu {t['cpu_ms']:8.1f} ms   wall {t['wall_ms']:8.1f} ms")


if __name__ == "__main__":
    main()
