"""Checking a certificate file (JSON or PDF): intact, and signed by a key we trust.

Verifying a document with the key it carries proves only that it is intact, not who made it:
anyone can edit a certificate and sign it again with a new key. So a certificate is valid only
when its signer is trusted: the key given with ``--key`` (then only that key), or else the
workspace's own key or a key registered for the certifier the certificate names
(``toysafe keys trust``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from toysafe.core.certificates import seal
from toysafe.io.errors import InputError
from toysafe.io.keys import trusted_public_key
from toysafe.io.text import MB, check_tree
from toysafe.io.trust import fingerprint, read_public_key, registered_for, same_certifier

MAX_CERTIFICATE = 20 * MB
FORMAT = "toysafe/certificate@1"


def _signer(doc: Any) -> Ed25519PublicKey | None:
    try:
        raw = base64.b64decode(doc["signature"]["public_key"], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, TypeError, ValueError):
        return None


def _trust(
    signer: Ed25519PublicKey, doc: dict[str, Any], given: Ed25519PublicKey | None, ws: Path | None
) -> tuple[bool, str]:
    """(trusted, why) for an intact document signed by ``signer``."""
    raw = seal.public_key_bytes(signer)
    kid = seal.key_id(signer)
    if given is not None:
        if seal.public_key_bytes(given) == raw:
            return True, "signed by the key given with --key"
        return False, f"signed by key {kid}, not by the trusted key {seal.key_id(given)}"
    own = trusted_public_key(ws)
    if own is not None and seal.public_key_bytes(own) == raw:
        return True, "signed by this workspace's key"
    entry = registered_for(ws, kid)
    if entry is not None and base64.b64decode(entry.public_key) == raw:
        named = str(((doc.get("certificate") or {}).get("certifier") or {}).get("name") or "")
        if same_certifier(entry.certifier, named):
            return True, f"signed by a key registered for {entry.certifier}"
        return False, (
            f"signed by key {kid}, registered for '{entry.certifier}', but the certificate "
            f"names the certifier '{named}'"
        )
    return False, (
        f"signed by an unknown key {kid}: not this workspace's, not given with --key and not "
        "registered for the certifier (toysafe keys trust)"
    )


def _json_document(data: bytes, path: Path) -> dict[str, Any]:
    damaged = FORMAT.encode() in data
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        if damaged:
            raise _Damaged("the certificate JSON is no longer valid JSON") from None
        raise InputError(f"{path}: neither a certificate PDF nor JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        if damaged:
            raise _Damaged(f"the document no longer says format {FORMAT}")
        raise InputError(f"{path}: not a {FORMAT} document")
    try:
        check_tree(doc, str(path))  # a lone surrogate, NUL or NaN no certificate holds
    except InputError as e:
        raise _Damaged(f"the certificate holds a value no certificate has: {e}") from None
    return doc


class _Damaged(Exception):
    """A file that was a certificate but is not readable as one any more."""


def check_file(
    path: Path, key: Path | None = None, workspace: Path | None = None
) -> dict[str, Any]:
    """Verify ``path``; the result says whether it is valid, why, and who signed it."""
    given = read_public_key(key, "--key") if key is not None else None
    try:
        if path.stat().st_size > MAX_CERTIFICATE:
            raise InputError(f"{path}: larger than 20 MB: not a certificate")
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    doc: dict[str, Any] | None = None
    if data.startswith(b"%PDF"):
        from toysafe.render.certificate_pdf import check_pdf

        result = check_pdf(data)
        if result.not_a_certificate:
            raise InputError(f"{path}: a PDF, but not a toysafe certificate ({result.reason})")
        doc, intact, reason = result.document, result.valid, result.reason
    else:
        try:
            doc = _json_document(data, path)
        except _Damaged as e:
            intact, reason = False, str(e)
        else:
            sealed = seal.check(doc)
            intact, reason = sealed.valid, sealed.reason
    signer = _signer(doc) if doc is not None else None
    trusted = False
    if intact and signer is not None and doc is not None:
        trusted, reason = _trust(signer, doc, given, workspace)
    own = trusted_public_key(workspace)
    kid = seal.key_id(signer) if signer is not None else None
    cert = (doc or {}).get("certificate", {}) if isinstance(doc, dict) else {}
    sig = (doc or {}).get("signature") if isinstance(doc, dict) else None
    return {
        "file": str(path),
        "valid": bool(intact and trusted),
        "intact": bool(intact),
        "trusted": trusted,
        "reason": reason,
        "certificate_id": cert.get("id") if isinstance(cert, dict) else None,
        "digest": sig.get("digest") if isinstance(sig, dict) else None,
        "key_id": kid,
        "fingerprint": fingerprint(signer) if signer is not None else None,
        "signed_here": None
        if own is None or signer is None
        else seal.public_key_bytes(own) == seal.public_key_bytes(signer),
    }
