"""Building signed ``toysafe/validation@1`` documents for tests: a TIC with a key, a product
assessed by toysafe, and a validation that tests everything the assessment says applies."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from toysafe.core.evidence.labs import LabRegistry, LabRow
from toysafe.core.law.engine import assess
from toysafe.core.program.validation import public_key_text, sign
from toysafe.io.kb import default_kb
from toysafe.io.profiles import read_profile

EXAMPLES = Path(__file__).parent.parent / "examples"
AS_OF = date(2026, 2, 10)
ISSUED = date(2026, 2, 1)
LAB_ID = "1001"


@dataclass(frozen=True)
class Tic:
    """An approved TIC as the policy lists it, with its private key."""

    id: str
    name: str
    cpsc_lab_ids: tuple[str, ...]
    public_key: str
    key: Ed25519PrivateKey

    def policy_entry(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "cpsc_lab_ids": list(self.cpsc_lab_ids),
            "public_key": self.public_key,
        }


def make_tic(tic_id: str = "sgs-us", lab_ids: tuple[str, ...] = (LAB_ID,)) -> Tic:
    key = Ed25519PrivateKey.generate()
    return Tic(tic_id, f"{tic_id} labs", lab_ids, public_key_text(key.public_key()), key)


def stacker_profile() -> dict[str, Any]:
    return read_profile(EXAMPLES / "products" / "painted-wooden-stacker.yaml").to_data()


def applicable(profile: dict[str, Any], as_of: date = AS_OF) -> list[tuple[str, bool]]:
    """(requirement id, needs a lab) for everything toysafe says applies to ``profile``."""
    from toysafe.io.profiles import profile_from_data

    a = assess(profile_from_data(profile), default_kb(), as_of)
    return [(r.id, r.third_party_testing) for r in a.requirements]


def registry(lab_id: str = LAB_ID, scopes: list[str] | None = None) -> LabRegistry:
    """A registry where ``lab_id`` is accepted since 2012 for ``scopes`` (default: every lab
    requirement of the stacker, through the whole-toy-standard scope where it can)."""
    wanted = scopes
    if wanted is None:
        lab = [rid for rid, needs in applicable(stacker_profile()) if needs]
        wanted = sorted({"16CFR1250" if rid.startswith("F963:") else rid for rid in lab})
    rows = [
        LabRow(
            cpsc_id=lab_id,
            name="Example TIC lab",
            country="US",
            type="independent",
            status="accepted",
            scope=s,
            accepted_on=date(2012, 1, 1),
        )
        for s in wanted
    ]
    return LabRegistry.from_rows(rows)


def document(
    tic: Tic,
    *,
    listing_ids: list[str] | None = None,
    trf: str = "TRF-2026-000123",
    revision: int = 0,
    issued: date = ISSUED,
    report_issued: date = date(2026, 1, 20),
    report_no: str = "ETC-2026-0320-01",
    lab_id: str = LAB_ID,
    seller: str = "hoppy",
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unsigned validation that passes every requirement toysafe says applies."""
    prof = profile if profile is not None else stacker_profile()
    params: list[dict[str, Any]] = [
        {"requirement": rid, "verdict": "pass", "data": f"{rid}: tested, conforms"}
        for rid, _ in applicable(prof)
    ]
    params.append(
        {"requirement": "F963:4.5", "verdict": "n/a", "justification": "the toy makes no sound"}
    )
    return {
        "format": "toysafe/validation@1",
        "trf": trf,
        "tic": tic.id,
        "issued": issued.isoformat(),
        "revision": revision,
        "listing_ids": listing_ids or ["B0TOY00001"],
        "seller": seller,
        "manufacturer": {"name": "Yunhe Bright Toys Co.", "address": "9 Harbour Rd, Yunhe, CN"},
        "reports": [
            {"report_no": report_no, "issued": report_issued.isoformat(), "cpsc_lab_id": lab_id}
        ],
        "profile": prof,
        "overall": "pass",
        "parameters": params,
    }


def signed(tic: Tic, doc: dict[str, Any]) -> dict[str, Any]:
    return sign(copy.deepcopy(doc), tic.key)


# --- a marketplace in a store: policy, seller, listing, request --------------------------------

LISTING = "B0TOY00001"


def policy_doc(tics: list[Tic], evidence: str = "direct_validation") -> dict[str, Any]:
    import yaml

    data = yaml.safe_load((EXAMPLES / "program" / "policy.yaml").read_text())
    data["categories"]["toys"]["evidence"] = evidence
    data["approved_tics"] = [t.policy_entry() for t in tics]
    return data


def seed(
    store: Any,
    tics: list[Tic],
    *,
    evidence: str = "direct_validation",
    listings: tuple[str, ...] = (LISTING,),
    request_state: str | None = "open",
    seller: str = "hoppy",
    opened: date = date(2026, 1, 20),
) -> dict[str, int]:
    """A policy (version 1), a seller with listings of the stacker, lab 1001 in the registry,
    and (unless ``request_state`` is None) an open request on each listing. Returns request ids
    by listing."""
    from datetime import timedelta

    from toysafe.core.program.policy import Policy
    from toysafe.store import models as m
    from toysafe.store.program import models as pm
    from toysafe.store.workspace import Workspace

    policy = Policy.model_validate(policy_doc(tics, evidence))
    ids: dict[str, int] = {}
    with store.transaction() as s:
        market = m.Organization(slug="demo-market", name="Demo market")
        org = m.Organization(slug=seller, name=seller)
        s.add_all([market, org])
        s.flush()
        s.add(
            pm.PolicyVersion(
                version=1,
                digest=policy.digest(),
                marketplace="demo-market",
                document=policy.canonical(),
                loaded_on=opened,
                loaded_by="tester",
            )
        )
        s.flush()
        for lid in listings:
            listing = pm.ProgramListing(
                listing_id=lid,
                seller_org_id=org.id,
                category="toys_and_games",
                title="Rainbow stacker",
                brand="Maple & Moss",
                model="MM-STK-07",
                min_age_months=12,
                cautionary_statement="no_warning_applicable",
                listed_on=opened,
                in_scope=True,
                program_category="toys",
                state="pending",
                imported_on=opened,
                updated_on=opened,
            )
            s.add(listing)
            s.flush()
            if request_state is None:
                continue
            req = pm.Request(
                listing_pk=listing.id,
                seller_org_id=org.id,
                category="toys",
                state=request_state,
                opened=opened,
                due=opened + timedelta(days=14),
                policy_version=1,
                requirements=[rid for rid, _ in applicable(stacker_profile())],
                requirements_basis="assessment",
                extended_days=0,
                trusted=False,
            )
            s.add(req)
            s.flush()
            s.add(
                pm.RequestTrigger(
                    request_id=req.id,
                    listing_pk=listing.id,
                    kind="new_listing",
                    ref="",
                    on=opened,
                    facts={},
                )
            )
            ids[lid] = req.id
    Workspace(store, "demo-market").import_labs(registry_rows(), AS_OF)
    return ids


def registry_rows(lab_id: str = LAB_ID) -> list[LabRow]:
    lab = [rid for rid, needs in applicable(stacker_profile()) if needs]
    scopes = sorted({"16CFR1250" if rid.startswith("F963:") else rid for rid in lab})
    return [
        LabRow(
            cpsc_id=lab_id,
            name="Example TIC lab",
            country="US",
            type="independent",
            status="accepted",
            scope=s,
            accepted_on=date(2012, 1, 1),
        )
        for s in scopes
    ]
