"""A test plan for quotes: one line per lab requirement and component, with what to test."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from toysafe.core.evidence.verify import limits_for
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.facts import ComponentFacts, mouthing
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile


@dataclass(frozen=True, slots=True)
class PlanLine:
    requirement: str
    title: str
    citation: str
    component: str
    component_name: str
    material: str
    analytes: str
    method: str
    sample: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = tuple(PlanLine.__dataclass_fields__)


def test_plan(profile: Profile, assessment: Assessment, kb: KnowledgeBase) -> list[PlanLine]:
    """Every line a lab must quote, in the order of the regulation."""
    made = profile.manufactured.last if profile.manufactured else assessment.as_of
    comps = {c.id: c for c in profile.components}
    lines: list[PlanLine] = []
    for app in assessment.lab_requirements:
        req = kb.by_id[app.id]
        method = req.testing.method if req.testing and req.testing.method else ""
        sample = req.testing.sample if req.testing and req.testing.sample else "finished product"
        per_component = req.components is not None and req.components.required
        targets = [c.id for c in app.components if c.third_party_testing] if per_component else []
        for cid in list[str | None](targets) or [None]:
            comp = comps.get(cid) if cid else None
            facts = ComponentFacts(comp, *mouthing(comp, profile)) if comp else None
            limits = limits_for(req, facts, made, assessment.as_of)
            analytes = sorted(a for a, lim in limits.items() if lim.limit.required)
            optional = sorted(a for a, lim in limits.items() if not lim.limit.required)
            text = ", ".join(analytes + [f"{a} (if applicable)" for a in optional])
            related = ", ".join(c.id for c in app.components) if not per_component else ""
            lines.append(
                PlanLine(
                    requirement=app.id,
                    title=app.title,
                    citation=app.citation,
                    component=cid or related,
                    component_name=(comp.name or "")
                    if comp
                    else ("" if related else "whole product"),
                    material=comp.material if comp else "",
                    analytes=text,
                    method=method,
                    sample=f"{comp.name or comp.id} ({comp.material})" if comp else sample,
                )
            )
    return lines
