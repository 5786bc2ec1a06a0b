"""Production lots of a product (date and place of manufacture)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toysafe.io.errors import InputError
from toysafe.store import models as m


class Lots:
    def find(self, s: Session, product_id: int, lot: str) -> m.Lot | None:
        return s.scalar(select(m.Lot).where(m.Lot.product_id == product_id, m.Lot.lot_no == lot))

    def add(
        self,
        s: Session,
        product: m.Product,
        lot: str,
        made: str,
        city: str | None,
        country: str | None,
    ) -> bool:
        """Record a lot; True when new, False when already recorded the same, else an error."""
        found = self.find(s, product.id, lot)
        if found is not None:
            if (found.manufactured, found.city, found.country) != (made, city, country):
                raise InputError(
                    f"lot {lot} of {product.sku} is already recorded as made "
                    f"{found.manufactured} in {found.city}, {found.country}"
                )
            return False
        s.add(
            m.Lot(product_id=product.id, lot_no=lot, manufactured=made, city=city, country=country)
        )
        return True

    def ensure(
        self,
        s: Session,
        product_id: int,
        lot: str,
        made: str,
        city: str | None,
        country: str | None,
    ) -> None:
        """Record a lot unless already recorded (a certificate names the lot it covers)."""
        if self.find(s, product_id, lot) is None:
            s.add(
                m.Lot(
                    product_id=product_id, lot_no=lot, manufactured=made, city=city, country=country
                )
            )

    def of_product(self, s: Session, product_id: int) -> list[dict[str, Any]]:
        return [
            {"lot": x.lot_no, "manufactured": x.manufactured, "place": f"{x.city}, {x.country}"}
            for x in s.scalars(select(m.Lot).where(m.Lot.product_id == product_id))
        ]

    def by_product(self, s: Session) -> dict[int, list[dict[str, Any]]]:
        """Every lot (lot number, manufacture date) by product id."""
        out: dict[int, list[dict[str, Any]]] = {}
        for lot in s.scalars(select(m.Lot)):
            out.setdefault(lot.product_id, []).append(
                {"lot": lot.lot_no, "manufactured": lot.manufactured}
            )
        return out
