"""The result of verifying lab evidence (contract section 6, ``toysafe/verification@1``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from toysafe.core.reasons import Reason

Status = Literal["pass", "fail", "missing", "not_in_scope", "expired"]
# When components disagree, the requirement takes the most serious status.
SEVERITY: dict[Status, int] = {"fail": 4, "not_in_scope": 3, "missing": 2, "expired": 1, "pass": 0}


@dataclass(frozen=True, slots=True)
class Evidence:
    report_no: str
    component: str | None
    analyte: str | None = None


@dataclass(slots=True)
class ComponentCheck:
    component: str | None
    status: Status
    evidence: list[Evidence] = field(default_factory=list)
    found: list[Reason] = field(default_factory=list)
    valid_until: date | None = None

    @property
    def findings(self) -> list[str]:
        """The findings as sentences (rendered from ``found``)."""
        return [str(r) for r in self.found]


@dataclass(slots=True)
class RequirementCheck:
    id: str
    title: str
    status: Status
    components: list[ComponentCheck]
    found: list[Reason]

    @property
    def findings(self) -> list[str]:
        """The findings as sentences (rendered from ``found``)."""
        return [str(r) for r in self.found]

    @property
    def evidence(self) -> list[Evidence]:
        return [e for c in self.components for e in c.evidence]

    @property
    def valid_until(self) -> date | None:
        dates = [c.valid_until for c in self.components if c.valid_until]
        return min(dates) if dates else None

    def evidence_dicts(self) -> list[dict[str, Any]]:
        """One entry per report and component, with the analytes it settled."""
        grouped: dict[tuple[str, str | None], list[str]] = {}
        for e in self.evidence:
            analytes = grouped.setdefault((e.report_no, e.component), [])
            if e.analyte:
                analytes.append(e.analyte)
        return [
            {"report_no": no, "component": comp, **({"analytes": a} if a else {})}
            for (no, comp), a in grouped.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "evidence": self.evidence_dicts(),
            "findings": list(self.findings),
            "components": [
                {"id": c.component, "status": c.status} for c in self.components if c.component
            ],
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
        }


@dataclass(slots=True)
class ReportUse:
    report_no: str
    lab: str
    issued: date
    used: bool
    found: list[Reason]

    @property
    def findings(self) -> list[str]:
        """The findings as sentences (rendered from ``found``)."""
        return [str(r) for r in self.found]

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_no": self.report_no,
            "lab": self.lab,
            "issued": self.issued.isoformat(),
            "used": self.used,
            "findings": list(self.findings),
        }


@dataclass(frozen=True, slots=True)
class NotAssessed:
    """A report line for a rule toysafe does not assess (a state law, a retailer's own test,
    16 CFR 1500.48 sharp points...): kept with the report, never a reason to refuse it."""

    requirement: str
    report_no: str
    component: str | None
    verdict: str | None
    value: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "report_no": self.report_no,
            "component": self.component,
            "verdict": self.verdict,
            "value": self.value,
            "status": "not_assessed",
        }


@dataclass(slots=True)
class Verification:
    sku: str
    as_of: date
    certifiable: bool
    requirements: list[RequirementCheck]
    reports: list[ReportUse]
    found: list[Reason]
    max_age_months: int
    labs_checked: bool
    #: Limits judged for rules that apply but owe no lab test (e.g. made before the duty).
    limit_checks: list[RequirementCheck] = field(default_factory=list)
    not_assessed: list[NotAssessed] = field(default_factory=list)
    rules_version: str = "unversioned"

    @property
    def findings(self) -> list[str]:
        """The findings as sentences (rendered from ``found``)."""
        return [str(r) for r in self.found]

    def codes(self) -> set[str]:
        """Every reason code of every finding (of the product, its requirements, components)."""
        reasons = [*self.found, *(r for u in self.reports for r in u.found)]
        for req in self.requirements:
            reasons += req.found
            for c in req.components:
                reasons += c.found
        return {code for r in reasons for code in r.codes()}

    @property
    def valid_until(self) -> date | None:
        dates = [r.valid_until for r in self.requirements if r.valid_until]
        return min(dates) if dates else None

    def requirement(self, rid: str) -> RequirementCheck | None:
        found = (r for r in (*self.requirements, *self.limit_checks) if r.id == rid)
        return next(found, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "toysafe/verification@1",
            "sku": self.sku,
            "as_of": self.as_of.isoformat(),
            "certifiable": self.certifiable,
            "requirements": [r.to_dict() for r in self.requirements],
            "reports": [r.to_dict() for r in self.reports],
            "findings": list(self.findings),
            "max_evidence_age_months": self.max_age_months,
            "labs_checked": self.labs_checked,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "limit_checks": [r.to_dict() for r in self.limit_checks],
            "not_assessed": [n.to_dict() for n in self.not_assessed],
            "rules_version": self.rules_version,
        }
