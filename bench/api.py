"""Load benchmark of the REST API: GET /api/v1/status over loopback, from a second process.

Prepares a temporary SQLite workspace (``--products`` SKUs with listings and lab reports, through
the Workspace API, and a seller with an API token), starts ``toysafe serve --workers 2`` on a
free loopback port, then a separate driver process keeps ``--concurrency`` keep-alive
connections busy for ``--duration`` seconds (httpx in a thread pool) and reports throughput and
latency. Targets: >= 300 requests/s with p99 <= 50 ms. The server is always stopped.

Both targets together bound the load: by Little's law the mean latency is concurrency /
throughput, so 16 connections at 300 requests/s already mean ~53 ms per request. The default,
4 connections, is the load at which both targets are meaningful on the 2-core machine.

    python bench/api.py [--json] [--duration 10] [--concurrency 4] [--products 200]
    python bench/api.py --profile      # where the time goes: cProfile of the handler in-process
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

AS_OF = date(2026, 11, 21)
TARGET_RPS = 300.0
TARGET_P99_MS = 50.0
PATH = "/api/v1/status"
EMAIL = "bench@seller.example"


# --- the workspace -----------------------------------------------------------------------------


def prepare(home: Path, products: int) -> str:
    """A workspace with ``products`` SKUs (listings, two reports each); a seller's token."""
    from toysafe.store.accounts import Accounts
    from toysafe.store.db import open_store
    from toysafe.store.workspace import Workspace
    from workspace import _rows, catalog  # bench/workspace.py: the same realistic catalog

    store = open_store(home, create=True)
    try:
        ws = Workspace(store, who="bench")
        ws.init()
        ws.import_labs(_rows(), AS_OF)
        profiles, listings, reports = catalog(products)
        ws.add_profiles(profiles, AS_OF)
        ws.import_listings(listings)
        ws.add_reports([(r.report_no, r) for r in reports], AS_OF)
        accounts = Accounts(store)
        accounts.add_user(EMAIL, "default", "seller")
        return accounts.new_token(EMAIL, "bench")
    finally:
        store.engine.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TOYSAFE_DATABASE_URL"}
    env["TOYSAFE_HOME"] = str(home)
    env.pop("TOYSAFE_SESSION_SECRET", None)
    return env


