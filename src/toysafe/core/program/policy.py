"""The program's policy (contract 8.1, ``toysafe/policy@1``) as strict, typed data.

Everything the program decides by comes from here: which listing categories are in scope,
clocks, the enforcement ladder, account-health points and bands, trigger thresholds and the
trusted tier. Categories are data: a new one (e-mobility, products with button cells) is a new
key under ``categories`` with its own evidence mode and baseline, never new code.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT = "toysafe/policy@1"
Severity = Literal["critical", "high", "medium", "low"]
ListingStep = Literal["suppressed", "removed"]

# P4: what a request asks for when the listing links no product in the workspace (ASTM F963,
# lead in paint, total lead, phthalates, small parts for under 3, tracking label).
TOY_BASELINE = (
    "F963",
    "16CFR1303",
    "15USC1278a",
    "16CFR1307",
    "16CFR1501",
    "15USC2063(a)(5)",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Strict):
    """One program category: which listing categories it covers and how proof is judged."""

    listing_categories: list[str] = Field(min_length=1)
    evidence: Literal["documents", "direct_validation"] = "documents"
    max_report_age_days: int = Field(default=365, ge=1)
    validity_months: int = Field(default=12, ge=1)
    renewal_notice_days: int = Field(default=30, ge=0)
    pre_listing_review: bool = True
    auto_approve: bool = True
    # Extension: the requirements asked of a listing that links no product (P4).
    baseline: list[str] = Field(default_factory=lambda: list(TOY_BASELINE), min_length=1)
    # Extension: listings for this age (months) and up are out of scope (P1: 14 years).
    max_age_months: int = Field(default=144, ge=1)


class Clocks(_Strict):
    response_days: int = Field(default=14, ge=1)
    reminder_days_before_due: list[int] = Field(default_factory=lambda: [7, 1])
    tic_extension_days: int = Field(default=60, ge=0)
    appeal_window_days: int = Field(default=180, ge=1)

    @field_validator("reminder_days_before_due")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(d < 1 for d in v):
            raise ValueError("every reminder must be at least 1 day before due")
        if len(set(v)) != len(v):
            raise ValueError("reminder days must be distinct")
        return sorted(v, reverse=True)


class LadderStep(_Strict):
    days_overdue: int = Field(ge=0)
    listing: ListingStep


class Points(_Strict):
    critical: int = Field(default=1000, ge=0)
    high: int = Field(default=300, ge=0)
    medium: int = Field(default=100, ge=0)
    low: int = Field(default=25, ge=0)

    def of(self, severity: Severity) -> int:
        return int(getattr(self, severity))


class Bands(_Strict):
    healthy: int = 200
    at_risk: int = 100

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.at_risk > self.healthy:
            raise ValueError("at_risk must not be above healthy")
        return self


class AccountHealth(_Strict):
    start: int = Field(default=1000, ge=0)
    window_days: int = Field(default=180, ge=1)
    points: Points = Field(default_factory=Points)
    bands: Bands = Field(default_factory=Bands)
    suspend_on_critical: bool = True


class ComplaintTrigger(_Strict):
    keywords: list[str] = Field(min_length=1)
    threshold: int = Field(default=3, ge=1)
    window_days: int = Field(default=90, ge=1)

    @field_validator("keywords")
    @classmethod
    def _words(cls, v: list[str]) -> list[str]:
        words = [w.strip().lower() for w in v]
        if any(not w for w in words):
            raise ValueError("a keyword must not be empty")
        return words


class RuleChangeTrigger(_Strict):
    notice_days: int = Field(default=90, ge=0)


class HistoryTrigger(_Strict):
    rejections: int = Field(default=2, ge=1)
    window_days: int = Field(default=365, ge=1)


class RandomAudit(_Strict):
    rate: float = Field(default=0.02, ge=0, le=1)
    period: Literal["quarter", "month", "year"] = "quarter"


class Triggers(_Strict):
    complaints: ComplaintTrigger | None = None
    rule_change: RuleChangeTrigger | None = None
    history: HistoryTrigger | None = None
    random_audit: RandomAudit | None = None


class Trusted(_Strict):
    min_account_age_days: int = Field(default=730, ge=0)
    min_approved: int = Field(default=10, ge=0)
    max_violations_in_window: int = Field(default=0, ge=0)
    response_days: int = Field(default=30, ge=1)
    random_audit_rate: float = Field(default=0.005, ge=0, le=1)


class ApprovedTic(_Strict):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    cpsc_lab_ids: list[str] = Field(default_factory=list)
    public_key: str = Field(pattern=r"^ed25519:[A-Za-z0-9+/=]+$")


class ReviewQueue(_Strict):
    """One reviewer queue: how long a request may wait in it before it breaches its SLA."""

    sla_days: int = Field(ge=0)


DEFAULT_QUEUES = {"standard": 2, "senior": 5}


class Review(_Strict):
    """Extension ``review``: the reviewer queues and their SLAs. ``standard`` takes every
    request that needs a person; ``senior`` takes the escalated ones. Both always exist (a
    queue left out gets its default SLA)."""

    queues: dict[str, ReviewQueue] = Field(
        default_factory=lambda: {k: ReviewQueue(sla_days=v) for k, v in DEFAULT_QUEUES.items()}
    )

    @field_validator("queues", mode="before")
    @classmethod
    def _both_queues(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        unknown = sorted(set(v) - set(DEFAULT_QUEUES))
        if unknown:
            raise ValueError(f"unknown queue '{unknown[0]}' (queues: standard, senior)")
        return {k: v.get(k, {"sla_days": d}) for k, d in DEFAULT_QUEUES.items()}

    def sla_days(self, queue: str) -> int:
        return self.queues[queue].sla_days


class Policy(_Strict):
    """A whole ``toysafe/policy@1`` document."""

    format: Literal["toysafe/policy@1"]
    marketplace: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    categories: dict[str, Category] = Field(min_length=1)
    clocks: Clocks = Field(default_factory=Clocks)
    ladder: list[LadderStep] = Field(default_factory=list)
    account_health: AccountHealth = Field(default_factory=AccountHealth)
    triggers: Triggers = Field(default_factory=Triggers)
    trusted: Trusted | None = None
    approved_tics: list[ApprovedTic] = Field(default_factory=list)
    # Extension: reviewer queues and their SLAs (the reviewer console).
    review: Review = Field(default_factory=Review)

    @field_validator("ladder")
    @classmethod
    def _ladder_ordered(cls, v: list[LadderStep]) -> list[LadderStep]:
        days = [s.days_overdue for s in v]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("ladder steps must have increasing days_overdue")
        return v

    @model_validator(mode="after")
    def _categories_disjoint(self) -> Policy:
        seen: dict[str, str] = {}
        for key, cat in self.categories.items():
            for lc in cat.listing_categories:
                if lc in seen:
                    raise ValueError(f"listing category '{lc}' is in both '{seen[lc]}' and '{key}'")
                seen[lc] = key
        ids = [t.id for t in self.approved_tics]
        if len(set(ids)) != len(ids):
            raise ValueError("approved_tics: duplicate id")
        return self

    def category_of(self, listing_category: str) -> str | None:
        """The program category covering a listing category, or None (out of the program)."""
        for key, cat in self.categories.items():
            if listing_category in cat.listing_categories:
                return key
        return None

    def tic(self, tic_id: str) -> ApprovedTic | None:
        return next((t for t in self.approved_tics if t.id == tic_id), None)

    def canonical(self) -> dict[str, Any]:
        """The policy with every default filled in: what the content hash is taken over.

        ``review`` at its defaults is left out, so that a policy stored before the extension
        existed keeps its digest (loading it again stays a no-op)."""
        out = self.model_dump(mode="json")
        if self.review == Review():
            out.pop("review")
        return out

    def digest(self) -> str:
        """Content hash: the same policy, however written, gives the same digest."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def period_of(day: date, period: str) -> str:
    """The audit period a day falls in: ``2026Q3``, ``2026-07`` or ``2026``.

    >>> period_of(date(2026, 8, 1), "quarter")
    '2026Q3'
    """
    if period == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return str(day.year)


def audit_draw(policy_version: int, listing_id: str, period: str) -> float:
    """P3 random audit: sha256("{policy_version}:{listing_id}:{period}"), first 8 hex digits
    as an integer, divided by 2^32. The listing is chosen when this is below the rate.

    >>> 0 <= audit_draw(1, "B0TOY00001", "2026Q3") < 1
    True
    """
    h = hashlib.sha256(f"{policy_version}:{listing_id}:{period}".encode()).hexdigest()
    return int(h[:8], 16) / 2**32


def diff(a: Policy, b: Policy) -> list[dict[str, Any]]:
    """Every key whose value differs between two policies, as dotted paths."""
    out: list[dict[str, Any]] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k), y.get(k), f"{path}.{k}" if path else str(k))
        elif x != y:
            out.append({"key": path, "from": x, "to": y})

    walk(a.model_dump(mode="json"), b.model_dump(mode="json"), "")
    return out
