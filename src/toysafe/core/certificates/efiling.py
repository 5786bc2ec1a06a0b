"""A certificate mapped to the CPSC eFiling data elements (16 CFR part 1110, July 2026).

CPSC's official column names and citation codes could not be confirmed (see docs/efiling.md),
so the canonical record uses toysafe's own field names; column headers and citation codes are
configuration, supplied by the user from CPSC's published files.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any


def _mmccyy(month: str) -> str:
    """'2025-06' -> '062025' (CATAIR PG07 manufacture month and year)."""
    year, mon = month.split("-")[:2]
    return f"{mon}{year}"


def _mmddccyy(day: str | None) -> str | None:
    if not day:
        return None
    d = date.fromisoformat(day)
    return f"{d:%m%d%Y}"


def efiling_record(
    doc: Mapping[str, Any], codes: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The canonical eFiling record of a signed certificate document."""
    c = doc["certificate"]
    e = c["efiling"]
    codes = codes or {}
    citations = [
        {"requirement": r["id"], "citation": r["citation"], "cpsc_code": codes.get(r["id"])}
        for r in c["rules"]
    ]
    unmapped = [x["requirement"] for x in citations if not x["cpsc_code"]]
    last_test = e.get("last_test_date")
    places = sorted({t["place"] for t in c["testing"] if t.get("place")})
    custodian = c["records_custodian"]
    manufacturer = c.get("manufacturer") or {}
    record = {
        "certificate_id": c["id"],
        "certificate_type": c["type"],
        "certificate_version_id": e["certificate_version_id"],
        "certificate_digest": doc.get("signature", {}).get("digest"),
        "issued": c["issued"],
        "certifier_id": e.get("certifier_id"),
        "certifier_name": c["certifier"]["name"],
        "certifier_address": c["certifier"]["address"],
        "certifier_phone": c["certifier"]["phone"],
        "certifier_email": c["certifier"].get("email"),
        "product_id": e["product_id"],
        "product_id_type": e["product_id_type"],
        "product_description": c["product"]["name"][:70],
        "brand": c["product"].get("brand"),
        "model": c["product"].get("model"),
        "sku": c["product"]["sku"],
        "gtin": c["product"].get("gtin"),
        "citations": citations,
        "citation_codes": [x["cpsc_code"] for x in citations if x["cpsc_code"]],
        "manufacture_date": c["manufacture"]["date"],
        "manufacture_month_mmccyy": _mmccyy(c["manufacture"]["date"]),
        "manufacture_city": c["manufacture"]["city"],
        "manufacture_country": c["manufacture"]["country"],
        "lot": c["manufacture"].get("lot"),
        "manufacturer_name": manufacturer.get("name"),
        "manufacturer_address": manufacturer.get("address"),
        "manufacturer_phone": manufacturer.get("phone"),
        "last_test_date": last_test,
        "last_test_date_mmddccyy": _mmddccyy(last_test),
        "test_places": places,
        "labs": c["labs"],
        "lab_ids": [lab["cpsc_id"] for lab in c["labs"]],
        "exclusions": [
            f"{x['requirement']}:{x['component']}:{x['citation']}" for x in c["exclusions"]
        ],
        "point_of_contact_name": custodian["name"],
        "point_of_contact_phone": custodian["phone"],
        "point_of_contact_email": custodian["email"],
        "point_of_contact_address": custodian["address"],
    }
    warnings = []
    if not record["certifier_id"]:
        warnings.append(
            "certifier_id is empty: set certifier_id in the party file (your CPSC "
            "Product Registry certifier id)"
        )
    if unmapped:
        warnings.append(
            "no CPSC citation code for " + ", ".join(unmapped) + ": load CPSC's "
            "citation-code list with --citation-codes"
        )
    record["warnings"] = warnings
    return record


def flatten(value: Any) -> str:
    """A CSV cell: lists joined with '; ', labs as 'id name, address, phone'."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(flatten(v) for v in value)
    if isinstance(value, dict):
        if "cpsc_id" in value:
            return (
                f"{value['cpsc_id']} {value['name']}, {value.get('address', '')}, "
                f"{value.get('phone', '')}"
            )
        if "requirement" in value:
            return value.get("cpsc_code") or value["citation"]
        return "; ".join(f"{k}={flatten(v)}" for k, v in value.items())
    return str(value)
