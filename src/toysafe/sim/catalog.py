"""The synthetic marketplace's products and documents: example profiles cloned per listing, the
lab reports a synthetic lab would issue for them (from toysafe's own test plan, so that every
requirement the assessment owes is tested), and the sellers' signed certificates.

Each variant of a submission (a missing report, a report too old, a factory model code, a
failing product, the forgeries) is built here; the program's real pre-check judges them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from toysafe.core.certificates import seal
from toysafe.core.certificates.certificate import CertificateError, build_certificate
from toysafe.core.certificates.party import Party
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import TOY_STANDARD_SCOPE, LabRegistry, LabRow
from toysafe.core.evidence.verify import limits_for, verify
from toysafe.core.law.engine import assess
from toysafe.core.law.facts import ComponentFacts, mouthing
from toysafe.core.law.knowledge import KnowledgeBase
from toysafe.core.law.profile import Profile
from toysafe.core.program.precheck import CAUTIONARY_STATEMENT, NO_WARNING
from toysafe.io.errors import InputError
from toysafe.io.profiles import read_profile
from toysafe.sim.actors import Archetype

#: The simulator's package data (``toysafe/sim/data``, its README names the sources): copies of
#: the repository's example profiles (realistic toys, each documented) and the default policy,
#: so that the defaults work from an installed wheel.
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = DATA / "products"
DEFAULT_POLICY = DATA / "policy.yaml"
LAB_ID = "9001"
LAB = {
    "cpsc_id": LAB_ID,
    "name": "Simulated Testing Lab",
    "address": "1 Lab Way, Sim, US",
    "phone": "+1 555 0100",
}


def load_archetypes(folder: Path, kb: KnowledgeBase, as_of: date) -> dict[str, Profile]:
    """The example profiles that need a children's product certificate with lab tests."""
    if not folder.is_dir():
        raise InputError(f"--profiles: {folder} is not a folder of toysafe/product@1 profiles")
    out: dict[str, Profile] = {}
    for path in sorted(folder.glob("*.y*ml")):
        p = read_profile(path)
        a = assess(p, kb, as_of)
        if a.certificate == "CPC" and a.lab_requirements:
            out[path.stem] = p
    if not out:
        raise InputError(f"--profiles: {folder} holds no profile that needs a CPC")
    return out


def archetype(stem: str, profile: Profile, kb: KnowledgeBase, as_of: date) -> Archetype:
    """What a correct listing of the product says (age, the cautionary statement due)."""
    a = assess(profile, kb, as_of)
    due = sorted({CAUTIONARY_STATEMENT[w.key] for w in a.warnings if w.key in CAUTIONARY_STATEMENT})
    return Archetype(stem, profile.age.min_months, due[0] if due else NO_WARNING, profile.brand)


def clone(base: Profile, sku: str) -> Profile:
    data = base.to_data()
    data.update({"sku": sku, "model": sku})
    for k in ("gtin", "asins"):
        data.pop(k, None)
    return Profile.model_validate(data)


def lab_rows(archetypes: dict[str, Profile], kb: KnowledgeBase, as_of: date) -> list[LabRow]:
    """One synthetic lab, accepted since 2010 for every scope the catalog needs."""
    scopes: set[str] = set()
    for p in archetypes.values():
        for r in assess(p, kb, as_of).lab_requirements:
            scopes.add(TOY_STANDARD_SCOPE if r.id.startswith("F963:") else r.id)
    return [
        LabRow(
            cpsc_id=LAB_ID,
            name=LAB["name"],
            country="US",
            type="independent",
            status="accepted",
            scope=s,
            accepted_on=date(2010, 1, 1),
            address=LAB["address"],
            phone=LAB["phone"],
        )
        for s in sorted(scopes)
    ]


