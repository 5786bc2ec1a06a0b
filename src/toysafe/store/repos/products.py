"""Products and their profile versions (a change is a new version, never an overwrite)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from toysafe.core.catalog.status import component_changes, profile_digest
from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.repos.base import LATEST, Outcome, Scope, chunks, table
from toysafe.store.repos.events import Events


class Products:
    def __init__(self, scope: Scope, events: Events) -> None:
        self.scope = scope
        self.events = events

    def add(
        self, s: Session, profiles: Sequence[Profile], as_of: date
    ) -> tuple[list[Outcome], list[int]]:
        """Add each profile; returns the outcomes and the ids of the products that changed."""
        outcomes: list[Outcome] = []
        org = self.scope.org(s)
        known: dict[str, tuple[int, int, str, dict[str, Any]]] = {}
        for chunk in chunks(sorted({p.sku for p in profiles}), 500):
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
                self.events.record(s, "product.add", p.sku, version=1)
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
            self.events.record(s, "product.version", p.sku, version=version, changes=changes)
            detail = f"version {version}"
            if changes:
                detail += "; material change: " + ", ".join(
                    f"{c['component']} {c['change']}" for c in changes
                )
            outcomes.append(Outcome(p.sku, "new_version", detail))
            touched.append(pid)
        if versions:
            s.execute(insert(table(m.ProductVersion)), versions)
        return outcomes, touched

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
            "created_by": self.scope.who,
        }

    def get(self, s: Session, sku: str) -> m.Product:
        """The product ``sku`` of the organization, or a clear error."""
        org = self.scope.org(s)
        product = s.scalar(
            select(m.Product).where(m.Product.org_id == org.id, m.Product.sku == sku)
        )
        if product is None:
            raise InputError(
                f"no product '{sku}' in the workspace: add it with 'toysafe product add PROFILE'"
            )
        return product

    def profile(self, s: Session, sku: str, version: int | None = None) -> tuple[Profile, int]:
        product = self.get(s, sku)
        v = version or product.latest_version
        row = s.scalar(
            select(m.ProductVersion).where(
                m.ProductVersion.product_id == product.id, m.ProductVersion.version == v
            )
        )
        if row is None:
            raise InputError(f"{sku}: no version {v}")
        return Profile.model_validate(row.profile), v

    def versions(self, s: Session, product_ids: Sequence[int]) -> dict[int, list[m.ProductVersion]]:
        """Every profile version of these products, oldest first."""
        out: dict[int, list[m.ProductVersion]] = {}
        for chunk in chunks(list(product_ids), 500):
            for v in s.scalars(
                select(m.ProductVersion)
                .where(m.ProductVersion.product_id.in_(chunk))
                .order_by(m.ProductVersion.version)
            ):
                out.setdefault(v.product_id, []).append(v)
        return out

    def _latest(self, s: Session) -> list[Any]:
        """(id, sku, latest version, its profile data) of every product, by SKU."""
        org = self.scope.org(s)
        return list(
            s.execute(
                select(
                    m.Product.id,
                    m.Product.sku,
                    m.Product.latest_version,
                    m.ProductVersion.profile,
                )
                .join(m.ProductVersion, LATEST)
                .where(m.Product.org_id == org.id)
                .order_by(m.Product.sku)
            )
        )

    def listing(self, s: Session) -> list[dict[str, Any]]:
        """Every product of the organization with its latest version and name."""
        return [
            {"sku": sku, "version": v, "name": prof.get("name")}
            for _, sku, v, prof in self._latest(s)
        ]

    def latest_profiles(self, s: Session) -> list[tuple[int, str, Profile]]:
        """(id, sku, latest profile) of every product of the organization, by SKU."""
        return [(pid, sku, Profile.model_validate(prof)) for pid, sku, _, prof in self._latest(s)]
