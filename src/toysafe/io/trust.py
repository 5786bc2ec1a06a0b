"""The keys a workspace trusts to have signed certificates, each registered for one certifier.

Stored in ``.toysafe/keys/trusted.json`` beside the workspace's own signing key: a list of
``{key_id, fingerprint, certifier, public_key, added}``. The workspace's own key is always
trusted; a key given on the command line is trusted for that one check.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from toysafe.core.certificates import seal
from toysafe.io.errors import InputError
from toysafe.io.keys import key_path

TRUST_FILE = "trusted.json"


def fingerprint(key: Ed25519PublicKey) -> str:
    """The full SHA-256 fingerprint of a public key (its first 16 digits are the key id)."""
    return "sha256:" + hashlib.sha256(seal.public_key_bytes(key)).hexdigest()


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key_id: str
    fingerprint: str
    certifier: str
    public_key: str  # base64 of the raw Ed25519 public key
    added: str

    def to_data(self) -> dict[str, str]:
        return {
            "key_id": self.key_id,
            "fingerprint": self.fingerprint,
            "certifier": self.certifier,
            "public_key": self.public_key,
            "added": self.added,
        }


def trust_path(ws: Path | None = None) -> Path:
    return key_path(ws).parent / TRUST_FILE


def load_public_key(data: bytes, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM public key, X.509 certificate or private key."""
    loaded: Any = None
    try:
        private = serialization.load_pem_private_key(data, password=None)
        if isinstance(private, Ed25519PrivateKey):
            return private.public_key()
    except (ValueError, TypeError):
        pass
    try:
        loaded = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            from cryptography import x509

            loaded = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            raise InputError(f"{where}: not a PEM key or certificate") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InputError(f"{where}: not an Ed25519 key")
    return loaded


def read_public_key(path: Path, where: str) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{where}: {path}: cannot read: {e.strerror}") from None
    return load_public_key(data, f"{where}: {path}")


def trusted_keys(ws: Path | None = None) -> list[TrustedKey]:
    path = trust_path(ws)
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [TrustedKey(**row) for row in rows]
    except (OSError, ValueError, TypeError) as e:
        raise InputError(f"{path}: not a readable list of trusted keys ({e})") from None


def _write(ws: Path | None, keys: list[TrustedKey]) -> None:
    path = trust_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".trusted.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([k.to_data() for k in keys], fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def trust(ws: Path | None, key: Ed25519PublicKey, certifier: str) -> tuple[TrustedKey, bool]:
    """Register ``key`` for ``certifier``; returns (entry, added). A key serves one certifier."""
    certifier = " ".join(certifier.split())
    if not certifier:
        raise InputError("--certifier: name the certifier this key signs for")
    if len(certifier) > 200:
        raise InputError("--certifier: longer than 200 characters")
    keys = trusted_keys(ws)
    kid = seal.key_id(key)
    for k in keys:
        if k.key_id == kid:
            if _norm(k.certifier) != _norm(certifier):
                raise InputError(
                    f"key {kid} is already trusted for '{k.certifier}'; "
                    "remove it first (toysafe keys untrust) to register it for another certifier"
                )
            return k, False
    entry = TrustedKey(
        kid,
        fingerprint(key),
        certifier,
        base64.b64encode(seal.public_key_bytes(key)).decode(),
        datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write(ws, [*keys, entry])
    return entry, True


def untrust(ws: Path | None, key_id: str) -> TrustedKey:
    keys = trusted_keys(ws)
    gone = [k for k in keys if k.key_id == key_id or k.fingerprint == key_id]
    if not gone:
        raise InputError(f"KEY_ID: no trusted key {key_id}")
    _write(ws, [k for k in keys if k not in gone])
    return gone[0]


def registered_for(ws: Path | None, key_id: str) -> TrustedKey | None:
    return next((k for k in trusted_keys(ws) if k.key_id == key_id), None)


def same_certifier(a: str, b: str) -> bool:
    return _norm(a) == _norm(b)
