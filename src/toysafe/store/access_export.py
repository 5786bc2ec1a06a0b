"""Who may reach a workspace, in its export and backup: users (with their password hashes), API
tokens (their SHA-256 only), lab shares and reviewer enrollments (``access.json``); and, in a
backup, the workspace's keys (``keys.json``): encrypted with a passphrase, or left out by choice,
which the restore then explains.

``keys.json`` (``toysafe/backup-keys@1``): ``{"included": false, "reason": ...}`` or
``{"included": true, "kdf": {"name": "scrypt", "salt", "n", "r", "p"}, "cipher": "AES-256-GCM",
"nonce", "ciphertext", "files": [names]}``; the plaintext is a JSON object mapping each file
under ``.toysafe/`` to its base64 content. Either way ``public`` holds, in the clear, the public
halves (``keys/signing.crt``, ``keys/trusted.json``): a restore that does not restore the
private keys trusts the old signing key for the certifier its certificates name, so they still
verify there (contract 7: a trusted key, not just any key).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from toysafe.io.errors import InputError, describe_validation_error
from toysafe.store import models as m

ACCESS = "access.json"
KEYS = "keys.json"
KEYS_FORMAT = "toysafe/backup-keys@1"
# The files under the workspace's .toysafe/ that are its keys (signing, session, trusted keys).
KEY_FILES = ("keys/signing.pem", "keys/signing.crt", "keys/trusted.json", "session.key")
PUBLIC_FILES = ("keys/signing.crt", "keys/trusted.json")  # no secret in these
SCRYPT = {"n": 2**15, "r": 8, "p": 1}


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class _User(_Row):
    email: str = Field(min_length=3, max_length=200)
    org: str
    role: str = Field(max_length=10)
    lab_cpsc_id: str | None = Field(default=None, max_length=8)
    password_hash: str | None = Field(default=None, max_length=200)
    disabled: bool = False
    created_at: datetime


class _Token(_Row):
    email: str
    token_hash: str = Field(min_length=64, max_length=64)
    name: str = Field(max_length=100)
    created_at: datetime


class _Share(_Row):
    org: str
    sku: str
    lab_cpsc_id: str = Field(max_length=8)
    created_at: datetime


class _Enrollment(_Row):
    reviewer_org: str
    org: str


class _Access(_Row):
    users: list[_User] = []
    api_tokens: list[_Token] = []
    lab_shares: list[_Share] = []
    enrollments: list[_Enrollment] = []

    def counts(self) -> dict[str, int]:
        return {
            "users": len(self.users),
            "api_tokens": len(self.api_tokens),
            "lab_shares": len(self.lab_shares),
            "enrollments": len(self.enrollments),
        }


@dataclass
class Access:
    """Parsed ``access.json`` (empty for an export made before it existed)."""

    data: _Access = field(default_factory=_Access)

    def counts(self) -> dict[str, int]:
        return self.data.counts()


def export_access(s: Session) -> tuple[bytes, dict[str, int]]:
    slugs = dict(s.execute(select(m.Organization.id, m.Organization.slug)).all())
    emails = dict(s.execute(select(m.User.id, m.User.email)).all())
    skus = {
        pid: (slugs[org], sku)
        for pid, org, sku in s.execute(select(m.Product.id, m.Product.org_id, m.Product.sku))
    }
    users = [
        _User(
            email=u.email,
            org=slugs[u.org_id],
            role=u.role,
            lab_cpsc_id=u.lab_cpsc_id,
            password_hash=u.password_hash,
            disabled=bool(u.disabled),
            created_at=u.created_at,
        )
        for u in s.scalars(select(m.User).order_by(m.User.email))
    ]
    tokens = [
        _Token(
            email=emails[t.user_id], token_hash=t.token_hash, name=t.name, created_at=t.created_at
        )
        for t in s.scalars(select(m.ApiToken).order_by(m.ApiToken.token_hash))
    ]
    shares = sorted(
        (
            _Share(
                org=skus[x.product_id][0],
                sku=skus[x.product_id][1],
                lab_cpsc_id=x.lab_cpsc_id,
                created_at=x.created_at,
            )
            for x in s.scalars(select(m.ProductShare))
        ),
        key=lambda x: (x.org, x.sku, x.lab_cpsc_id),
    )
    enrollments = sorted(
        (
            _Enrollment(reviewer_org=slugs[e.reviewer_org_id], org=slugs[e.org_id])
            for e in s.scalars(select(m.Enrollment))
        ),
        key=lambda x: (x.reviewer_org, x.org),
    )
    access = _Access(users=users, api_tokens=tokens, lab_shares=shares, enrollments=enrollments)
    data = json.dumps(access.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    return data.encode(), access.counts()


def read_access(data: Any, where: str, slugs: set[str], skus: set[tuple[str, str]]) -> Access:
    """Parse and cross-check ``access.json`` against the export's organizations and products."""
    try:
        access = _Access.model_validate(data)
    except ValidationError as e:
        raise InputError(describe_validation_error(e, f"{where}: ")) from None
    emails = {u.email for u in access.users}
    if len(emails) != len(access.users):
        raise InputError(f"{where}: users: an e-mail address is listed twice")
    for i, u in enumerate(access.users):
        if u.org not in slugs:
            raise InputError(f"{where}: users[{i}].org: no organization '{u.org}' in the export")
    for i, t in enumerate(access.api_tokens):
        if t.email not in emails:
            raise InputError(f"{where}: api_tokens[{i}].email: no user {t.email} in the export")
    for i, x in enumerate(access.lab_shares):
        if (x.org, x.sku) not in skus:
            raise InputError(f"{where}: lab_shares[{i}]: no product '{x.sku}' of '{x.org}'")
    for i, enrolled in enumerate(access.enrollments):
        if enrolled.org not in slugs or enrolled.reviewer_org not in slugs:
            raise InputError(f"{where}: enrollments[{i}]: an organization is not in the export")
    return Access(access)


