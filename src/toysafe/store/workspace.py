"""Workspace operations: every write is one transaction and leaves an event behind."""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import (
    StateFacts,
    Status,
    changed_since,
    component_changes,
    invalidate,
    profile_digest,
    status_of,
)
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.core.evidence.verification import Verification
from toysafe.core.evidence.verify import verify
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.db import Store

DEFAULT_ORG = "default"
# Join condition: a product with its latest profile version.
LATEST = (m.ProductVersion.product_id == m.Product.id) & (
    m.ProductVersion.version == m.Product.latest_version
)


def actor() -> str:
    return os.environ.get("TOYSAFE_ACTOR") or getpass.getuser()


@dataclass(frozen=True)
class Outcome:
    key: str
    outcome: str  # added | new_version | unchanged | updated
    detail: str = ""


class Workspace:
    def __init__(self, store: Store, org: str = DEFAULT_ORG, who: str | None = None) -> None:
        self.store = store
        self.org_slug = org
        self.who = who or actor()

    # --- organizations and events ------------------------------------------------------------

    def org(self, s: Session, create: bool = False) -> m.Organization:
        found = s.scalar(select(m.Organization).where(m.Organization.slug == self.org_slug))
        if found is None:
            if not create:
                raise InputError(f"--org: no organization '{self.org_slug}' in this workspace")
            found = m.Organization(slug=self.org_slug, name=self.org_slug)
            s.add(found)
            s.flush()
        return found

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """A transaction whose events are written together, just before it commits."""
        with self.store.transaction() as s:
            s.info["events"] = []
            yield s
            events = s.info.pop("events")
            if events:
                s.execute(insert(_table(m.Event)), events)

    def event(self, s: Session, kind: str, subject: str, **detail: Any) -> None:
        if "org_id" not in s.info:
            s.info["org_id"] = s.scalar(
                select(m.Organization.id).where(m.Organization.slug == self.org_slug)
            )
        s.info["events"].append(
            {
                "actor": self.who,
                "org_id": s.info["org_id"],
                "kind": kind,
                "subject": subject,
                "detail": detail,
            }
        )

    def init(self, party: dict[str, Any] | None = None, name: str | None = None) -> bool:
        """Create the organization (once); store its party file when given."""
        with self._tx() as s:
            existing = s.scalar(select(m.Organization).where(m.Organization.slug == self.org_slug))
            org = self.org(s, create=True)
            if name:
                org.name = name
            if party is not None:
                org.party = party
                org.name = name or party["certifier"]["name"]
            self.event(s, "init" if existing is None else "org.update", self.org_slug)
            return existing is None

    def party(self) -> dict[str, Any] | None:
        with self.store.reader() as s:
            return self.org(s).party

    # --- products ------------------------------------------------------------------------------

    def add_profiles(self, profiles: Sequence[Profile], as_of: date) -> list[Outcome]:
        """Add each profile: unchanged is a no-op, a change is a new version (never overwritten)."""
        outcomes: list[Outcome] = []
        with self._tx() as s:
            org = self.org(s)
            known: dict[str, tuple[int, int, str, dict[str, Any]]] = {}
            for chunk in _chunks(sorted({p.sku for p in profiles}), 500):
                rows = s.execute(
                    select(
                        m.Product.sku,
                        m.Product.id,
                        m.Product.latest_version,
                        m.ProductVersion.digest,
                        m.ProductVersion.profile,
                    )
                    .join(m.ProductVersion, LATEST)
                    .where(m.Product.org_id == org.id, m.Product.sku.in_(chunk))
                )
                known.update({sku: (pid, v, d, prof) for sku, pid, v, d, prof in rows})
            fresh = [p for p in profiles if p.sku not in known]
            ids: dict[str, int] = {}
            if fresh:
                inserted = s.execute(
                    insert(m.Product).returning(
                        m.Product.id, m.Product.sku, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "org_id": org.id,
                            "sku": p.sku,
                            "model": p.model,
                            "gtin": p.gtin,
                            "latest_version": 1,
                        }
                        for p in fresh
                    ],
                )
                ids = {sku: pid for pid, sku in inserted}
            versions: list[dict[str, Any]] = []
            touched: list[int] = []
            for p in profiles:
                digest = profile_digest(p)
                if p.sku in ids:
                    versions.append(self._version(ids[p.sku], 1, digest, p, [], as_of))
                    self.event(s, "product.add", p.sku, version=1)
                    outcomes.append(Outcome(p.sku, "added", "version 1"))
                    touched.append(ids[p.sku])
                    continue
                pid, latest, old_digest, old = known[p.sku]
                if old_digest == digest:
                    outcomes.append(Outcome(p.sku, "unchanged", f"version {latest}"))
                    continue
                changes = component_changes(Profile.model_validate(old), p)
                version = latest + 1
                versions.append(self._version(pid, version, digest, p, changes, as_of))
                s.execute(
                    update(m.Product)
                    .where(m.Product.id == pid)
                    .values(latest_version=version, model=p.model, gtin=p.gtin)
                )
                self.event(s, "product.version", p.sku, version=version, changes=changes)
                detail = f"version {version}"
                if changes:
                    detail += "; material change: " + ", ".join(
                        f"{c['component']} {c['change']}" for c in changes
                    )
                outcomes.append(Outcome(p.sku, "new_version", detail))
                touched.append(pid)
            if versions:
                s.execute(insert(_table(m.ProductVersion)), versions)
            self.refresh(s, touched, as_of)
        return outcomes

    def _version(
        self,
        pid: int,
        version: int,
        digest: str,
        p: Profile,
        changes: list[dict[str, Any]],
        as_of: date,
    ) -> dict[str, Any]:
        return {
            "product_id": pid,
            "version": version,
            "digest": digest,
            "profile": p.to_data(),
            "changed_components": changes,
            "created_on": as_of,
            "created_by": self.who,
        }

    def profile(self, sku: str, version: int | None = None) -> tuple[Profile, int]:
        with self.store.reader() as s:
            product = self._product(s, sku)
            v = version or product.latest_version
            row = s.scalar(
                select(m.ProductVersion).where(
                    m.ProductVersion.product_id == product.id, m.ProductVersion.version == v
                )
            )
            if row is None:
                raise InputError(f"{sku}: no version {v}")
            return Profile.model_validate(row.profile), v

    def _product(self, s: Session, sku: str) -> m.Product:
        org = self.org(s)
        product = s.scalar(
            select(m.Product).where(m.Product.org_id == org.id, m.Product.sku == sku)
        )
        if product is None:
            raise InputError(
                f"no product '{sku}' in the workspace: add it with 'toysafe product add PROFILE'"
            )
        return product

    def products(self) -> list[dict[str, Any]]:
        with self.store.reader() as s:
            org = self.org(s)
            rows = s.execute(
                select(m.Product.sku, m.Product.latest_version, m.ProductVersion.profile)
                .join(m.ProductVersion, LATEST)
                .where(m.Product.org_id == org.id)
                .order_by(m.Product.sku)
            ).all()
            return [{"sku": sku, "version": v, "name": prof.get("name")} for sku, v, prof in rows]

    def history(self, sku: str) -> dict[str, Any]:
        """Versions, listings, lots, evidence, certificates and events of one product."""
        with self.store.reader() as s:
            product = self._product(s, sku)
            versions = s.scalars(
                select(m.ProductVersion)
                .where(m.ProductVersion.product_id == product.id)
                .order_by(m.ProductVersion.version)
            )
            certs = s.scalars(
                select(m.Certificate)
                .where(m.Certificate.product_id == product.id)
                .order_by(m.Certificate.version)
            )
            listings = s.scalars(
                select(m.Listing).where(m.Listing.sku == sku, m.Listing.org_id == product.org_id)
            )
            lots = s.scalars(select(m.Lot).where(m.Lot.product_id == product.id))
            reports = self._reports_for(s, [product])[product.id]
            events = s.scalars(
                select(m.Event)
                .where(m.Event.subject == sku, m.Event.org_id == product.org_id)
                .order_by(m.Event.id)
            )
            state = s.get(m.ProductState, product.id)
            return {
                "sku": sku,
                "versions": [
                    {
                        "version": v.version,
                        "created_on": v.created_on.isoformat(),
                        "by": v.created_by,
                        "changes": v.changed_components,
                    }
                    for v in versions
                ],
                "listings": [
                    {
                        "marketplace": x.marketplace,
                        "listing_id": x.listing_id,
                        "title": x.title,
                        "status": x.status,
                    }
                    for x in listings
                ],
                "lots": [
                    {
                        "lot": x.lot_no,
                        "manufactured": x.manufactured,
                        "place": f"{x.city}, {x.country}",
                    }
                    for x in lots
                ],
                "reports": [
                    {
                        "report_no": r.report_no,
                        "lab": r.lab.cpsc_id,
                        "issued": r.issued.isoformat(),
                        "standard": r.standard,
                    }
                    for r in reports
                ],
                "certificates": [
                    {
                        "id": c.id,
                        "version": c.version,
                        "type": c.type,
                        "issued": c.issued.isoformat(),
                        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                        "product_version": c.product_version,
                    }
                    for c in certs
                ],
                "state": None
                if state is None
                else {
                    "certifiable": state.certifiable,
                    "problems": state.problems,
                    "lab_requirements": state.lab_requirements,
                    "evidence_valid_until": state.evidence_valid_until.isoformat()
                    if state.evidence_valid_until
                    else None,
                },
                "events": [
                    {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "detail": e.detail}
                    for e in events
                ],
            }

    # --- lab reports and the evidence graph -----------------------------------------------------

    def add_reports(self, reports: Sequence[tuple[str, LabReport]], as_of: date) -> list[Outcome]:
        """Store reports (a report already stored unchanged is a no-op; changed is an error)."""
        outcomes: list[Outcome] = []
        with self._tx() as s:
            org = self.org(s)
            stored: dict[str, str] = {}
            for chunk in _chunks(sorted({r.report_no for _, r in reports}), 500):
                rows = s.execute(
                    select(m.Report.report_no, m.Report.digest).where(
                        m.Report.org_id == org.id, m.Report.report_no.in_(chunk)
                    )
                )
                stored.update((no, digest) for no, digest in rows)
            new: list[tuple[dict[str, Any], LabReport]] = []
            for source, r in reports:
                doc = r.model_dump(mode="json", by_alias=True, exclude_none=True)
                digest = report_digest(doc)
                if r.report_no in stored:
                    if stored[r.report_no] != digest:
                        raise InputError(
                            f"{source}: report_no: '{r.report_no}' is already "
                            f"stored with different content"
                        )
                    outcomes.append(Outcome(r.report_no, "unchanged"))
                    continue
                stored[r.report_no] = digest
                new.append(
                    (
                        {
                            "org_id": org.id,
                            "report_no": r.report_no,
                            "lab_cpsc_id": r.lab.cpsc_id,
                            "issued": r.issued,
                            "tested_from": r.tested.from_,
                            "tested_to": r.tested.to,
                            "standard": r.standard,
                            "digest": digest,
                            "document": doc,
                            "source": source,
                        },
                        r,
                    )
                )
                outcomes.append(Outcome(r.report_no, "added", source))
            if new:
                ids = [
                    rid
                    for (rid,) in s.execute(
                        insert(m.Report).returning(m.Report.id, sort_by_parameter_order=True),
                        [row for row, _ in new],
                    )
                ]
                s.execute(
                    insert(_table(m.ReportProduct)),
                    [
                        {"report_id": rid, "sku": p.sku, "model": p.model, "gtin": p.gtin}
                        for rid, (_, r) in zip(ids, new, strict=True)
                        for p in r.products
                    ],
                )
                s.execute(
                    insert(_table(m.Result)),
                    [
                        {
                            "report_id": rid,
                            "requirement": x.requirement,
                            "component": x.component,
                            "analyte": x.analyte,
                            "value": None if x.value is None else str(x.value),
                            "loq": x.loq,
                            "unit": x.unit,
                            "verdict": x.verdict,
                        }
                        for rid, (_, r) in zip(ids, new, strict=True)
                        for x in r.results
                    ],
                )
                for _, r in new:
                    self.event(
                        s,
                        "report.add",
                        r.report_no,
                        products=[p.model_dump(exclude_none=True) for p in r.products],
                    )
                touched = self._products_named(s, org.id, [r for _, r in new])
                self.refresh(s, touched, as_of)
        return outcomes

    def _products_named(self, s: Session, org_id: int, reports: Iterable[LabReport]) -> list[int]:
        skus, models, gtins = set(), set(), set()
        for r in reports:
            for p in r.products:
                skus.update([p.sku] if p.sku else [])
                models.update([p.model] if p.model else [])
                gtins.update([p.gtin] if p.gtin else [])
        ids: set[int] = set()
        for column, values in (
            (m.Product.sku, skus),
            (m.Product.model, models),
            (m.Product.gtin, gtins),
        ):
            for chunk in _chunks(sorted(values), 500):
                ids.update(
                    s.scalars(
                        select(m.Product.id).where(m.Product.org_id == org_id, column.in_(chunk))
                    )
                )
        return sorted(ids)

    def _reports_for(self, s: Session, products: Sequence[m.Product]) -> dict[int, list[LabReport]]:
        """The stored reports of the products' organization naming each product, parsed once."""
        out: dict[int, list[LabReport]] = {p.id: [] for p in products}
        if not products:
            return out
        orgs = {p.org_id for p in products}
        if len(orgs) != 1:
            raise ValueError("products of one organization at a time")
        by_sku = {p.sku: p.id for p in products}
        by_model = {p.model: p.id for p in products if p.model}
        by_gtin = {p.gtin: p.id for p in products if p.gtin}
        links: dict[int, set[int]] = {}
        query = (
            select(
                m.ReportProduct.report_id,
                m.ReportProduct.sku,
                m.ReportProduct.model,
                m.ReportProduct.gtin,
            )
            .join(m.Report, m.Report.id == m.ReportProduct.report_id)
            .where(m.Report.org_id == orgs.pop())
        )
        if len(products) < 500:
            query = query.where(
                or_(
                    m.ReportProduct.sku.in_(list(by_sku)),
                    m.ReportProduct.model.in_(list(by_model)),
                    m.ReportProduct.gtin.in_(list(by_gtin)),
                )
            )
        for rid, sku, model, gtin in s.execute(query):
            for table, key in ((by_sku, sku), (by_model, model), (by_gtin, gtin)):
                pid = table.get(key) if key else None
                if pid is not None:
                    links.setdefault(rid, set()).add(pid)
        docs: dict[int, LabReport] = {}
        for chunk in _chunks(sorted(links), 500):
            for rid, doc in s.execute(
                select(m.Report.id, m.Report.document).where(m.Report.id.in_(chunk))
            ):
                docs[rid] = LabReport.model_validate(doc)
        for rid, pids in links.items():
            for pid in pids:
                out[pid].append(docs[rid])
        return out

    # --- labs, listings, lots --------------------------------------------------------------------

    def import_labs(self, rows: Sequence[LabRow], as_of: date) -> tuple[int, int]:
        """Upsert labs and replace their scopes; every product's state is recomputed."""
        with self._tx() as s:
            by_lab: dict[str, list[LabRow]] = {}
            for r in rows:
                by_lab.setdefault(r.cpsc_id, []).append(r)
            for cpsc_id, lab_rows in by_lab.items():
                first = lab_rows[0]
                lab = s.get(m.Lab, cpsc_id) or m.Lab(cpsc_id=cpsc_id)
                lab.name, lab.country, lab.type, lab.status = (
                    first.name,
                    first.country,
                    first.type,
                    first.status,
                )
                lab.status_since = first.status_since
                lab.address = next((r.address for r in lab_rows if r.address), lab.address)
                lab.phone = next((r.phone for r in lab_rows if r.phone), lab.phone)
                s.add(lab)
                s.flush()
                s.execute(delete(m.LabScope).where(m.LabScope.lab_id == cpsc_id))
                scopes: dict[str, date] = {}
                for r in lab_rows:
                    scopes[r.scope] = min(scopes.get(r.scope, r.accepted_on), r.accepted_on)
                s.execute(
                    insert(_table(m.LabScope)),
                    [{"lab_id": cpsc_id, "scope": k, "accepted_on": v} for k, v in scopes.items()],
                )
            self.event(s, "labs.import", "labs", labs=len(by_lab), rows=len(rows))
            # The registry is shared: every organization's evidence may have changed standing.
            for slug in sorted(s.scalars(select(m.Organization.slug))):
                Workspace(self.store, slug, self.who).refresh(s, None, as_of)
            return len(by_lab), len(rows)

    def registry(self, s: Session) -> LabRegistry:
        rows = []
        scopes = s.execute(select(m.LabScope.lab_id, m.LabScope.scope, m.LabScope.accepted_on))
        labs = {lab.cpsc_id: lab for lab in s.scalars(select(m.Lab))}
        for lab_id, scope, accepted in scopes:
            lab = labs[lab_id]
            rows.append(
                LabRow.model_validate(
                    {
                        "cpsc_id": lab.cpsc_id,
                        "name": lab.name,
                        "country": lab.country,
                        "type": lab.type,
                        "status": lab.status,
                        "scope": scope,
                        "accepted_on": accepted,
                        "address": lab.address,
                        "phone": lab.phone,
                        "status_since": lab.status_since,
                    }
                )
            )
        return LabRegistry.from_rows(rows)

    def import_listings(self, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Upsert listings by (marketplace, listing id, SKU); returns (added, updated)."""
        added = updated = 0
        with self._tx() as s:
            org = self.org(s)
            existing = {
                (x.marketplace, x.listing_id, x.sku): x
                for x in s.scalars(select(m.Listing).where(m.Listing.org_id == org.id))
            }
            fresh = []
            for r in rows:
                found = existing.get((r["marketplace"], r["listing_id"], r["sku"]))
                if found is None:
                    fresh.append({"org_id": org.id, **r})
                    added += 1
                elif (found.title, found.status) != (r.get("title"), r.get("status")):
                    found.title, found.status = r.get("title"), r.get("status")
                    updated += 1
            if fresh:
                s.execute(insert(_table(m.Listing)), fresh)
            self.event(s, "listings.import", "listings", added=added, updated=updated)
        return added, updated

    def add_lot(self, sku: str, lot: str, made: str, city: str | None, country: str | None) -> bool:
        with self._tx() as s:
            product = self._product(s, sku)
            found = s.scalar(
                select(m.Lot).where(m.Lot.product_id == product.id, m.Lot.lot_no == lot)
            )
            if found is not None:
                if (found.manufactured, found.city, found.country) != (made, city, country):
                    raise InputError(
                        f"lot {lot} of {sku} is already recorded as made "
                        f"{found.manufactured} in {found.city}, {found.country}"
                    )
                return False
            s.add(
                m.Lot(
                    product_id=product.id, lot_no=lot, manufactured=made, city=city, country=country
                )
            )
            self.event(s, "lot.add", sku, lot=lot, manufactured=made)
            return True

    # --- computed state ------------------------------------------------------------------------

    def refresh(self, s: Session, product_ids: Sequence[int] | None, as_of: date) -> int:
        """Recompute the state of these products (None: all) from the stored evidence."""
        org = self.org(s)
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
        versions: dict[int, list[m.ProductVersion]] = {}
        for chunk in _chunks(ids, 500):
            for v in s.scalars(
                select(m.ProductVersion)
                .where(m.ProductVersion.product_id.in_(chunk))
                .order_by(m.ProductVersion.version)
            ):
                versions.setdefault(v.product_id, []).append(v)
        reports = self._reports_for(s, products)
        registry = self.registry(s)
        kb = default_kb()
        for chunk in _chunks(ids, 500):
            s.execute(delete(m.ProductState).where(m.ProductState.product_id.in_(chunk)))
        states = []
        for p in products:
            vs = versions[p.id]
            profile = Profile.model_validate(vs[-1].profile)
            assessment, verification = evaluate(profile, vs, reports[p.id], registry, kb, as_of)
            tests = [r.tested.to for r in reports[p.id]]
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
                }
            )
        for chunk in _chunks(states, 1000):
            s.execute(insert(_table(m.ProductState)), chunk)
        return len(states)

    def refresh_all(self, as_of: date) -> int:
        with self._tx() as s:
            count = self.refresh(s, None, as_of)
            self.event(s, "refresh", "catalog", products=count, as_of=as_of.isoformat())
            return count

    def evidence(
        self, sku: str, as_of: date
    ) -> tuple[Profile, Assessment, Verification, list[LabReport], LabRegistry, int]:
        """Everything needed to verify or certify a product from stored data."""
        with self.store.reader() as s:
            product = self._product(s, sku)
            vs = list(
                s.scalars(
                    select(m.ProductVersion)
                    .where(m.ProductVersion.product_id == product.id)
                    .order_by(m.ProductVersion.version)
                )
            )
            reports = self._reports_for(s, [product])[product.id]
            registry = self.registry(s)
            profile = Profile.model_validate(vs[-1].profile)
            assessment, verification = evaluate(profile, vs, reports, registry, default_kb(), as_of)
            changed = changed_since([(v.created_on, v.changed_components) for v in vs[1:]])
            usable, _ = invalidate(reports, changed)
            return profile, assessment, verification, usable, registry, vs[-1].version

    # --- certificates --------------------------------------------------------------------------

    def store_certificate(
        self,
        sku: str,
        doc: dict[str, Any],
        pdf: bytes,
        product_version: int,
        as_of: date,
        lot: str | None,
        renewal_due: date | None = None,
    ) -> None:
        """Store a signed certificate; ``renewal_due`` is the marketplace's renewal date (policy:
        the certification period from the oldest relied-on report), never a legal expiry."""
        c = doc["certificate"]
        legacy = c.get("valid_until")  # documents issued before the CPC lost its "valid to"
        if renewal_due is None and legacy:
            renewal_due = date.fromisoformat(legacy)
        with self._tx() as s:
            org = self.org(s)
            product = self._product(s, sku)
            s.add(
                m.Certificate(
                    id=c["id"],
                    org_id=org.id,
                    product_id=product.id,
                    product_version=product_version,
                    version=c["version"],
                    type=c["type"],
                    issued=date.fromisoformat(c["issued"]),
                    valid_until=renewal_due,
                    toy_standard=c["toy_standard"],
                    digest=doc["signature"]["digest"],
                    document=doc,
                    pdf=pdf,
                )
            )
            s.flush()
            relied = {t["report_no"] for t in c["testing"]}
            if relied:
                ids = s.scalars(
                    select(m.Report.id).where(
                        m.Report.org_id == org.id, m.Report.report_no.in_(relied)
                    )
                )
                s.execute(
                    insert(_table(m.CertificateReport)),
                    [{"certificate_id": c["id"], "report_id": rid} for rid in ids],
                )
            if lot:
                manufacture = c["manufacture"]
                if (
                    s.scalar(
                        select(m.Lot).where(m.Lot.product_id == product.id, m.Lot.lot_no == lot)
                    )
                    is None
                ):
                    s.add(
                        m.Lot(
                            product_id=product.id,
                            lot_no=lot,
                            manufactured=manufacture["date"],
                            city=manufacture["city"],
                            country=manufacture["country"],
                        )
                    )
            self.event(
                s,
                "certificate.issue",
                sku,
                id=c["id"],
                version=c["version"],
                digest=doc["signature"]["digest"],
            )

    def next_certificate_version(self, sku: str) -> int:
        with self.store.reader() as s:
            product = self._product(s, sku)
            latest = s.scalar(
                select(func.max(m.Certificate.version)).where(
                    m.Certificate.product_id == product.id
                )
            )
            return (latest or 0) + 1

    def certificate(self, cert_id: str) -> tuple[dict[str, Any], bytes]:
        with self.store.reader() as s:
            row = s.get(m.Certificate, cert_id)
            if row is None:
                raise InputError(f"no certificate '{cert_id}' in the workspace")
            return row.document, row.pdf

    # --- status --------------------------------------------------------------------------------

    def statuses(self, as_of: date, skus: Sequence[str] | None = None) -> list[Status]:
        """One status per SKU (or just ``skus``), from stored state only (no re-assessment)."""
        kb = default_kb()
        plans = {k: v.months for k, v in kb.parameters["16CFR1107.21"].values.items()}
        renewal = kb.months("marketplace-certification-period", "default").months

        def only(column: Any) -> list[Any]:
            return [] if skus is None else [column.in_(list(skus))]

        with self.store.reader() as s:
            org = self.org(s)
            latest = (
                select(m.Certificate.product_id, func.max(m.Certificate.version).label("v"))
                .group_by(m.Certificate.product_id)
                .subquery()
            )
            rows = s.execute(
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
                    (m.Certificate.product_id == m.Product.id)
                    & (m.Certificate.version == latest.c.v),
                )
                .where(m.Product.org_id == org.id, *only(m.Product.sku))
                .order_by(m.Product.sku)
            ).all()
            listings: dict[str, list[str]] = {}
            for sku, lid in s.execute(
                select(m.Listing.sku, m.Listing.listing_id).where(
                    m.Listing.org_id == org.id, *only(m.Listing.sku)
                )
            ):
                listings.setdefault(sku, []).append(lid)
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

    def status(self, sku: str, as_of: date) -> Status | None:
        """The catalog status of one product (None when it has no stored state)."""
        found = [s for s in self.statuses(as_of, [sku]) if s.status != "no_profile"]
        return found[0] if found else None

    def all_profiles(self) -> list[tuple[str, Profile, list[dict[str, Any]]]]:
        """(sku, latest profile, certificates) of every product, for rule-change impact."""
        with self.store.reader() as s:
            org = self.org(s)
            rows = s.execute(
                select(m.Product.id, m.Product.sku, m.ProductVersion.profile)
                .join(m.ProductVersion, LATEST)
                .where(m.Product.org_id == org.id)
                .order_by(m.Product.sku)
            ).all()
            certs: dict[int, list[dict[str, Any]]] = {}
            for c in s.execute(
                select(
                    m.Certificate.product_id,
                    m.Certificate.id,
                    m.Certificate.toy_standard,
                    m.Certificate.version,
                )
            ):
                certs.setdefault(c.product_id, []).append(
                    {"id": c.id, "toy_standard": c.toy_standard, "version": c.version}
                )
            lots: dict[int, list[dict[str, Any]]] = {}
            for lot in s.scalars(select(m.Lot)):
                lots.setdefault(lot.product_id, []).append(
                    {"lot": lot.lot_no, "manufactured": lot.manufactured}
                )
            return [
                (
                    sku,
                    Profile.model_validate(prof),
                    [
                        {**c, "lots": lots.get(pid, [])}
                        for c in sorted(certs.get(pid, []), key=lambda x: x["version"])
                    ],
                )
                for pid, sku, prof in rows
            ]


def evaluate(
    profile: Profile,
    versions: Sequence[m.ProductVersion],
    reports: Sequence[LabReport],
    registry: LabRegistry,
    kb: Any,
    as_of: date,
) -> tuple[Assessment, Verification]:
    """Assess and verify one stored product, with material changes invalidating old evidence."""
    changed = changed_since([(v.created_on, v.changed_components) for v in versions[1:]])
    usable, notes = invalidate(reports, changed)
    assessment = assess(profile, kb, as_of)
    verification = verify(profile, assessment, usable, kb, as_of, registry)
    verification.findings.extend(notes)
    return assessment, verification


def report_digest(doc: dict[str, Any]) -> str:
    """The digest that tells a stored report from a changed one with the same number."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _table(model: type[m.Base]) -> Table:
    """The model's table: Core inserts skip the ORM's per-row bookkeeping in bulk writes."""
    return cast(Table, model.__table__)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
