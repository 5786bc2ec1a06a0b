"""Benchmark of bulk assessment (contract 9) against the per-item engine.

Figures: ``bulk_1m_s`` (1,000,000 profiles from Parquet, checked, assessed on DuckDB, written to
Parquet; the plan compiled beforehand, its one-time cost reported as ``plan_compile_s``),
``per_item_s`` (validating and assessing the same 1,000,000 one by one in this process, measured
on a sample and scaled), ``speedup``, ``mismatches`` against the per-item engine on a 100,000
sample (must be 0), and ``spark_s`` (the same plan on Spark local[2] over ``--spark-n`` profiles,
the session already started; its start is ``spark_session_s``).

The input is generated once into build/bench-bulk/ (half realistic profiles, half sitting on the
knowledge base's boundaries) and reused.

    python bench/bulk.py [--json] [--n 1000000] [--sample 100000] [--spark-n 100000] [--no-spark]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from profiles import profile as realistic  # noqa: E402
from toysafe.bulk.inputs import _row_data, read_parquet  # noqa: E402
from toysafe.bulk.run import (  # noqa: E402
    DuckDBBackend,
    SparkBackend,
    assess_nested,
    compiled,
    spark_session,
)
from toysafe.bulk.synth import ProfileMaker  # noqa: E402
from toysafe.bulk.tables import NESTED_SCHEMA  # noqa: E402
from toysafe.core.law.engine import assess  # noqa: E402
from toysafe.io.kb import default_kb  # noqa: E402
from toysafe.io.profiles import profile_from_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench-bulk"
AS_OF = date(2026, 11, 21)
TARGETS = {"bulk_1m_s": 10.0, "speedup": 20.0, "mismatches": 0}


def _nested(data: dict[str, Any]) -> dict[str, Any]:
    feats = []
    for f in data.get("features", []):
        if isinstance(f, str):
            feats.append({"name": f})
        else:
            ((name, params),) = f.items()
            feats.append({"name": name, **params})
    return {
        "sku": data["sku"],
        "name": data["name"],
        "age": data["age"],
        "children_product": data.get("children_product"),
        "toy": data.get("toy"),
        "manufactured": data.get("manufactured"),
        "features": feats,
        "components": data.get("components", []),
    }


def input_file(n: int) -> Path:
    """``n`` profiles as Parquet (generated once, then reused)."""
    path = CACHE / f"profiles-{n}.parquet"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261201)
    maker = ProfileMaker(default_kb(), seed=20261201)
    writer = None
    tmp = path.with_suffix(".tmp")
    chunk = 100_000
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            data = realistic(rng, i) if i % 2 == 0 else maker.profile(i)
            data["sku"] = f"BULK-{i}"
            rows.append(_nested(data))
        table = pa.Table.from_pylist(rows, schema=NESTED_SCHEMA)
        if writer is None:
            writer = pq.ParquetWriter(tmp, NESTED_SCHEMA)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    os.replace(tmp, path)
    return path


def bulk_run(path: Path, out: Path) -> tuple[float, pa.Table, dict[str, float]]:
    kb = default_kb()
    backend = DuckDBBackend()
    t0 = time.perf_counter()
    nested = read_parquet(path)
    t1 = time.perf_counter()
    result = assess_nested(kb, AS_OF, nested, backend)
    t2 = time.perf_counter()
    pq.write_table(result, out)
    t3 = time.perf_counter()
    backend.close()
    return t3 - t0, result, {"read_s": t1 - t0, "assess_s": t2 - t1, "write_s": t3 - t2}


def per_item_rate(raw: pa.Table, sample: int = 3000) -> float:
    """Seconds per profile: validate and assess, one by one."""
    kb = default_kb()
    rows = raw.slice(0, sample).to_pylist()
    datas = [_row_data(r) for r in rows]
    for d in datas[:200]:
        assess(profile_from_data(d), kb, AS_OF)
    t = time.perf_counter()
    for d in datas:
        assess(profile_from_data(d), kb, AS_OF)
    return (time.perf_counter() - t) / len(datas)


def mismatches(raw: pa.Table, result: pa.Table, sample: int) -> int:
    kb = default_kb()
    idx = sorted(random.Random(7).sample(range(raw.num_rows), min(sample, raw.num_rows)))
    rows = raw.take(idx).to_pylist()
    got = result.take(idx).to_pylist()
    bad = 0
    for r, g in zip(rows, got, strict=True):
        a = assess(profile_from_data(_row_data(r)), kb, AS_OF)
        want = {
            "sku": r["sku"],
            "certificate": a.certificate,
            "toy_standard": a.toy_standard,
            "requirements": [x.id for x in a.requirements],
            "lab_tested": [x.id for x in a.requirements if x.third_party_testing],
            "warnings": list(dict.fromkeys(w.id for w in a.warnings)),
            "warning_keys": [w.key for w in a.warnings],
        }
        bad += want != g
    return bad


def spark_figures(path: Path, n: int, duck: pa.Table) -> dict[str, Any]:
    kb = default_kb()
    t = time.perf_counter()
    session = spark_session("local[2]", "toysafe-bench", shuffle_partitions=4)
    session.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - t
    try:
        nested = read_parquet(path).slice(0, n)
        backend = SparkBackend(session)
        compiled(kb, backend.dialect)
        t = time.perf_counter()
        result = assess_nested(kb, AS_OF, nested, backend)
        spark_s = time.perf_counter() - t
    finally:
        session.stop()
    return {
        "spark_n": n,
        "spark_s": round(spark_s, 2),
        "spark_session_s": round(started, 2),
        "spark_equals_duckdb": result.equals(duck.slice(0, n)),
    }


def _say(what: str, value: Any) -> Any:
    print(f"{what}: {value}", file=sys.stderr, flush=True)
    return value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=100_000)
    ap.add_argument("--spark-n", type=int, default=100_000)
    ap.add_argument("--no-spark", action="store_true")
    args = ap.parse_args()

    t = time.perf_counter()
    path = input_file(args.n)
    generate_s = time.perf_counter() - t
    kb = default_kb()
    t = time.perf_counter()
    compiled(kb, "duckdb")
    compile_s = time.perf_counter() - t
    bulk_s, result, parts = bulk_run(path, CACHE / f"result-{args.n}.parquet")
    print(f"bulk {bulk_s:.1f} s {parts}; per-item sample next", file=sys.stderr, flush=True)
    raw = pq.read_table(path)
    rate = per_item_rate(raw)
    per_item_s = rate * args.n
    out: dict[str, Any] = {
        "n": args.n,
        "bulk_1m_s": round(bulk_s * 1_000_000 / args.n, 2),
        "bulk_s": round(bulk_s, 2),
        **{k: round(v, 2) for k, v in parts.items()},
        "plan_compile_s": round(compile_s, 2),
        "per_item_ms": round(rate * 1000, 3),
        "per_item_s": round(per_item_s, 1),
        "speedup": round(per_item_s / bulk_s, 1),
        "mismatches": _say("mismatches", mismatches(raw, result, args.sample)),
        "mismatch_sample": min(args.sample, args.n),
        "input_generate_s": round(generate_s, 1),
        "load_avg": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if not args.no_spark:
        out.update(spark_figures(path, min(args.spark_n, args.n), result))
    out["targets"] = TARGETS
    out["ratios"] = {
        "bulk_1m_s": round(out["bulk_1m_s"] / TARGETS["bulk_1m_s"], 2),
        "speedup": round(TARGETS["speedup"] / max(out["speedup"], 1e-9), 2),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:>22}: {v}")


if __name__ == "__main__":
    main()
