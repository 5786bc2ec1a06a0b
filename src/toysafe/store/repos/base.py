"""What every repository shares: the organization it works for, the actor, bulk helpers."""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from toysafe.io.errors import InputError
from toysafe.settings import settings
from toysafe.store import models as m
from toysafe.store.db import Store

DEFAULT_ORG = "default"
# Join condition: a product with its latest profile version.
LATEST = (m.ProductVersion.product_id == m.Product.id) & (
    m.ProductVersion.version == m.Product.latest_version
)


_ACTOR: list[str | None] = [None]  # --actor of the running command


def act_as(name: str | None) -> None:
    """Record ``name`` as the actor of this command's events (None: the default)."""
    _ACTOR[0] = name


def actor() -> str:
    """Who the command line records as the actor: --actor, else TOYSAFE_ACTOR, else the OS
    user marked as such ("os:alice"), so it is never mistaken for a signed-in account."""
    return _ACTOR[0] or settings().actor or f"os:{getpass.getuser()}"


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
        found = s.scalar(select(m.Organization).where(m.Organization.slug == self.org_slug))
        if found is None:
            if not create:
                raise InputError(f"--org: no organization '{self.org_slug}' in this workspace")
            found = m.Organization(slug=self.org_slug, name=self.org_slug)
            s.add(found)
            s.flush()
        return found


def table(model: type[m.Base]) -> Table:
    """The model's table: Core inserts skip the ORM's per-row bookkeeping in bulk writes."""
    return cast(Table, model.__table__)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
