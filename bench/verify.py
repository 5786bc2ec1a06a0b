"""Benchmark of verification: a product with 20 components checked against 500 lab results.

Measures the whole in-process pipeline after files are read: validating the reports, checking
them against the knowledge base, assessing the product and verifying every requirement.

    python bench/verify.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from typing import Any

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.verify import report_problems, verify
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.kb import default_kb
from toysafe.io.labs import labs_from_csv

AS_OF = date(2026, 11, 21)
TARGET_MS = 20.0
ELEMENTS = ["Sb", "As", "Ba", "Cd", "Cr", "Pb", "Hg", "Se"]
PHTHALATES = ["DEHP", "DBP", "BBP", "DINP", "DIBP", "DPENP", "DHEXP", "DCHP"]
LABS = """cpsc_id,name,country,type,status,scope,accepted_on
1234,Bench Lab,CN,independent,accepted,16CFR1250,2012-06-01
1234,Bench Lab,CN,independent,accepted,16CFR1303,2010-01-01
1234,Bench Lab,CN,independent,accepted,16CFR1307,2011-12-01
1234,Bench Lab,CN,independent,accepted,15USC1278a,2010-01-01
1234,Bench Lab,CN,independent,accepted,16CFR1501,2010-01-01
"""


def profile() -> dict[str, Any]:
    comps = [{"id": f"paint-{i}", "material": "surface_coating"} for i in range(10)]
    comps += [{"id": f"part-{i}", "material": "plastic_pvc"} for i in range(10)]
    return {
        "sku": "BENCH-1",
        "name": "Twenty-part toy",
        "age": {"min_months": 36},
        "manufactured": "2026-05",
        "made_in": {"city": "Ningbo", "country": "CN"},
        "features": ["wheels", "moving_mechanism"],
        "components": comps,
    }


def results() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(10):
        paint, part = f"paint-{i}", f"part-{i}"
        out.append(
            {
                "requirement": "16CFR1303",
                "component": paint,
                "analyte": "Pb",
                "value": 12,
                "unit": "ppm",
            }
        )
        out.append(
            {
                "requirement": "15USC1278a",
                "component": part,
                "analyte": "Pb",
                "value": 0.002,
                "unit": "%",
            }
        )
        for rid, comp in (("F963:4.3.5.1(2)", paint), ("F963:4.3.5.2", part)):
            out += [
                {"requirement": rid, "component": comp, "analyte": a, "value": 3, "unit": "mg/kg"}
                for a in ELEMENTS
            ]
        for comp in (paint, part):
            out += [
                {
                    "requirement": "16CFR1307",
                    "component": comp,
                    "analyte": a,
                    "value": "ND",
                    "loq": 50,
                    "unit": "ppm",
                }
                for a in PHTHALATES
            ]
    for rid in (
        "F963:4.6",
        "F963:4.7",
        "F963:4.8",
        "F963:4.9",
        "F963:4.17",
        "F963:4.18",
        "16CFR1501",
    ):
        out.append({"requirement": rid, "verdict": "pass"})
    return out


def reports() -> list[dict[str, Any]]:
    base = {
        "lab": {"cpsc_id": "1234", "name": "Bench Lab"},
        "products": [{"sku": "BENCH-1"}],
        "standard": "F963-23",
    }
    rs = results()
    first = {
        **base,
        "report_no": "B-1",
        "issued": "2026-06-12",
        "tested": {"from": "2026-06-01", "to": "2026-06-10"},
        "results": rs,
    }
    extra = 500 - len(rs)
    older = {
        **base,
        "report_no": "B-0",
        "issued": "2026-05-20",
        "tested": {"from": "2026-05-10", "to": "2026-05-15"},
        "results": rs[:extra],
    }
    return [first, older]


def run_once(prof: dict[str, Any], raw: list[dict[str, Any]], registry: Any) -> bool:
    kb = default_kb()
    p = Profile.model_validate(prof)
    parsed = [LabReport.model_validate(r) for r in raw]
    assert not report_problems([(r.report_no, r) for r in parsed], kb, AS_OF)
    v = verify(p, assess(p, kb, AS_OF), parsed, kb, AS_OF, registry)
    return v.certifiable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    prof, raw = profile(), reports()
    registry = labs_from_csv(LABS, "bench")
    n_results = sum(len(r["results"]) for r in raw)
    assert run_once(prof, raw, registry), "the benchmark product should be certifiable"
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        run_once(prof, raw, registry)
        times.append((time.perf_counter() - t) * 1000)
    median = statistics.median(times)
    p99 = sorted(times)[int(len(times) * 0.99)]
    figures = {
        "median_ms": round(median, 2),
        "p99_ms": round(p99, 2),
        "components": len(prof["components"]),
        "results": n_results,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"verify: {figures['components']} components, {n_results} results")
    print(
        f"median {median:.2f} ms (target {TARGET_MS} ms, ratio {median / TARGET_MS:.2f}); "
        f"p99 {figures['p99_ms']} ms"
    )


if __name__ == "__main__":
    main()
