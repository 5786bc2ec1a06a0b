"""CPU milliseconds per request, by kind, in process: the load-independent cost behind the soak.

Prepares the soak's workspace (bench/soak.py ``prepare``) on SQLite or PostgreSQL, then sends
``--requests`` requests of each kind of the soak's mix through the ASGI app in this process
(``httpx`` over ``ASGITransport``, no sockets) and reports ``time.process_time`` per request.
A shared machine slows wall-clock figures; CPU time per request is what bounds throughput:
at 300 requests/s on two cores the mix must average well under 6 ms.

    python bench/request_cpu.py [--json] [--database sqlite|postgresql] [--requests 200]
        [--profile KIND]   # print a cProfile of one kind instead
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from soak import AS_OF, MIX, _report, database, prepare  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument("--profile", metavar="KIND", help="cProfile one kind (top 40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="toysafe-cpu-") as tmp:
        home = Path(tmp) / "ws"
        with database(args.database, home) as url:
            os.environ["TOYSAFE_DATABASE_URL"] = url
            os.environ["TOYSAFE_HOME"] = str(home)
            os.environ.pop("TOYSAFE_SESSION_SECRET", None)
            token = prepare(home, args.products)
            figures, queries = asyncio.run(measure(home, token, args))
    if args.profile:
        return
    mix = sum(w * figures[k] for w, k in MIX) / sum(w for w, _ in MIX)
    out = {
        "database": args.database,
        "cpu_ms": figures,
        "mix_cpu_ms": round(mix, 2),
        "statements": queries,  # SQL statements per request (BEGIN/COMMIT not counted)
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"CPU ms and SQL statements per request on {args.database} ({args.requests} each):")
    for kind, ms in figures.items():
        print(f"  {kind:<14}{ms:>8.2f} ms {queries[kind]:>6.1f} statements")
    print(f"  {'mix average':<14}{mix:>8.2f}")


async def measure(
    home: Path, token: str, args: argparse.Namespace
) -> tuple[dict[str, float], dict[str, float]]:
    import httpx
    from sqlalchemy import event

    from profiles import profile
    from toysafe.settings import settings
    from toysafe.store.db import open_store
    from toysafe.web.app import create_app

    store = open_store(home)
    statements = [0]

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(*_: Any) -> None:
        statements[0] += 1

    app = create_app(store, home, secure_cookies=False, settings=settings())
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(3)
    counter = iter(range(10**9))

    def request(kind: str) -> tuple[str, Any]:
        sku = f"GEN-{rng.randrange(args.products):06d}"
        i = next(counter)
        if kind == "product":
            return f"/api/v1/products/{sku}", None
        if kind == "verification":
            return f"/api/v1/products/{sku}/verification?as_of={AS_OF}", None
        if kind == "history":
            return f"/api/v1/products/{sku}/history", None
        if kind == "list":
            return "/api/v1/listings", None
        if kind == "status":
            return f"/api/v1/status?as_of={AS_OF}", None
        if kind == "health":
            return "/api/v1/health", None
        if kind == "report":
            return f"/api/v1/reports?as_of={AS_OF}", _report(sku, f"CPU-{i}")
        doc = profile(rng, 0)
        doc["sku"] = f"CPU-{i}"
        return f"/api/v1/products?as_of={AS_OF}", doc

    figures: dict[str, float] = {}
    queries: dict[str, float] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:

        async def send(kind: str) -> None:
            path, body = request(kind)
            r = await (c.get(path) if body is None else c.post(path, json=body))
            if not 200 <= r.status_code < 300:
                raise SystemExit(f"{kind} {path}: {r.status_code} {r.text[:300]}")

        for _, kind in MIX:  # warm every path once
            await send(kind)
        kinds = [args.profile] if args.profile else [k for _, k in MIX]
        for kind in kinds:
            prof = cProfile.Profile() if args.profile else None
            if prof:
                _profile_threads(prof)
                prof.enable()
            started, before = time.process_time(), statements[0]
            for _ in range(args.requests):
                await send(kind)
            figures[kind] = round((time.process_time() - started) * 1000 / args.requests, 2)
            queries[kind] = round((statements[0] - before) / args.requests, 1)
            if prof:
                prof.disable()
                stats = pstats.Stats(prof)
                stats.add(prof.threaded)  # type: ignore[attr-defined]
                stats.sort_stats("cumulative").print_stats(70)
                stats.sort_stats("tottime").print_stats(30)
                print(f"{kind}: {figures[kind]} CPU ms per request")
    store.engine.dispose()
    return figures, queries


def _profile_threads(prof: cProfile.Profile) -> None:
    """Sync endpoints and dependencies run in anyio's threads: profile those calls too."""
    import anyio.to_thread

    threaded = cProfile.Profile()
    original = anyio.to_thread.run_sync

    async def run_sync(func: Any, *a: Any, **kw: Any) -> Any:
        return await original(lambda *x: threaded.runcall(func, *x), *a, **kw)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    prof.threaded = threaded  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
