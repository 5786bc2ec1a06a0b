"""Synthetic, boundary-heavy product profiles for proving the bulk plan equal to the per-item
engine (tests, benchmarks). The thresholds come from the knowledge base itself, so a new rule's
ages and dates are exercised without a change here.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from toysafe.core.law.facts import MOUTHING_PRESUMED_UNDER_MONTHS
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import CHILDREN_MAX_MONTHS, TOY_STANDARD_UNDER_MONTHS, Profile
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS

#: Whether the profile model knows age determinations (an age that outranks the label).
_AGE_DETERMINATION = "age_determination" in Profile.model_fields


def _walk(spec: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, argument) of a condition, combinators included."""
    if not isinstance(spec, dict):
        return
    for key, arg in spec.items():
        if key in ("because", "otherwise"):
            continue
        yield key, arg
        if key in ("all", "any"):
            for s in arg:
                yield from _walk(s)
        elif key == "not":
            yield from _walk(arg)


def kb_conditions(kb: KnowledgeBase) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every condition of the knowledge base, with where it sits."""
    for r in kb.requirements:
        if r.applies_when is not None:
            yield f"{r.id} applies_when", r.applies_when
        if r.third_party_when is not None:
            yield f"{r.id} third_party_when", r.third_party_when
        for e in r.exceptions:
            yield f"{r.id} exception {e.id}", e.when
        for s in r.statements:
            yield f"{r.id} statement {s.key}", s.when
        for v in r.violations:
            yield f"{r.id} violation", v.when


def condition_keys(kb: KnowledgeBase) -> set[str]:
    return {k for _, spec in kb_conditions(kb) for k, _ in _walk(spec)}


def thresholds(kb: KnowledgeBase) -> tuple[list[int], list[date]]:
    """Every age (months) and date the rules turn on, each with its neighbours (±1)."""
    ages = {CHILDREN_MAX_MONTHS, TOY_STANDARD_UNDER_MONTHS, MOUTHING_PRESUMED_UNDER_MONTHS, 0}
    days: set[date] = set()
    for _, spec in kb_conditions(kb):
        for key, arg in _walk(spec):
            if key in ("age_under_months", "age_at_least_months"):
                ages.add(arg)
            elif key == "made_on_or_after":
                days.add(arg if isinstance(arg, date) else date.fromisoformat(arg))
    for r in kb.requirements:
        days.update(d for d in (r.effective.from_, r.effective.to) if d is not None)
    days.update(e.effective_from for e in kb.editions)
    days.update(d.effective_from for d in kb.determinations.values())
    # Dated duties (third-party testing, certification), where the knowledge base has them.
    for r in kb.requirements:
        duty = getattr(r, "third_party_duty", None)
        if duty is not None:
            days.add(duty.from_)
    days.update(d.from_ for d in (getattr(kb, "duties", None) or {}).values())
    age_list = sorted({a + d for a in ages for d in (-1, 0, 1) if 0 <= a + d <= 1200})
    day_list = sorted({x + timedelta(days=d) for x in days for d in (-1, 0, 1)})
    return age_list, day_list


class ProfileMaker:
    """Random profiles (contract form) that sit on the knowledge base's boundaries."""

    def __init__(self, kb: KnowledgeBase, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.ages, self.days = thresholds(kb)
        self.materials = sorted(MATERIALS)
        self.features = sorted(FEATURES)

    def _day(self) -> date:
        r = self.rng
        if r.random() < 0.7:
            return r.choice(self.days)
        return date(2005, 1, 1) + timedelta(days=r.randrange(365 * 23))

    def as_of(self) -> date:
        return self._day() if self.rng.random() < 0.5 else date(2026, 11, 21)

    def _feature(self, name: str) -> Any:
        r = self.rng
        params: dict[str, Any] = {}
        for key, spec in FEATURES[name].params.items():
            if r.random() < 0.6:
                params[key] = r.choice(spec) if isinstance(spec, tuple) else r.random() < 0.5
        return {name: params} if params else name

    def _component(self, i: int) -> dict[str, Any]:
        r = self.rng
        c: dict[str, Any] = {"id": f"c{i}", "material": r.choice(self.materials)}
        for key, values in (
            ("accessible", [True, False]),
            ("mouth_contact", [True, False, None]),
            ("small_part", [True, False]),
            ("fiber", list(FIBERS)),
            ("unfinished", [True, False]),
        ):
            if r.random() < 0.5:
                c[key] = r.choice(values)
        return c

    def profile(self, i: int) -> dict[str, Any]:
        r = self.rng
        age = r.choice(self.ages) if r.random() < 0.8 else r.randrange(0, 241)
        data: dict[str, Any] = {
            "sku": f"SYN-{i}",
            "name": "Synthetic toy",
            "age": {"min_months": age},
        }
        if r.random() < 0.3:
            data["age"]["max_months"] = age + r.randrange(0, 60)
        if _AGE_DETERMINATION and r.random() < 0.1:
            judged = r.choice(self.ages)
            data["age_determination"] = {"min_months": judged, "by": "CPSC recall notice"}
        if r.random() < 0.2:
            data["toy"] = r.random() < 0.6
        if r.random() < 0.2:
            data["children_product"] = r.random() < 0.5
        roll = r.random()
        if roll < 0.6:
            data["manufactured"] = self._day().isoformat()
        elif roll < 0.85:
            data["manufactured"] = self._day().isoformat()[:7]
        names = r.sample(self.features, r.choice([0, 1, 1, 2, 3, 5]))
        data["features"] = [self._feature(n) for n in names]
        data["components"] = [self._component(k) for k in range(r.choice([0, 1, 1, 2, 3, 4]))]
        return data
