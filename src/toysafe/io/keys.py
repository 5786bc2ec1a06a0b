"""Signing keys live in the workspace (``.toysafe/keys``) or at a path from the environment;
never in the repository. A self-signed X.509 certificate wraps the key for PDF signatures."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from toysafe.io.errors import InputError
from toysafe.settings import env_name, settings

KEY_ENV = env_name("signing_key")  # path to a PEM private key (its .crt beside it)


@dataclass(frozen=True)
class SigningKey:
    key: Ed25519PrivateKey
    key_path: Path
    cert_path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.key.public_key()


def key_path(ws: Path | None = None) -> Path:
    config = settings()
    if config.signing_key is not None:
        return config.signing_key
    return config.workspace(ws) / ".toysafe" / "keys" / "signing.pem"


def load_or_create(
    ws: Path | None = None, subject: str = "toysafe certificate signing"
) -> tuple[SigningKey, bool]:
    """The workspace signing key, created on first use; returns (key, created)."""
    path = key_path(ws)
    cert = path.with_suffix(".crt")
    created = False
    if not path.exists():
        if settings().signing_key is not None:
            raise InputError(f"{KEY_ENV}: {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process (a second server worker) created it first: use theirs
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            created = True
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable PEM private key ({e})") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InputError(f"{path}: the signing key must be an Ed25519 key")
    if not cert.exists():
        tmp = cert.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(_self_signed(loaded, subject).public_bytes(serialization.Encoding.PEM))
        os.replace(tmp, cert)
    return SigningKey(loaded, path, cert), created


def trusted_public_key(ws: Path | None = None) -> Ed25519PublicKey | None:
    """The workspace's own public key, if it has one (to tell 'signed here' from 'signed')."""
    path = key_path(ws)
    if not path.exists():
        return None
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    return loaded.public_key() if isinstance(loaded, Ed25519PrivateKey) else None


def _self_signed(key: Ed25519PrivateKey, subject: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(usage, critical=True)
        .sign(key, None)
    )
