"""Checking a certificate file (JSON or PDF) against its signatures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from toysafe.core.certificates import seal
from toysafe.io.errors import InputError
from toysafe.io.keys import trusted_public_key


def _trusted(key: Path | None, workspace: Path | None) -> Ed25519PublicKey | None:
    if key is None:
        return None
    try:
        data = key.read_bytes()
    except OSError as e:
        raise InputError(f"--key: {key}: cannot read: {e.strerror}") from None
    try:
        loaded: Any = serialization.load_pem_private_key(data, password=None)
        if isinstance(loaded, Ed25519PrivateKey):
            return loaded.public_key()
    except (ValueError, TypeError):
        pass
    try:
        loaded = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            from cryptography import x509

            loaded = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            raise InputError(f"--key: {key}: not a PEM key or certificate") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError(f"--key: {key}: not an Ed25519 key")
    return loaded


def check_file(
    path: Path, key: Path | None = None, workspace: Path | None = None
) -> dict[str, Any]:
    """Verify ``path``; the result says whether it is valid, why, and who signed it."""
    trusted = _trusted(key, workspace)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    own = trusted_public_key(workspace)
    if data.startswith(b"%PDF"):
        from toysafe.render.certificate_pdf import check_pdf

        result = check_pdf(data, trusted)
        doc, kid, valid, reason = result.document, result.key_id, result.valid, result.reason
    else:
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(f"{path}: neither a certificate PDF nor JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != "toysafe/certificate@1":
            raise InputError(f"{path}: not a toysafe/certificate@1 document")
        sealed = seal.check(doc, trusted)
        kid, valid, reason = sealed.key_id, sealed.valid, sealed.reason
    cert = (doc or {}).get("certificate", {}) if isinstance(doc, dict) else {}
    return {
        "file": str(path),
        "valid": valid,
        "reason": reason,
        "certificate_id": cert.get("id"),
        "digest": (doc or {}).get("signature", {}).get("digest") if isinstance(doc, dict) else None,
        "key_id": kid,
        "signed_here": None if own is None or kid is None else seal.key_id(own) == kid,
    }
