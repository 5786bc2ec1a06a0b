"""Rule-change impact, pure: what changes for a product between the rules of two dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from toysafe.core.law.dates import ManufactureDate
from toysafe.core.law.engine import assess
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile


@dataclass
class Impact:
    sku: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    lab_added: list[str] = field(default_factory=list)
    lab_removed: list[str] = field(default_factory=list)
    edition: tuple[str | None, str | None] = (None, None)
    certificates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.added
            or self.removed
            or self.lab_added
            or self.lab_removed
            or self.edition[0] != self.edition[1]
            or self.certificates
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "requirements_added": self.added,
            "requirements_removed": self.removed,
            "lab_tests_added": self.lab_added,
            "lab_tests_removed": self.lab_removed,
            "toy_standard": {"from": self.edition[0], "to": self.edition[1]},
            "certificates": self.certificates,
        }


def _as_new_production(profile: Profile, day: date) -> Profile:
    return profile.model_copy(update={"manufactured": ManufactureDate.parse(day)})


def impact(
    sku: str,
    profile: Profile,
    certificates: list[dict[str, Any]],
    kb: KnowledgeBase,
    start: date,
    end: date,
) -> Impact:
    """Assess the product as if made on each date; compare; flag certificates whose F963
    edition is no longer in force for new production, with the lots made since."""
    before = assess(_as_new_production(profile, start), kb, start)
    after = assess(_as_new_production(profile, end), kb, end)
    ids_b = {r.id for r in before.requirements}
    ids_a = {r.id for r in after.requirements}
    lab_b = {r.id for r in before.lab_requirements}
    lab_a = {r.id for r in after.lab_requirements}
    out = Impact(
        sku,
        sorted(ids_a - ids_b),
        sorted(ids_b - ids_a),
        sorted(lab_a - lab_b),
        sorted(lab_b - lab_a),
        (before.toy_standard, after.toy_standard),
    )
    current = after.toy_standard
    if current is not None and certificates:
        latest = certificates[-1]
        cited = latest.get("toy_standard")
        if cited and cited != current:
            since = kb.edition(current).effective_from
            lots = [
                lot["lot"]
                for lot in latest.get("lots", [])
                if ManufactureDate.parse(lot["manufactured"]).last >= since
            ]
            out.certificates.append(
                {
                    "certificate": latest["id"],
                    "cites": cited,
                    "in_force": current,
                    "since": since.isoformat(),
                    "lots_made_since": lots,
                    "action": f"retest to {current} and reissue for production from "
                    f"{since.isoformat()}",
                }
            )
    return out
