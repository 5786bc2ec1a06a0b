"""Benchmark of the assessment engine.

Prints single-product latency (in-process), CLI cold start and a 100,000-profile batch, each
with its target and the ratio figure/target (<= 1.0 meets the target).

    python bench/assess.py [--json] [--n 100000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from profiles import profiles  # noqa: E402
from toysafe.core.law.engine import assess  # noqa: E402
from toysafe.core.law.profile import Profile  # noqa: E402
from toysafe.io.kb import default_kb  # noqa: E402
from toysafe.usecases.batch import assess_many  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 21)
TARGETS = {"single_median_ms": 1.0, "cli_cold_start_s": 0.6, "batch_100k_s": 30.0}
SAMPLE = ROOT / "examples" / "products" / "painted-wooden-stacker.yaml"


def single(repeats: int = 3000) -> tuple[float, float]:
    """Validate and assess one realistic profile, many times; median and p99 in ms."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    kb = default_kb()
    for _ in range(200):
        assess(Profile.model_validate(data), kb, AS_OF)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        assess(Profile.model_validate(data), kb, AS_OF)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def cold_start(runs: int = 7) -> float:
    """Median wall time of a fresh `toysafe assess --format json` process."""
    exe = Path(sys.executable).with_name("toysafe")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [str(exe), "assess", str(SAMPLE), "--format", "json"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def batch(n: int, workers: int | None) -> tuple[float, int]:
    t = time.perf_counter()
    count = sum(1 for _ in assess_many(profiles(n), AS_OF, workers=workers))
    return time.perf_counter() - t, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--n", type=int, default=100_000, help="profiles in the batch")
    parser.add_argument("--workers", type=int, default=None, help="batch worker processes")
    args = parser.parse_args()

    median_ms, p99_ms = single()
    cold = cold_start()
    batch_s, count = batch(args.n, args.workers)
    assert count == args.n
    scaled = batch_s * 100_000 / args.n
    figures = {
        "single_median_ms": round(median_ms, 3),
        "single_p99_ms": round(p99_ms, 3),
        "cli_cold_start_s": round(cold, 3),
        "batch_100k_s": round(scaled, 2),
        "batch_n": args.n,
        "workers": args.workers or os.cpu_count(),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'measure':<20}{'figure':>10}{'target':>10}{'ratio':>8}")
    for key, target in TARGETS.items():
        print(f"{key:<20}{figures[key]:>10}{target:>10}{figures[key] / target:>8.2f}")
    print(f"{'single_p99_ms':<20}{figures['single_p99_ms']:>10}")
    print(f"batch: {count} profiles on {figures['workers']} worker(s)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
