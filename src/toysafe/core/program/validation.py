"""Direct validation (contract 8.3): a TIC's signed ``toysafe/validation@1`` document.

Pure functions: the document model, the Ed25519 signature over its RFC 8785 form, the checks that
decide whether it counts as proof (each a typed :class:`Finding` with a reason code), the
revision rules (one validation per listing, no replay) and the content pins that expose a report
number reused with different content. Nothing here reads a file, a database or the clock.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal, Protocol

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from toysafe.core.certificates.seal import canonical, public_key_bytes
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.law.assessment import Assessment
from toysafe.core.law.knowledge import REQUIREMENT_ID
from toysafe.core.law.profile import Profile
from toysafe.core.reasons import Problem, Reason

FORMAT = "toysafe/validation@1"
ALG = "ed25519"
KEY_PREFIX = "ed25519:"

Verdict = Literal["pass", "fail", "n/a"]

# Why a document is refused at the door (nothing is stored) ...
RefusalCode = Literal[
    "bad_signature",  # the signature does not verify: the content changed after signing
    "unknown_key",  # the signature names a key the policy does not hold for that TIC
    "tic_not_approved",  # the TIC is not in the policy's approved_tics
    "replayed_revision",  # a lower revision than the one on file
    "revision_conflict",  # the same revision as the one on file, with different content
    "stale_validation",  # another TRF for the listing, issued no later than the one on file
    "wrong_tic",  # the uploader is not a lab user of the TIC that signed
]
# ... and why a filed validation does not count as proof (it is stored with its findings).
FindingCode = Literal[
    "lab_not_accepted",
    "report_too_old",
    "not_full_testing",
    "failed_test",
    "forged_or_altered",
]
# The specific check behind a finding (extension: the reason code says what to decide, the check
# says what to fix).
Check = Literal[
    "lab_not_accepted",
    "report_too_old",
    "missing",  # a requirement that applies has no parameter
    "na_applies",  # n/a for a requirement toysafe says applies
    "na_unjustified",  # n/a without a justification
    "pass_without_data",  # pass without supporting data
    "failed",  # a parameter is fail
    "report_pinned",  # a report number on file with different content
]


# --- the document ---------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Manufacturer(_Strict):
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    # Extension: contact details the validation report may carry.
    phone: str | None = None
    email: str | None = None


class Tested(_Strict):
    """Extension: when the lab tested (acceptance is judged on ``from``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> Tested:
        if self.to < self.from_:
            raise ValueError("'to' is before 'from'")
        return self


class ReportRef(_Strict):
    """A lab report the validation relies on."""

    report_no: str = Field(min_length=1, max_length=100)
    issued: date
    cpsc_lab_id: str = Field(pattern=r"^\d{4}$")
    tested: Tested | None = None  # extension; without it the test date is taken as ``issued``

    @model_validator(mode="after")
    def _dates(self) -> ReportRef:
        if self.tested is not None and self.tested.to > self.issued:
            raise ValueError(
                f"tested.to {self.tested.to.isoformat()} is after the report's issue date "
                f"{self.issued.isoformat()}"
            )
        return self

    @property
    def tested_on(self) -> date:
        return self.tested.from_ if self.tested is not None else self.issued


class Parameter(_Strict):
    """One requirement as the TIC judged it."""

    requirement: str = Field(min_length=3)
    verdict: Verdict
    data: str | dict[str, Any] | list[Any] | None = None
    justification: str | None = None
    report_no: str | None = None  # extension: the report whose results support this parameter

    @field_validator("requirement")
    @classmethod
    def _citation(cls, v: str) -> str:
        if not REQUIREMENT_ID.match(v):
            raise ValueError(f"'{v}' is not a requirement id such as F963:4.6 or 16CFR1303")
        return v

    @property
    def has_data(self) -> bool:
        if isinstance(self.data, str):
            return bool(self.data.strip())
        return bool(self.data)

    @property
    def justified(self) -> bool:
        return bool(self.justification and self.justification.strip())


class Signature(_Strict):
    alg: Literal["ed25519"]
    key_id: str = Field(min_length=1)
    value: str = Field(min_length=1)


class Validation(_Strict):
    """``toysafe/validation@1`` exactly as contract 8.3 (plus the marked extensions)."""

    format: Literal["toysafe/validation@1"]
    trf: str = Field(min_length=1, max_length=100)
    tic: str = Field(min_length=1, max_length=100)
    issued: date
    revision: StrictInt = Field(ge=0)
    listing_ids: list[str] = Field(min_length=1)
    seller: str = Field(min_length=1)
    manufacturer: Manufacturer
    reports: list[ReportRef] = Field(min_length=1)
    profile: Profile
    overall: Literal["pass", "fail"]
    parameters: list[Parameter] = Field(min_length=1)
    signature: Signature

    @field_validator("listing_ids")
    @classmethod
    def _listings(cls, v: list[str]) -> list[str]:
        for i, lid in enumerate(v):
            if not lid.strip():
                raise ValueError(f"[{i}]: must not be empty")
            if lid in v[:i]:
                raise ValueError(f"[{i}]: '{lid}' is listed twice")
        return v

    @field_validator("reports")
    @classmethod
    def _reports(cls, v: list[ReportRef]) -> list[ReportRef]:
        seen: set[str] = set()
        for i, r in enumerate(v):
            if r.report_no in seen:
                raise ValueError(f"[{i}].report_no: '{r.report_no}' is listed twice")
            seen.add(r.report_no)
        return v

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, v: list[Parameter]) -> list[Parameter]:
        seen: set[str] = set()
        for i, p in enumerate(v):
            if p.requirement in seen:
                raise ValueError(f"[{i}].requirement: '{p.requirement}' is listed twice")
            seen.add(p.requirement)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Validation:
        numbers = {r.report_no for r in self.reports}
        for i, p in enumerate(self.parameters):
            if p.report_no is not None and p.report_no not in numbers:
                raise ValueError(
                    f"parameters[{i}].report_no: '{p.report_no}' is not among the reports"
                )
        for i, r in enumerate(self.reports):
            if r.issued > self.issued:
                raise ValueError(
                    f"reports[{i}].issued: {r.issued.isoformat()} is after the validation's "
                    f"issue date {self.issued.isoformat()}"
                )
        failed = [p.requirement for p in self.parameters if p.verdict == "fail"]
        if self.overall == "pass" and failed:
            raise ValueError(f"overall: 'pass' but {', '.join(failed)} failed")
        if self.overall == "fail" and not failed:
            raise ValueError("overall: 'fail' but no parameter failed")
        return self


