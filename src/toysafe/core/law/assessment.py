"""The result of an assessment (contract section 3, ``toysafe/assessment@1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from toysafe.core.law.conditions import TraceStep, step_dict
from toysafe.core.reasons import Reason, texts

CertificateType = Literal["CPC", "GCC", "none"]


@dataclass(slots=True)
class ComponentDecision:
    id: str
    third_party_testing: bool
    why: tuple[Reason, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons as sentences (rendered from ``why``)."""
        return texts(self.why)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "third_party_testing": self.third_party_testing,
            "reasons": list(self.reasons),
        }


@dataclass(slots=True)
class Applicable:
    id: str
    title: str
    citation: str
    third_party_testing: bool
    why: tuple[Reason, ...]
    components: tuple[ComponentDecision, ...] = ()
    excluded_components: tuple[tuple[str, Reason], ...] = ()
    certificate_rule: bool = True
    confidence: str = "confirmed"
    trace: tuple[TraceStep, ...] = ()
    basis: str = "manufacture"

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons as sentences (rendered from ``why``)."""
        return texts(self.why)

    def to_dict(self, trace: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "citation": self.citation,
            "basis": self.basis,
            "third_party_testing": self.third_party_testing,
            "components": [c.to_dict() for c in self.components],
            "reasons": list(self.reasons),
            "certificate_rule": self.certificate_rule,
            "confidence": self.confidence,
        }
        if self.excluded_components:
            out["excluded_components"] = [
                {"id": cid, "reason": str(why)} for cid, why in self.excluded_components
            ]
        if trace:
            out["trace"] = [step_dict(t) for t in self.trace]
        return out


@dataclass(slots=True)
class NotApplicable:
    id: str
    title: str
    citation: str
    why: tuple[Reason, ...]
    trace: tuple[TraceStep, ...] = ()
    basis: str = "manufacture"

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons as sentences (rendered from ``why``)."""
        return texts(self.why)

    def to_dict(self, trace: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "citation": self.citation,
            "basis": self.basis,
            "reasons": list(self.reasons),
        }
        if trace:
            out["trace"] = [step_dict(t) for t in self.trace]
        return out


@dataclass(frozen=True, slots=True)
class WarningDue:
    id: str
    key: str
    text: str
    citation: str
    online: str | None
    text_ascii: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "key": self.key, "text": self.text, "citation": self.citation}
        if self.text_ascii and self.text_ascii != self.text:
            out["text_ascii"] = self.text_ascii
        if self.online:
            out["online_listing"] = self.online
        return out


@dataclass(frozen=True, slots=True)
class Alert:
    """A situation the requirement bans outright (KB ``violations``): code ``banned_situation``,
    the KB's words for it and the tests that held as facts, the requirement's citation."""

    requirement: str
    reason: Reason

    @property
    def code(self) -> str:
        return self.reason.code

    @property
    def message(self) -> str:
        """The sentence for people (rendered from ``reason``)."""
        return str(self.reason)

    def to_dict(self) -> dict[str, Any]:
        out = {"requirement": self.requirement, **self.reason.to_dict()}
        out["message"] = out.pop("text")
        return out


@dataclass(frozen=True, slots=True)
class Assessment:
    sku: str
    as_of: date
    children_product: bool
    certificate: CertificateType
    toy_standard: str | None
    toy_standard_reason: str
    manufactured: str | None
    requirements: tuple[Applicable, ...]
    not_applicable: tuple[NotApplicable, ...]
    warnings: tuple[WarningDue, ...]
    alerts: tuple[Alert, ...] = ()
    notes: tuple[Reason, ...] = field(default_factory=tuple)
    rules_version: str = "unversioned"

    @property
    def note_texts(self) -> tuple[str, ...]:
        """The notes as sentences (rendered from ``notes``)."""
        return texts(self.notes)

    def requirement(self, rid: str) -> Applicable | None:
        return next((r for r in self.requirements if r.id == rid), None)

    @property
    def lab_requirements(self) -> tuple[Applicable, ...]:
        return tuple(r for r in self.requirements if r.third_party_testing)

    def to_dict(self, trace: bool = True) -> dict[str, Any]:
        return {
            "format": "toysafe/assessment@1",
            "sku": self.sku,
            "as_of": self.as_of.isoformat(),
            "children_product": self.children_product,
            "certificate": self.certificate,
            "toy_standard": self.toy_standard,
            "toy_standard_reason": self.toy_standard_reason,
            "manufactured": self.manufactured,
            "requirements": [r.to_dict(trace) for r in self.requirements],
            "not_applicable": [n.to_dict(trace) for n in self.not_applicable],
            "warnings": [w.to_dict() for w in self.warnings],
            "alerts": [a.to_dict() for a in self.alerts],
            "notes": list(self.note_texts),
            "note_reasons": [n.to_dict() for n in self.notes],
            "rules_version": self.rules_version,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """What bulk work (catalog status, rule-change impact) needs of an assessment."""

    sku: str
    certificate: CertificateType
    toy_standard: str | None
    applicable: tuple[str, ...]
    lab: tuple[str, ...]
    warnings: tuple[str, ...]

    @classmethod
    def of(cls, a: Assessment) -> Summary:
        return cls(
            a.sku,
            a.certificate,
            a.toy_standard,
            tuple(r.id for r in a.requirements),
            tuple(r.id for r in a.requirements if r.third_party_testing),
            tuple(w.key for w in a.warnings),
        )
