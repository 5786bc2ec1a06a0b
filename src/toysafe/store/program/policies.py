"""Policy versions: content-addressed, numbered, never overwritten (contract 8.1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from toysafe.core.program.policy import Policy
from toysafe.io.errors import InputError
from toysafe.store import models as m
from toysafe.store.db import Store
from toysafe.store.program import models as pm
from toysafe.store.program.feeds import enroll, log, table


@dataclass(frozen=True)
class Loaded:
    version: int
    created: bool


def load(s: Session, policy: Policy, as_of: date, actor: str) -> Loaded:
    """Store ``policy`` as a new version unless the newest version has the same content.

    The same content as an older (not the newest) version is a new version too: going back to
    an earlier policy is a change that requests and decisions must be able to name."""
    digest = policy.digest()
    newest = s.execute(
        select(pm.PolicyVersion.version, pm.PolicyVersion.digest)
        .order_by(pm.PolicyVersion.version.desc())
        .limit(1)
    ).first()
    if newest is not None and newest.digest == digest:
        return Loaded(newest.version, False)
    version = (newest.version if newest else 0) + 1
    s.execute(
        insert(table(pm.PolicyVersion)),
        [
            {
                "version": version,
                "digest": digest,
                "marketplace": policy.marketplace,
                "document": policy.canonical(),
                "loaded_on": as_of,
                "loaded_by": actor,
            }
        ],
    )
    market = s.scalar(select(m.Organization.id).where(m.Organization.slug == policy.marketplace))
    if market is None:
        s.execute(
            insert(table(m.Organization)),
            [{"slug": policy.marketplace, "name": policy.marketplace}],
        )
        market = s.scalar(
            select(m.Organization.id).where(m.Organization.slug == policy.marketplace)
        )
    assert market is not None
    sellers = s.scalars(select(pm.ProgramListing.seller_org_id).distinct()).all()
    enroll(s, market, list(sellers))
    log(s, as_of, actor, "policy_loaded", f"policy {version}", version, {"digest": digest})
    return Loaded(version, True)


def load_policy(store: Store, policy: Policy, as_of: date, actor: str) -> Loaded:
    with store.transaction() as s:
        return load(s, policy, as_of, actor)


def current(s: Session) -> tuple[int, Policy] | None:
    row = s.execute(
        select(pm.PolicyVersion.version, pm.PolicyVersion.document)
        .order_by(pm.PolicyVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row.version, Policy.model_validate(row.document)


def get(s: Session, version: int | None = None) -> tuple[int, Policy]:
    """The policy of ``version`` (default: the newest); InputError when there is none."""
    if version is None:
        found = current(s)
        if found is None:
            raise InputError("no policy loaded: run 'toysafe program policy load FILE' first")
        return found
    doc = s.scalar(select(pm.PolicyVersion.document).where(pm.PolicyVersion.version == version))
    if doc is None:
        newest = s.scalar(select(func.max(pm.PolicyVersion.version)))
        raise InputError(f"--version: no policy version {version} (newest: {newest or 'none'})")
    return version, Policy.model_validate(doc)
