"""Issued certificates (signed JSON and PDF) and the reports each relied on."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.repos.base import table


class Certificates:
    def add(
        self,
        s: Session,
        org_id: int,
        product: m.Product,
        doc: dict[str, Any],
        pdf: bytes,
        product_version: int,
        report_ids: list[int],
        renewal_due: date | None = None,
    ) -> None:
        c = doc["certificate"]
        s.add(
            m.Certificate(
                id=c["id"],
                org_id=org_id,
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
        if report_ids:
            s.execute(
                insert(table(m.CertificateReport)),
                [{"certificate_id": c["id"], "report_id": rid} for rid in report_ids],
            )

    def next_version(self, s: Session, product_id: int) -> int:
        latest = s.scalar(
            select(func.max(m.Certificate.version)).where(m.Certificate.product_id == product_id)
        )
        return (latest or 0) + 1

    def get(self, s: Session, cert_id: str) -> tuple[dict[str, Any], bytes]:
        row = s.get(m.Certificate, cert_id)
        if row is None:
            raise InputError(f"no certificate '{cert_id}' in the workspace")
        return row.document, row.pdf

    def of_product(self, s: Session, product_id: int) -> list[dict[str, Any]]:
        return [
            {
                "id": c.id,
                "version": c.version,
                "type": c.type,
                "issued": c.issued.isoformat(),
                "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                "product_version": c.product_version,
            }
            for c in s.scalars(
                select(m.Certificate)
                .where(m.Certificate.product_id == product_id)
                .order_by(m.Certificate.version)
            )
        ]

    def by_product(self, s: Session) -> dict[int, list[dict[str, Any]]]:
        """(id, toy standard, version) of every certificate, by product id."""
        out: dict[int, list[dict[str, Any]]] = {}
        for c in s.execute(
            select(
                m.Certificate.product_id,
                m.Certificate.id,
                m.Certificate.toy_standard,
                m.Certificate.version,
            )
        ):
            out.setdefault(c.product_id, []).append(
                {"id": c.id, "toy_standard": c.toy_standard, "version": c.version}
            )
        return out
