"""The workspace as one unit of work over the repositories in ``store/repos``: every write is
one transaction, leaves an event behind, and recomputes the state of the products it touched.

The repositories know their records; this facade knows what goes together (a new report
refreshes the products it names, a lab registry import refreshes every organization)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import Status
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.core.evidence.verification import Verification
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.profile import Profile
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.repos.base import DEFAULT_ORG, LATEST, Outcome, Scope, actor
from toysafe.store.repos.certificates import Certificates
from toysafe.store.repos.events import Events
from toysafe.store.repos.labs import Labs
from toysafe.store.repos.listings import Listings
from toysafe.store.repos.lots import Lots
from toysafe.store.repos.products import Products
from toysafe.store.repos.reports import Reports, report_digest
from toysafe.store.repos.states import States, evaluate

__all__ = [
    "DEFAULT_ORG",
    "LATEST",
    "Outcome",
    "Workspace",
    "actor",
    "evaluate",
    "report_digest",
]


class Workspace:
    def __init__(self, store: Store, org: str = DEFAULT_ORG, who: str | None = None) -> None:
        self.store = store
        self.org_slug = org
        self.who = who or actor()
        self.scope = Scope(store, org, self.who)
        self.events = Events(self.scope)
        self.products_repo = Products(self.scope, self.events)
        self.reports = Reports(self.scope, self.events)
        self.labs = Labs(self.scope, self.events)
        self.listings = Listings(self.scope, self.events)
        self.lots = Lots()
        self.certificates = Certificates()
        self.states = States(self.scope, self.products_repo, self.reports, self.labs, self.listings)

    # --- organizations and events ------------------------------------------------------------

    def org(self, s: Session, create: bool = False) -> m.Organization:
        return self.scope.org(s, create)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.events.transaction() as s:
            yield s

    def event(self, s: Session, kind: str, subject: str, **detail: Any) -> None:
        self.events.record(s, kind, subject, **detail)

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
        with self._tx() as s:
            outcomes, touched = self.products_repo.add(s, profiles, as_of)
            self.refresh(s, touched, as_of)
        return outcomes

    def profile(self, sku: str, version: int | None = None) -> tuple[Profile, int]:
        with self.store.reader() as s:
            return self.products_repo.profile(s, sku, version)

    def _product(self, s: Session, sku: str) -> m.Product:
        return self.products_repo.get(s, sku)

    def products(self) -> list[dict[str, Any]]:
        with self.store.reader() as s:
            return self.products_repo.listing(s)

    def history(
        self, sku: str, s: Session | None = None, product: m.Product | None = None
    ) -> dict[str, Any]:
        """Versions, listings, lots, evidence, certificates and events of one product (read in
        ``s`` when given, e.g. a web request's read session, with ``product`` its row)."""
        if s is None:
            with self.store.reader() as own:
                return self.history(sku, own)
        product = product if product is not None else self._product(s, sku)
        versions = self.products_repo.versions(s, [product.id])[product.id]
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
            "listings": self.listings.of_product(s, product.org_id, sku),
            "lots": self.lots.of_product(s, product.id),
            "reports": Reports.summaries(self.reports.for_products(s, [product])[product.id]),
            "certificates": self.certificates.of_product(s, product.id),
            "state": States.summary(s.get(m.ProductState, product.id)),
            "events": self.events.of(s, product.org_id, sku),
            "withdrawn_reports": _withdrawn(s, product),
        }

    def all_profiles(self) -> list[tuple[str, Profile, list[dict[str, Any]]]]:
        """(sku, latest profile, certificates) of every product, for rule-change impact."""
        with self.store.reader() as s:
            rows = self.products_repo.latest_profiles(s)
            certs = self.certificates.by_product(s)
            lots = self.lots.by_product(s)
            return [
                (
                    sku,
                    profile,
                    [
                        {**c, "lots": lots.get(pid, [])}
                        for c in sorted(certs.get(pid, []), key=lambda x: x["version"])
                    ],
                )
                for pid, sku, profile in rows
            ]

    # --- lab reports and the evidence graph -----------------------------------------------------

    def add_reports(
        self,
        reports: Sequence[tuple[str, LabReport]],
        as_of: date,
        verifications: dict[str, Verification] | None = None,
    ) -> list[Outcome]:
        """Store reports (a report already stored unchanged is a no-op; changed is an error).
        The verification of each product whose state was recomputed goes into
        ``verifications`` (by SKU) when given: the same answer as ``evidence`` after commit."""
        with self._tx() as s:
            outcomes, touched = self.reports.add(s, reports)
            if any(o.outcome == "added" for o in outcomes):
                self.refresh(s, touched, as_of, verifications)
        return outcomes

    def _reports_for(self, s: Session, products: Sequence[m.Product]) -> dict[int, list[LabReport]]:
        return self.reports.for_products(s, products)

    # --- labs, listings, lots --------------------------------------------------------------------

    def import_labs(self, rows: Sequence[LabRow], as_of: date) -> tuple[int, int]:
        """Upsert labs and replace their scopes; every product's state is recomputed."""
        with self._tx() as s:
            counts = self.labs.upsert(s, rows)
            # The registry is shared: every organization's evidence may have changed standing.
            for slug in sorted(s.scalars(select(m.Organization.slug))):
                Workspace(self.store, slug, self.who).refresh(s, None, as_of)
            return counts

    def registry(self, s: Session) -> LabRegistry:
        return self.labs.registry(s)

    def import_listings(self, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Upsert listings by (marketplace, listing id, SKU); returns (added, updated)."""
        with self._tx() as s:
            return self.listings.upsert(s, rows)

    def add_lot(self, sku: str, lot: str, made: str, city: str | None, country: str | None) -> bool:
        with self._tx() as s:
            added = self.lots.add(s, self._product(s, sku), lot, made, city, country)
            if added:
                self.event(s, "lot.add", sku, lot=lot, manufactured=made)
            return added

    # --- computed state ------------------------------------------------------------------------

    def refresh(
        self,
        s: Session,
        product_ids: Sequence[int] | None,
        as_of: date,
        verifications: dict[str, Verification] | None = None,
    ) -> int:
        """Recompute the state of these products (None: all) from the stored evidence."""
        return self.states.refresh(s, product_ids, as_of, verifications)

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
            return self.states.evidence(s, sku, as_of)

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
            relied = {t["report_no"] for t in c["testing"]}
            report_ids = self.reports.ids(s, org.id, relied) if relied else []
            self.certificates.add(
                s, org.id, product, doc, pdf, product_version, report_ids, renewal_due
            )
            if lot:
                made = c["manufacture"]
                self.lots.ensure(s, product.id, lot, made["date"], made["city"], made["country"])
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
            return self.certificates.next_version(s, self._product(s, sku).id)

    def certificate_id_taken(self, cert_id: str) -> bool:
        """Whether any organization holds a certificate with this id."""
        with self.store.reader() as s:
            return s.get(m.Certificate, cert_id) is not None

    def certificate(self, cert_id: str) -> tuple[dict[str, Any], bytes]:
        with self.store.reader() as s:
            return self.certificates.get(s, cert_id)

    # --- status --------------------------------------------------------------------------------

    def statuses(self, as_of: date, skus: Sequence[str] | None = None) -> list[Status]:
        """One status per SKU (or just ``skus``), from stored state; states computed under
        other rules (``rules_version``) are recomputed first, so nobody has to run refresh."""
        with self.store.reader() as s:
            stale = self.states.stale(s, skus)
        if stale:
            self.recompute(stale)
        with self.store.reader() as s:
            return self.states.statuses(s, as_of, skus)

    def recompute(self, stale: dict[date, list[int]]) -> int:
        """Recompute stale states, each as of the date it was computed for."""
        with self._tx() as s:
            count = sum(self.refresh(s, ids, when) for when, ids in sorted(stale.items()))
            self.event(s, "refresh.rules", "catalog", products=count, rules=self.rules_version)
            return count

    @property
    def rules_version(self) -> str:
        return default_kb().rules_version

    def status(self, sku: str, as_of: date) -> Status | None:
        """The catalog status of one product (None when it has no stored state)."""
        found = [s for s in self.statuses(as_of, [sku]) if s.status != "no_profile"]
        return found[0] if found else None


def _withdrawn(s: Session, product: m.Product) -> list[dict[str, Any]]:
    """Reports naming this product that were withdrawn: who, when, why (contract 10)."""
    rows = s.execute(
        select(m.Report.report_no, m.ReportWithdrawal)
        .join(m.ReportWithdrawal, m.ReportWithdrawal.report_id == m.Report.id)
        .join(m.ReportProduct, m.ReportProduct.report_id == m.Report.id)
        .where(m.Report.org_id == product.org_id, m.ReportProduct.sku == product.sku)
        .order_by(m.Report.report_no)
    )
    return [
        {
            "report_no": no,
            "by": w.actor,
            "at": w.at.isoformat() if w.at else None,
            "reason": w.reason,
        }
        for no, w in rows
    ]
