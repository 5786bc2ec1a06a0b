"""Soak test of the web server: mixed reads and writes at a steady rate, from a second process.

Prepares a workspace (``--products`` SKUs with listings and two lab reports each, a seller with
an API token) on SQLite or PostgreSQL (a throwaway schema), starts ``toysafe serve --workers 2``
on a free loopback port, then a separate driver process sends requests open-loop at ``--rps``
for ``--seconds``: each request starts at its scheduled moment whether or not earlier ones have
finished, and its latency is counted from that moment (a server that falls behind cannot hide
it). About a sixth of the requests are writes: new lab reports for existing SKUs and new
products; the reads are a product, its verification, its history, the product list, the
catalog status and the health check. Every answer other than the expected 2xx is an error
(503 from load shedding included, also counted apart as ``shed``).

Target (issue 14): 10 minutes at 300 requests/s on PostgreSQL with 0 errors and p99 <= 100 ms.

    python bench/soak.py [--json] [--seconds 60] [--rps 300] [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

AS_OF = date(2026, 11, 21)
EMAIL = "soak@seller.example"
PG_URL = os.environ.get("TOYSAFE_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1/test")
TARGET_P99_MS = 100.0
# (weight, kind): writes are 1/6 of the traffic
MIX = [
    (30, "product"),
    (18, "verification"),
    (10, "history"),
    (10, "list"),
    (2, "status"),
    (13.33, "health"),
    (10, "report"),
    (6.67, "add_product"),
]
WRITES = {"report", "add_product"}
CONNECTIONS = 48  # the driver's keep-alive connections (and requests in flight)


# --- the workspace and the server ----------------------------------------------------------------


@contextmanager
def database(kind: str, home: Path) -> Iterator[str]:
    """The URL of an empty database: a file in the workspace, or a throwaway PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{home / 'toysafe.db'}"
        return
    from sqlalchemy import text

    from toysafe.store.db import make_engine

    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def prepare(home: Path, products: int) -> str:
    """A catalog of ``products`` SKUs with listings and reports; a seller's API token."""
    from toysafe.store.accounts import Accounts
    from toysafe.store.db import open_store
    from toysafe.store.workspace import Workspace
    from workspace import _rows, catalog  # bench/workspace.py: the same realistic catalog

    store = open_store(home, create=True)
    try:
        ws = Workspace(store, who="soak")
        ws.init()
        ws.import_labs(_rows(), AS_OF)
        profiles, listings, reports = catalog(products)
        ws.add_profiles(profiles, AS_OF)
        ws.import_listings(listings)
        ws.add_reports([(r.report_no, r) for r in reports], AS_OF)
        accounts = Accounts(store)
        accounts.add_user(EMAIL, "default", "seller")
        return accounts.new_token(EMAIL, "soak")
    finally:
        store.engine.dispose()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group (the
    server and its workers): with a shared machine, CPU per request is the figure that does
    not depend on what else runs."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], workers: int, logs: list[str]) -> Iterator[tuple[str, int]]:
    """``toysafe serve`` on a free loopback port in its own process group; always stopped."""
    import httpx

    port = free_port()
    exe = Path(sys.executable).parent / "toysafe"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"toysafe serve exited: {log.read().decode(errors='replace')}")
            try:
                if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("toysafe serve did not answer within 60 s")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.seek(0)
        logs.append(log.read().decode(errors="replace"))
        log.close()


# --- the driver (a separate process) -------------------------------------------------------------


def _report(sku: str, number: str) -> dict[str, Any]:
    return {
        "format": "toysafe/lab-report@1",
        "report_no": number,
        "lab": {"cpsc_id": "1234", "name": "Bench Lab", "phone": "+86 1"},
        "products": [{"sku": sku}],
        "standard": "F963-23",
        "issued": "2026-05-20",
        "tested": {"from": "2026-05-13", "to": "2026-05-18", "place": "Ningbo, CN"},
        "results": [
            {"requirement": r, "verdict": "pass"}
            for r in ("F963:4.6", "F963:4.7", "F963:4.8", "F963:4.9", "16CFR1501")
        ],
    }