def write_access(
    s: Session, access: Access, orgs: dict[str, m.Organization], products: dict[Any, Any]
) -> None:
    a = access.data
    if a.users:
        s.execute(
            insert(m.User),
            [u.model_dump(exclude={"org"}) | {"org_id": orgs[u.org].id} for u in a.users],
        )
    ids = dict(s.execute(select(m.User.email, m.User.id)).all())
    if a.api_tokens:
        s.execute(
            insert(m.ApiToken),
            [t.model_dump(exclude={"email"}) | {"user_id": ids[t.email]} for t in a.api_tokens],
        )
    if a.lab_shares:
        s.execute(
            insert(m.ProductShare),
            [
                {
                    "product_id": products[x.org, x.sku].id,
                    "lab_cpsc_id": x.lab_cpsc_id,
                    "created_at": x.created_at,
                }
                for x in a.lab_shares
            ],
        )
    if a.enrollments:
        s.execute(
            insert(m.Enrollment),
            [
                {"reviewer_org_id": orgs[e.reviewer_org].id, "org_id": orgs[e.org].id}
                for e in a.enrollments
            ],
        )


# --- keys ----------------------------------------------------------------------------------


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def pack_keys(home: Path, passphrase: bytes | None, reason: str) -> bytes:
    """``keys.json`` for a backup of the workspace at ``home``: its keys encrypted with
    ``passphrase``, or, without one, a record that they were left out and why."""
    root = home / ".toysafe"
    public = {rel: (root / rel).read_text() for rel in PUBLIC_FILES if (root / rel).is_file()}
    if passphrase is None:
        return _dump({"format": KEYS_FORMAT, "included": False, "reason": reason, "public": public})
    if len(passphrase) < 8:
        raise InputError("passphrase: use at least 8 characters")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    files = {
        rel: base64.b64encode((root / rel).read_bytes()).decode()
        for rel in KEY_FILES
        if (root / rel).is_file()
    }
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    key = _derive(passphrase, salt, **SCRYPT)
    sealed = AESGCM(key).encrypt(nonce, json.dumps(files).encode(), KEYS_FORMAT.encode())
    return _dump(
        {
            "format": KEYS_FORMAT,
            "included": True,
            "kdf": {"name": "scrypt", "salt": base64.b64encode(salt).decode(), **SCRYPT},
            "cipher": "AES-256-GCM",
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(sealed).decode(),
            "files": sorted(files),
            "public": public,
        }
    )


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Keys:
    """What a backup says about its keys, and (once decrypted) the key files."""

    included: bool
    reason: str
    files: dict[str, bytes] = field(default_factory=dict)
    public: dict[str, str] = field(default_factory=dict)  # the public halves, in the clear
    trusted: tuple[str, ...] = ()  # what the restore trusted from them ("KEY for CERTIFIER")

    def explain(self) -> str:
        if self.files:
            return f"keys restored: {', '.join(sorted(self.files))}"
        why = "restored --without-keys" if self.included else f"not in this backup: {self.reason}"
        return f"keys NOT restored ({why}): " + self.consequences()

    def consequences(self) -> str:
        if self.trusted:
            old = (
                "certificates issued before still verify here, by keys now trusted: "
                f"{'; '.join(self.trusted)}"
            )
        else:
            old = (
                "certificates issued before verify here only once the old public key is trusted "
                "(toysafe keys trust)"
            )
        return (
            f"a new signing key is made at the next certificate; {old}; web sessions and "
            "password-reset links from before no longer work (users sign in again; their "
            "passwords and API tokens are restored)"
        )


