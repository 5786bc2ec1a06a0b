"""Assess many profiles at once, across worker processes, returning compact summaries."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from itertools import islice
from typing import Any

from toysafe.core.law.assessment import Summary
from toysafe.core.law.engine import assess
from toysafe.io.kb import default_kb
from toysafe.io.profiles import InputError, profile_from_data

Result = Summary | InputError


def _assess_chunk(args: tuple[Sequence[Any], date]) -> list[Result]:
    items, as_of = args
    kb = default_kb()
    out: list[Result] = []
    for i, data in enumerate(items):
        try:
            profile = profile_from_data(data, f"item {i}")
        except InputError as e:
            out.append(e)
            continue
        out.append(Summary.of(assess(profile, kb, as_of)))
    return out


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def assess_many(
    items: Iterable[dict[str, Any]],
    as_of: date,
    workers: int | None = None,
    chunk_size: int = 1000,
) -> Iterator[Result]:
    """Yield, in input order, a Summary per valid profile or the InputError of an invalid one.

    ``workers`` defaults to the number of CPUs; 1 runs in this process.
    """
    workers = workers or os.cpu_count() or 1
    jobs = ((chunk, as_of) for chunk in _chunks(items, chunk_size))
    if workers == 1:
        for job in jobs:
            yield from _assess_chunk(job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for results in pool.map(_assess_chunk, jobs):
            yield from results
