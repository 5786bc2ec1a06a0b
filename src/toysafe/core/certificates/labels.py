"""What goes on the product and its package: the tracking label and the warnings due."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from toysafe.core.certificates.party import Party, manufacturer_of
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.dates import ManufactureDate
from toysafe.core.law.profile import Profile
from toysafe.core.reasons import Reason

SIGNALS = ("WARNING:", "CAUTION:", "DANGER:")


@dataclass(frozen=True, slots=True)
class LabelWarning:
    signal: str
    body: str
    citation: str
    text_ascii: str | None = None

    @property
    def text(self) -> str:
        return f"{self.signal} {self.body}"


@dataclass(frozen=True, slots=True)
class Label:
    sku: str
    tracking: tuple[str, ...]
    warnings: tuple[LabelWarning, ...]
    online: bool
    notes: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "toysafe/labels@1",
            "sku": self.sku,
            "tracking_label": {"lines": list(self.tracking), "citation": "15 U.S.C. 2063(a)(5)"},
            "warnings": [
                {
                    "text": w.text,
                    "text_ascii": w.text_ascii or w.text,
                    "citation": w.citation,
                    "safety_alert_symbol": True,
                }
                for w in self.warnings
            ],
            "online_listing": {
                "required": self.online,
                "citation": "16 CFR 1500.20",
                "statements": [w.text for w in self.warnings] if self.online else [],
            },
            "notes": [str(n) for n in self.notes],
            "note_reasons": [n.to_dict() for n in self.notes],
        }


def _split(text: str) -> tuple[str, str]:
    for s in SIGNALS:
        if text.startswith(s):
            return s, text[len(s) :].strip()
    return "", text


def make_label(
    profile: Profile,
    assessment: Assessment,
    lot: str,
    made: ManufactureDate,
    party: Party | None = None,
) -> Label:
    """Tracking-label content (CPSA section 14(a)(5)) and every cautionary statement due."""
    if party is not None:
        who = f"{party.certifier.name}, {party.certifier.address}"
    elif profile.brand:
        who = profile.brand
    else:
        raise ValueError(
            "the tracking label needs the manufacturer or private labeler: give "
            "--party or a brand in the profile"
        )
    place = profile.made_in
    if place is None:
        raise ValueError("made_in: the place of production is required on a tracking label")
    ident = " · ".join(
        x for x in (f"Model {profile.model}" if profile.model else "", f"SKU {profile.sku}") if x
    )
    tracking = [
        f"{'Imported by' if place.country != 'US' and party else 'By'} {who}",
        f"Made in {place.city}, {place.country} · {made.first:%B %Y}",
        f"Batch/run {lot}",
        ident,
    ]
    factory = manufacturer_of(profile, party)  # the same manufacturer as the certificate
    if factory is not None:
        tracking.append(f"Factory: {factory['name']}, {factory['address']}")
    warnings = tuple(
        LabelWarning(*_split(w.text), w.citation, w.text_ascii) for w in assessment.warnings
    )
    notes = []
    if not assessment.children_product:
        notes.append(Reason("tracking_label_not_required"))
    return Label(
        profile.sku,
        tuple(tracking),
        warnings,
        online=any(w.online for w in assessment.warnings),
        notes=tuple(notes),
    )