def input_problems(doc: Validation, as_of: date, source: str) -> list[Problem]:
    """Dates that cannot be true on ``as_of`` (bad input, each with its field)."""
    problems = []
    if doc.issued > as_of:
        problems.append(
            Problem(
                source,
                ("issued",),
                Reason("date_in_future", {"field": "issued", "date": doc.issued, "as_of": as_of}),
            )
        )
    return problems


# --- keys and signatures --------------------------------------------------------------------


class TicKey(Protocol):
    """What the checks need of a policy's ``approved_tics`` entry."""

    @property
    def id(self) -> str: ...
    @property
    def cpsc_lab_ids(self) -> Sequence[str]: ...
    @property
    def public_key(self) -> str: ...


def parse_public_key(text: str) -> Ed25519PublicKey:
    """``ed25519:`` + base64 of the 32-byte raw key; ValueError says what is wrong."""
    if not text.startswith(KEY_PREFIX):
        raise ValueError(f"must start with '{KEY_PREFIX}'")
    raw = _b64(text[len(KEY_PREFIX) :])
    if raw is None or len(raw) != 32:
        raise ValueError("must be 'ed25519:' followed by the base64 of a 32-byte key")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The policy's ``public_key`` string for a key."""
    return KEY_PREFIX + base64.b64encode(public_key_bytes(key)).decode()


