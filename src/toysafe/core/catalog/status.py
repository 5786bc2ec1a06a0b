"""Catalog logic, pure: profile versions and material changes, what a status means, what is due."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import rfc8785

from toysafe.core.evidence.labreport import LabReport
from toysafe.core.law.dates import add_months
from toysafe.core.law.profile import Profile
from toysafe.core.reasons import Reason

#: The renewal is the marketplace's certification period, not a legal expiry: a CPC has none.
MARKETPLACE_RENEWAL = "marketplace renewal (policy; a CPC has no legal expiry)"

EXPIRING_DAYS = 60
MATERIAL_FIELDS = ("material", "accessible", "mouth_contact", "small_part", "fiber", "unfinished")

StatusKind = Literal[
    "certified",
    "expiring",
    "expired",
    "action_needed",
    "ready_to_certify",
    "missing_evidence",
    "not_required",
    "no_profile",
]


def profile_digest(profile: Profile) -> str:
    """A digest of the profile's content, independent of key order and formatting."""
    return hashlib.sha256(rfc8785.dumps(profile.to_data())).hexdigest()


def component_changes(old: Profile, new: Profile) -> list[dict[str, Any]]:
    """Components added, removed, or changed in a way that could affect compliance
    (16 CFR 1107.23 material change: design, process or sourcing of a component)."""
    before = {c.id: c for c in old.components}
    after = {c.id: c for c in new.components}
    changes: list[dict[str, Any]] = []
    for cid in sorted(before.keys() | after.keys()):
        a, b = before.get(cid), after.get(cid)
        if a is None:
            changes.append({"component": cid, "change": "added"})
        elif b is None:
            changes.append({"component": cid, "change": "removed"})
        else:
            fields = [f for f in MATERIAL_FIELDS if getattr(a, f) != getattr(b, f)]
            if fields:
                changes.append({"component": cid, "change": "changed", "fields": fields})
    return changes


def invalidate(
    reports: Sequence[LabReport], changed: dict[str, date]
) -> tuple[list[LabReport], list[Reason]]:
    """Drop results for components that changed after the report was tested, saying so."""
    if not changed:
        return list(reports), []
    kept: list[LabReport] = []
    findings: list[Reason] = []
    for r in reports:
        dropped = [
            res
            for res in r.results
            if res.component in changed and r.tested.to < changed[res.component]
        ]
        if not dropped:
            kept.append(r)
            continue
        for cid in sorted({res.component for res in dropped if res.component}):
            findings.append(
                Reason(
                    "material_change",
                    {"report_no": r.report_no, "component": cid, "changed_on": changed[cid]},
                    "16 CFR 1107.23",
                )
            )
        results = [res for res in r.results if res not in dropped]
        if results:
            kept.append(r.model_copy(update={"results": results}))
    return kept, findings


def invalidate_by_content(
    reports: Sequence[LabReport], versions: Sequence[tuple[date, Profile]]
) -> tuple[list[LabReport], list[str]]:
    """Keep a report's results for a component only while the component is as it was tested:
    its material fields in the version current when testing ended equal those of the latest
    version. A change drops the results (16 CFR 1107.23); restoring the earlier content (a
    revert) makes them count again. ``versions``: (created_on, profile), oldest first."""
    if len(versions) < 2:
        return list(reports), []

    def content(p: Profile) -> dict[str, tuple[Any, ...]]:
        return {c.id: tuple(getattr(c, f) for f in MATERIAL_FIELDS) for c in p.components}

    contents = [(created, content(p)) for created, p in versions]
    now = contents[-1][1]
    kept: list[LabReport] = []
    findings: list[str] = []
    for r in reports:
        at = next((i for i in range(len(contents) - 1, -1, -1) if contents[i][0] <= r.tested.to), 0)
        tested = contents[at][1]
        stale = {
            res.component
            for res in r.results
            if res.component
            and res.component in now
            and tested.get(res.component) != now[res.component]
        }
        if not stale:
            kept.append(r)
            continue
        for cid in sorted(stale):
            when = next(
                (d for d, c in contents[at + 1 :] if c.get(cid) != tested.get(cid)),
                contents[-1][0],
            )
            findings.append(
                f"report {r.report_no}: results for {cid} predate its material change "
                f"on {when.isoformat()} and no longer count (16 CFR 1107.23)"
            )
        results = [res for res in r.results if res.component not in stale]
        if results:
            kept.append(r.model_copy(update={"results": results}))
    return kept, findings


