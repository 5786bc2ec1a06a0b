"""The certificate (``toysafe/certificate@1``): every element 16 CFR part 1110 asks for, built
from the assessment, the verification and the parties. Pure: signing happens elsewhere."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from toysafe.core.certificates.party import Party, manufacturer_of
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.verification import Verification
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.profile import Profile

EXEMPTED = "determination_exempts"  # the reason code of a Commission testing exemption
FORMAT = "toysafe/certificate@1"
ATTESTATION = {
    "CPC": (
        "The certifier named in this certificate certifies that the children's product identified "
        "here complies with each rule, ban, standard and regulation cited, based on passing "
        "results of tests by the CPSC-accepted third-party laboratories listed."
    ),
    "GCC": (
        "The certifier named in this certificate certifies that the product identified here "
        "complies with each rule, ban, standard and regulation cited, based on a test of each "
        "product or on a reasonable testing program."
    ),
}


class CertificateError(ValueError):
    """A certificate cannot be issued: the reason names what is missing."""


MAX_ID = 120  # the certificates table's id column


def certificate_id(
    kind: str, sku: str, issued: date, version: int, discriminator: str | None = None
) -> str:
    """A readable, stable id: type, SKU, issue date and version; ``discriminator`` (a short
    hash of the organization and exact SKU) tells apart certificates whose readable ids would
    collide (two organizations, or SKUs spelt alike, certified the same day).

    >>> certificate_id("CPC", "hb rat/01", date(2026, 11, 21), 2)
    'CPC-HB-RAT-01-20261121-V2'
    >>> certificate_id("CPC", "hb rat/01", date(2026, 11, 21), 2, "1a2b3c4d")
    'CPC-HB-RAT-01-20261121-V2-1a2b3c4d'
    """
    tail = f"-{issued:%Y%m%d}-V{version}" + (f"-{discriminator}" if discriminator else "")
    slug = re.sub(r"[^A-Z0-9]+", "-", sku.upper()).strip("-")
    return f"{kind}-{slug[: MAX_ID - len(kind) - 1 - len(tail)]}{tail}"


def id_discriminator(org: str, sku: str) -> str:
    """Eight hex digits of SHA-256 over the organization and the exact SKU."""
    import hashlib

    return hashlib.sha256(f"{org}\x00{sku}".encode()).hexdigest()[:8]


def product_id(profile: Profile) -> tuple[str, str]:
    """The eFiling product identifier: the GTIN when there is one, else the model, else SKU."""
    if profile.gtin:
        return profile.gtin, "GTIN"
    if profile.model:
        return profile.model, "MODEL"
    return profile.sku, "SKU"


def build_certificate(
    profile: Profile,
    assessment: Assessment,
    verification: Verification,
    reports: Sequence[LabReport],
    registry: LabRegistry | None,
    party: Party,
    issued: date,
    version: int = 1,
    lot: str | None = None,
    id_discriminator: str | None = None,
) -> dict[str, Any]:
    """The unsigned certificate document; raises CertificateError if an element is missing."""
    if assessment.certificate == "none":
        raise CertificateError(
            "no certificate applies: the product is subject to no rule that needs one"
        )
    if not verification.certifiable:
        raise CertificateError("verification does not pass: run toysafe verify for the findings")
    if profile.manufactured is None:
        raise CertificateError(
            "manufactured: the date of manufacture (month and year at least) "
            "is required for a certificate"
        )
    if profile.made_in is None:
        raise CertificateError(
            "made_in: the place of manufacture (city and country) is required for a certificate"
        )
    kind = assessment.certificate
    used = {e.report_no for r in verification.requirements for e in r.evidence}
    relied = [r for r in reports if r.report_no in used]
    by_report: dict[str, list[str]] = {}
    for check in verification.requirements:
        for e in check.evidence:
            ids = by_report.setdefault(e.report_no, [])
            if check.id not in ids:
                ids.append(check.id)
    labs = _labs(relied, registry) if kind == "CPC" else []
    missing = [
        f"lab {lab['cpsc_id']} ({lab['name']}): {field} is unknown; add it to the lab registry"
        for lab in labs
        for field in ("address", "phone")
        if not lab.get(field)
    ]
    if missing:
        raise CertificateError("; ".join(missing))
    pid, pid_type = product_id(profile)
    rules = [
        {
            "id": r.id,
            "title": r.title,
            "citation": r.citation,
            "third_party_testing": r.third_party_testing,
        }
        for r in assessment.requirements
        if r.certificate_rule
    ]
    exclusions = [  # testing exclusions relied on: Commission determinations per component
        {"requirement": r.id, "component": c.id, "basis": str(basis), "citation": basis.citation}
        for r in assessment.requirements
        for c in r.components
        if not c.third_party_testing
        for basis in c.why
        if basis.code == EXEMPTED
    ]
    testing = [
        {
            "report_no": r.report_no,
            "lab_cpsc_id": r.lab.cpsc_id,
            "issued": r.issued.isoformat(),
            "tested_from": r.tested.from_.isoformat(),
            "tested_to": r.tested.to.isoformat(),
            "place": r.tested.place,
            "standard": r.standard,
            "requirements": by_report.get(r.report_no, []),
        }
        for r in sorted(relied, key=lambda x: x.tested.to)
    ]
    last_test = max((r.tested.to for r in relied), default=None)
    cid = certificate_id(kind, profile.sku, issued, version, id_discriminator)
    manufacturer = manufacturer_of(profile, party)
    if manufacturer is None:
        raise CertificateError(
            "manufacturer: the finished product's manufacturer (name and address) is required "
            "for a certificate (16 CFR 1110); give it in the profile or the party file"
        )
    return {
        "format": FORMAT,
        "certificate": {
            "id": cid,
            "type": kind,
            "version": version,
            "issued": issued.isoformat(),
            "product": {
                "sku": profile.sku,
                "name": profile.name,
                "brand": profile.brand,
                "model": profile.model,
                "gtin": profile.gtin,
                "asins": list(profile.asins),
                "age": profile.age.model_dump(exclude_none=True),
            },
            "toy_standard": assessment.toy_standard,
            "rules": rules,
            "rules_version": assessment.rules_version,
            "certifier": party.certifier.model_dump(exclude_none=True),
            "records_custodian": party.records_custodian.model_dump(exclude_none=True),
            "manufacturer": manufacturer,
            "manufacture": {
                "date": profile.manufactured.text,
                "city": profile.made_in.city,
                "country": profile.made_in.country,
                "lot": lot,
            },
            "testing": testing,
            "labs": labs,
            "exclusions": exclusions,
            "attestation": ATTESTATION[kind],
            "efiling": {
                "certifier_id": party.certifier_id,
                "product_id": pid,
                "product_id_type": pid_type,
                "certificate_version_id": str(version),
                "certificate_type": kind,
                "citations": [r["id"] for r in rules],
                "manufacture_date": profile.manufactured.text,
                "manufacture_place": f"{profile.made_in.city}, {profile.made_in.country}",
                "last_test_date": last_test.isoformat() if last_test else None,
                "labs": [lab["cpsc_id"] for lab in labs],
                "exclusions": [f"{x['requirement']}:{x['component']}" for x in exclusions],
            },
        },
    }


def _labs(reports: Sequence[LabReport], registry: LabRegistry | None) -> list[dict[str, Any]]:
    """Each third-party lab relied on, with what the registry and the report say about it."""
    out: dict[str, dict[str, Any]] = {}
    for r in reports:
        known = registry.labs.get(r.lab.cpsc_id) if registry else None
        lab = out.setdefault(r.lab.cpsc_id, {"cpsc_id": r.lab.cpsc_id, "name": r.lab.name})
        lab["address"] = lab.get("address") or r.lab.address or (known.address if known else None)
        lab["phone"] = lab.get("phone") or r.lab.phone or (known.phone if known else None)
        if known is not None:
            lab["name"] = known.name
            lab["type"] = known.type
    return list(out.values())