def _b64(text: str) -> bytes | None:
    """Strict base64: only the canonical spelling of some bytes decodes (no stray bits)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def signing_bytes(doc: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON of the document without its ``signature`` member."""
    return canonical(dict(doc))


def content_hash(doc: Mapping[str, Any]) -> str:
    """What the document says, pinned: sha256 of the signed bytes."""
    return "sha256:" + hashlib.sha256(signing_bytes(doc)).hexdigest()


def sign(
    doc: Mapping[str, Any], key: Ed25519PrivateKey, key_id: str | None = None
) -> dict[str, Any]:
    """A copy of ``doc`` signed by ``key``; ``key_id`` defaults to the document's ``tic``."""
    body = {k: v for k, v in copy.deepcopy(dict(doc)).items() if k != "signature"}
    kid = key_id if key_id is not None else str(body.get("tic", ""))
    value = base64.b64encode(key.sign(signing_bytes(body))).decode()
    body["signature"] = {"alg": ALG, "key_id": kid, "value": value}
    return body


def dumps(doc: Mapping[str, Any]) -> bytes:
    """The signed document as one canonical line (no whitespace that a change could hide in)."""
    return rfc8785.dumps(dict(doc))


@dataclass(frozen=True, slots=True)
class Refusal:
    """A document that is not accepted at all; nothing of it is stored."""

    code: RefusalCode
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "facts": dict(self.facts)}


def check_signature(
    raw: Mapping[str, Any], doc: Validation, tics: Iterable[TicKey]
) -> TicKey | Refusal:
    """The approved TIC whose key signed ``raw`` (the document as received), or the refusal."""
    mine = [t for t in tics if t.id == doc.tic]
    if not mine:
        return Refusal("tic_not_approved", {"tic": doc.tic})
    if doc.signature.key_id != doc.tic:
        return Refusal("unknown_key", {"tic": doc.tic, "key_id": doc.signature.key_id})
    value = _b64(doc.signature.value)
    if value is None or len(value) != 64:
        return Refusal("bad_signature", {"tic": doc.tic, "signature": "malformed"})
    body = signing_bytes(raw)
    for tic in mine:
        try:
            parse_public_key(tic.public_key).verify(value, body)
        except (InvalidSignature, ValueError):
            continue
        return tic
    return Refusal("bad_signature", {"tic": doc.tic, "signature": "does_not_verify"})


# --- findings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """Why a filed validation does not (yet) count as proof: a reason code (contract 8.4 P8),
    the specific check, and the facts, as data (words are rendered at the edge)."""

    code: FindingCode
    check: Check
    requirement: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "check": self.check,
            "requirement": self.requirement,
            "facts": dict(self.facts),
        }


@dataclass(frozen=True, slots=True)
class Context:
    """What the checks take from the policy, the lab registry and toysafe's assessment."""

    assessment: Assessment
    registry: LabRegistry
    max_report_age_days: int


def findings(doc: Validation, ctx: Context) -> list[Finding]:
    """Every reason the validation does not count as proof (empty: it counts)."""
    out: list[Finding] = []
    out.extend(_report_age(doc, ctx.max_report_age_days))
    out.extend(_full_testing(doc, ctx.assessment))
    out.extend(_labs(doc, ctx))
    return out


def _report_age(doc: Validation, max_days: int) -> list[Finding]:
    out = []
    for r in doc.reports:
        age = (doc.issued - r.issued).days
        if age > max_days:
            facts = {
                "report_no": r.report_no,
                "issued": r.issued.isoformat(),
                "validation_issued": doc.issued.isoformat(),
                "age_days": age,
                "max_report_age_days": max_days,
            }
            out.append(Finding("report_too_old", "report_too_old", None, facts))
    return out


