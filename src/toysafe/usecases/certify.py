"""Issuing certificates: verify, build, sign, render and write both files, or nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from toysafe.core.certificates import seal
from toysafe.core.certificates.certificate import (
    CertificateError,
    build_certificate,
    certificate_id,
    id_discriminator,
)
from toysafe.core.certificates.party import Party
from toysafe.core.evidence.labreport import LabReport
from toysafe.core.evidence.labs import LabRegistry
from toysafe.core.evidence.verification import Verification
from toysafe.core.evidence.verify import verify
from toysafe.core.law.engine import assess
from toysafe.core.law.profile import Profile
from toysafe.io.errors import InputError, describe_validation_error
from toysafe.io.kb import default_kb
from toysafe.io.keys import SigningKey
from toysafe.io.text import parse_document, read_text


def read_party(path: Path) -> Party:
    from pydantic import ValidationError

    data = parse_document(read_text(path), str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a party mapping (toysafe/party@1)")
    try:
        return Party.model_validate(data)
    except ValidationError as e:
        raise InputError(describe_validation_error(e, f"{path}: ")) from None


@dataclass
class Issued:
    sku: str
    document: dict[str, Any] | None
    verification: Verification
    refused: str | None = None
    paths: tuple[Path, ...] = ()


def prepare(
    profile: Profile,
    reports: Sequence[LabReport],
    registry: LabRegistry | None,
    party: Party,
    key: SigningKey,
    as_of: date,
    version: int = 1,
    lot: str | None = None,
) -> Issued:
    """The signed certificate document, or the reason it cannot be issued."""
    kb = default_kb()
    mine = [r for r in reports if r.names(profile.sku, profile.model, profile.gtin)]
    assessment = assess(profile, kb, as_of)
    verification = verify(profile, assessment, mine, kb, as_of, registry)
    try:
        doc = build_certificate(
            profile, assessment, verification, mine, registry, party, as_of, version, lot
        )
    except CertificateError as e:
        return Issued(profile.sku, None, verification, str(e))
    return Issued(profile.sku, seal.sign(doc, key.key), verification)


def file_stem(sku: str, kind: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in sku)
    return f"{safe}.{kind.lower()}"


def write_certificate(issued: Issued, key: SigningKey, out: Path) -> tuple[Path, Path]:
    """Render the PDF and write ``<sku>.cpc.pdf`` and ``<sku>.cpc.json`` together, atomically."""
    from toysafe.render.certificate_pdf import render_certificate

    assert issued.document is not None
    doc = issued.document
    kind = doc["certificate"]["type"]
    pdf = render_certificate(doc, key)
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(issued.sku, kind)
    targets = (out / f"{stem}.pdf", out / f"{stem}.json")
    staging = Path(tempfile.mkdtemp(prefix=".toysafe-", dir=out))
    try:
        (staging / "c.pdf").write_bytes(pdf)
        (staging / "c.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        for f in staging.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        os.replace(staging / "c.pdf", targets[0])
        os.replace(staging / "c.json", targets[1])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return targets


class NotCertifiable(Exception):
    """The stored evidence does not support a certificate; carries the verification."""

    def __init__(self, reason: str, verification: Verification) -> None:
        super().__init__(reason)
        self.verification = verification


def certify_stored(
    ws: Any, sku: str, party: Party, key: SigningKey, as_of: date, lot: str | None = None
) -> tuple[dict[str, Any], bytes]:
    """Certify a product from a workspace's stored data; store and return (document, pdf)."""
    from toysafe.render.certificate_pdf import render_certificate

    profile, assessment, verification, reports, registry, version = ws.evidence(sku, as_of)
    number = ws.next_certificate_version(sku)
    # Readable ids are unique per organization and SKU spelling; when the readable id is taken
    # (another organization, the same day), the id carries a hash of organization and SKU.
    kind = assessment.certificate
    taken = ws.certificate_id_taken(certificate_id(kind, sku, as_of, number))
    try:
        doc = build_certificate(
            profile,
            assessment,
            verification,
            reports,
            registry,
            party,
            as_of,
            number,
            lot,
            id_discriminator(ws.org_slug, sku) if taken else None,
        )
    except CertificateError as e:
        raise NotCertifiable(str(e), verification) from None
    signed = seal.sign(doc, key.key)
    pdf = render_certificate(signed, key)
    ws.store_certificate(sku, signed, pdf, version, as_of, lot, verification.valid_until)
    return signed, pdf
