"""The certificate as a person's document: a signed PDF carrying the signed JSON.

The PDF shows the certificate id, the digest of the canonical JSON and a QR code of both; the
signed JSON travels inside as an attachment; the whole file is signed (PAdES, Ed25519) so that
any changed byte fails verification.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from toysafe.core.certificates import seal
from toysafe.io.keys import SigningKey
from toysafe.render.pdf import html_to_pdf, render_html

TITLES = {"CPC": "Children's Product Certificate", "GCC": "General Certificate of Conformity"}
ATTACHMENT = "certificate.json"


def _month(text: str) -> str:
    d = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    return d.strftime("%B %Y") if len(text) == 7 else d.strftime("%d %B %Y")


def _age(age: dict[str, Any]) -> str:
    lo, hi = age["min_months"], age.get("max_months")

    def words(m: int) -> str:
        if m % 12 == 0 and m:
            return f"{m // 12} year" + ("s" if m > 12 else "")
        return f"{m} months"

    if hi is None:
        return f"{words(lo)} and up" if lo else "from birth"
    return f"{words(lo) if lo else 'birth'} to {words(hi)}"


def qr_data_uri(text: str) -> str:
    import segno

    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=1))


def certificate_html(doc: dict[str, Any]) -> str:
    c = doc["certificate"]
    return render_html(
        "certificate.html.j2",
        doc=doc,
        title=TITLES[c["type"]],
        age=_age(c["product"]["age"]),
        made=_month(c["manufacture"]["date"]),
        qr=qr_data_uri(f"toysafe:{c['id']};{doc['signature']['digest']}"),
    )


def render_certificate(doc: dict[str, Any], key: SigningKey) -> bytes:
    """The signed PDF of a signed certificate document."""
    attachment = json.dumps(doc, indent=2, ensure_ascii=False).encode()
    pdf = html_to_pdf(
        certificate_html(doc),
        attachments=[(ATTACHMENT, attachment, "Signed certificate data (toysafe/certificate@1)")],
    )
    return sign_pdf(pdf, key, reason=f"{doc['certificate']['id']} {doc['signature']['digest']}")


def sign_pdf(pdf: bytes, key: SigningKey, reason: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(str(key.key_path), str(key.cert_path))
    if signer is None:
        raise RuntimeError(f"cannot load the signing key {key.key_path}")
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="toysafe", reason=reason[:200])
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class PdfCheck:
    valid: bool
    reason: str
    document: dict[str, Any] | None = None
    key_id: str | None = None


def check_pdf(pdf: bytes, trusted: Any = None) -> PdfCheck:
    """The PDF is intact and wholly signed, by the key that signed the JSON it carries."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as e:  # noqa: BLE001 - any parse failure means the file was altered
        return PdfCheck(False, f"not a readable signed PDF: {type(e).__name__}")
    if not sigs:
        return PdfCheck(False, "the PDF carries no signature")
    sig = sigs[0]
    cert = sig.signer_cert
    try:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[cert]))
    except Exception as e:  # noqa: BLE001
        return PdfCheck(False, f"the PDF signature cannot be validated: {type(e).__name__}")
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if not status.intact or not status.valid:
        return PdfCheck(False, "the PDF was changed after it was signed")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return PdfCheck(False, "content was added to the PDF after it was signed")
    doc = _attachment(pdf)
    if doc is None:
        return PdfCheck(False, f"the PDF does not carry {ATTACHMENT}")
    sealed = seal.check(doc, trusted)
    if not sealed.valid:
        return PdfCheck(False, f"{ATTACHMENT} inside the PDF: {sealed.reason}", doc, sealed.key_id)
    pdf_key = cert.public_key.dump()
    from cryptography.hazmat.primitives import serialization

    json_key = serialization.load_der_public_key(pdf_key)
    if seal.key_id(json_key) != sealed.key_id:  # type: ignore[arg-type]
        return PdfCheck(
            False,
            "the PDF and the certificate data were signed by different keys",
            doc,
            sealed.key_id,
        )
    return PdfCheck(True, "PDF signature and certificate data valid", doc, sealed.key_id)


def _attachment(pdf: bytes) -> dict[str, Any] | None:
    from pypdf import PdfReader

    try:
        files = PdfReader(io.BytesIO(pdf)).attachments
        data = files.get(ATTACHMENT)
        if not data:
            return None
        doc = json.loads(data[0])
    except Exception:  # noqa: BLE001
        return None
    return doc if isinstance(doc, dict) else None
