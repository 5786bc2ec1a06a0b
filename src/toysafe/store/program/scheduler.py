"""``toysafe serve`` runs the sweep once a day at a configured hour.

Every worker runs this loop; the ``program_sweeps`` row for the day is claimed in a transaction
(and the sweep itself holds PostgreSQL's advisory lock), so several workers never sweep the same
day twice. This is the imperative shell: it alone reads the wall clock.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from sqlalchemy import delete

from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program import policies
from toysafe.store.program.feeds import table
from toysafe.store.program.sweep import claim, finish, sweep

HOUR_ENV = "TOYSAFE_PROGRAM_SWEEP_HOUR"  # settings.program_sweep_hour: 0-23, or "off"
log = logging.getLogger("toysafe.program")


def configured_hour() -> int | None:
    from toysafe.settings import settings

    raw = settings().program_sweep_hour.strip().lower()
    if raw in ("off", "none", ""):
        return None
    hour = int(raw)
    if not 0 <= hour <= 23:
        raise ValueError(f"{HOUR_ENV}: {hour} is not an hour (0-23)")
    return hour


def run_due(store: Store, now: datetime, hour: int, worker: str) -> bool:
    """Sweep today if it is past ``hour``, a policy is loaded, and no worker has claimed
    today; True when this worker swept."""
    if now.hour < hour:
        return False
    with store.reader() as s:
        if policies.current(s) is None:
            return False
    day = now.date()
    if not claim(store, day, worker):
        return False
    try:
        result = sweep(store, day, worker)
    except Exception:
        log.exception("program sweep of %s failed; it will be retried", day)
        with store.transaction() as s:
            s.execute(delete(table(pm.SweepRun)).where(table(pm.SweepRun).c.as_of == day))
        return False
    finish(store, day, {"opened": len(result.opened), "actions": len(result.actions)})
    return True


def start(store: Store, interval_s: float = 60.0) -> threading.Event | None:
    """Start the daily sweep thread (a daemon); returns the event that stops it."""
    hour = configured_hour()
    if hour is None:
        return None
    stop = threading.Event()
    worker = f"serve@{socket.gethostname()}:{os.getpid()}"

    def loop() -> None:
        while not stop.is_set():
            try:
                run_due(store, datetime.now(), hour, worker)
            except Exception:
                log.exception("program sweep scheduler")
            stop.wait(interval_s)

    threading.Thread(target=loop, name="toysafe-program-sweep", daemon=True).start()
    return stop
