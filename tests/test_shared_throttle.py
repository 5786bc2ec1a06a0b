"""Sign-in throttling holds across server workers (issue 14): the counters are in the
database, so two app instances (two `serve --workers 2` processes) see the same failures;
the tables stay bounded. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.store_fixtures import DB
from tests.test_web_security import PASSWORD, SELLER, csrf_of, ok
from toysafe.settings import Settings
from toysafe.store import models as m
from toysafe.store.db import Store, open_store
from toysafe.store.throttle import SharedBackoff, SharedRateLimit
from toysafe.web.app import create_app


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
