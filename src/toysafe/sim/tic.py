"""The simulated TICs (direct validation, contract 8.3): their keys, their labs, and the signed
``toysafe/validation@1`` documents they send. The program's real filing code
(``toysafe.store.program.validations.Validations.add``) judges what they send.

A TIC validates every requirement toysafe's assessment says applies (full testing, labeling
included) against the reports it relies on: a report the seller holds (the lab that issued it),
or its own test (the TIC's lab). A product that fails fails its first lab-tested requirement.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from toysafe.core.certificates.party import Party
from toysafe.core.evidence.labs import TOY_STANDARD_SCOPE, LabRow
from toysafe.core.law.engine import assess
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile
from toysafe.core.program import validation as v
from toysafe.core.program.policy import ApprovedTic, Policy
from toysafe.sim import calibration as C

#: The CPSC lab id of each simulated TIC's own lab.
TIC_LABS = {tic: f"91{k:02d}" for k, tic in enumerate(C.TIC_IDS.value, start=1)}


def tic_key(tic: str) -> Ed25519PrivateKey:
    """A simulated TIC's signing key, derived from its id (its public half is in the simulator's
    policy, ``toysafe/sim/data/policy.yaml``)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"toysafe-sim-tic:{tic}".encode()).digest()
    )


def approved(policy: Policy) -> Policy:
    """The policy with the simulator's TICs approved (as they are in the simulator's own
    policy); a policy that already approves them is returned as it is."""
    have = {t.id: t for t in policy.approved_tics}
    extra = []
    for tic in C.TIC_IDS.value:
        entry = ApprovedTic(
            id=tic,
            name=f"Simulated TIC {tic[-1].upper()}",
            cpsc_lab_ids=[TIC_LABS[tic]],
            public_key=v.public_key_text(tic_key(tic).public_key()),
        )
        if tic not in have:
            extra.append(entry)
    if not extra:
        return policy
    return policy.model_copy(update={"approved_tics": [*policy.approved_tics, *extra]})


def has_direct(policy: Policy) -> bool:
    return any(c.evidence == "direct_validation" for c in policy.categories.values())


def lab_rows(scopes: set[str]) -> list[LabRow]:
    """Each TIC's lab, accepted since 2010 for every scope the catalog needs."""
    return [
        LabRow(
            cpsc_id=lab,
            name=f"{tic} laboratory",
            country="US",
            type="independent",
            status="accepted",
            scope=s,
            accepted_on=date(2010, 1, 1),
            address=f"{lab} Lab Way, Sim, US",
            phone="+1 555 0191",
        )
        for tic, lab in sorted(TIC_LABS.items())
        for s in sorted(scopes)
    ]


def scope_of(requirement: str) -> str:
    return TOY_STANDARD_SCOPE if requirement.startswith("F963:") else requirement


def validation(
    *,
    tic: str,
    trf: str,
    listing_id: str,
    seller: str,
    maker: Party,
    profile: Profile,
    report_no: str,
    report_issued: date,
    report_lab: str,
    issued: date,
    passing: bool,
    kb: KnowledgeBase,
) -> bytes:
    """The TIC's signed validation of one listing, as the bytes it uploads."""
    a = assess(profile, kb, issued)
    failed_one = None
    if not passing:
        lab_ids = [r.id for r in a.lab_requirements]
        failed_one = lab_ids[0] if lab_ids else (a.requirements[0].id if a.requirements else None)
    params: list[dict[str, Any]] = []
    for r in a.requirements:
        verdict = "fail" if r.id == failed_one else "pass"
        data = (
            f"tested on {report_no}: above the limit"
            if verdict == "fail"
            else f"checked against {report_no}: within limits"
        )
        params.append({"requirement": r.id, "verdict": verdict, "data": data})
    m = maker.manufacturer
    assert m is not None  # the simulator's parties all name one
    doc: dict[str, Any] = {
        "format": "toysafe/validation@1",
        "trf": trf,
        "tic": tic,
        "issued": issued.isoformat(),
        "revision": 0,
        "listing_ids": [listing_id],
        "seller": seller,
        "manufacturer": {"name": m.name, "address": m.address},
        "reports": [
            {
                "report_no": report_no,
                "issued": report_issued.isoformat(),
                "cpsc_lab_id": report_lab,
                "tested": {
                    "from": (report_issued - timedelta(days=6)).isoformat(),
                    "to": (report_issued - timedelta(days=1)).isoformat(),
                },
            }
        ],
        "profile": profile.to_data(),
        "overall": "fail" if failed_one else "pass",
        "parameters": params,
    }
    return v.dumps(v.sign(doc, tic_key(tic)))