def changed_since(versions: Sequence[tuple[date, list[dict[str, Any]]]]) -> dict[str, date]:
    """The latest change date of each component, from (created_on, changes) of every version."""
    out: dict[str, date] = {}
    for created, changes in versions:
        for ch in changes:
            if ch["change"] != "removed":
                out[ch["component"]] = max(out.get(ch["component"], created), created)
    return out


@dataclass(frozen=True, slots=True)
class StateFacts:
    """What the store knows about one product (its latest computed state and certificate)."""

    sku: str
    version: int
    certificate_type: str
    lab_requirements: tuple[str, ...]
    certifiable: bool
    problems: tuple[str, ...]
    evidence_valid_until: date | None
    last_test: date | None
    testing_plan: str | None
    certificate_id: str | None = None
    certificate_version: int | None = None
    certified_version: int | None = None
    certificate_valid_until: date | None = None
    certificate_issued: date | None = None
    listings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    sku: str
    status: StatusKind
    action: str
    valid_until: date | None
    next_due: date | None
    next_due_reason: str | None
    certificate_id: str | None
    listings: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "status": self.status,
            "action": self.action,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "next_due_reason": self.next_due_reason,
            "certificate": self.certificate_id,
            "listings": list(self.listings),
            "problems": list(self.problems),
        }


def periodic_due(last_test: date | None, plan_months: int | None) -> date | None:
    if last_test is None or plan_months is None:
        return None
    return add_months(last_test, plan_months)


def status_of(
    s: StateFacts, as_of: date, plan_months: int | None, renewal_months: int = 12
) -> Status:
    """The one line a seller needs per SKU: the status, what to do, and when it is next due.

    A certificate is due for renewal when its evidence expires, or, without third-party
    evidence (a GCC), ``renewal_months`` after issue (the marketplace's annual renewal).
    """
    soon = as_of + timedelta(days=EXPIRING_DAYS)
    periodic = periodic_due(s.last_test, plan_months) if s.certificate_type == "CPC" else None
    if s.certificate_type == "none":
        return Status(
            s.sku, "not_required", "no certificate needed", None, None, None, None, s.listings
        )
    if s.certificate_id is None:
        if s.certifiable and (s.evidence_valid_until is None or s.evidence_valid_until >= as_of):
            return Status(
                s.sku,
                "ready_to_certify",
                f"issue the {s.certificate_type}: toysafe certify {s.sku}",
                s.evidence_valid_until,
                as_of,
                "certificate not yet issued",
                None,
                s.listings,
            )
        return Status(
            s.sku,
            "missing_evidence",
            "send for testing: " + "; ".join(s.problems[:2]),
            None,
            as_of,
            "no certificate",
            None,
            s.listings,
            s.problems,
        )
    until = s.certificate_valid_until
    if until is None and s.certificate_issued is not None:
        until = add_months(s.certificate_issued, renewal_months)
    dues = [(until, MARKETPLACE_RENEWAL)] if until else []
    if periodic:
        dues.append((periodic, "periodic testing (16 CFR 1107.21)"))
    next_due, reason = min(dues, key=lambda x: x[0]) if dues else (None, None)
    if until is not None and until < as_of:
        return Status(
            s.sku,
            "expired",
            "retest and renew the certificate",
            until,
            until,
            MARKETPLACE_RENEWAL,
            s.certificate_id,
            s.listings,
            s.problems,
        )
    if s.certified_version is not None and s.certified_version != s.version:
        return Status(
            s.sku,
            "action_needed",
            f"profile changed since certificate "
            f"{s.certificate_id} (version {s.certified_version} -> {s.version}): "
            f"retest what changed and reissue",
            until,
            as_of,
            "material change",
            s.certificate_id,
            s.listings,
            s.problems,
        )
    if not s.certifiable:
        return Status(
            s.sku,
            "action_needed",
            "the stored evidence no longer verifies: " + "; ".join(s.problems[:2]),
            until,
            as_of,
            "evidence",
            s.certificate_id,
            s.listings,
            s.problems,
        )
    if next_due is not None and next_due <= soon:
        return Status(
            s.sku,
            "expiring",
            f"{reason} due {next_due.isoformat()}",
            until,
            next_due,
            reason,
            s.certificate_id,
            s.listings,
        )
    return Status(
        s.sku,
        "certified",
        f"certified until {until}" if until else "certified",
        until,
        next_due,
        reason,
        s.certificate_id,
        s.listings,
    )