def drive(base: str, token: str, products: int, rps: float, seconds: float, seed: int) -> None:
    """Send the mix open-loop; print one JSON line of raw figures."""
    import asyncio

    import httpx

    from profiles import profile  # bench/profiles.py

    rng = random.Random(seed)
    kinds = [k for _, k in MIX]
    weights = [w for w, _ in MIX]
    run = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    by_window: dict[int, list[float]] = {}  # 10-second windows of the schedule
    statuses: dict[str, int] = {}
    counts: dict[str, int] = {}
    errors = 0

    def request(i: int) -> tuple[str, str, Any]:
        kind = rng.choices(kinds, weights)[0]
        sku = f"GEN-{rng.randrange(products):06d}"
        if kind == "product":
            return kind, f"/api/v1/products/{sku}", None
        if kind == "verification":
            return kind, f"/api/v1/products/{sku}/verification?as_of={AS_OF}", None
        if kind == "history":
            return kind, f"/api/v1/products/{sku}/history", None
        if kind == "list":
            return kind, "/api/v1/listings", None
        if kind == "status":
            return kind, f"/api/v1/status?as_of={AS_OF}", None
        if kind == "health":
            return kind, "/api/v1/health", None
        if kind == "report":
            return kind, f"/api/v1/reports?as_of={AS_OF}", _report(sku, f"SOAK-{run}-{i}")
        doc = profile(rng, 0)
        doc["sku"] = f"SOAK-{run}-{i}"
        return kind, f"/api/v1/products?as_of={AS_OF}", doc

    # httpcore's pool matches every queued request against every connection on each event
    # (quadratic): with thousands queued, the driver itself saturated a core and stopped
    # sending (the "stall" seen in earlier soaks). Requests wait for a connection here instead;
    # their latency still counts from the scheduled moment, so a slow server cannot hide.
    connections = asyncio.Semaphore(CONNECTIONS)
    start = 0.0

    async def one(client: httpx.AsyncClient, at: float, i: int) -> None:
        nonlocal errors
        kind, path, body = request(i)
        counts[kind] = counts.get(kind, 0) + 1
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            async with connections:
                if body is None:
                    r = await client.get(path)
                else:
                    r = await client.post(path, json=body)
            code = str(r.status_code)
            good = 200 <= r.status_code < 300
        except httpx.HTTPError as e:
            code, good = type(e).__name__, False
        took = time.monotonic() - at
        latencies.append(took)
        by_kind.setdefault(kind, []).append(took)
        by_window.setdefault(int((at - start) // 10), []).append(took)
        if not good:
            errors += 1
            statuses[f"{kind}:{code}"] = statuses.get(f"{kind}:{code}", 0) + 1

    def report(elapsed: float) -> None:
        flat = sorted(latencies)
        print(
            json.dumps(
                {
                    "requests": len(flat),
                    "elapsed_s": elapsed,
                    "errors": errors,
                    "error_statuses": statuses,
                    "counts": counts,
                    "p50_ms": percentile(flat, 50) * 1000,
                    "p99_ms": percentile(flat, 99) * 1000,
                    "max_ms": (flat[-1] if flat else 0.0) * 1000,
                    # where a tail comes from: by kind of request, and by 10 s of the run
                    "p99_ms_by_kind": {
                        k: round(percentile(sorted(v), 99) * 1000, 1) for k, v in by_kind.items()
                    },
                    "p99_ms_by_10s": [
                        round(percentile(sorted(by_window[w]), 99) * 1000, 1)
                        for w in sorted(by_window)
                    ],
                }
            ),
            flush=True,
        )

    async def main() -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        headers = {"Authorization": f"Bearer {token}"}
        client = httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30.0)
        for _ in range(20):  # open some connections first
            await client.get("/api/v1/health")
        nonlocal start
        start = time.monotonic() + 0.2
        total = int(rps * seconds)
        tasks = []
        for i in range(total):
            at = start + i / rps
            while at - time.monotonic() > 0.05:  # schedule a little ahead, not all at once
                await asyncio.sleep(0.02)
            tasks.append(asyncio.create_task(one(client, at, i)))
        # Requests still unanswered 35 s after the last was sent count as errors.
        _, pending = await asyncio.wait(tasks, timeout=35.0)
        if pending:
            statuses["unanswered"] = len(pending)
            errors += len(pending)
        report(time.monotonic() - start)
        os._exit(0)  # no waiting for stuck connections to close

    asyncio.run(main())


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    k = max(0, min(len(values) - 1, round(pct / 100 * len(values) + 0.5) - 1))
    return values[k]


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--rps", type=float, default=300.0, help="requests per second to send")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--products", type=int, default=1000, help="SKUs in the catalog")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--drive", nargs=2, metavar=("BASE", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive[0], args.drive[1], args.products, args.rps, args.seconds, args.seed)
        return

    with tempfile.TemporaryDirectory(prefix="toysafe-soak-") as tmp:
        home = Path(tmp) / "ws"
        with database(args.database, home) as url:
            os.environ["TOYSAFE_DATABASE_URL"] = url
            os.environ["TOYSAFE_HOME"] = str(home)
            started = time.monotonic()
            token = prepare(home, args.products)
            prepared_s = time.monotonic() - started
            env = {k: v for k, v in os.environ.items() if k != "TOYSAFE_SESSION_SECRET"}
            logs: list[str] = []
            with serving(env, args.workers, logs) as (base, pgid):
                driver = [sys.executable, __file__, "--drive", base, token]
                driver += ["--seconds", str(args.seconds), "--rps", str(args.rps)]
                driver += ["--products", str(args.products), "--seed", str(args.seed)]
                cpu_before = group_cpu_s(pgid)
                done = subprocess.run(
                    driver, capture_output=True, text=True, timeout=args.seconds * 3 + 120
                )
                server_cpu_s = group_cpu_s(pgid) - cpu_before
            if done.returncode != 0:
                sys.exit(f"the load driver failed:\n{done.stderr}")
            raw = json.loads(done.stdout.strip().splitlines()[-1])
    text = "".join(logs)
    shed = sum(n for k, n in raw["error_statuses"].items() if k.endswith(":503"))
    writes = sum(n for k, n in raw["counts"].items() if k in WRITES)
    figures = {
        "rps": round(raw["requests"] / raw["elapsed_s"], 1),
        "target_rps": args.rps,
        "seconds": round(raw["elapsed_s"], 1),
        "requests": raw["requests"],
        "writes": writes,
        "errors": raw["errors"],
        "shed": shed,
        "error_statuses": raw["error_statuses"],
        "p50_ms": round(raw["p50_ms"], 1),
        "p99_ms": round(raw["p99_ms"], 1),
        "max_ms": round(raw["max_ms"], 1),
        "p99_ms_by_kind": raw["p99_ms_by_kind"],
        "p99_ms_by_10s": raw["p99_ms_by_10s"],
        "database": args.database,
        "workers": args.workers,
        "products": args.products,
        "prepare_s": round(prepared_s, 1),
        # the server's own CPU (PostgreSQL's backends not included) per answered request
        "server_cpu_ms_per_request": round(server_cpu_s * 1000 / max(raw["requests"], 1), 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "server_tracebacks": text.count("Traceback"),
        "database_locked": text.count("database is locked"),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"soak on {args.database}: {args.workers} workers, {args.rps:g} requests/s for "
        f"{args.seconds:g} s, {args.products} SKUs; 1 in {raw['requests'] / max(writes, 1):.1f} "
        "requests a write"
    )
    keys = ("rps", "requests", "errors", "shed", "p50_ms", "p99_ms", "max_ms")
    for key in (*keys, "server_cpu_ms_per_request"):
        print(f"  {key:<26}{figures[key]:>10}")
    if raw["error_statuses"]:
        print(f"  errors by kind: {raw['error_statuses']}")
    if figures["server_tracebacks"]:
        print(f"  server log: {figures['server_tracebacks']} tracebacks")
    met = raw["errors"] == 0 and raw["p99_ms"] <= TARGET_P99_MS
    print(f"  target (0 errors, p99 <= {TARGET_P99_MS:g} ms) {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