def _full_testing(doc: Validation, a: Assessment) -> list[Finding]:
    by_req = {p.requirement: p for p in doc.parameters}
    applies = {r.id for r in a.requirements}
    out: list[Finding] = []
    for r in a.requirements:
        p = by_req.get(r.id)
        if p is None:
            facts: dict[str, Any] = {"title": r.title, "applies_because": list(r.reasons)}
            out.append(Finding("not_full_testing", "missing", r.id, facts))
        elif p.verdict == "n/a":
            facts = {
                "title": r.title,
                "applies_because": list(r.reasons),
                "justification": p.justification,
            }
            out.append(Finding("not_full_testing", "na_applies", r.id, facts))
    for i, p in enumerate(doc.parameters):
        where: dict[str, Any] = {"parameter": i}
        if p.verdict == "n/a" and not p.justified:
            out.append(Finding("not_full_testing", "na_unjustified", p.requirement, where))
        elif p.verdict == "pass" and not p.has_data:
            out.append(Finding("not_full_testing", "pass_without_data", p.requirement, where))
        elif p.verdict == "fail":
            facts = {**where, "applies": p.requirement in applies, "report_no": p.report_no}
            out.append(Finding("failed_test", "failed", p.requirement, facts))
    return out


def _labs(doc: Validation, ctx: Context) -> list[Finding]:
    """Each lab-tested requirement passed on a report whose lab was CPSC-accepted for that scope
    on its test date (the parameter's own report when it names one, else any listed report)."""
    reports = {r.report_no: r for r in doc.reports}
    out: list[Finding] = []
    for app in ctx.assessment.lab_requirements:
        p = next((q for q in doc.parameters if q.requirement == app.id), None)
        if p is None or p.verdict != "pass":
            continue  # reported above as missing, n/a or failed
        candidates = [reports[p.report_no]] if p.report_no else list(doc.reports)
        refused: list[dict[str, Any]] = []
        for r in candidates:
            ok, why = ctx.registry.acceptance(r.cpsc_lab_id, app.id, r.tested_on)
            if ok:
                break
            refused.append(
                {
                    "report_no": r.report_no,
                    "cpsc_lab_id": r.cpsc_lab_id,
                    "tested_on": r.tested_on.isoformat(),
                    "registry": why,  # the registry's own statement, shown as is
                }
            )
        else:
            out.append(
                Finding("lab_not_accepted", "lab_not_accepted", app.id, {"reports": refused})
            )
    return out


# --- evidence pins --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pin:
    """A report number on file and what it said the first time."""

    report_no: str
    issued: date
    cpsc_lab_id: str
    content_hash: str
    source: str  # e.g. "validation TRF-2026-000123 rev 0" or "report on file"


def report_hash(r: ReportRef) -> str:
    """The pinned content of a report reference: its number, issue date and lab."""
    body = {"report_no": r.report_no, "issued": r.issued.isoformat(), "cpsc_lab_id": r.cpsc_lab_id}
    return "sha256:" + hashlib.sha256(rfc8785.dumps(body)).hexdigest()


def pins_of(doc: Validation, source: str) -> list[Pin]:
    return [Pin(r.report_no, r.issued, r.cpsc_lab_id, report_hash(r), source) for r in doc.reports]


def pin_findings(doc: Validation, pinned: Mapping[str, Pin]) -> list[Finding]:
    """A report number already on file with different content is ``forged_or_altered``, whoever
    sends it: the first content under a number is the one that stands."""
    out = []
    for r in doc.reports:
        pin = pinned.get(r.report_no)
        if pin is None or (pin.issued == r.issued and pin.cpsc_lab_id == r.cpsc_lab_id):
            continue
        facts = {
            "report_no": r.report_no,
            "document": "report",
            "on_file": {
                "issued": pin.issued.isoformat(),
                "cpsc_lab_id": pin.cpsc_lab_id,
                "source": pin.source,
            },
            "sent": {"issued": r.issued.isoformat(), "cpsc_lab_id": r.cpsc_lab_id},
        }
        out.append(Finding("forged_or_altered", "report_pinned", None, facts))
    return out


# --- revisions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OnFile:
    """The validation on file for a listing."""

    listing_id: str
    trf: str
    revision: int
    issued: date
    content_hash: str


