"""Sign-in throttling shared by every server process (``serve --workers N``): the counters
live in the database, not in one worker's memory. Same interface as the in-process
``RateLimit`` and ``Backoff`` of ``toysafe.web.security``; UNIX seconds, so every process
agrees on the time. Bounded: rows older than their window are deleted on every write."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from toysafe.store import models as m
from toysafe.store.db import Store

FORGET_AFTER = 3600.0  # an account's failures are forgotten an hour after the last one


class SharedRateLimit:
    """At most ``limit`` events per key in ``window`` seconds, across processes."""

    def __init__(
        self,
        store: Store,
        scope: str,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.scope, self.limit, self.window, self.clock = (
            store, scope, limit, window, clock,
        )  # fmt: skip

    def retry_after(self, key: str) -> float | None:
        now = self.clock()
        H = m.ThrottleHit
        with self.store.reader() as s:
            count, first = s.execute(
                select(func.count(), func.min(H.at)).where(
                    H.scope == self.scope, H.key == key[:200], H.at > now - self.window
                )
            ).one()
        if count >= self.limit:
            return float(max(1.0, self.window - (now - first)))
        return None

    def hit(self, key: str) -> None:
        now = self.clock()
        with self.store.transaction() as s:
            s.execute(
                delete(m.ThrottleHit).where(
                    m.ThrottleHit.scope == self.scope, m.ThrottleHit.at <= now - self.window
                )
            )
            s.add(m.ThrottleHit(scope=self.scope, key=key[:200], at=now))

    def allow(self, key: str) -> bool:
        if self.retry_after(key) is not None:
            return False
        self.hit(key)
        return True

    def reset(self, key: str) -> None:
        with self.store.transaction() as s:
            s.execute(
                delete(m.ThrottleHit).where(
                    m.ThrottleHit.scope == self.scope, m.ThrottleHit.key == key[:200]
                )
            )


class SharedBackoff:
    """Per account: ``free`` failures, then each failure doubles the wait (``base`` up to
    ``cap``); a success clears it. The count is one row per account, incremented atomically
    (``INSERT ... ON CONFLICT DO UPDATE``) so two workers never lose a failure."""

    def __init__(
        self,
        store: Store,
        free: int = 5,
        base: float = 5.0,
        cap: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.free, self.base, self.cap, self.clock = store, free, base, cap, clock
        pg = store.engine.dialect.name == "postgresql"
        self._insert: Any = pg_insert if pg else sqlite_insert

    def retry_after(self, key: str) -> float | None:
        with self.store.reader() as s:
            row = s.get(m.ThrottleBackoff, key[:220])
        if row is None:
            return None
        wait = row.not_before - self.clock()
        return wait if wait > 0 else None

    def failed(self, key: str) -> None:
        now, B = self.clock(), m.ThrottleBackoff
        with self.store.transaction() as s:
            s.execute(delete(B).where(B.updated < now - FORGET_AFTER))
            stmt = self._insert(B).values(key=key[:220], failures=1, not_before=now, updated=now)
            stmt = stmt.on_conflict_do_update(
                index_elements=[B.key],
                set_={"failures": B.failures + 1, "updated": now},
            ).returning(B.failures)
            failures = int(s.execute(stmt).scalar_one())
            delay = 0.0
            if failures >= self.free:
                delay = min(self.cap, self.base * 2 ** (failures - self.free))
            # The upsert holds the row's lock until commit: no other worker interleaves here.
            s.execute(update(B).where(B.key == key[:220]).values(not_before=now + delay))

    def reset(self, key: str) -> None:
        with self.store.transaction() as s:
            s.execute(delete(m.ThrottleBackoff).where(m.ThrottleBackoff.key == key[:220]))
