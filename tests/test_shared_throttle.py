"""Sign-in and token-guess throttling hold across server workers (issue 14): the counters are in the
database, so two app instances (two `serve --workers 2` processes) see the same failures;
the tables stay bounded. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, event, func, select

from tests.store_fixtures import DB
from tests.test_web_security import PASSWORD, SELLER, csrf_of, ok
from toysafe.settings import Settings
from toysafe.store import models as m
from toysafe.store.db import Store, open_store
from toysafe.store.throttle import SharedBackoff, SharedRateLimit
from toysafe.web.app import create_app
from toysafe.web.security import SharedGuessLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_two_processes_share_the_backoff_and_the_client_window(store: Store) -> None:
    clock = Clock()
    a, b = (SharedBackoff(store, 3, 5.0, 60.0, clock) for _ in range(2))
    a.failed("x@y")
    b.failed("x@y")
    assert a.retry_after("x@y") is None and b.retry_after("x@y") is None
    a.failed("x@y")  # the third, counted from either process
    assert b.retry_after("x@y") == 5.0
    b.failed("x@y")
    assert a.retry_after("x@y") == 10.0  # doubled
    clock.now += 11
    assert a.retry_after("x@y") is None
    b.reset("x@y")
    a.failed("x@y")
    assert b.retry_after("x@y") is None  # a success cleared the count
    p, q = (SharedRateLimit(store, "login", 4, 300.0, clock) for _ in range(2))
    for limiter in (p, q, p, q):
        limiter.hit("203.0.113.9")
    wait = q.retry_after("203.0.113.9")
    assert wait is not None and 1 <= wait <= 300
    assert p.retry_after("198.51.100.1") is None
    clock.now += 301
    assert p.retry_after("203.0.113.9") is None


def test_the_shared_tables_stay_bounded(store: Store) -> None:
    clock = Clock()
    limiter = SharedRateLimit(store, "login", 20, 60.0, clock)
    backoff = SharedBackoff(store, clock=clock)
    for i in range(300):
        limiter.hit(f"10.0.0.{i % 256}")
        backoff.failed(f"user{i}@example.com")
        clock.now += 1.0
    with store.reader() as s:
        hits = s.scalar(select(func.count()).select_from(m.ThrottleHit))
    assert hits is not None and hits <= 61  # only the last window's
    clock.now += 3601
    backoff.failed("late@example.com")
    with store.reader() as s:
        rows = s.scalar(select(func.count()).select_from(m.ThrottleBackoff))
    assert rows == 1  # the rest were forgotten


def login(client: TestClient, password: str) -> int:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"email": SELLER, "password": password, "csrf": token},
        follow_redirects=False,
    )
    return r.status_code


def test_wrong_passwords_count_across_two_workers(ws_env: DB) -> None:
    ok("init")
    ok("users", "add", SELLER, "--org", "default", "--role", "seller", "--password-stdin",
       stdin=PASSWORD + "\n")  # fmt: skip
    conf = Settings(login_free_failures=4, login_backoff_base=30.0)
    home = Path(os.environ["TOYSAFE_HOME"])
    workers = [
        TestClient(create_app(open_store(), home, secure_cookies=False, settings=conf))
        for _ in range(2)
    ]
    codes = [login(workers[i % 2], "wrong-password") for i in range(4)]
    assert codes == [401] * 4  # two failures on each worker
    # Each worker alone has seen only two; together four: both now refuse, even the right one.
    assert login(workers[0], PASSWORD) == 429
    assert login(workers[1], PASSWORD) == 429


def test_token_guesses_split_over_two_workers_are_throttled(ws_env: DB) -> None:
    """Unknown bearer tokens count across workers (through a trusted proxy, per the client it
    names); a good token costs no query of the shared counter."""
    ok("init")
    ok("users", "add", SELLER, "--org", "default", "--role", "seller", "--password-stdin",
       stdin=PASSWORD + "\n")  # fmt: skip
    token = ok("users", "token", SELLER).strip().splitlines()[-1]
    conf = Settings(client_token_failures=6, trusted_proxies="10.0.0.1")
    home = Path(os.environ["TOYSAFE_HOME"])
    stores = [open_store() for _ in range(2)]
    workers = [
        TestClient(create_app(s, home, secure_cookies=False, settings=conf), client=("10.0.0.1", 1))
        for s in stores
    ]

    def get(worker: int, bearer: str, client: str) -> int:
        headers = {"Authorization": f"Bearer {bearer}", "X-Forwarded-For": client}
        return workers[worker].get("/api/v1/products", headers=headers).status_code

    guesser, other = "203.0.113.7", "198.51.100.4"
    codes = [get(i % 2, f"ts_guess{i}", guesser) for i in range(10)]
    # Each worker alone saw three; together six: both refuse from then on.
    assert codes == [401] * 6 + [429] * 4
    assert get(0, token, other) == 200 and get(1, token, other) == 200

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    for s in stores:
        event.listen(s.engine, "before_cursor_execute", seen)
    try:
        for i in range(4):
            assert get(i % 2, token, "192.0.2.9") == 200
    finally:
        for s in stores:
            event.remove(s.engine, "before_cursor_execute", seen)
    assert statements and not [q for q in statements if "throttle_hits" in q]
    # Revoking is immediate on every worker (each bearer request asks the database).
    assert "1 token(s) revoked" in ok("users", "revoke-tokens", SELLER)
    assert get(0, token, other) == 401 and get(1, token, other) == 401
    for s in stores:
        s.engine.dispose()


def test_the_guess_limit_blocks_from_its_cache_and_forgets(store: Store) -> None:
    clock = Clock()
    a, b = (SharedGuessLimit(store, 3, 300.0, clock, block_cache=10.0) for _ in range(2))
    a.hit("c")
    b.hit("c")
    assert a.retry_after("c") is None and b.retry_after("c") is None
    assert b.retry_after("fresh") is None  # never failed here: answered without the database
    a.hit("c")
    assert a.retry_after("c") is not None and b.retry_after("c") is not None
    with store.transaction() as s:
        s.execute(delete(m.ThrottleHit))  # the shared rows gone: the cache still blocks a while
    assert a.retry_after("c") is not None
    clock.now += 11
    assert a.retry_after("c") is None  # the short cache expired and the database says no more
