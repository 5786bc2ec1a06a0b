"""Cold and warm cost of the console's backlog chart (``render.charts.backlog_chart``).

Each measurement runs in a fresh interpreter so that "cold" is cold: importing the web pages
(which used to import matplotlib), the first draw in a process, a later draw, and the first
draw after ``warm_up`` ran (what a request meets once the server's warm-up thread is done).
CPU time of the process (``time.process_time``) and wall time, median of ``--repeat`` fresh
processes, with the load average.

    python bench/charts.py [--json] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, time
from datetime import date, timedelta
def clock():
    return time.process_time(), time.perf_counter()
def since(t):
    c, w = clock()
    return {"cpu_ms": round((c - t[0]) * 1000, 1), "wall_ms": round((w - t[1]) * 1000, 1)}
days = [date(2026, 10, 23) + timedelta(days=i) for i in range(30)]
waiting = [100 + i for i in range(30)]
late = list(range(30))
out = {}
t = clock()
import toysafe.web.pages.review  # noqa: F401  (the console's page module)
from toysafe.render import charts
out["import_pages"] = since(t)
if WARM:
    t = clock()
    charts.warm_up()
    out["warm_up"] = since(t)
t = clock()
charts.backlog_chart(days, waiting, late, "Requests waiting for a reviewer, last 30 days")
out["first_draw"] = since(t)
t = clock()
charts.backlog_chart(days, waiting, late, "Requests waiting for a reviewer, last 30 days")
out["second_draw"] = since(t)
print(json.dumps(out))
"""


def run(warm: bool, src: Path) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = f"WARM = {warm}\n" + PROBE
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the code to measure")
    ap.add_argument("--cold-only", action="store_true", help="code without warm_up (before)")
    a = ap.parse_args()
    out: dict[str, object] = {"bench": "charts"}
    modes = (("cold", False),) if a.cold_only else (("cold", False), ("after_warm_up", True))
    for name, warm in modes:
        runs = [run(warm, a.src) for _ in range(a.repeat)]
        out[name] = {
            step: {
                k: round(statistics.median(r[step][k] for r in runs), 1)
                for k in ("cpu_ms", "wall_ms")
            }
            for step in runs[0]
        }
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    if a.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"load {out['load']}")
        for name, _ in modes:
            steps = out[name]
            assert isinstance(steps, dict)
            for step, t in steps.items():
                cpu, wall = t["cpu_ms"], t["wall_ms"]
                print(f"  {name:14s} {step:12s} cpu {cpu:7.1f} ms  wall {wall:7.1f} ms")


if __name__ == "__main__":
    main()
