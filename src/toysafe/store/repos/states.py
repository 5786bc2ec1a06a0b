"""Computed product state (assessment + verification summary) and the catalog status read
from it: what ``status`` answers without re-assessing anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import (
    StateFacts,
    Status,
    invalidate_by_content,
    status_of,
)
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.verification import Verification
from toysafe.core.evidence.verify import verify
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.core.reasons import Reason
from toysafe.io.kb import default_kb
from toysafe.store import memo
from toysafe.store import models as m
from toysafe.store.repos.base import Scope, chunks, table
from toysafe.store.repos.labs import Labs
from toysafe.store.repos.listings import Listings
from toysafe.store.repos.products import Products
from toysafe.store.repos.reports import Reports


def _profile(stored: dict[str, Any], key: str | None = None) -> Profile:
    """A stored profile, parsed once per process (Profile is frozen) by its content."""
    k = key or memo.digest(stored)
    return memo.PROFILES.get(k, lambda: Profile.model_validate(stored))


def _contents(versions: Sequence[m.ProductVersion]) -> list[tuple[date, Profile]]:
    """(created on, profile) of each version; nothing to compare with a single version."""
    if len(versions) < 2:
        return []
    return [(v.created_on, _profile(v.profile)) for v in versions]


def evaluated(
    s: Session,
    versions: Sequence[m.ProductVersion],
    refs: Sequence[tuple[int, str]],
    reports: Reports,
    registry: tuple[str, LabRegistry],
    kb: Any,
    as_of: date,
) -> tuple[Profile, Assessment, Verification, list[LabReport]]:
    """(latest profile, assessment, verification, usable reports) of one stored product,
    memoized per process by the content of every input: each version's profile and date,
    each report's digest (in order), the lab registry's rows, the rules and the date. A write
    anywhere (another worker included) changes what is read, hence the key. The assessment
    and verification are mutable: every caller gets its own copy."""
    contents = [(v.created_on.isoformat(), memo.digest(v.profile)) for v in versions]
    key = (tuple(contents), tuple(d for _, d in refs), registry[0], id(kb), kb.rules_version, as_of)

    def compute() -> tuple[Assessment, Verification, list[LabReport]]:
        stored = reports.load(s, refs)
        profile = _profile(versions[-1].profile, contents[-1][1])
        usable, _ = invalidate_by_content(stored, _contents(versions))
        assessment, verification = evaluate(profile, versions, stored, registry[1], kb, as_of)
        return assessment, verification, usable

    assessment, verification, usable = memo.EVALUATIONS.copied(key, compute)
    return _profile(versions[-1].profile, contents[-1][1]), assessment, verification, usable


def evaluate(
    profile: Profile,
    versions: Sequence[m.ProductVersion],
    reports: Sequence[LabReport],
    registry: LabRegistry,
    kb: Any,
    as_of: date,
) -> tuple[Assessment, Verification]:
    """Assess and verify one stored product, with material changes invalidating old evidence."""
    usable, notes = invalidate_by_content(reports, _contents(versions))
    assessment = assess(profile, kb, as_of)
    verification = verify(profile, assessment, usable, kb, as_of, registry)
    verification.found.extend(Reason("evidence_note", {"text": n}) for n in notes)
    return assessment, verification


class States:
    def __init__(
        self, scope: Scope, products: Products, reports: Reports, labs: Labs, listings: Listings
    ) -> None:
        self.scope = scope
        self.products = products
        self.reports = reports
        self.labs = labs
        self.listings = listings

    def refresh(
        self,
        s: Session,
        product_ids: Sequence[int] | None,
        as_of: date,
        verifications: dict[str, Verification] | None = None,
    ) -> int:
        """Recompute the state of these products (None: all) from the stored evidence; each
        verification also goes into ``verifications`` (by SKU) when given."""
        org = self.scope.org(s)
        query = select(m.Product).where(m.Product.org_id == org.id)
        if product_ids is not None:
            if not product_ids:
                return 0
            query = query.where(m.Product.id.in_(list(product_ids)))
        # Lock the products (in id order): a concurrent writer waits here, then reads the
        # evidence this transaction committed, so no state is computed from a stale view.
        products = list(s.scalars(query.order_by(m.Product.id).with_for_update()))
        if not products:
            return 0
        ids = [p.id for p in products]
        versions = self.products.versions(s, ids)
        refs = self.reports.refs(s, products)
        registry = self.labs.keyed_registry(s)
        kb = default_kb()
        for chunk in chunks(ids, 500):
            s.execute(delete(m.ProductState).where(m.ProductState.product_id.in_(chunk)))
        states = []
        for p in products:
            vs = versions[p.id]
            profile, assessment, verification, _ = evaluated(
                s, vs, refs[p.id], self.reports, registry, kb, as_of
            )
            if verifications is not None:
                verifications[p.sku] = verification
            tests = [r.tested.to for r in self.reports.load(s, refs[p.id])]
            states.append(
                {
                    "product_id": p.id,
                    "computed_on": as_of,
                    "version": vs[-1].version,
                    "certificate_type": assessment.certificate,
                    "toy_standard": assessment.toy_standard,
                    "lab_requirements": [r.id for r in assessment.lab_requirements],
                    "certifiable": verification.certifiable,
                    "problems": [
                        f"{r.id} {r.status}"
                        for r in verification.requirements
                        if r.status != "pass"
                    ][:8],
                    "evidence_valid_until": verification.valid_until,
                    "last_test": max(tests) if tests else None,
                    "testing_plan": profile.testing_plan,
                    "rules_version": kb.rules_version,
                }
            )
        for chunk in chunks(states, 1000):
            s.execute(insert(table(m.ProductState)), chunk)
        return len(states)

    def evidence(
        self, s: Session, sku: str, as_of: date, product: m.Product | None = None
    ) -> tuple[Profile, Assessment, Verification, list[LabReport], LabRegistry, int]:
        """Everything needed to verify or certify a product from stored data (``product``:
        the row of ``sku`` when the caller has read it already in ``s``)."""
        product = product if product is not None else self.products.get(s, sku)
        vs = self.products.versions(s, [product.id])[product.id]
        refs = self.reports.refs(s, [product])[product.id]
        registry = self.labs.keyed_registry(s)
        profile, assessment, verification, usable = evaluated(
            s, vs, refs, self.reports, registry, default_kb(), as_of
        )
        return profile, assessment, verification, usable, registry[1], vs[-1].version

    @staticmethod
    def summary(state: m.ProductState | None) -> dict[str, Any] | None:
        """What a product's history shows of its computed state."""
        if state is None:
            return None
        return {
            "certifiable": state.certifiable,
            "problems": state.problems,
            "lab_requirements": state.lab_requirements,
            "evidence_valid_until": state.evidence_valid_until.isoformat()
            if state.evidence_valid_until
            else None,
        }

    def stale(self, s: Session, skus: Sequence[str] | None = None) -> dict[date, list[int]]:
        """Products whose stored state was computed under other rules than the ones loaded
        (or before states recorded their rules), by the date they were computed for."""
        org = self.scope.org(s)
        query = (
            select(m.ProductState.product_id, m.ProductState.computed_on)
            .join(m.Product, m.Product.id == m.ProductState.product_id)
            .where(
                m.Product.org_id == org.id,
                or_(
                    m.ProductState.rules_version.is_(None),
                    m.ProductState.rules_version != default_kb().rules_version,
                ),
            )
        )
        if skus is not None:
            query = query.where(m.Product.sku.in_(list(skus)))
        out: dict[date, list[int]] = {}
        for pid, computed_on in s.execute(query):
            out.setdefault(computed_on, []).append(pid)
        return out

    def statuses(self, s: Session, as_of: date, skus: Sequence[str] | None = None) -> list[Status]:
        """One status per SKU (or just ``skus``), from stored state only (no re-assessment)."""
        kb = default_kb()
        plans = {k: v.months for k, v in kb.parameters["16CFR1107.21"].values.items()}
        renewal = kb.months("marketplace-certification-period", "default").months
        org = self.scope.org(s)
        latest = (
            select(m.Certificate.product_id, func.max(m.Certificate.version).label("v"))
            .group_by(m.Certificate.product_id)
            .subquery()
        )
        query = (
            select(
                m.Product.sku,
                m.ProductState,
                m.Certificate.id,
                m.Certificate.product_version,
                m.Certificate.valid_until,
                m.Certificate.issued,
            )
            .join(m.ProductState, m.ProductState.product_id == m.Product.id)
            .outerjoin(latest, latest.c.product_id == m.Product.id)
            .outerjoin(
                m.Certificate,
                (m.Certificate.product_id == m.Product.id) & (m.Certificate.version == latest.c.v),
            )
            .where(m.Product.org_id == org.id)
            .order_by(m.Product.sku)
        )
        if skus is not None:
            query = query.where(m.Product.sku.in_(list(skus)))
        rows = s.execute(query).all()
        listings = self.listings.ids_by_sku(s, org.id, skus)
        out = []
        for sku, st, cid, cver, until, issued in rows:
            facts = StateFacts(
                sku=sku,
                version=st.version,
                certificate_type=st.certificate_type,
                lab_requirements=tuple(st.lab_requirements),
                certifiable=st.certifiable,
                problems=tuple(st.problems),
                evidence_valid_until=st.evidence_valid_until,
                last_test=st.last_test,
                testing_plan=st.testing_plan,
                certificate_id=cid,
                certified_version=cver,
                certificate_valid_until=until,
                certificate_issued=issued,
                listings=tuple(sorted(listings.pop(sku, []))),
            )
            out.append(status_of(facts, as_of, plans[st.testing_plan or "periodic"], renewal))
        for sku, lids in sorted(listings.items()):
            out.append(
                Status(
                    sku,
                    "no_profile",
                    "add the product profile: the listing has no compliance record",
                    None,
                    as_of,
                    "no profile",
                    None,
                    tuple(sorted(lids)),
                )
            )
        return out