def seller_key(seed: int, slug: str) -> Ed25519PrivateKey:
    """A seller's signing key, derived from the seed (the run is reproducible)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"toysafe-sim:{seed}:{slug}".encode()).digest()
    )


def party(slug: str) -> Party:
    contact = {
        "name": f"{slug} LLC",
        "address": "1 Market St, Springfield, IL 62701, US",
        "phone": "+1 217 555 0100",
        "email": f"compliance@{slug}.example",
    }
    return Party.model_validate(
        {
            "format": "toysafe/party@1",
            "certifier": contact,
            "records_custodian": {**contact, "name": f"{slug} records"},
            "certifier_id": slug[:19],
            "manufacturer": {
                "name": "Sim Toy Works",
                "address": "9 Harbour Rd, Ningbo, CN",
                "phone": "+86 574 555 0199",
            },
        }
    )


@dataclass(frozen=True, slots=True)
class Documents:
    reports: list[LabReport]
    certificate: dict[str, Any]


@cache
def _plan(profile_json: str, as_of: date) -> tuple[tuple[tuple[Any, ...], ...], str | None]:
    """(requirement, component, analyte, limit, unit) lines of the lab's test plan; cached by
    product and date, since clones share one."""
    from toysafe.io.kb import default_kb

    kb = default_kb()
    p = Profile.model_validate(json.loads(profile_json))
    a = assess(p, kb, as_of)
    made = p.manufactured.last if p.manufactured else as_of
    comps = {c.id: c for c in p.components}
    lines: list[tuple[Any, ...]] = []
    for app in a.lab_requirements:
        req = kb.by_id[app.id]
        per = req.components is not None and req.components.required
        targets = [c.id for c in app.components if c.third_party_testing] if per else [None]
        for cid in targets:
            comp = comps.get(cid) if cid else None
            facts = ComponentFacts(comp, *mouthing(comp, p)) if comp else None
            limits = limits_for(req, facts, made, as_of)
            if not limits:
                lines.append((app.id, cid, None, None, None))
            for an in sorted(limits):
                lim = limits[an].limit
                lines.append((app.id, cid, an, lim.max, lim.unit))
    return tuple(lines), a.toy_standard


def reports(
    profile: Profile, number: str, issued: date, passing: bool, model: str | None = None
) -> list[LabReport]:
    """The lab's reports for a product: chemistry (measured values) and physical (verdicts).
    A failing product fails its first measured analyte (three times the limit)."""
    lines, standard = _plan(_shape(profile), issued)
    chem: list[dict[str, Any]] = []
    phys: list[dict[str, Any]] = []
    failed = False
    for rid, cid, analyte, limit, unit in lines:
        row: dict[str, Any] = {"requirement": rid}
        if cid:
            row["component"] = cid
        if analyte is None:
            row["verdict"] = "pass"
            phys.append(row)
            continue
        factor = 0.2
        if not passing and not failed:
            factor, failed = 3.0, True
        row.update({"analyte": analyte, "value": round(limit * factor, 6), "unit": unit})
        chem.append(row)
    if not passing and not failed and phys:
        phys[0]["verdict"] = "fail"
    out = []
    for suffix, results in (("C", chem), ("P", phys)):
        if not results:
            continue
        out.append(
            LabReport.model_validate(
                {
                    "format": "toysafe/lab-report@1",
                    "report_no": f"{number}-{suffix}",
                    "lab": LAB,
                    "issued": issued.isoformat(),
                    "tested": {
                        "from": (issued - timedelta(days=6)).isoformat(),
                        "to": (issued - timedelta(days=1)).isoformat(),
                        "place": "Sim, US",
                    },
                    "products": [{"sku": profile.sku, "model": model or profile.model}],
                    "age_grade": {"min_months": profile.age.min_months},
                    "standard": standard,
                    "results": results,
                }
            )
        )
    return out


def _shape(profile: Profile) -> str:
    """The profile without its identity: clones of one example share a test plan."""
    return json.dumps(clone(profile, "PLAN").to_data(), sort_keys=True, default=str)


def certificate(
    profile: Profile,
    relied: list[LabReport],
    registry: LabRegistry,
    who: Party,
    key: Ed25519PrivateKey,
    issued: date,
    kb: KnowledgeBase,
) -> dict[str, Any]:
    """The seller's signed CPC over passing reports."""
    a = assess(profile, kb, issued)
    v = verify(profile, a, relied, kb, issued, registry)
    try:
        doc = build_certificate(profile, a, v, relied, registry, who, issued)
    except CertificateError as e:  # the catalog only lists products that certify
        raise AssertionError(f"{profile.sku}: {e}") from None
    return seal.sign(doc, key)


def tamper(cert: dict[str, Any]) -> dict[str, Any]:
    """A certificate changed after it was signed (the edition claimed)."""
    out = copy.deepcopy(cert)
    out["certificate"]["toy_standard"] = (
        "F963-17" if cert["certificate"].get("toy_standard") != "F963-17" else "F963-23"
    )
    return out
