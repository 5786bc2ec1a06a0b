"""What every repository shares: the organization it works for, the actor, bulk helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from toysafe.actor import act_as, actor  # noqa: F401 - re-exported for the repositories
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.db import Store

DEFAULT_ORG = "default"
# Join condition: a product with its latest profile version.
LATEST = (m.ProductVersion.product_id == m.Product.id) & (
    m.ProductVersion.version == m.Product.latest_version
)


@dataclass(frozen=True)
class Outcome:
    key: str
    outcome: str  # added | new_version | unchanged | updated
    detail: str = ""


@dataclass(frozen=True)
class Scope:
    """The store, the organization (by slug) and the actor a repository works for."""

    store: Store
    org_slug: str
    who: str

    def org(self, s: Session, create: bool = False) -> m.Organization:
        # Asked once per session (unit of work), however many repositories need it.
        known: dict[str, m.Organization] = s.info.setdefault("toysafe_orgs", {})
        if self.org_slug in known:
            return known[self.org_slug]
        found = s.scalar(select(m.Organization).where(m.Organization.slug == self.org_slug))
        if found is None:
            if not create:
                raise InputError(f"--org: no organization '{self.org_slug}' in this workspace")
            found = m.Organization(slug=self.org_slug, name=self.org_slug)
            s.add(found)
            s.flush()
        known[self.org_slug] = found
        return found


def table(model: type[m.Base]) -> Table:
    """The model's table: Core inserts skip the ORM's per-row bookkeeping in bulk writes."""
    return cast(Table, model.__table__)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
