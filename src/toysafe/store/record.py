"""Record safety (contract 10): creating is not changing, a change says what it invalidates,
an earlier version can be restored, a report can be withdrawn. Nothing is overwritten: every
operation adds a version or a record and leaves an event naming its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import component_changes
from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.workspace import Outcome, Workspace

MATERIAL_CHANGE = "16 CFR 1107.23"


class Conflict(InputError):
    """The record is not in the state the request expects (HTTP 409, exit 2)."""


class NotFound(InputError):
    """No such record in the organization (HTTP 404, exit 2)."""


@dataclass(frozen=True)
class Change:
    """A new version of a product and what it invalidates."""

    outcome: Outcome
    version: int
    invalidates: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sku": self.outcome.key,
            "outcome": self.outcome.outcome,
            "version": self.version,
            "detail": self.outcome.detail,
            "invalidates": self.invalidates,
        }


class _Rollback(Exception):
    def __init__(self, change: Change) -> None:
        self.change = change


def _product(s: Session, ws: Workspace, sku: str) -> m.Product | None:
    org = ws.org(s)
    return s.scalar(select(m.Product).where(m.Product.org_id == org.id, m.Product.sku == sku))


def create(ws: Workspace, profile: Profile, as_of: date) -> Outcome:
    """Add a new product; an SKU that exists is a Conflict naming it (never a new version)."""
    try:
        with ws._tx() as s:
            if _product(s, ws, profile.sku) is not None:
                raise Conflict(
                    f"sku: a product '{profile.sku}' already exists; change it with "
                    f"PUT /api/v1/products/{profile.sku} (or 'toysafe product add' to "
                    "record a new version)"
                )
            outcomes, touched = ws.products_repo.add(s, [profile], as_of)
            ws.refresh(s, touched, as_of)
            return outcomes[0]
    except IntegrityError:  # created a moment ago by a concurrent request
        raise Conflict(f"sku: a product '{profile.sku}' already exists") from None


def _met(s: Session, ws: Workspace, sku: str, as_of: date) -> tuple[set[str], dict[str, list[str]]]:
    """The reports used as evidence, and each requirement met with the reports it rests on."""
    verification = ws.states.evidence(s, sku, as_of)[2]
    met = {
        r.id: sorted({e.report_no for e in r.evidence})
        for r in verification.requirements
        if r.status == "pass"
    }
    return {r.report_no for r in verification.reports if r.used}, met


def change(ws: Workspace, profile: Profile, as_of: date, dry_run: bool = False) -> Change:
    """Add ``profile`` as the next version of its existing product, saying what the change
    invalidates: the material change (16 CFR 1107.23), the reports that counted as evidence
    and no longer do, and the certificates issued for earlier content. ``dry_run``: say it,
    store nothing."""
    try:
        with ws._tx() as s:
            product = _product(s, ws, profile.sku)
            if product is None:
                raise NotFound(f"no product '{profile.sku}': create it with POST /api/v1/products")
            old, old_version = ws.products_repo.profile(s, profile.sku)
            before, met_before = _met(s, ws, profile.sku, as_of)
            outcomes, touched = ws.products_repo.add(s, [profile], as_of)
            ws.refresh(s, touched, as_of)
            s.flush()
            after, met_after = _met(s, ws, profile.sku, as_of)
            s.refresh(product)
            changes = component_changes(old, profile)
            lost = sorted(before - after)
            unmet = [
                {"id": rid, "reports": reports}
                for rid, reports in sorted(met_before.items())
                if rid not in met_after
            ]
            regained = [
                {"id": rid, "reports": reports}
                for rid, reports in sorted(met_after.items())
                if rid not in met_before
            ]
            certificates = [
                {"id": c["id"], "product_version": c["product_version"]}
                for c in ws.certificates.of_product(s, product.id)
                if outcomes[0].outcome == "new_version" and (changes or lost or unmet)
            ]
            result = Change(
                outcomes[0],
                product.latest_version,
                {
                    "material_change": bool(changes),
                    "citation": MATERIAL_CHANGE,
                    "components": changes,
                    "requirements_no_longer_met": unmet,
                    "requirements_met_again": regained,
                    "reports_no_longer_evidence": lost,
                    "reports_evidence_again": sorted(after - before),
                    "certificates": certificates,
                    "from_version": old_version,
                },
            )
            if dry_run:
                raise _Rollback(result)
            return result
    except _Rollback as rolled_back:
        return rolled_back.change


def revert(ws: Workspace, sku: str, version: int, as_of: date) -> Change:
    """Restore version ``version`` of ``sku`` as a new version (the evidence that counted for
    that content counts again); restoring the current content is a Conflict."""
    with ws.store.reader() as s:
        product = _product(s, ws, sku)
        if product is None:
            raise NotFound(f"no product '{sku}'")
        if not 1 <= version <= product.latest_version:
            detail = f"{sku} has versions 1 to {product.latest_version}"
            raise InputError.at("to", detail, option=True)
    old, _ = ws.profile(sku, version)
    result = change(ws, old, as_of)
    if result.outcome.outcome == "unchanged":
        raise Conflict.at("to", f"version {version} of {sku} is its current content already", True)
    with ws._tx() as s:
        ws.event(s, "product.revert", sku, to=version, version=result.version)
    return result


def withdraw_report(ws: Workspace, report_no: str, reason: str, as_of: date) -> dict[str, Any]:
    """Take a report out of the evidence; it stays stored and in the history with who withdrew
    it and why. Withdrawing it twice is a Conflict."""
    reason = reason.strip()
    if not reason:
        raise InputError.at("reason", "say why the report is withdrawn", option=True)
    if len(reason) > 2000:
        raise InputError.at("reason", "at most 2000 characters", option=True)
    try:
        with ws._tx() as s:
            org = ws.org(s)
            report = s.scalar(
                select(m.Report).where(m.Report.org_id == org.id, m.Report.report_no == report_no)
            )
            if report is None:
                raise NotFound(f"no report '{report_no}'")
            if s.get(m.ReportWithdrawal, report.id) is not None:
                raise Conflict(f"report_no: report {report_no} is withdrawn already")
            s.add(m.ReportWithdrawal(report_id=report.id, actor=ws.who, reason=reason))
            skus = sorted(
                {
                    sku
                    for (sku,) in s.execute(
                        select(m.ReportProduct.sku).where(m.ReportProduct.report_id == report.id)
                    )
                    if sku
                }
            )
            products = list(
                s.scalars(
                    select(m.Product).where(m.Product.org_id == org.id, m.Product.sku.in_(skus))
                )
            )
            for product in products:
                ws.event(s, "report.withdraw", product.sku, report_no=report_no, reason=reason)
            ws.event(s, "report.withdraw", report_no, reason=reason)
            s.flush()
            ws.refresh(s, [p.id for p in products], as_of)
            return {"report_no": report_no, "withdrawn_by": ws.who, "reason": reason, "skus": skus}
    except IntegrityError:
        raise Conflict(f"report_no: report {report_no} is withdrawn already") from None


def withdrawals(s: Session, org_id: int) -> dict[str, dict[str, Any]]:
    """Withdrawn reports of an organization: report_no -> who, when, why."""
    rows = s.execute(
        select(m.Report.report_no, m.ReportWithdrawal)
        .join(m.ReportWithdrawal, m.ReportWithdrawal.report_id == m.Report.id)
        .where(m.Report.org_id == org_id)
    )
    return {
        no: {"by": w.actor, "at": w.at.isoformat() if w.at else None, "reason": w.reason}
        for no, w in rows
    }
