"""What the program needs of a linked product, assessed in bulk (``products.facts_of`` as sets).

One run of the compiled plan over each product twice: as it is under the rules of the sweep's
date (scope, requirements, warnings), and as if made on the last date any rule or edition takes
effect, under the rules of that date (P3 rule_change: the requirements that will apply to it and
their effective dates).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from toysafe.bulk.run import Backend, DuckDBBackend, SparkBackend, assess_flat_raw
from toysafe.bulk.tables import flatten, nested_table
from toysafe.core.law.dates import ManufactureDate
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile

Facts = tuple[bool, list[str], list[str], list[tuple[str, date]]]


def horizon(kb: KnowledgeBase) -> date:
    """The latest date on which any rule or edition takes effect."""
    days = [r.effective.from_ for r in kb.requirements if r.effective.from_]
    days += [e.effective_from for e in kb.editions]
    return max(days)


def assess_facts(
    kb: KnowledgeBase, profiles: list[Profile], as_of: date, frames: Any
) -> list[Facts]:
    """(children's product, requirement ids, warning keys, rule dates) for each profile."""
    if not profiles:
        return []
    backend: Backend = (
        DuckDBBackend() if frames.engine == "duckdb" else SparkBackend(frames.session)
    )
    later = max(horizon(kb), as_of)
    made = ManufactureDate.parse(later)
    future = [p.model_copy(update={"manufactured": made}) for p in profiles]
    n = len(profiles)
    # Both dates in one query (each row carries its own date): one run of the plan, not two
    # (on Spark each query costs seconds of planning whatever its size).
    both = nested_table([*profiles, *future])
    try:
        rows = assess_flat_raw(kb, *flatten(both, [as_of] * n + [later] * n), backend)
    finally:
        backend.close()
    now, then = rows[:n], rows[n:]
    out: list[Facts] = []
    for a, f in zip(now, then, strict=True):
        dates: dict[tuple[str, date], None] = {}
        for rid in f["requirements"]:
            start = kb.by_id[rid].effective.from_
            if start is not None:
                dates[(rid, start)] = None
        if f["toy_standard"] is not None:
            dates[(f["toy_standard"], kb.edition(f["toy_standard"]).effective_from)] = None
        out.append(
            (
                bool(a["children"]),
                list(a["requirements"]),
                sorted(set(a["warning_keys"])),
                list(dates),
            )
        )
    return out
