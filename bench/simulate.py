"""Benchmark of the program simulator (``toysafe program simulate``, contract 9).

One run of the synthetic marketplace through the real program code (the simulator's default
policy and profiles, a catalog with history), timed by CPU (``time.process_time``, which load on
a shared machine inflates less than the wall clock) and wall clock, with the load average taken
before and after. Figures: ``seconds`` (wall), ``cpu_seconds``, ``per_submission_ms`` (mean CPU
of one submission through the program: ``Casework.submit`` for a seller's upload,
``Validations.add`` for a TIC's validation, timed around each call), ``run_cpu_per_submission_ms``
(the whole run's CPU, setup and sweeps included, divided by the submissions), the
simulation's own ``requests``, ``time_to_compliance`` p50/p90, false-positive suppressions,
reviewer backlog, SLA breaches, the TIC share, and ``peak_rss_mb``.

    python bench/simulate.py [--json] [--sellers 50] [--listings 500] [--days 60] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from toysafe.io.program import read_policy
from toysafe.sim.actors import SimConfig
from toysafe.sim.catalog import DEFAULT_POLICY
from toysafe.sim.engine import Simulation
from toysafe.store.program.casework import Casework
from toysafe.store.program.validations import Validations


def _timed(cls: Any, name: str, spent: list[float]) -> Callable[[], None]:
    """Time every call of ``cls.name`` (CPU) into ``spent``; returns the undo."""
    original = getattr(cls, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.process_time() - t0)

    setattr(cls, name, timed)
    return lambda: setattr(cls, name, original)


def run(sellers: int, listings: int, days: int, seed: int, history: bool = True) -> dict[str, Any]:
    load_before = os.getloadavg()
    cfg = SimConfig(sellers, listings, days, seed, history=history)
    policy = read_policy(DEFAULT_POLICY)
    spent: list[float] = []
    undo = [_timed(Casework, "submit", spent), _timed(Validations, "add", spent)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        m = Simulation(cfg, policy).run()
    finally:
        for u in undo:
            u()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    t = m["totals"]
    made = t["submissions"] + t["tic"]["validations_filed"]
    ttc = t["time_to_compliance_days"]
    return {
        "bench": "simulate",
        "sellers": sellers,
        "listings": listings,
        "days": days,
        "seed": seed,
        "history": history,
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "submissions": made,
        "per_submission_ms": round(1000 * sum(spent) / len(spent), 1) if spent else None,
        "submission_calls": len(spent),  # the pre-run history's included
        "run_cpu_per_submission_ms": round(1000 * cpu / made, 1) if made else None,
        "per_day_ms": round(1000 * cpu / days, 1),
        "requests": t["requests_opened"],
        "opened_by_trigger": t["opened_by_trigger"],
        "triggers_added": t["triggers_added"],
        "approvals": t["approvals"],
        "time_to_compliance": {"p50": ttc["median"], "p90": ttc["p90"]},
        "share_approved_via_tic": t["share_approved_via_tic"],
        "suppressions": t["suppressions"],
        "false_positive_suppressions": t["false_positive_suppressions"],
        "reviewer_backlog_max": t["reviewer_backlog_max"],
        "sla_breaches": t["sla_breaches"],
        "trusted_accounts_max": t["trusted_accounts_max"],
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--sellers", type=int, default=50)
    parser.add_argument("--listings", type=int, default=500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-history", action="store_true", help="start with an empty catalog")
    a = parser.parse_args()
    out = run(a.sellers, a.listings, a.days, a.seed, not a.no_history)
    if a.json:
        print(json.dumps(out, sort_keys=True))
        return
    for k, v in out.items():
        print(f"{k:28} {v}")


if __name__ == "__main__":
    main()
