"""The certificate as a person's document: a signed PDF carrying the signed JSON.

The PDF shows the certificate id, the digest of the canonical JSON and a QR code of both; the
signed JSON travels inside as an attachment; the whole file is signed (PAdES, Ed25519) so that
any changed byte fails verification.
"""

from __future__ import annotations

import base64
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
    not_a_certificate: bool = False  # a PDF, but neither signed nor carrying certificate data


def check_pdf(pdf: bytes, trusted: Any = None) -> PdfCheck:
    """The PDF is intact and wholly signed, by the key that signed the JSON it carries.

    Every byte counts: the signature must cover the whole file but for its own /Contents, and
    /Contents must hold exactly the DER signature, spelt canonically, then zeros.
    """
    try:
        return _check_pdf(pdf, trusted)
    except Exception as e:  # noqa: BLE001 - a verifier answers; a file it cannot follow was altered
        return PdfCheck(False, f"the PDF cannot be checked: {type(e).__name__}")


def _der_length(der: bytes) -> int:
    """The length of the DER value at the start of ``der`` (a SEQUENCE), header included."""
    if len(der) < 2 or der[0] != 0x30:
        raise ValueError("not a DER sequence")
    if der[1] < 0x80:
        return 2 + der[1]
    n = der[1] & 0x7F
    if n == 0 or n > 4 or len(der) < 2 + n:
        raise ValueError("bad DER length")
    return 2 + n + int.from_bytes(der[2 : 2 + n], "big")


def _contents_problem(pdf: bytes, byte_range: Any) -> str | None:
    """Why the unsigned gap of the file (the signature's /Contents) is not exactly the
    signature: the digest covers everything else, so this makes every byte count."""
    start, first, gap_end, rest = (int(x) for x in byte_range)
    if gap_end + rest < len(pdf):
        return "content was added to the PDF after it was signed"
    if start != 0 or gap_end + rest != len(pdf) or not 0 < first < gap_end:
        return "the signature does not cover the whole file"
    gap = pdf[first:gap_end]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return "the signature's /Contents was altered"
    text = gap[1:-1]
    try:
        raw = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return "the signature's /Contents was altered"
    if text not in (raw.hex().encode(), raw.hex().upper().encode()):
        return "the signature's /Contents was altered"
    used = _der_length(raw)
    if used > len(raw) or raw[used:].strip(b"\x00"):
        return "bytes were changed in the signature's padding"
    return None


def _self_signature_ok(cert: Any) -> bool:
    from cryptography import x509

    parsed = x509.load_der_x509_certificate(cert.dump())
    public = parsed.public_key()
    try:
        public.verify(parsed.signature, parsed.tbs_certificate_bytes)  # type: ignore[call-arg, union-attr]
    except Exception:  # noqa: BLE001 - InvalidSignature, or a key type that cannot self-sign
        return False
    return True


def _check_pdf(pdf: bytes, trusted: Any) -> PdfCheck:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
    except Exception as e:  # noqa: BLE001 - any parse failure means the file was altered
        ours = ATTACHMENT.encode() in pdf or b"/ByteRange" in pdf
        reason = f"not a readable signed PDF: {type(e).__name__}"
        return PdfCheck(False, reason, not_a_certificate=not ours)
    if not sigs:
        if _attachment(pdf) is None:
            return PdfCheck(False, "no signature and no certificate data", not_a_certificate=True)
        return PdfCheck(False, "the PDF carries no signature")
    if len(sigs) != 1:
        return PdfCheck(False, f"the PDF carries {len(sigs)} signatures, not one")
    sig = sigs[0]
    problem = _contents_problem(pdf, sig.sig_object["/ByteRange"])
    if problem:
        return PdfCheck(False, problem)
    cert = sig.signer_cert
    if not _self_signature_ok(cert):
        return PdfCheck(False, "the signer's certificate inside the PDF was altered")
    try:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[cert]))
    except Exception as e:  # noqa: BLE001
        return PdfCheck(False, f"the PDF signature cannot be validated: {type(e).__name__}")
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
    signer = doc["signature"]["public_key"]
    if base64.b64encode(seal.public_key_bytes(json_key)).decode() != signer:  # type: ignore[arg-type]
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
