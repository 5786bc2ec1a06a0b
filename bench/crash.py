"""Crash safety: kill -9 at a random moment during bulk imports, then check the workspace.

Each trial builds a fresh workspace (SQLite, or a throwaway PostgreSQL schema when the server at
TOYSAFE_TEST_POSTGRES_URL answers) holding a committed seed catalog, starts one bulk command as a
subprocess (``product add`` of 300 profiles, ``report add`` of 300 reports, ``listings import``
of 5,000 rows, or ``restore --force`` of a backup), kills it with SIGKILL after a random delay
(up to ``--max-delay``, about a command's own run time), and checks:

- ``lost``: a trial where anything committed before the command (the seed catalog, or a
  command that finished) is missing or changed;
- ``half_written``: a trial where the command is neither wholly absent nor wholly present (each
  command is one transaction), a product without its versions, a report without its results or
  products, a product without its state, or (SQLite) a failed integrity check;
- ``unreadable``: ``toysafe status`` fails afterwards.

    python bench/crash.py [--json] [--trials 8] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from profiles import profile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
PG_URL = os.environ.get(
    "TOYSAFE_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
OPS = ("product_add", "report_add", "listings_import", "restore")
N_PRODUCTS, N_REPORTS, N_LISTINGS = 300, 300, 5000
AS_OF = "2026-11-21"


def pg_available() -> bool:
    from sqlalchemy import text

    from toysafe.store.db import make_engine

    try:
        engine = make_engine(PG_URL)
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - no server: SQLite only
        return False
    return True


class Db:
    def __init__(self, backend: str, home: Path) -> None:
        from sqlalchemy import text

        from toysafe.store.db import make_engine

        self.backend, self.schema = backend, None
        if backend == "sqlite":
            self.url = f"sqlite:///{home / 'toysafe.db'}"
        else:
            self.schema = f"crash_{uuid.uuid4().hex[:10]}"
            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"CREATE SCHEMA {self.schema}"))
            admin.dispose()
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"

    def drop(self) -> None:
        if self.schema:
            from sqlalchemy import text

            from toysafe.store.db import make_engine

            admin = make_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            admin.dispose()


def inputs(tmp: Path) -> dict[str, list[str]]:
    """The bulk files each command reads (made once)."""
    import yaml

    rng = random.Random(3)
    products = tmp / "products"
    products.mkdir()
    for i in range(N_PRODUCTS):
        data = profile(rng, 10_000 + i)
        (products / f"p{i}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    reports = tmp / "reports"
    reports.mkdir()
    for i in range(N_REPORTS):
        doc = {
            "format": "toysafe/lab-report@1",
            "report_no": f"CRASH-{i:05d}",
            "lab": {"cpsc_id": "1234", "name": "Crash Lab", "phone": "+86 1"},
            "issued": "2026-05-12",
            "tested": {"from": "2026-05-01", "to": "2026-05-10", "place": "Ningbo, CN"},
            "products": [{"sku": f"SEED-{i % 20:03d}"}],
            "standard": "F963-23",
            "results": [
                {"requirement": "F963:4.38", "verdict": "pass"},
                {
                    "requirement": "16CFR1303",
                    "component": "c0",
                    "analyte": "Pb",
                    "value": 12,
                    "unit": "ppm",
                },
            ],
        }
        (reports / f"r{i}.json").write_text(json.dumps(doc))
    listings = tmp / "listings.csv"
    rows = ["sku,asin,title,status"] + [
        f"SEED-{i % 20:03d},B{i:09d},Listing {i},active" for i in range(N_LISTINGS)
    ]
    listings.write_text("\n".join(rows) + "\n")
    return {
        "product_add": ["product", "add", str(products), "--as-of", AS_OF],
        "report_add": ["report", "add", str(reports), "--as-of", AS_OF],
        "listings_import": ["listings", "import", str(listings)],
    }


def seed(db: Db, home: Path) -> None:
    """A committed catalog: 20 products, the example labs, a few listings."""
    from toysafe.core.law.profile import Profile
    from toysafe.io.labs import read_labs
    from toysafe.store.db import Store, make_engine, migrate
    from toysafe.store.workspace import Workspace

    engine = make_engine(db.url)
    migrate(engine)
    ws = Workspace(Store(engine), who="crash-bench")
    ws.init(name="Crash bench")
    registry = read_labs(EX / "labs.csv")
    from datetime import date

    from toysafe.core.evidence.labs import LabRow

    rows = [
        LabRow(
            cpsc_id=lab.cpsc_id,
            name=lab.name,
            country=lab.country,
            type=lab.type,
            status=lab.status,
            scope=scope,
            accepted_on=on,
            address=lab.address,
            phone=lab.phone,
            status_since=lab.status_since,
        )
        for lab in registry.labs.values()
        for scope, on in lab.scopes.items()
    ]
    ws.import_labs(rows, date(2026, 11, 21))
    rng = random.Random(9)
    profiles = []
    for i in range(20):
        data = profile(rng, i)
        data["sku"] = f"SEED-{i:03d}"
        data["components"] = [{"id": "c0", "material": "surface_coating"}] + data["components"][1:]
        profiles.append(Profile.model_validate(data))
    ws.add_profiles(profiles, date(2026, 11, 21))
    ws.import_listings(
        [
            {
                "marketplace": "amazon.com",
                "listing_id": f"B0SEED{i:04d}",
                "sku": f"SEED-{i:03d}",
                "title": "seed",
                "status": "active",
            }
            for i in range(20)
        ]
    )
    engine.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """What is committed: keys and digests of every product version, report and listing."""
    from sqlalchemy import func, select

    from toysafe.store import models as m
    from toysafe.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as c:
        products = {
            (sku, v): digest
            for sku, v, digest in c.execute(
                select(m.Product.sku, m.ProductVersion.version, m.ProductVersion.digest).join(
                    m.ProductVersion, m.ProductVersion.product_id == m.Product.id
                )
            )
        }
        reports = dict(c.execute(select(m.Report.report_no, m.Report.digest)).all())
        listings = {
            (mk, lid, sku): (title, status)
            for mk, lid, sku, title, status in c.execute(
                select(
                    m.Listing.marketplace,
                    m.Listing.listing_id,
                    m.Listing.sku,
                    m.Listing.title,
                    m.Listing.status,
                )
            )
        }
        problems = []
        orphan = c.scalar(
            select(func.count())
            .select_from(m.Product)
            .where(
                ~select(m.ProductVersion.id)
                .where(
                    m.ProductVersion.product_id == m.Product.id,
                    m.ProductVersion.version == m.Product.latest_version,
                )
                .exists()
            )
        )
        if orphan:
            problems.append(f"{orphan} products without their latest version")
        stateless = c.scalar(
            select(func.count())
            .select_from(m.Product)
            .where(
                ~select(m.ProductState.product_id)
                .where(m.ProductState.product_id == m.Product.id)
                .exists()
            )
        )
        if stateless:
            problems.append(f"{stateless} products without a state")
        empty = c.scalar(
            select(func.count())
            .select_from(m.Report)
            .where(~select(m.Result.id).where(m.Result.report_id == m.Report.id).exists())
        )
        if empty:
            problems.append(f"{empty} reports without results")
        if url.startswith("sqlite"):
            from sqlalchemy import text

            check = c.execute(text("PRAGMA integrity_check")).scalar()
            if check != "ok":
                problems.append(f"integrity_check: {check}")
    engine.dispose()
    return {"products": products, "reports": reports, "listings": listings, "problems": problems}


def command(args: list[str], home: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "toysafe", *args, "--workspace", str(home)]


def env(url: str, home: Path) -> dict[str, str]:
    out = dict(os.environ)
    out |= {"TOYSAFE_DATABASE_URL": url, "TOYSAFE_HOME": str(home), "TOYSAFE_ACTOR": "crash"}
    out.pop("TOYSAFE_SIGNING_KEY", None)
    return out


KINDS = ("products", "reports", "listings")
ADDS = {"product_add": ("products", N_PRODUCTS), "report_add": ("reports", N_REPORTS)}
ADDS |= {"listings_import": ("listings", N_LISTINGS)}


def complete(op: str, before: dict[str, Any], after: dict[str, Any], restored: Any) -> str:
    """'none', 'all' or 'partial': how much of the command's writes are in ``after``."""
    if all(after[k] == before[k] for k in KINDS):
        return "none"
    if op == "restore":
        return "all" if all(after[k] == restored[k] for k in KINDS) else "partial"
    kind, n = ADDS[op]
    kept = all(after[kind].get(x) == v for x, v in before[kind].items())
    others = all(after[k] == before[k] for k in KINDS if k != kind)
    grown = len(after[kind]) == len(before[kind]) + n
    return "all" if kept and others and grown else "partial"


