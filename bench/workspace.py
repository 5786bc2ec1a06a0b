"""Benchmark of the workspace: importing a large catalog and computing the status of all of it.

``import_s``: 10,000 SKUs (profiles), their listings and 20,000 lab reports, through the same
Workspace operations the CLI uses (validation, storage, evidence links, state refresh).
``status_s``: `statuses()` over the whole catalog. Runs on SQLite in a temporary workspace, or
on PostgreSQL when TOYSAFE_DATABASE_URL is set (in a temporary schema, dropped afterwards).

    python bench/workspace.py [--json] [--skus 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from profiles import profile  # noqa: E402
from toysafe.core.evidence.labreport import LabReport  # noqa: E402
from toysafe.core.law.profile import Profile  # noqa: E402
from toysafe.store.db import Store, make_engine, migrate  # noqa: E402
from toysafe.store.workspace import Workspace  # noqa: E402

AS_OF = date(2026, 11, 21)
TARGETS = {"import_s": 60.0, "status_s": 2.0}
LABS = """cpsc_id,name,country,type,status,scope,accepted_on
1234,Bench Lab,CN,independent,accepted,16CFR1250,2012-06-01
1234,Bench Lab,CN,independent,accepted,16CFR1303,2010-01-01
1234,Bench Lab,CN,independent,accepted,16CFR1307,2011-12-01
1234,Bench Lab,CN,independent,accepted,15USC1278a,2010-01-01
1234,Bench Lab,CN,independent,accepted,16CFR1501,2010-01-01
"""
PHTHALATES = ["DEHP", "DBP", "BBP", "DINP", "DIBP", "DPENP", "DHEXP", "DCHP"]


def catalog(n: int) -> tuple[list[Profile], list[dict[str, Any]], list[LabReport]]:
    rng = random.Random(7)
    profiles = [Profile.model_validate(profile(rng, i)) for i in range(n)]
    listings = [
        {
            "marketplace": "amazon.com",
            "listing_id": f"B0{i:08d}",
            "sku": p.sku,
            "title": p.name,
            "status": "Active",
        }
        for i, p in enumerate(profiles)
    ]
    reports = []
    for i, p in enumerate(profiles):
        comp = p.components[0].id if p.components else None
        base = {
            "lab": {"cpsc_id": "1234", "name": "Bench Lab", "phone": "+86 1"},
            "products": [{"sku": p.sku}],
            "standard": "F963-23",
            "tested": {"from": "2026-05-01", "to": "2026-05-10", "place": "Ningbo, CN"},
        }
        chem = [
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
        chem.append(
            {
                "requirement": "15USC1278a",
                "component": comp,
                "analyte": "Pb",
                "value": 12,
                "unit": "ppm",
            }
        )
        mech = [
            {"requirement": r, "verdict": "pass"}
            for r in ("F963:4.6", "F963:4.7", "F963:4.8", "F963:4.9", "16CFR1501")
        ]
        reports.append(
            LabReport.model_validate(
                {**base, "report_no": f"C-{i:06d}", "issued": "2026-05-12", "results": chem}
            )
        )
        reports.append(
            LabReport.model_validate(
                {**base, "report_no": f"M-{i:06d}", "issued": "2026-05-12", "results": mech}
            )
        )
    return profiles, listings, reports


def database() -> tuple[Any, str, Any]:
    from toysafe.settings import settings

    url = settings().database_url
    if not url:
        tmp = tempfile.TemporaryDirectory()
        return make_engine(f"sqlite:///{tmp.name}/toysafe.db"), "sqlite", tmp
    from sqlalchemy import text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{sep}options=-csearch_path%3D{schema}")

    class Drop:
        def cleanup(self) -> None:
            engine.dispose()
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return engine, "postgresql", Drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skus", type=int, default=10_000)
    args = parser.parse_args()
    engine, backend, cleanup = database()
    try:
        migrate(engine)
        ws = Workspace(Store(engine), who="bench")
        ws.init()
        ws.import_labs(_rows(), AS_OF)
        profiles, listings, reports = catalog(args.skus)
        t = time.perf_counter()
        ws.add_profiles(profiles, AS_OF)
        ws.import_listings(listings)
        ws.add_reports([(r.report_no, r) for r in reports], AS_OF)
        import_s = time.perf_counter() - t
        t = time.perf_counter()
        statuses = ws.statuses(AS_OF)
        status_s = time.perf_counter() - t
        assert len(statuses) == args.skus
    finally:
        cleanup.cleanup()
    figures = {
        "backend": backend,
        "skus": args.skus,
        "reports": len(reports),
        "import_s": round(import_s, 2),
        "status_s": round(status_s, 3),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{backend}: {args.skus} SKUs with listings, {len(reports)} reports")
    for key, target in TARGETS.items():
        print(f"  {key:<9}{figures[key]:>9}  target {target:>5}  ratio {figures[key] / target:.2f}")


def _rows() -> list[Any]:
    import csv
    import io

    from toysafe.core.evidence.labs import LabRow

    return [
        LabRow.model_validate({k: v for k, v in r.items() if v})
        for r in csv.DictReader(io.StringIO(LABS))
    ]


if __name__ == "__main__":
    main()
