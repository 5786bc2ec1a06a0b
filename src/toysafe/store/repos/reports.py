"""Lab reports, their results, and the evidence graph linking them to products."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from toysafe.core.evidence.labreport import LabReport
from toysafe.io.errors import InputError
from toysafe.store import memo
from toysafe.store import models as m
from toysafe.store.repos.base import Outcome, Scope, chunks, table
from toysafe.store.repos.events import Events


def report_digest(doc: dict[str, Any]) -> str:
    """The digest that tells a stored report from a changed one with the same number."""
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


class Reports:
    def __init__(self, scope: Scope, events: Events) -> None:
        self.scope = scope
        self.events = events

    def add(
        self, s: Session, reports: Sequence[tuple[str, LabReport]]
    ) -> tuple[list[Outcome], list[int]]:
        """Store reports (one already stored unchanged is a no-op; changed is an error); returns
        the outcomes and the ids of the products the new reports name."""
        outcomes: list[Outcome] = []
        org = self.scope.org(s)
        stored: dict[str, str] = {}
        for chunk in chunks(sorted({r.report_no for _, r in reports}), 500):
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
        if not new:
            return outcomes, []
        ids = [
            rid
            for (rid,) in s.execute(
                insert(m.Report).returning(m.Report.id, sort_by_parameter_order=True),
                [row for row, _ in new],
            )
        ]
        s.execute(
            insert(table(m.ReportProduct)),
            [
                {"report_id": rid, "sku": p.sku, "model": p.model, "gtin": p.gtin}
                for rid, (_, r) in zip(ids, new, strict=True)
                for p in r.products
            ],
        )
        s.execute(
            insert(table(m.Result)),
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
            self.events.record(
                s,
                "report.add",
                r.report_no,
                products=[p.model_dump(exclude_none=True) for p in r.products],
            )
        named = self.products_named(s, org.id, [r for _, r in new])
        self._product_events(s, named, [(row["source"], r) for row, r in new])
        return outcomes, named

    def _product_events(
        self, s: Session, product_ids: Sequence[int], reports: Sequence[tuple[str, LabReport]]
    ) -> None:
        """One entry in each named product's history per report, with who uploaded it (a lab
        user's e-mail when a lab uploaded) and the lab that tested."""
        if not product_ids:
            return
        products = s.execute(
            select(m.Product.sku, m.Product.model, m.Product.gtin).where(
                m.Product.id.in_(product_ids)
            )
        ).all()
        for source, r in reports:
            skus = sorted(
                {
                    sku
                    for sku, model, gtin in products
                    for ref in r.products
                    if (ref.sku and ref.sku == sku)
                    or (ref.model and ref.model == model)
                    or (ref.gtin and ref.gtin == gtin)
                }
            )
            for sku in skus:
                self.events.record(
                    s,
                    "report.add",
                    sku,
                    report_no=r.report_no,
                    lab=r.lab.cpsc_id,
                    lab_name=r.lab.name,
                    source=source,
                )

    def products_named(self, s: Session, org_id: int, reports: Iterable[LabReport]) -> list[int]:
        """Ids of the organization's products the reports name (by SKU, model or GTIN)."""
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
            for chunk in chunks(sorted(values), 500):
                ids.update(
                    s.scalars(
                        select(m.Product.id).where(m.Product.org_id == org_id, column.in_(chunk))
                    )
                )
        return sorted(ids)

    def for_products(self, s: Session, products: Sequence[m.Product]) -> dict[int, list[LabReport]]:
        """The stored reports of the products' organization naming each product, parsed once."""
        refs = self.refs(s, products)
        return {pid: self.load(s, pr) for pid, pr in refs.items()}

    def refs(self, s: Session, products: Sequence[m.Product]) -> dict[int, list[tuple[int, str]]]:
        """(report id, stored digest) of the live reports naming each product: what the
        evidence depends on, read without the documents themselves."""
        out: dict[int, list[tuple[int, str]]] = {p.id: [] for p in products}
        if not products:
            return out
        orgs = {p.org_id for p in products}
        if len(orgs) != 1:
            raise ValueError("products of one organization at a time")
        by_sku = {p.sku: p.id for p in products}
        by_model = {p.model: p.id for p in products if p.model}
        by_gtin = {p.gtin: p.id for p in products if p.gtin}
        links: dict[int, set[int]] = {}
        digests: dict[int, str] = {}
        query = (
            select(
                m.ReportProduct.report_id,
                m.Report.digest,
                m.ReportProduct.sku,
                m.ReportProduct.model,
                m.ReportProduct.gtin,
            )
            .join(m.Report, m.Report.id == m.ReportProduct.report_id)
            .where(m.Report.org_id == orgs.pop())
            # A withdrawn report stays stored (and in the history) but is no evidence.
            .where(~m.Report.id.in_(select(m.ReportWithdrawal.report_id)))
        )
        if len(products) < 500:
            query = query.where(
                or_(
                    m.ReportProduct.sku.in_(list(by_sku)),
                    m.ReportProduct.model.in_(list(by_model)),
                    m.ReportProduct.gtin.in_(list(by_gtin)),
                )
            )
        for rid, digest, sku, model, gtin in s.execute(query):
            for lookup, key in ((by_sku, sku), (by_model, model), (by_gtin, gtin)):
                pid = lookup.get(key) if key else None
                if pid is not None:
                    links.setdefault(rid, set()).add(pid)
                    digests[rid] = digest
        for rid, pids in links.items():
            for pid in pids:
                out[pid].append((rid, digests[rid]))
        return out

    def load(self, s: Session, refs: Sequence[tuple[int, str]]) -> list[LabReport]:
        """The reports of ``refs``, parsed once per process (LabReport is frozen); only the
        documents not parsed yet are read. Keyed by id and digest: a changed document (a
        restore, another process) is a new key."""
        parsed = {ref: memo.REPORTS.peek(ref) for ref in refs}
        missing = sorted({rid for (rid, _), found in parsed.items() if found is None})
        for chunk in chunks(missing, 500):
            for rid, digest, doc in s.execute(
                select(m.Report.id, m.Report.digest, m.Report.document).where(
                    m.Report.id.in_(chunk)
                )
            ):
                report = LabReport.model_validate(doc)
                memo.REPORTS.put((rid, digest), report)
                parsed[(rid, digest)] = report
        out = []
        for ref in refs:
            found = parsed.get(ref)
            if found is None:  # changed between the two reads: read it again, unmemoized
                doc = s.scalar(select(m.Report.document).where(m.Report.id == ref[0]))
                found = LabReport.model_validate(doc)
            out.append(found)
        return out

    @staticmethod
    def summaries(reports: Iterable[LabReport]) -> list[dict[str, Any]]:
        """What a product's history shows of each report."""
        return [
            {
                "report_no": r.report_no,
                "lab": r.lab.cpsc_id,
                "issued": r.issued.isoformat(),
                "standard": r.standard,
            }
            for r in reports
        ]

    def ids(self, s: Session, org_id: int, report_nos: Iterable[str]) -> list[int]:
        """Ids of the organization's reports with these numbers."""
        return list(
            s.scalars(
                select(m.Report.id).where(
                    m.Report.org_id == org_id, m.Report.report_no.in_(list(report_nos))
                )
            )
        )