def read_keys(data: Any, where: str, passphrase: bytes | None, without: bool) -> Keys:
    """Decrypt a backup's ``keys.json`` (None: a backup made before keys were kept)."""
    if data is None:
        return Keys(False, "a backup made before keys were kept")
    if not isinstance(data, dict) or data.get("format") != KEYS_FORMAT:
        raise InputError(f"{where}: format: expected {KEYS_FORMAT}")
    public = data.get("public") or {}
    if not isinstance(public, dict) or not all(
        k in PUBLIC_FILES and isinstance(v, str) for k, v in public.items()
    ):
        raise InputError(f"{where}: public: expected {', '.join(PUBLIC_FILES)} as text")
    if not data.get("included"):
        return Keys(False, str(data.get("reason") or "left out at backup time"), public=public)
    if without:
        return Keys(True, "restored --without-keys", public=public)
    if passphrase is None:
        raise InputError(
            f"{where}: this backup holds the workspace's keys, encrypted: give the passphrase "
            "(--passphrase-file or TOYSAFE_BACKUP_PASSPHRASE), or restore --without-keys"
        )
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        kdf = data["kdf"]
        key = _derive(
            passphrase, base64.b64decode(kdf["salt"]), int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        )
        plain = AESGCM(key).decrypt(
            base64.b64decode(data["nonce"]),
            base64.b64decode(data["ciphertext"]),
            KEYS_FORMAT.encode(),
        )
        files = {rel: base64.b64decode(v) for rel, v in json.loads(plain).items()}
    except InvalidTag:
        raise InputError(f"{where}: wrong passphrase (or the keys were altered)") from None
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{where}: malformed: {e}") from None
    unknown = sorted(set(files) - set(KEY_FILES))
    if unknown:
        raise InputError(f"{where}: unexpected key files {', '.join(unknown)}")
    return Keys(True, "", files)


def install_keys(home: Path, keys: Keys) -> None:
    """Write the restored key files into ``home/.toysafe`` (each replaced atomically)."""
    root = home / ".toysafe"
    for rel, content in keys.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".restore-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


def trust_old_keys(home: Path, keys: Keys, certifiers: dict[str, list[str]]) -> Keys:
    """When the private keys are not restored: trust the backup's old signing key for the
    certifier its certificates name (``certifiers``: key id -> certifier names of the restored
    certificates it signed), and keep the keys the old workspace trusted."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from toysafe.core.certificates import seal
    from toysafe.io.keys import trusted_public_key
    from toysafe.io.trust import TrustedKey, load_public_key, trust

    done: list[str] = []
    pairs: list[tuple[Any, str, str]] = []  # (key, certifier, how it is described)
    if "keys/trusted.json" in keys.public:
        try:
            entries = [TrustedKey(**row) for row in json.loads(keys.public["keys/trusted.json"])]
            for e in entries:
                raw = base64.b64decode(e.public_key, validate=True)
                pairs.append((Ed25519PublicKey.from_public_bytes(raw), e.certifier, "key"))
        except (TypeError, ValueError) as e:
            where = f"{KEYS}: public: keys/trusted.json"
            raise InputError(f"{where}: not a list of keys ({e})") from None
    if "keys/signing.crt" in keys.public:
        old = load_public_key(keys.public["keys/signing.crt"].encode(), f"{KEYS}: public")
        own = trusted_public_key(home)
        names = certifiers.get(seal.key_id(old), [])
        if names and (own is None or seal.public_key_bytes(own) != seal.public_key_bytes(old)):
            # the most common name (a key serves one certifier)
            pairs.insert(0, (old, max(set(names), key=names.count), "old signing key"))
    for key, certifier, what in pairs:
        try:
            entry, added = trust(home, key, certifier)
        except InputError:
            continue  # already trusted here for another certifier: left as it is
        if added:
            done.append(f"{what} {entry.key_id} for {entry.certifier}")
    return Keys(keys.included, keys.reason, keys.files, keys.public, tuple(done))