Placement = Literal["new", "replaces", "same"]


def placement(doc: Validation, digest: str, current: OnFile | None) -> Placement | Refusal:
    """Where a validation goes for one listing: one per listing, a higher revision of the same TRF
    replaces a lower, the same revision again is a no-op, a lower revision is a replay; another
    TRF replaces the one on file only when issued later."""
    if current is None:
        return "new"
    facts = {
        "listing_id": current.listing_id,
        "on_file": {
            "trf": current.trf,
            "revision": current.revision,
            "issued": current.issued.isoformat(),
        },
        "sent": {"trf": doc.trf, "revision": doc.revision, "issued": doc.issued.isoformat()},
    }
    if current.trf == doc.trf:
        if doc.revision > current.revision:
            return "replaces"
        if doc.revision < current.revision:
            return Refusal("replayed_revision", facts)
        return "same" if digest == current.content_hash else Refusal("revision_conflict", facts)
    return "replaces" if doc.issued > current.issued else Refusal("stale_validation", facts)


# --- the whole decision ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What filing one validation does: refused (nothing stored), or stored per listing with
    its findings (none: it counts as proof)."""

    trf: str
    revision: int
    tic: str
    content_hash: str
    refusal: Refusal | None = None
    placements: dict[str, Placement] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    @property
    def counts(self) -> bool:
        return not self.refused and not self.findings

    @property
    def forged(self) -> bool:
        return any(f.code == "forged_or_altered" for f in self.findings)

    @property
    def unchanged(self) -> bool:
        return bool(self.placements) and all(p == "same" for p in self.placements.values())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": "toysafe/validation-outcome@1",
            "trf": self.trf,
            "revision": self.revision,
            "tic": self.tic,
            "content_hash": self.content_hash,
            "accepted": not self.refused,
            "counts": self.counts,
        }
        if self.refusal is not None:
            out["refusal"] = self.refusal.to_dict()
        out["listings"] = [{"listing_id": k, "placement": v} for k, v in self.placements.items()]
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


def evaluate(
    raw: Mapping[str, Any],
    doc: Validation,
    tics: Iterable[TicKey],
    ctx: Context,
    on_file: Mapping[str, OnFile],
    pinned: Mapping[str, Pin],
) -> Outcome:
    """Signature, revision rules for every listing, then the proof checks and the pins."""
    digest = content_hash(raw)

    def refuse(r: Refusal) -> Outcome:
        return Outcome(doc.trf, doc.revision, doc.tic, digest, refusal=r)

    signer = check_signature(raw, doc, tics)
    if isinstance(signer, Refusal):
        return refuse(signer)
    places: dict[str, Placement] = {}
    for lid in doc.listing_ids:
        where = placement(doc, digest, on_file.get(lid))
        if isinstance(where, Refusal):
            return refuse(where)
        places[lid] = where
    found = pin_findings(doc, pinned) + findings(doc, ctx)
    return Outcome(doc.trf, doc.revision, doc.tic, digest, None, places, tuple(found))


def source(doc: Validation) -> str:
    """How a pin made by this validation names where it came from."""
    return f"validation {doc.trf} revision {doc.revision}"


# --- P5: the TIC extension ------------------------------------------------------------------


ExtensionRefusal = Literal["tic_not_approved", "not_handling", "already_extended", "closed"]


@dataclass(frozen=True, slots=True)
class Extension:
    due: date
    new_due: date
    days: int


def extend(
    due: date,
    *,
    tic: str,
    approved: Iterable[str],
    handling: Iterable[str],
    already_extended: bool,
    open_: bool,
    days: int,
) -> Extension | ExtensionRefusal:
    """P5: one extension of ``days`` per request, only by an approved TIC handling it."""
    if not open_:
        return "closed"
    if tic not in set(approved):
        return "tic_not_approved"
    if tic not in set(handling):
        return "not_handling"
    if already_extended:
        return "already_extended"
    return Extension(due, due + timedelta(days=days), days)
