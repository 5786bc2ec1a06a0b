"""Sessions, CSRF tokens and the login rate limit."""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from toysafe.settings import env_name, settings
from toysafe.store.memo import TTLCache

SECRET_ENV = env_name("session_secret")


def session_secret(workspace: Path) -> str:
    """From the environment, else a random secret kept in the workspace (created once)."""
    secret = settings().session_secret
    if secret:
        return secret
    path = workspace / ".toysafe" / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created a moment ago by another server worker
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected, given))


class RateLimit:
    """At most ``limit`` events per key in ``window`` seconds (in this process), over a
    bounded table of keys."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 300.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self.hits: TTLCache[str, deque[float]] = TTLCache(max_keys, window, clock)
        self.lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        now = self.clock()
        q = self.hits.get(key)
        if q is None:
            q = deque()
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, key: str) -> float | None:
        """Seconds to wait when ``key`` is over its limit, else None (nothing recorded)."""
        with self.lock:
            q = self._recent(key)
            if len(q) >= self.limit:
                return max(1.0, self.window - (self.clock() - q[0]))
            return None

    def hit(self, key: str) -> None:
        with self.lock:
            q = self._recent(key)
            q.append(self.clock())
            self.hits[key] = q

    def allow(self, key: str) -> bool:
        """Record an attempt if the key is under its limit."""
        if self.retry_after(key) is not None:
            return False
        self.hit(key)
        return True

    def reset(self, key: str) -> None:
        self.hits.pop(key)


class Backoff:
    """Per key (an account): ``free`` failures, then each failure makes the next attempt wait
    twice as long as the one before, from ``base`` up to ``cap`` seconds. The right password
    after the wait works; a success clears the count."""

    def __init__(
        self,
        free: int = 5,
        base: float = 5.0,
        cap: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base, self.cap, self.clock = free, base, cap, clock
        # (failures, not before); entries are forgotten a while after the last failure.
        self.table: TTLCache[str, tuple[int, float]] = TTLCache(max_keys, 3600.0, clock)
        self.lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        entry = self.table.get(key)
        if entry is None:
            return None
        wait = entry[1] - self.clock()
        return wait if wait > 0 else None

    def failed(self, key: str) -> None:
        with self.lock:
            failures = (self.table.get(key) or (0, 0.0))[0] + 1
            delay = 0.0
            if failures >= self.free:
                delay = min(self.cap, self.base * 2 ** (failures - self.free))
            self.table[key] = (failures, self.clock() + delay)

    def reset(self, key: str) -> None:
        self.table.pop(key)


class SharedGuessLimit:
    """Unknown bearer tokens per client, across processes, without a database round trip on
    the path of a valid token. Every unknown token is written to the shared table (the failure
    path) and the shared count read back; a client over the limit is then refused from a short
    in-process cache of blocked clients. Before a lookup, the shared count is read only for a
    client this process saw fail within the window (or one it holds as blocked), so a caller
    whose tokens are good never waits for the database, and guesses spread over N workers get
    at most ``limit + N - 1`` lookups per window."""

    def __init__(
        self,
        store: Any,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.time,
        block_cache: float = 10.0,
        max_keys: int = 10_000,
    ) -> None:
        from toysafe.store.throttle import SharedRateLimit

        self.shared = SharedRateLimit(store, "token", limit, window, clock)
        self.window, self.clock, self.block_cache = window, clock, block_cache
        # client -> UNIX time of its last failure seen here / until when it is refused
        self.failed_here: TTLCache[str, float] = TTLCache(max_keys, window, clock)
        self.blocked: TTLCache[str, float] = TTLCache(max_keys, block_cache, clock)

    @property
    def limit(self) -> int:
        return self.shared.limit

    @limit.setter
    def limit(self, value: int) -> None:
        self.shared.limit = value

    def _block(self, key: str, wait: float) -> float:
        self.blocked[key] = self.clock() + min(wait, self.block_cache)
        return wait

    def retry_after(self, key: str) -> float | None:
        until = self.blocked.get(key)
        if until is not None and until > self.clock():
            return max(1.0, until - self.clock())
        if self.failed_here.get(key) is None:
            return None  # no failure from this client here in the window: no round trip
        wait = self.shared.retry_after(key)
        return None if wait is None else self._block(key, wait)

    def hit(self, key: str) -> None:
        self.failed_here[key] = self.clock()
        self.shared.hit(key)
        wait = self.shared.retry_after(key)
        if wait is not None:
            self._block(key, wait)

    def reset(self, key: str) -> None:
        self.failed_here.pop(key)
        self.blocked.pop(key)
        self.shared.reset(key)


class Throttle:
    """Sign-in and token throttling. With a ``store`` (the server), sign-in failures, reset
    mails and unknown API tokens are counted in the database, so they hold across ``serve
    --workers N``; a bearer request reaches the database for the count only on the failure
    path or for a client that failed in this process lately (``SharedGuessLimit``)."""

    def __init__(
        self,
        free_failures: int = 5,
        backoff_base: float = 5.0,
        backoff_max: float = 60.0,
        client_login_failures: int = 20,
        client_token_failures: int = 30,
        client_window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        store: Any = None,
    ) -> None:
        self.token_clients: Any
        self.accounts: Any
        self.login_clients: Any
        self.resets: Any
        if store is not None:
            from toysafe.store.throttle import SharedBackoff, SharedRateLimit

            wall = time.time if clock is time.monotonic else clock
            self.token_clients = SharedGuessLimit(store, client_token_failures, client_window, wall)
            self.accounts = SharedBackoff(store, free_failures, backoff_base, backoff_max, wall)
            self.login_clients = SharedRateLimit(
                store, "login", client_login_failures, client_window, wall
            )
            self.resets = SharedRateLimit(store, "reset", 5, 3600.0, wall)
            return
        self.token_clients = RateLimit(client_token_failures, client_window, clock=clock)
        self.accounts = Backoff(free_failures, backoff_base, backoff_max, clock=clock)
        self.login_clients = RateLimit(client_login_failures, client_window, clock=clock)
        # Reset mails: a few per account and per client address an hour.
        self.resets = RateLimit(5, 3600.0, clock=clock)

    def login_wait(self, account: str, client: str) -> float | None:
        """Seconds before this client may try this account again, else None."""
        waits = [
            w
            for w in (self.accounts.retry_after(account), self.login_clients.retry_after(client))
            if w is not None
        ]
        return max(waits) if waits else None

    def login_failed(self, account: str, client: str) -> None:
        self.accounts.failed(account)
        self.login_clients.hit(client)

    def login_succeeded(self, account: str) -> None:
        self.accounts.reset(account)
