"""Facts derived once from a profile and a date: the inputs every rule looks at."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from toysafe.core.law.dates import from_age
from toysafe.core.law.profile import Component, Profile
from toysafe.core.law.vocabulary import FEATURES, MOUTHING_FEATURES

MOUTHING_PRESUMED_UNDER_MONTHS = 72  # CPSC toy guidance: toys for children under 6


@dataclass(frozen=True, slots=True)
class ComponentFacts:
    component: Component
    mouthable: bool
    mouth_reason: str

    @property
    def id(self) -> str:
        return self.component.id

    @property
    def material(self) -> str:
        return self.component.material


@dataclass(frozen=True, slots=True)
class Edition:
    id: str
    effective_from: date
    rank: int


@dataclass(slots=True)
class ProductFacts:
    """Everything a rule may ask about one product on one date."""

    profile: Profile
    as_of: date
    made: date
    made_known: bool
    features: dict[str, dict[str, Any]]
    min_months: int
    children: bool
    toy: bool
    toy_standard_scope: bool
    edition: Edition | None
    components: tuple[ComponentFacts, ...]
    warnings_due: tuple[str, ...] = ()
    scopes: dict[str, tuple[bool, Any, Any]] = field(default_factory=dict)

    @property
    def made_iso(self) -> str:
        return self.made.isoformat()

    @property
    def has_small_parts(self) -> bool:
        return any(c.component.small_part for c in self.components)


def mouthing(c: Component, profile: Profile) -> tuple[bool, str]:
    """Whether a component can be sucked, mouthed or ingested, and why (CPSC toy guidance)."""
    if c.mouth_contact is not None:
        return c.mouth_contact, (
            "declared to contact the mouth"
            if c.mouth_contact
            else "declared not to reach the mouth"
        )
    if not c.accessible:
        return False, "not accessible, so it cannot be mouthed"
    mouthing_features = MOUTHING_FEATURES.intersection(profile.features)
    if mouthing_features:
        name = sorted(mouthing_features)[0]
        return True, f"{FEATURES[name].present}: made to be mouthed"
    if profile.judged_min_months < MOUTHING_PRESUMED_UNDER_MONTHS:
        return True, "toy for children under 6: parts presumed to reach the mouth"
    return False, (
        f"toy for children {from_age(profile.judged_min_months)}, not likely to be mouthed"
    )


def derive(profile: Profile, as_of: date, edition: Edition | None) -> ProductFacts:
    made_known = profile.manufactured is not None
    # A month-only date stands for its last day: the newer rule wins when a change falls inside.
    made = profile.manufactured.last if profile.manufactured is not None else as_of
    comps = tuple(ComponentFacts(c, *mouthing(c, profile)) for c in profile.components)
    return ProductFacts(
        profile=profile,
        as_of=as_of,
        made=made,
        made_known=made_known,
        features=profile.features,
        min_months=profile.judged_min_months,
        children=profile.is_children_product,
        toy=profile.toy,
        toy_standard_scope=profile.in_toy_standard_scope and edition is not None,
        edition=edition,
        components=comps,
    )
