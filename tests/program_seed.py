"""Seeding the program's tables directly (a policy version, listings, an open request), so that
casework tests do not depend on the sweep; the scenario test drives the real sweep."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from toysafe.core.program.model import request_ref
from toysafe.core.program.policy import TOY_BASELINE, Policy
from toysafe.io.program import read_policy
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
POLICY_FILE = EX / "program" / "policy.yaml"


def policy(**changes: Any) -> Policy:
    base = read_policy(POLICY_FILE)
    data = base.model_dump(mode="json")
    data.update(changes)
    return Policy.model_validate(data)


def seed_policy(store: Store, pol: Policy | None = None, on: date = date(2026, 1, 1)) -> int:
    pol = pol or policy()
    with store.transaction() as s:
        version = (s.scalar(select(func.max(pm.PolicyVersion.version))) or 0) + 1
        s.add(
            pm.PolicyVersion(
                version=version,
                digest=pol.digest(),
                marketplace=pol.marketplace,
                document=pol.canonical(),
                loaded_on=on,
                loaded_by="test",
            )
        )
        if s.scalar(select(m.Organization).where(m.Organization.slug == pol.marketplace)) is None:
            s.add(m.Organization(slug=pol.marketplace, name=pol.marketplace))
    return version


def org_id(store: Store, slug: str) -> int:
    with store.transaction() as s:
        found = s.scalar(select(m.Organization.id).where(m.Organization.slug == slug))
        if found is None:
            org = m.Organization(slug=slug, name=slug)
            s.add(org)
            s.flush()
            found = org.id
        return int(found)


def seed_listing(
    store: Store,
    listing_id: str = "B0CW00DST7",
    seller: str = "default",
    *,
    model: str | None = "MM-STK-07",
    min_age_months: int | None = 12,
    cautionary_statement: str | None = None,
    state: str = "pending",
    listed_on: date = date(2026, 10, 1),
    category: str = "toys_and_games",
    sku: str | None = "MM-STK-07",
) -> int:
    seller_id = org_id(store, seller)
    with store.transaction() as s:
        row = pm.ProgramListing(
            listing_id=listing_id,
            seller_org_id=seller_id,
            category=category,
            title=f"listing {listing_id}",
            brand=None,
            model=model,
            min_age_months=min_age_months,
            cautionary_statement=cautionary_statement,
            listed_on=listed_on,
            sku=sku,
            program_category="toys",
            in_scope=True,
            state=state,
            state_since=listed_on,
            imported_on=listed_on,
            updated_on=listed_on,
        )
        s.add(row)
        s.flush()
        return int(row.id)


def open_request(
    store: Store,
    listing_pk: int,
    opened: date = date(2026, 11, 1),
    *,
    version: int = 1,
    triggers: tuple[str, ...] = ("new_listing",),
    requirements: tuple[str, ...] = TOY_BASELINE,
    response_days: int = 14,
    state: str = "open",
) -> str:
    with store.transaction() as s:
        listing = s.get(pm.ProgramListing, listing_pk)
        assert listing is not None
        req = pm.Request(
            listing_pk=listing_pk,
            seller_org_id=listing.seller_org_id,
            category="toys",
            state=state,
            opened=opened,
            due=opened + timedelta(days=response_days),
            policy_version=version,
            requirements=list(requirements),
            requirements_basis="baseline",
            extended_days=0,
            trusted=False,
        )
        s.add(req)
        s.flush()
        for kind in triggers:
            s.add(
                pm.RequestTrigger(
                    request_id=req.id,
                    listing_pk=listing_pk,
                    kind=kind,
                    ref="",
                    on=opened,
                    facts={},
                )
            )
        s.add(
            pm.RequestHistory(
                request_id=req.id,
                on=opened,
                event="opened",
                from_state=None,
                to_state=state,
                ref=None,
                actor="test",
                detail={},
            )
        )
        return request_ref(req.id)