@contextmanager
def serving(home: Path, workers: int, server_log: list[str]) -> Iterator[str]:
    """``toysafe serve`` on a free loopback port, in its own process group; always stopped."""
    import httpx

    port = free_port()
    exe = Path(sys.executable).parent / "toysafe"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        cmd, env=server_env(home), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
                raise RuntimeError("toysafe serve did not answer /api/v1/health within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and its worker processes
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.seek(0)
        server_log.append(log.read().decode(errors="replace"))
        log.close()


# --- the driver (a separate process) -------------------------------------------------------------


def drive(base: str, token: str, duration: float, concurrency: int, warmup: float) -> None:
    """Keep ``concurrency`` connections busy; print one JSON line of raw figures."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    timeout = max(5.0, duration)  # a request stuck longer than the run counts as an error
    with httpx.Client(base_url=base, headers=headers, limits=limits, timeout=timeout) as client:
        end_warmup = time.monotonic() + warmup

        def warm(_: int) -> None:
            while time.monotonic() < end_warmup:
                try:
                    client.get(PATH)
                except httpx.HTTPError:
                    pass

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(warm, range(concurrency)))
        start = time.monotonic()
        stop = start + duration

        def loop(i: int) -> None:
            mine = latencies[i]
            while True:
                t = time.perf_counter()
                if time.monotonic() >= stop:
                    return
                try:
                    r = client.get(PATH)
                    r.read()
                    ok = r.status_code == 200
                    code = r.status_code
                except httpx.HTTPError:
                    ok, code = False, -1
                mine.append(time.perf_counter() - t)
                if not ok:
                    errors[i] += 1
                    with lock:
                        statuses[code] = statuses.get(code, 0) + 1

        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(loop, range(concurrency)))
        elapsed = time.monotonic() - start
    flat = sorted(x for xs in latencies for x in xs)
    print(
        json.dumps(
            {
                "requests": len(flat),
                "errors": sum(errors),
                "error_statuses": statuses,
                "elapsed_s": elapsed,
                "p50_ms": percentile(flat, 50) * 1000,
                "p99_ms": percentile(flat, 99) * 1000,
                "max_ms": (flat[-1] if flat else 0.0) * 1000,
            }
        )
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


# --- in-process profile --------------------------------------------------------------------------


def profile_handler(home: Path, token: str, n: int) -> None:
    """Where the time of GET /api/v1/status goes, in-process: the whole request (TestClient),
    then its parts timed one by one and a cProfile of them run in this thread (the app runs
    sync handlers in worker threads, which cProfile would not see)."""
    import cProfile
    import io
    import pstats
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from toysafe.store.db import open_store
    from toysafe.web.app import create_app

    os.environ.pop("TOYSAFE_DATABASE_URL", None)
    os.environ["TOYSAFE_HOME"] = str(home)
    store = open_store(home)
    app = create_app(store, home, secure_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        for _ in range(20):
            assert client.get(PATH, headers=headers).status_code == 200
        t = time.perf_counter()
        for _ in range(n):
            client.get(PATH, headers=headers)
        whole_ms = (time.perf_counter() - t) / n * 1000
        t = time.perf_counter()
        for _ in range(n):
            client.get("/api/v1/health")
        health_ms = (time.perf_counter() - t) / n * 1000
    parts = handler_parts(app, store, token)
    print(f"in-process GET {PATH}: {whole_ms:.2f} ms/request (GET /api/v1/health: {health_ms:.2f})")
    for name, fn in parts.items():
        fn()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        print(f"  {name:<58}{(time.perf_counter() - t) / n * 1000:>8.2f} ms")
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        parts["the whole handler: auth + Db + catalog_status + serialization"]()
    prof.disable()
    store.engine.dispose()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(order).print_stats(25)
        print(f"--- cProfile of {n} handler calls, by {order} ---")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


def handler_parts(app: Any, store: Any, token: str) -> dict[str, Any]:
    """The steps of one GET /api/v1/status, callable outside the ASGI stack."""
    from types import SimpleNamespace

    from pydantic import TypeAdapter

    from toysafe.store.workspace import Workspace
    from toysafe.web.api import catalog_status

    field = TypeAdapter(dict[str, Any])  # what FastAPI builds from the handler's return type
    request = SimpleNamespace(app=app)
    accounts = app.state.accounts
    who = accounts.by_token(token)
    ws = Workspace(store, who.org_slug)
    rows = ws.statuses(AS_OF)

    def handler() -> Any:
        with store.reader() as db:
            return catalog_status(request, who, db, None, AS_OF)  # type: ignore[arg-type]

    doc = handler()

    def serialize(value: Any) -> bytes:
        return field.dump_json(field.validate_python(value))

    def whole() -> bytes:
        accounts.by_token(token)
        return serialize(handler())

    return {
        "Accounts.by_token (auth: BEGIN IMMEDIATE on SQLite)": lambda: accounts.by_token(token),
        "Store.reader() enter/exit (the Db dependency)": lambda: _reader(store),
        "Workspace.statuses (query + status_of per row)": lambda: ws.statuses(AS_OF),
        "Status.to_dict for every row": lambda: [r.to_dict() for r in rows],
        "catalog_status (the endpoint function, with a reader)": handler,
        "response validation + JSON (pydantic, as FastAPI does)": lambda: serialize(doc),
        "the whole handler: auth + Db + catalog_status + serialization": whole,
    }


def _reader(store: Any) -> None:
    with store.reader():
        pass


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--concurrency", type=int, default=4, help="connections")
    parser.add_argument("--products", type=int, default=200, help="SKUs in the catalog")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--profile", action="store_true", help="profile the handler in-process")
    parser.add_argument("--drive", nargs=2, metavar=("BASE", "TOKEN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive(args.drive[0], args.drive[1], args.duration, args.concurrency, args.warmup)
        return

    with tempfile.TemporaryDirectory(prefix="toysafe-bench-api-") as tmp:
        home = Path(tmp) / "ws"
        os.environ.pop("TOYSAFE_DATABASE_URL", None)
        token = prepare(home, args.products)
        if args.profile:
            profile_handler(home, token, 200)
            return
        server_log: list[str] = []
        with serving(home, args.workers, server_log) as base:
            driver = [sys.executable, __file__, "--drive", base, token]
            driver += ["--duration", str(args.duration), "--warmup", str(args.warmup)]
            driver += ["--concurrency", str(args.concurrency)]
            done = subprocess.run(driver, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            sys.exit(f"the load driver failed:\n{done.stderr}")
        raw = json.loads(done.stdout.strip().splitlines()[-1])

    rps = raw["requests"] / raw["elapsed_s"]
    figures = {
        "rps": round(rps, 1),
        "p99_ms": round(raw["p99_ms"], 2),
        "p50_ms": round(raw["p50_ms"], 2),
        "requests": raw["requests"],
        "errors": raw["errors"],
        "concurrency": args.concurrency,
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"GET {PATH} on {args.products} SKUs: {args.workers} server workers, "
        f"{args.concurrency} connections, {args.duration:g} s (after {args.warmup:g} s warm-up)"
    )
    print(f"  requests {raw['requests']}, errors {raw['errors']} {raw['error_statuses'] or ''}")
    print(f"  {'measure':<8}{'figure':>10}{'target':>10}{'ratio':>8}")
    print(f"  {'rps':<8}{rps:>10.1f}{'>= 300':>10}{rps / TARGET_RPS:>8.2f}")
    p99 = raw["p99_ms"]
    print(f"  {'p99_ms':<8}{p99:>10.2f}{'<= 50':>10}{p99 / TARGET_P99_MS:>8.2f}")
    print(f"  {'p50_ms':<8}{raw['p50_ms']:>10.2f}")
    print(f"  {'max_ms':<8}{raw['max_ms']:>10.2f}")
    text = "".join(server_log)
    if "Traceback" in text:
        pool = text.count("QueuePool limit")
        last = [line for line in text.splitlines() if line and not line.startswith(" ")][-1]
        print(f"  server: {text.count('Traceback')} tracebacks, {pool} QueuePool timeouts; {last}")
    met = rps >= TARGET_RPS and p99 <= TARGET_P99_MS
    print(f"  target {'met' if met else 'NOT met'} (rps ratio >= 1 and p99 ratio <= 1)")


if __name__ == "__main__":
    main()
