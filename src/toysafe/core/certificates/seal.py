"""Tamper evidence for certificate documents: RFC 8785 canonical JSON signed with Ed25519."""

from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"
CANONICALIZATION = "RFC8785"


def canonical(doc: dict[str, Any]) -> bytes:
    """The JCS (RFC 8785) bytes of a document, without its signature."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return rfc8785.dumps(body)


def digest(doc: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(doc)).hexdigest()


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def sign(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A copy of ``doc`` with a ``signature`` block over its canonical form."""
    body = {k: v for k, v in copy.deepcopy(doc).items() if k != "signature"}
    public = key.public_key()
    body["signature"] = {
        "algorithm": ALGORITHM,
        "canonicalization": CANONICALIZATION,
        "digest": digest(body),
        "key_id": key_id(public),
        "public_key": base64.b64encode(public_key_bytes(public)).decode(),
        "value": base64.b64encode(key.sign(canonical(body))).decode(),
    }
    return body


@dataclass(frozen=True, slots=True)
class SealCheck:
    valid: bool
    reason: str
    key_id: str | None = None
    digest: str | None = None
    trusted: bool | None = None  # None when no trusted key was given


def check(doc: Any, trusted: Ed25519PublicKey | None = None) -> SealCheck:
    """Whether ``doc`` is exactly what was signed (and, given ``trusted``, by that key)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signature"), dict):
        return SealCheck(False, "no signature block")
    sig = doc["signature"]
    if sig.get("algorithm") != ALGORITHM or sig.get("canonicalization") != CANONICALIZATION:
        return SealCheck(False, "unsupported signature algorithm or canonicalization")
    try:
        public = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(sig["public_key"], validate=True)
        )
        value = base64.b64decode(sig["value"], validate=True)
    except (KeyError, ValueError, TypeError):
        return SealCheck(False, "malformed signature block")
    # Base64 has spare bits: only the canonical spelling of the key and value is accepted.
    if (
        base64.b64encode(public_key_bytes(public)).decode() != sig["public_key"]
        or base64.b64encode(value).decode() != sig["value"]
    ):
        return SealCheck(False, "the signature block was altered (non-canonical base64)")
    kid = key_id(public)
    try:
        body = canonical(doc)
    except (rfc8785.CanonicalizationError, RecursionError, TypeError, ValueError):
        return SealCheck(False, "the content has no canonical form: it was changed", kid)
    actual = "sha256:" + hashlib.sha256(body).hexdigest()
    try:
        public.verify(value, body)
    except InvalidSignature:
        return SealCheck(
            False,
            "the signature does not match the content: it was changed after signing",
            kid,
            actual,
        )
    if sig.get("digest") != actual or sig.get("key_id") != kid:
        return SealCheck(
            False, "the digest or key id in the signature block was altered", kid, actual
        )
    if trusted is not None and public_key_bytes(trusted) != public_key_bytes(public):
        return SealCheck(
            False,
            f"signed by key {kid}, not by the trusted key {key_id(trusted)}",
            kid,
            actual,
            False,
        )
    return SealCheck(True, "signature valid", kid, actual, None if trusted is None else True)
