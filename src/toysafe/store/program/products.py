"""What toysafe's assessment says of the products that listings link (``sku``), cached.

The assessment is per product, not per listing, and is kept in ``program_product_facts`` by the
profile's digest and the rules' fingerprint, so a sweep only assesses a product whose profile
or rules changed. ``program_product_rule_dates`` lists the requirements that apply to the
product when made on or after their effective date (P3 rule_change).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from functools import lru_cache

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from toysafe.core.law.dates import ManufactureDate
from toysafe.core.law.engine import assess
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile
from toysafe.io.kb import default_kb
from toysafe.store import models as m
from toysafe.store.program import models as pm
from toysafe.store.program.feeds import bulk_insert, chunks, table


@lru_cache(maxsize=4)
def fingerprint(kb: KnowledgeBase) -> str:
    """Changes whenever any rule of the knowledge base changes."""
    body = [r.model_dump(mode="json") for r in kb.requirements]
    editions = [(e.id, e.effective_from.isoformat()) for e in kb.editions]
    text = json.dumps([body, editions], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _horizon(kb: KnowledgeBase) -> date:
    """The latest date on which any rule or edition takes effect."""
    days = [r.effective.from_ for r in kb.requirements if r.effective.from_]
    days += [e.effective_from for e in kb.editions]
    return max(days)


def facts_of(
    profile: Profile, kb: KnowledgeBase, as_of: date
) -> tuple[bool, list[str], list[str], list[tuple[str, date]]]:
    """(children's product, requirement ids, warning keys, rule dates) for one profile."""
    a = assess(profile, kb, as_of)
    horizon = max(_horizon(kb), as_of)
    new = profile.model_copy(update={"manufactured": ManufactureDate.parse(horizon)})
    future = assess(new, kb, horizon)
    dates: dict[tuple[str, date], None] = {}
    for r in future.requirements:
        start = kb.by_id[r.id].effective.from_
        if start is not None:
            dates[(r.id, start)] = None
    if future.toy_standard is not None:
        dates[(future.toy_standard, kb.edition(future.toy_standard).effective_from)] = None
    return (
        a.children_product,
        [r.id for r in a.requirements],
        sorted({w.key for w in a.warnings}),
        list(dates),
    )


def refresh(s: Session, as_of: date, kb: KnowledgeBase | None = None) -> int:
    """Assess every linked product whose cached facts are missing or stale; return how many."""
    kb = kb or default_kb()
    rules = fingerprint(kb)
    L = table(pm.ProgramListing)
    P = table(m.Product)
    V = table(m.ProductVersion)
    F = table(pm.ProductFacts)
    linked = select(L.c.product_id).where(L.c.product_id.is_not(None)).distinct()
    stale = s.execute(
        select(P.c.id, V.c.digest, V.c.profile)
        .join(V, and_(V.c.product_id == P.c.id, V.c.version == P.c.latest_version))
        .outerjoin(F, F.c.product_id == P.c.id)
        .where(P.c.id.in_(linked))
        .where(or_(F.c.product_id.is_(None), F.c.digest != V.c.digest, F.c.rules != rules))
    ).all()
    if not stale:
        return 0
    facts, dates = [], []
    for pid, digest, doc in stale:
        children, reqs, warns, rule_dates = facts_of(Profile.model_validate(doc), kb, as_of)
        facts.append(
            {
                "product_id": pid,
                "digest": digest,
                "rules": rules,
                "children_product": children,
                "requirements": reqs,
                "warnings": warns,
                "computed_on": as_of,
            }
        )
        dates += [{"product_id": pid, "requirement": r, "effective": d} for r, d in rule_dates]
    ids = [f["product_id"] for f in facts]
    for part in chunks(ids):
        s.execute(delete(F).where(F.c.product_id.in_(part)))
        s.execute(
            delete(table(pm.ProductRuleDate)).where(
                table(pm.ProductRuleDate).c.product_id.in_(part)
            )
        )
    bulk_insert(s, F, facts)
    bulk_insert(s, table(pm.ProductRuleDate), dates)
    return len(facts)


def link(s: Session) -> None:
    """Link listings to their seller's product by ``sku`` (set-based)."""
    L = table(pm.ProgramListing)
    P = table(m.Product)
    product = (
        select(P.c.id).where(P.c.org_id == L.c.seller_org_id, P.c.sku == L.c.sku).scalar_subquery()
    )
    s.execute(
        L.update()
        .where(L.c.sku.is_not(None), L.c.product_id.is_(None))
        .where(select(P.c.id).where(P.c.org_id == L.c.seller_org_id, P.c.sku == L.c.sku).exists())
        .values(product_id=product)
    )