def run(
    trials: int, seed_: int, max_delay: float = 30.0, checkpoint: Path | None = None
) -> dict[str, Any]:
    rng = random.Random(seed_)
    backends = ["sqlite"] + (["postgresql"] if pg_available() else [])
    outcome: Counter[str] = Counter()
    lost = half = unreadable = killed = 0
    details: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="toysafe-crash-") as tmp_dir:
        tmp = Path(tmp_dir)
        (tmp / "in").mkdir()
        cmds = inputs(tmp / "in")
        restored: dict[str, dict[str, Any]] = {}
        backups: dict[str, Path] = {}
        # A backup to restore: the seed catalog plus the bulk products.
        for backend in backends:
            home = tmp / f"src-{backend}"
            home.mkdir()
            db = Db(backend, home)
            seed(db, home)
            subprocess.run(
                command(cmds["product_add"], home, db.url),
                env=env(db.url, home),
                check=True,
                capture_output=True,
            )
            restored[backend] = snapshot(db.url)
            backups[backend] = tmp / f"backup-{backend}.zip"
            subprocess.run(
                command(["backup", str(backups[backend]), "--without-keys"], home, db.url),
                env=env(db.url, home),
                check=True,
                capture_output=True,
            )
            db.drop()
        for i in range(trials):
            backend = backends[i % len(backends)]
            op = OPS[(i // len(backends)) % len(OPS)]
            args = cmds.get(op) or ["restore", str(backups[backend]), "--force", "--without-keys"]
            home = tmp / f"t{i}"
            home.mkdir()
            db = Db(backend, home)
            try:
                seed(db, home)
                before = snapshot(db.url)
                delay = rng.uniform(0.05, max_delay)
                proc = subprocess.Popen(
                    command(args, home, db.url),
                    env=env(db.url, home),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(delay)
                was_running = proc.poll() is None
                if was_running:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed += 1
                proc.wait()
                after = snapshot(db.url)
                state = complete(op, before, after, restored.get(backend))
                outcome[state] += 1
                missing = [
                    k
                    for k in ("products", "reports", "listings")
                    if any(after[k].get(x) != v for x, v in before[k].items()) and op != "restore"
                ]
                if op == "restore" and state == "partial":
                    missing.append("restore: neither the old nor the restored workspace")
                if not was_running and state != "all":
                    missing.append("a command that finished is not all there")
                if missing:
                    lost += 1
                if after["problems"] or state == "partial":
                    half += 1
                status = subprocess.run(
                    [sys.executable, "-m", "toysafe", "status", "--workspace", str(home)],
                    env=env(db.url, home),
                    capture_output=True,
                )
                if status.returncode not in (0, 1):
                    unreadable += 1
                if checkpoint is not None:
                    done = {"trials_done": i + 1, "killed": killed, "lost": lost}
                    done |= {"half_written": half, "unreadable": unreadable}
                    checkpoint.write_text(json.dumps(done | {"outcomes": dict(outcome)}))
                if missing or after["problems"] or state == "partial" or status.returncode > 1:
                    details.append(
                        {
                            "trial": i,
                            "backend": backend,
                            "op": op,
                            "state": state,
                            "missing": missing,
                            "problems": after["problems"],
                            "status_exit": status.returncode,
                        }
                    )
            finally:
                db.drop()
    return {
        "trials": trials,
        "killed": killed,
        "lost": lost,
        "half_written": half,
        "unreadable": unreadable,
        "outcomes": dict(outcome),
        "backends": backends,
        "max_delay_s": max_delay,
        "seconds": round(time.perf_counter() - started, 1),
        "failures": details[:20],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-delay",
        type=float,
        default=30.0,
        help="Kill within this many seconds (a bulk "
        "command runs 17-38 s on a loaded two-core machine).",
    )
    parser.add_argument("--checkpoint", type=Path, help="Write progress here after each trial.")
    args = parser.parse_args(argv)
    result = run(args.trials, args.seed, args.max_delay, args.checkpoint)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['trials']} trials ({result['killed']} killed mid-run): "
            f"{result['lost']} lost, {result['half_written']} half-written, "
            f"{result['unreadable']} unreadable"
        )
    return 0 if result["lost"] == result["half_written"] == result["unreadable"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
