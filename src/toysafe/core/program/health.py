"""Account health over time (P10): the score on any day, from the seller's violations.

Pure: the same rule as the read model (``store.program.views.health_of``) — a violation counts
on ``day`` while it is open (``resolved`` is none or later) and was opened within the window
(``day - window_days < opened <= day``) — applied to each day of a range, so a chart of the past
needs no stored history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from toysafe.core.program.model import score_of


@dataclass(frozen=True, slots=True)
class PastViolation:
    opened: date
    resolved: date | None
    points: int


def counts_on(v: PastViolation, day: date, window_days: int) -> bool:
    """Whether ``v`` takes points off the score on ``day``."""
    open_then = v.resolved is None or v.resolved > day
    return open_then and day - timedelta(days=window_days) < v.opened <= day


def stops_counting(v: PastViolation, window_days: int) -> date:
    """The first day ``v`` no longer counts: when it is resolved, or when it leaves the window.

    >>> stops_counting(PastViolation(date(2026, 1, 1), None, 100), 180).isoformat()
    '2026-06-30'
    """
    leaves = v.opened + timedelta(days=window_days)
    return min(leaves, v.resolved) if v.resolved is not None else leaves


def score_on(violations: Sequence[PastViolation], day: date, start: int, window_days: int) -> int:
    return score_of(start, [v.points for v in violations if counts_on(v, day, window_days)])


def score_series(
    violations: Sequence[PastViolation],
    first: date,
    last: date,
    start: int,
    window_days: int,
) -> list[tuple[date, int]]:
    """The score on every day from ``first`` to ``last`` (both included)."""
    days = (last - first).days
    return [
        (d, score_on(violations, d, start, window_days))
        for d in (first + timedelta(days=i) for i in range(days + 1))
    ]
