"""The registry of CPSC-accepted labs (contract section 5) and the acceptance check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toysafe.core.plain import plain_text
from toysafe.core.reasons import Reason

LabType = Literal["independent", "firewalled", "governmental"]
LabStatus = Literal["accepted", "suspended", "withdrawn"]
TOY_STANDARD_SCOPE = "16CFR1250"


class LabRow(BaseModel):
    """One row of ``toysafe/labs@1``: a lab and one accepted scope."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    _plain = field_validator("*")(plain_text)

    cpsc_id: str = Field(pattern=r"^\d{4}$")
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    type: LabType
    status: LabStatus
    scope: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9:.()]+$")
    accepted_on: date
    # Extensions: what a certificate needs, and when a suspension or withdrawal took effect.
    address: str | None = Field(default=None, max_length=1000)
    phone: str | None = Field(default=None, max_length=60)
    status_since: date | None = None


@dataclass
class Lab:
    cpsc_id: str
    name: str
    country: str
    type: LabType
    status: LabStatus
    status_since: date | None = None
    address: str | None = None
    phone: str | None = None
    scopes: dict[str, date] = field(default_factory=dict)


def scope_covers(scope: str, requirement_id: str) -> bool:
    """A scope covers its own requirement; ``16CFR1250`` covers the whole toy standard."""
    if scope == requirement_id:
        return True
    if scope == TOY_STANDARD_SCOPE:
        return requirement_id.startswith(("F963:", "16CFR1250"))
    return False


class LabRegistry:
    def __init__(self, labs: dict[str, Lab]) -> None:
        self.labs = labs

    @classmethod
    def from_rows(cls, rows: list[LabRow]) -> LabRegistry:
        """Group rows by lab; the caller has checked that rows of one lab agree."""
        labs: dict[str, Lab] = {}
        for r in rows:
            lab = labs.setdefault(
                r.cpsc_id,
                Lab(
                    r.cpsc_id,
                    r.name,
                    r.country,
                    r.type,
                    r.status,
                    r.status_since,
                    r.address,
                    r.phone,
                ),
            )
            lab.address = lab.address or r.address
            lab.phone = lab.phone or r.phone
            earlier = lab.scopes.get(r.scope)
            lab.scopes[r.scope] = min(earlier, r.accepted_on) if earlier else r.accepted_on
        return cls(labs)

    def acceptance(self, cpsc_id: str, requirement_id: str, tested_on: date) -> tuple[bool, Reason]:
        """Whether the lab was CPSC-accepted for the requirement's scope on the test date."""
        lab = self.labs.get(cpsc_id)
        if lab is None:
            return False, Reason("lab_not_in_registry", {"cpsc_id": cpsc_id})
        who = {"name": lab.name, "cpsc_id": cpsc_id}
        if lab.status != "accepted":
            if lab.status_since is None or lab.status_since <= tested_on:
                return False, Reason(
                    "lab_status", {**who, "status": lab.status, "since": lab.status_since}
                )
        dates = [d for s, d in lab.scopes.items() if scope_covers(s, requirement_id)]
        if not dates:
            return False, Reason("lab_scope_missing", {**who, "requirement": requirement_id})
        first = min(dates)
        facts = {**who, "requirement": requirement_id, "accepted_on": first}
        if first > tested_on:
            return False, Reason("lab_accepted_after_testing", {**facts, "tested_from": tested_on})
        return True, Reason("lab_accepted", facts)
