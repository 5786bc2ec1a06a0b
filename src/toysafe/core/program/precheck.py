"""P7 pre-check: is a seller's submission (profile, certificate, lab reports) proof for a request?

Pure: the shell passes in the parsed documents, the lab registry, the keys trusted for the seller
and the digests of reports already on file. Each failed check is a typed :class:`Finding`; the
words a seller reads are rendered at the edge (``toysafe.render.program``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import rfc8785

from toysafe.core.certificates import seal
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.verification import Verification
from toysafe.core.evidence.verify import verify
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.engine import assess
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile

ReasonCode = Literal[
    "missing_requirement",
    "report_too_old",
    "lab_not_accepted",
    "tic_not_approved",
    "age_grade_mismatch",
    "warning_mismatch",
    "model_mismatch",
    "certificate_element_missing",
    "not_full_testing",
    "failed_test",
    "forged_or_altered",
]
REVISE_CODES: frozenset[str] = frozenset(
    {
        "missing_requirement",
        "report_too_old",
        "lab_not_accepted",
        "tic_not_approved",
        "age_grade_mismatch",
        "warning_mismatch",
        "model_mismatch",
        "certificate_element_missing",
        "not_full_testing",
    }
)
REJECT_CODES: frozenset[str] = frozenset({"failed_test", "forged_or_altered"})

NextStep = Literal[
    "test_requirement",
    "submit_recent_report",
    "retest_at_accepted_lab",
    "use_approved_tic",
    "correct_listing_age",
    "correct_listing_warning",
    "correct_listing_model",
    "complete_certificate",
    "sign_certificate",
    "test_fully",
    "fix_product_and_retest",
    "await_review",
]
NEXT_STEP: dict[str, NextStep] = {
    "missing_requirement": "test_requirement",
    "report_too_old": "submit_recent_report",
    "lab_not_accepted": "retest_at_accepted_lab",
    "tic_not_approved": "use_approved_tic",
    "age_grade_mismatch": "correct_listing_age",
    "warning_mismatch": "correct_listing_warning",
    "model_mismatch": "correct_listing_model",
    "certificate_element_missing": "complete_certificate",
    "not_full_testing": "test_fully",
    "failed_test": "fix_product_and_retest",
    "forged_or_altered": "await_review",
}

# 16 CFR 1500.19 statement keys (the knowledge base's) -> the listing feed's values (contract 8.2).
CAUTIONARY_STATEMENT: dict[str, str] = {
    "small_parts": "choking_hazard_small_parts",
    "balloon": "choking_hazard_balloon",
    "small_ball": "choking_hazard_is_a_small_ball",
    "contains_small_ball": "choking_hazard_contains_small_ball",
    "marble": "choking_hazard_is_a_marble",
    "contains_marble": "choking_hazard_contains_a_marble",
}
NO_WARNING = "no_warning_applicable"
CAUTIONARY_VALUES: frozenset[str] = frozenset({*CAUTIONARY_STATEMENT.values(), NO_WARNING})

Outcome = Literal["approved", "in_review", "revision_requested"]

_NO_EXPIRY_MONTHS = 1200
# status of a verified requirement -> the reason code when it does not pass
_STATUS_CODE: dict[str, ReasonCode] = {
    "fail": "failed_test",
    "missing": "missing_requirement",
    "not_in_scope": "lab_not_accepted",
    "expired": "report_too_old",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed check: what (code), for which requirement, on which facts, and what next."""

    code: ReasonCode
    requirement: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def next_step_code(self) -> NextStep:
        if self.code == "certificate_element_missing" and self.facts.get("element") == "signature":
            return "sign_certificate"
        return NEXT_STEP[self.code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "requirement": self.requirement,
            "facts": dict(self.facts),
            "next_step_code": self.next_step_code,
        }


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the pre-check compares on the marketplace listing (contract 8.2 attributes)."""

    listing_id: str
    seller: str
    min_age_months: int | None
    cautionary_statement: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class PreCheck:
    findings: tuple[Finding, ...]
    assessment: Assessment
    verification: Verification
    relied_on: tuple[tuple[str, date], ...]  # (report_no, issued) of every report relied on
    labs_checked: bool

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def oldest_report(self) -> date | None:
        return min((d for _, d in self.relied_on), default=None)

    def outcome(self, auto_approve: bool) -> Outcome:
        return outcome(self.findings, auto_approve, self.labs_checked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "findings": [f.to_dict() for f in self.findings],
            "relied_on": [{"report_no": n, "issued": d.isoformat()} for n, d in self.relied_on],
            "labs_checked": self.labs_checked,
        }


def outcome(findings: Sequence[Finding], auto_approve: bool, labs_checked: bool = True) -> Outcome:
    """P7: clean and auto_approve -> approved; clean -> a reviewer; a finding -> revision, except
    forgery, which only a person may reject.

    >>> outcome([], True), outcome([], False), outcome([Finding("report_too_old")], True)
    ('approved', 'in_review', 'revision_requested')
    >>> outcome([Finding("report_too_old"), Finding("forged_or_altered")], True)
    'in_review'
    """
    if any(f.code == "forged_or_altered" for f in findings):
        return "in_review"
    if findings:
        return "revision_requested"
    return "approved" if auto_approve and labs_checked else "in_review"


def covers(asked: str, rid: str) -> bool:
    """Whether a requirement id asked for (possibly a section or an instrument) covers ``rid``.

    >>> covers("F963", "F963:4.6"), covers("F963:4.3.5", "F963:4.3.5.1(2)")
    (True, True)
    >>> covers("16CFR1303", "16CFR1307")
    False
    """
    return rid == asked or rid.startswith((asked + ":", asked + ".", asked + "("))


def report_digest(report: LabReport) -> str:
    """A content address for a lab report, to tell a re-submission from an altered copy."""
    body = report.model_dump(mode="json", by_alias=True, exclude_none=True)
    body.pop("format", None)
    return "sha256:" + hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def _norm_model(model: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", model.upper())


def precheck(
    *,
    required: Sequence[str],
    profile: Profile,
    certificate: Mapping[str, Any],
    reports: Sequence[LabReport],
    listing: ListingFacts,
    kb: KnowledgeBase,
    as_of: date,
    max_report_age_days: int,
    registry: LabRegistry | None,
    trusted_keys: Collection[str],
    on_file: Mapping[str, str] | None = None,
) -> PreCheck:
    """Every P7 check of one submission for the requirements ``required`` of a request."""
    assessment = assess(profile, kb, as_of)
    # age is judged below in days against the policy; the verification must not drop old
    # reports first, or the finding would be "missing" instead of "too old"
    verification = verify(profile, assessment, reports, kb, as_of, registry, _NO_EXPIRY_MONTHS)
    findings: list[Finding] = []
    findings += _forgeries(reports, on_file or {})
    findings += _signature(certificate, trusted_keys)
    findings += _evidence(required, verification)
    used = {e.report_no for r in verification.requirements for e in r.evidence}
    relied = [r for r in reports if r.report_no in used]
    findings += _ages(relied, as_of, max_report_age_days)
    findings += _certificate_elements(certificate, assessment, required, relied)
    findings += _listing(listing, profile, assessment, relied)
    return PreCheck(
        tuple(findings),
        assessment,
        verification,
        tuple(sorted(((r.report_no, r.issued) for r in relied), key=lambda x: (x[1], x[0]))),
        registry is not None,
    )


def _forgeries(reports: Sequence[LabReport], on_file: Mapping[str, str]) -> list[Finding]:
    return [
        Finding("forged_or_altered", None, {"report_no": r.report_no, "document": "report"})
        for r in reports
        if r.report_no in on_file and on_file[r.report_no] != report_digest(r)
    ]


def _signature(certificate: Mapping[str, Any], trusted_keys: Collection[str]) -> list[Finding]:
    if not isinstance(certificate.get("signature"), dict):
        return [Finding("certificate_element_missing", None, {"element": "signature"})]
    sealed = seal.check(dict(certificate))
    if not sealed.valid:
        return [
            Finding(
                "forged_or_altered",
                None,
                {"document": "certificate", "signature": "invalid", "detail": sealed.reason},
            )
        ]
    if sealed.key_id not in trusted_keys:
        return [
            Finding(
                "forged_or_altered",
                None,
                {"document": "certificate", "signature": "unknown_key", "key_id": sealed.key_id},
            )
        ]
    return []


def _evidence(required: Sequence[str], v: Verification) -> list[Finding]:
    out: list[Finding] = []
    for check in v.requirements:
        if check.status == "pass":
            continue
        asked = any(covers(a, check.id) for a in required)
        code = _STATUS_CODE[check.status]
        if not asked and code == "missing_requirement":
            code = "not_full_testing"
        facts: dict[str, Any] = {"status": check.status}
        comps = [c.component for c in check.components if c.component and c.status != "pass"]
        if comps:
            facts["components"] = comps
        reports = sorted({e.report_no for e in check.evidence})
        if reports:
            facts["reports"] = reports
        out.append(Finding(code, check.id, facts))
    return out


def _ages(relied: Sequence[LabReport], as_of: date, max_days: int) -> list[Finding]:
    out: list[Finding] = []
    for r in relied:
        age = (as_of - r.issued).days
        if age > max_days:
            out.append(
                Finding(
                    "report_too_old",
                    None,
                    {
                        "report_no": r.report_no,
                        "issued": r.issued.isoformat(),
                        "age_days": age,
                        "max_report_age_days": max_days,
                    },
                )
            )
    return out


_PARTY = ("name", "address")


def _certificate_elements(
    doc: Mapping[str, Any],
    assessment: Assessment,
    required: Sequence[str],
    relied: Sequence[LabReport],
) -> list[Finding]:
    """Every 16 CFR 1110.11 element, each rule the request asks for, each lab relied on."""
    cert = doc.get("certificate")
    if not isinstance(cert, dict):
        return [Finding("certificate_element_missing", None, {"element": "certificate"})]
    missing: list[str] = []

    def need(path: str) -> Any:
        node: Any = cert
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node in (None, "", [], {}):
            missing.append(path)
        return node

    product: dict[str, Any] = cert["product"] if isinstance(cert.get("product"), dict) else {}
    if not any(product.get(k) for k in ("sku", "model", "gtin")):
        missing.append("product.id")
    need("product.name")
    for party in ("certifier", "records_custodian"):
        for key in _PARTY:
            need(f"{party}.{key}")
        node = cert.get(party)
        if isinstance(node, dict) and not (node.get("phone") or node.get("email")):
            missing.append(f"{party}.contact")
    need("manufacture.date")
    need("manufacture.city")
    need("manufacture.country")
    rules = need("rules")
    testing = need("testing")
    kind = cert.get("type")
    labs = need("labs") if kind == "CPC" else cert.get("labs")
    out = [Finding("certificate_element_missing", None, {"element": m}) for m in missing]
    cited = {r.get("id") for r in rules or [] if isinstance(r, dict)}
    for app in assessment.lab_requirements:
        if any(covers(a, app.id) for a in required) and app.id not in cited:
            out.append(
                Finding("certificate_element_missing", app.id, {"element": "rules", "cited": False})
            )
    for t in testing or []:
        if isinstance(t, dict) and not (t.get("tested_from") and t.get("place")):
            out.append(
                Finding(
                    "certificate_element_missing",
                    None,
                    {"element": "testing.date_and_place", "report_no": t.get("report_no")},
                )
            )
    lab_ids = {lab.get("cpsc_id") for lab in labs or [] if isinstance(lab, dict)}
    for lab in labs or []:
        if isinstance(lab, dict):
            for key in ("name", "address", "phone", "cpsc_id"):
                if not lab.get(key):
                    out.append(
                        Finding(
                            "certificate_element_missing",
                            None,
                            {"element": f"labs.{key}", "lab": lab.get("cpsc_id")},
                        )
                    )
    if kind == "CPC":
        for r in relied:
            if r.lab.cpsc_id not in lab_ids:
                out.append(
                    Finding(
                        "certificate_element_missing",
                        None,
                        {"element": "labs", "lab": r.lab.cpsc_id, "report_no": r.report_no},
                    )
                )
    return out


def _listing(
    listing: ListingFacts,
    profile: Profile,
    assessment: Assessment,
    relied: Sequence[LabReport],
) -> list[Finding]:
    out: list[Finding] = []
    # age grade: the listing's minimum age at or above every report's (else the profile's) grade
    grades: list[tuple[str | None, int]] = [
        (r.report_no, r.age_grade.min_months) for r in relied if r.age_grade
    ] or [(None, profile.age.min_months)]
    if listing.min_age_months is None:
        out.append(Finding("age_grade_mismatch", None, {"listing_min_age_months": None}))
    else:
        for report_no, grade in grades:
            if listing.min_age_months < grade:
                out.append(
                    Finding(
                        "age_grade_mismatch",
                        None,
                        {
                            "listing_min_age_months": listing.min_age_months,
                            "age_grade_min_months": grade,
                            "report_no": report_no,
                        },
                    )
                )
    # cautionary statement: consistent with the statements toysafe says are due
    due = sorted(
        {CAUTIONARY_STATEMENT[w.key] for w in assessment.warnings if w.key in CAUTIONARY_STATEMENT}
    )
    stated = (listing.cautionary_statement or "").strip() or None
    ok = stated in due if due else stated in (None, NO_WARNING)
    if not ok:
        out.append(
            Finding(
                "warning_mismatch",
                "16CFR1500.20",
                {"listing_cautionary_statement": stated, "due": due or [NO_WARNING]},
            )
        )
    # model: the listing's model is the one the reports (else the profile) tested
    named = {p.model for r in relied for p in r.products if p.model} or (
        {profile.model} if profile.model else set()
    )
    if listing.model is None or not listing.model.strip():
        out.append(
            Finding("model_mismatch", None, {"listing_model": None, "tested": sorted(named)})
        )
    elif named and _norm_model(listing.model) not in {_norm_model(m) for m in named}:
        out.append(
            Finding(
                "model_mismatch", None, {"listing_model": listing.model, "tested": sorted(named)}
            )
        )
    return out
