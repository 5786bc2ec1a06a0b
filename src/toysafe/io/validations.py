"""Read and write ``toysafe/validation@1`` documents and TIC keys, with errors naming the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from toysafe.core.program.validation import Validation, dumps, public_key_text, sign
from toysafe.io.errors import InputError, describe_validation_error, validation_problems

__all__ = [
    "InputError",
    "parse_bytes",
    "read_private_key",
    "read_raw",
    "new_keypair",
    "sign_file",
    "validation_from_data",
]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key '{k}'")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_bytes(raw: bytes, source: str) -> dict[str, Any]:
    """The JSON object of a signed document: strict UTF-8, no duplicate keys, no NaN."""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    except (json.JSONDecodeError, ValueError, RecursionError) as e:
        raise InputError(f"{source}: not valid JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object (toysafe/validation@1)")
    if any(isinstance(v, float) and not math.isfinite(v) for v in _numbers(data)):
        raise InputError(f"{source}: numbers must be finite")
    return data


def _numbers(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [n for x in v.values() for n in _numbers(x)]
    if isinstance(v, list):
        return [n for x in v for n in _numbers(x)]
    return [v] if isinstance(v, float) else []


def validation_from_data(data: dict[str, Any], source: str = "validation") -> Validation:
    try:
        return Validation.model_validate(data)
    except ValidationError as e:
        raise InputError(
            describe_validation_error(e, f"{source}: "), validation_problems(e, source)
        ) from None


def read_raw(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key: PEM (PKCS#8) or the base64 of its 32 raw bytes."""
    data = read_raw(path)
    try:
        key: Any = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        import base64
        import binascii

        try:
            raw = base64.b64decode(data.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise InputError(
                f"{path}: not an Ed25519 private key (PEM, or base64 of 32 bytes)"
            ) from None
        key = Ed25519PrivateKey.from_private_bytes(raw)
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: the key must be an Ed25519 key")
    return key


def sign_file(path: Path, key: Ed25519PrivateKey, key_id: str | None = None) -> bytes:
    """The document in ``path`` (checked first) signed with ``key``, as canonical JSON bytes."""
    data = parse_bytes(read_raw(path), str(path))
    data.pop("signature", None)
    signed = sign(data, key, key_id)
    validation_from_data(signed, str(path))  # refuse to sign a document that is not valid
    return dumps(signed)


def new_keypair(path: Path) -> str:
    """Write a new private key (PEM, mode 0600, never overwriting); return its policy string."""
    import os

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path}: already exists (a key is never overwritten)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot write: {e.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return public_key_text(key.public_key())
